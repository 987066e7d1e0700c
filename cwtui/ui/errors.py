"""Error words for the TUI: name the server an error is about, and give the TUI's own fix, not a CLI command."""

from __future__ import annotations

import logging
from typing import Any

from cwtui.core.errors import AuthError, CwtuiError, ServerError
from cwtui.core.text import safe_text

log = logging.getLogger("cwtui.ui")

RELOGIN = "log in again from the home screen: select the server and press enter"


def server_for(exc: CwtuiError, app: Any) -> str | None:
    """The config name of the server `exc` came from (by its URL), or None when it cannot be told."""
    url = getattr(exc, "url", None) if isinstance(exc, ServerError) else None
    if not url:
        return None
    try:
        servers = app.load_config().servers.values()
    except CwtuiError:
        return None
    hits = [e.name for e in servers if url.startswith(e.url.rstrip("/"))]
    return hits[0] if len(hits) == 1 else None


def explain(exc: CwtuiError, app: Any, server: str | None = None) -> str:
    """One message for a screen: which server, what happened, what to do in the TUI. Also written to the log."""
    server = server or server_for(exc, app)
    where = f"server '{server}': " if server and f"'{server}'" not in exc.message else ""
    if isinstance(exc, AuthError):
        text = f"{where}the saved token was rejected ({exc.status or 401}); {RELOGIN}."
    elif exc.hint and "cwtui " in exc.hint:
        text = f"{where}{exc.message}"  # the hint names a CLI command: not the TUI's way
    else:
        text = f"{where}{exc}"
    text = safe_text(text)
    log.warning("tui: %s", text)
    return text
