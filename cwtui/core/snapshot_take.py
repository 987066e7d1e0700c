"""Taking snapshots: which users, where the file goes, and the snapshot an apply takes before its first write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cwtui.core import dto
from cwtui.core.config_model import ServerEntry
from cwtui.core.errors import CwtuiError, JournalError, UsageError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.models import User
from cwtui.core.snapshot import Progress, Written, write_snapshot

SNAPSHOT_DIR = "snapshots"


def snapshot_dir(state: Path) -> Path:
    return Path(state) / SNAPSHOT_DIR


def default_path(state: Path, server: str, now: datetime | None = None) -> Path:
    """`<state dir>/snapshots/SERVER-20261120T210000Z.jsonl`: named by server and time."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return snapshot_dir(state) / f"{server}-{stamp}.jsonl"


async def choose_users(client: JellyfinClient, entry: ServerEntry, names: Iterable[str] = (),
                       all_users: bool = False) -> list[User]:
    """The users to snapshot: every user, the ones named (name case-insensitively, or id), or the entry's own."""
    names = list(names)
    own = User(dto.norm_id(entry.user_id) or "", entry.user_name) if entry.user_id else None
    if not all_users and own and all(n.strip().casefold() == own.name.casefold() or dto.norm_id(n) == own.id
                                     for n in names):
        return [own]  # the entry's own user (named or by default): no need to list the server's users
    if not names and not all_users:
        raise UsageError(f"server '{entry.name}' has no user of its own (an API key): say whose state to take",
                         hint="pass --user NAME (repeatable) or --all-users")
    users = await client.users()
    if all_users:
        return users
    chosen: list[User] = []
    for name in names:
        wanted, wanted_id = name.strip().casefold(), dto.norm_id(name)
        hit = next((u for u in users if u.name.casefold() == wanted), None) or next(
            (u for u in users if u.id == wanted_id), None)
        if hit is None:
            raise UsageError(f"no user {name!r} on server '{entry.name}' (have: {', '.join(u.name for u in users)})")
        if hit not in chosen:
            chosen.append(hit)
    return chosen


async def take(entry: ServerEntry, client: JellyfinClient, users: list[User], path: Path,
               progress: Progress | None = None) -> Written:
    """Write the snapshot of `users`, read through `client` acting for each in turn (the token must be an API key
    or an administrator's to read users other than its own)."""
    views = [(user, client if user.id == client.user_id else client.for_user(user.id)) for user in users]
    try:
        return await write_snapshot(path, client, views, progress=progress)
    except OSError as exc:
        raise JournalError(f"cannot write the snapshot {path}: {exc.strerror or exc}",
                           hint="check the folder and the free space") from None


@dataclass(frozen=True)
class Side:
    """One server a run writes to, as `--snapshot-first` saves it: the header key its file goes under."""

    key: str
    """`snapshot` (the destination, as before two-way runs) or `snapshot_source`."""
    entry: ServerEntry
    client: JellyfinClient
    users: list[User]


def before_writes(sides: list[Side], state: Path, say: Callable[[Side, Written], None] | None = None
                  ) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """The hook `apply --snapshot-first` gives its run: the full state of the users it writes, on every server it
    writes to, into `snapshots/RUN_ID.jsonl` (the destination) and `snapshots/RUN_ID-source.jsonl` (the source of a
    two-way run), before the journal starts. Any failure stops the run before a single write."""

    async def hook(run_id: str) -> dict[str, Any]:
        taken: dict[str, Any] = {}
        for side in sides:
            suffix = "" if side.key == "snapshot" else "-source"
            path = snapshot_dir(state) / f"{run_id}{suffix}.jsonl"
            failed = f"--snapshot-first: the snapshot of '{side.entry.name}' failed, so nothing was written"
            try:
                written = await take(side.entry, side.client, side.users, path)
            except JournalError as exc:  # the disk: exit 5, as for the journal
                exc.message = f"{failed}: {exc.message}"
                raise
            except CwtuiError as exc:
                raise UsageError(f"{failed}: {exc.message}", hint=exc.hint) from None
            if say:
                say(side, written)
            taken[side.key] = str(written.path)
        return taken

    return hook
