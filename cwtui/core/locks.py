"""Advisory file locks (fcntl.flock) in the state and config dirs: two applies on one pair never interleave, and
two config saves never lose each other's entries.

A flock belongs to an open file and goes away when the process dies, so a crashed run never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cwtui.core.errors import EXIT_USAGE, CwtuiError
from cwtui.core.paths import ensure_private_dir
from cwtui.core.text import safe_text

LOCK_DIR = "locks"


class RunLocked(CwtuiError):
    """Another cwtui run holds this pair's lock."""

    exit_code = EXIT_USAGE


class LockBusy(CwtuiError):
    """A short-held lock (the config file's) stayed taken past its wait."""


@contextmanager
def pair_lock(state_dir: Path, pair: str) -> Iterator[None]:
    """Hold the lock for `pair` while the block runs; RunLocked at once when another run holds it (no waiting:
    a second apply would act on a plan the first is changing)."""
    directory = Path(state_dir) / LOCK_DIR
    ensure_private_dir(directory)
    with _locked(directory / f"pair-{_file_part(pair)}.lock", wait=0.0) as held:
        if not held:
            raise RunLocked(f"another cwtui run holds pair '{safe_text(pair)}' (an apply or undo is running)",
                            hint="wait for it to finish, then run this again")
        yield


@contextmanager
def file_lock(path: Path, *, wait: float, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a directory, or a file created 0600), waiting up to `wait` seconds;
    LockBusy after that. Locking a directory leaves no file behind."""
    with _locked(path, wait=wait) as held:
        if not held:
            raise LockBusy(f"{what} stayed locked by another cwtui process for {wait:g} s ({path})",
                           hint="is another cwtui stuck? try again")
        yield


@contextmanager
def _locked(path: Path, *, wait: float) -> Iterator[bool]:
    is_dir = path.is_dir()
    fd = os.open(path, os.O_RDONLY) if is_dir else os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:  # bounded by the deadline
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.01)
        try:
            if is_dir:
                raise OSError
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
        except OSError:
            pass
        yield True
    finally:
        os.close(fd)  # closing the file releases the lock


def _file_part(name: str) -> str:
    """A file-name-safe, collision-free form of a pair name (any text, any length)."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
