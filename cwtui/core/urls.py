"""Server URLs: the one check (scheme, host, port, no credentials) and the one way to show a URL without userinfo.

A `user:password@` in a server URL would be printed wherever the URL is, and httpx turns it into a Basic
Authorization header that replaces cwtui's own, so a good token looks rejected. It is refused with a hint.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from cwtui.core.text import safe_text

USERINFO_HINT = ("remove 'user:password@' from the URL; cwtui cannot pass a proxy's basic-auth login along, so "
                 "let the proxy admit Jellyfin's own token auth (the Authorization header) instead")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a server address (a sentence without the URL's credentials), or None when it can."""
    text = url.strip()
    if not text.isprintable() or any(ch.isspace() for ch in text):
        return "the URL holds spaces or control characters"
    try:
        split = urlsplit(text)
        host = split.hostname
        split.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError as exc:
        return f"not a valid URL ({exc})" if "port" not in str(exc).lower() else \
            "the port is not a number from 1 to 65535"
    if split.scheme.lower() not in ("http", "https"):
        return "expected an http:// or https:// address"
    if not host:
        return "expected an http:// or https:// address with a host name"
    if split.port == 0:
        return "the port is not a number from 1 to 65535"
    if "@" in split.netloc:
        return "the URL holds a user name or password (user:password@host)"
    return None


def shown_url(url: str) -> str:
    """`url` as it may be shown or logged: userinfo dropped, control characters filtered."""
    try:
        split = urlsplit(url)
        netloc = split.netloc.rpartition("@")[2]
        url = urlunsplit((split.scheme, netloc, split.path, split.query, split.fragment))
    except ValueError:
        url = url.rpartition("@")[2] if "://" not in url else url.split("://", 1)[0] + "://" + url.rpartition("@")[2]
    return safe_text(url)
