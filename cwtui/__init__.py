"""cwtui: sync Jellyfin resume positions ("Continue Watching") between servers and users."""

__version__ = "0.1.0"
