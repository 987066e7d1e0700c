"""The log file: `cwtui.log` under the state dir, for what happened when (never a token or a password)."""

from __future__ import annotations

import logging
import os
import re
import traceback
from collections.abc import Iterable
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "cwtui.log"

# Without a handler, a record logged before (or without) setup_logging reaches Python's last-resort handler,
# which prints it to stderr: the CLI would show every error twice.
logging.getLogger("cwtui").addHandler(logging.NullHandler())


class PrivateRotatingFileHandler(RotatingFileHandler):
    """RotatingFileHandler whose every new file (after a rollover, too) is created 0600, whatever the umask."""

    def _open(self):  # type: ignore[no-untyped-def]
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
                    opener=lambda name, flags: os.open(name, flags, 0o600))


def setup_logging(state_dir: Path) -> Path | None:
    """Log INFO and up to `<state dir>/cwtui.log` (0600, rotated at 1 MB). A log that cannot be opened is skipped:
    logging must never stop a sync."""
    path = Path(state_dir) / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.fchmod(fd, 0o600)  # a log left readable by an older version is tightened
        finally:
            os.close(fd)
        handler = PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("cwtui")
    root.handlers = [h for h in root.handlers if not isinstance(h, RotatingFileHandler)] + [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    return path


_QUOTED_SECRET = re.compile(r"""((?:token|password|passwd|pw|api_?key)["']?\s*[=:]\s*)(["'])(.*?)\2""", re.IGNORECASE)


def scrubbed_traceback(error: BaseException, secrets: Iterable[str] = ()) -> str:
    """The traceback of `error` as text WITHOUT local variables, each known secret replaced by `<hidden>` and any
    quoted `token=".."`/`password=".."` value hidden too: fit for the log, never for a screen."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "<hidden>")
    return _QUOTED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}<hidden>{m.group(2)}", text)
