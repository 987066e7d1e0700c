"""Where cwtui keeps its config and state on disk, and how private files there are written safely."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import platformdirs

APP_NAME = "cwtui"
CONFIG_ENV = "CWTUI_CONFIG"
STATE_ENV = "CWTUI_STATE_DIR"


def default_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use.

    Args:
        explicit: a path given on the command line; it wins over everything else.

    Returns:
        `explicit`, else `$CWTUI_CONFIG`, else `config.toml` in the platform's user config directory.
        Nothing is created.
    """
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def state_dir(create: bool = True) -> Path:
    """The directory for the journal and other state: `$CWTUI_STATE_DIR`, else the platform's user state path.

    Args:
        create: make the directory (mode 0700) when it is missing.
    """
    env = os.environ.get(STATE_ENV)
    path = Path(env).expanduser() if env else platformdirs.user_state_path(APP_NAME, appauthor=False)
    if create:
        ensure_private_dir(path)
    return path


def ensure_private_dir(path: Path) -> None:
    """Create `path` with mode 0700 if it is missing; an existing directory's mode is the user's business."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    os.chmod(path, 0o700)  # mkdir's mode is masked by the umask


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so a crash leaves either the old file or the new one, never a mix."""
    with private_atomic_file(path, binary=True) as out:
        view = memoryview(data)
        while view:  # os.write, not the buffered file: a full disk is reported here, not at close
            written = os.write(out.fileno(), view)
            view = view[written:]


@contextmanager
def private_atomic_file(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write `path` through: it replaces `path` only when the block ends without an error.

    The temp file sits in the same directory (so `os.replace` is atomic), is 0600 from its creation (it may hold
    tokens or a household's watch history), and is fsynced before the rename; the directory is fsynced after it.
    On any error the temp file is removed and `path` is left as it was.
    """
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; some platforms cannot open a directory, which is not an error."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
