"""The Textual UI: a thin view over the sync engine in cwtui.core."""
