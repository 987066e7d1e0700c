"""SnapshotSource: a snapshot file read as if it were a server, the read side of JellyfinClient and nothing more.

A pair whose source is a `snapshot = "PATH"` entry plans and applies like any other. The file is read and checked
(in a thread) on first use, so a damaged file stops only the command that uses its pair. It is read-only: every
write raises, and `why_cannot_write` says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from cwtui.core import dto
from cwtui.core.errors import NotFound, UsageError
from cwtui.core.models import Item, ItemKind, Library, ResumeRules, Series, ServerInfo, Session, User, UserData
from cwtui.core.snapshot import Snapshot, read_snapshot

READ_ONLY = "a snapshot is read-only"


class _File:
    """The parsed file, shared by every per-user view of it; loaded once."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.snapshot: Snapshot | None = None
        self.by_user: dict[str, dict[str, Item]] = {}
        self.series: dict[str, Series] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> Snapshot:
        async with self._lock:
            if self.snapshot is None:
                snapshot = await asyncio.to_thread(read_snapshot, self.path)
                for line in snapshot.items:
                    self.by_user.setdefault(line.user_id, {})[line.item.id] = line.item
                    if line.item.kind is ItemKind.EPISODE and line.item.series_id:
                        self.series.setdefault(line.item.series_id, Series(
                            line.item.series_id, line.item.series_name or "", line.series_provider_ids or {}))
                self.snapshot = snapshot
        return self.snapshot


class SnapshotSource:
    """One user's view of a snapshot file (`for_user` gives the others). Use as `async with` like a client."""

    insecure = False
    token = None

    def __init__(self, path: str | Path, user_id: str | None = None, *, _file: _File | None = None) -> None:
        self.path = str(path)
        self.user_id = dto.norm_id(user_id)
        self.skipped_malformed = 0
        self.requests_sent = 0
        """Always 0: nothing goes over the network."""
        self._file = _file or _File(self.path)

    async def __aenter__(self) -> SnapshotSource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"SnapshotSource({self.path!r}, user_id={self.user_id!r})"

    @property
    def base_url(self) -> str:
        return f"snapshot:{self.path}"

    def for_user(self, user_id: str) -> SnapshotSource:
        """The same file, read as another of its users."""
        return SnapshotSource(self.path, user_id, _file=self._file)

    async def snapshot(self) -> Snapshot:
        """The checked file (read on first use); a SnapshotError names the file and line when it is damaged."""
        return await self._file.load()

    # --- server and users ----------------------------------------------------------------------------

    async def public_info(self) -> ServerInfo:
        return (await self.snapshot()).server

    async def users(self) -> list[User]:
        return list((await self.snapshot()).users)

    async def me(self) -> User:
        """The user this view reads: the one named, or the file's only user."""
        users = await self.users()
        if self.user_id is None:
            if len(users) != 1:
                names = ", ".join(u.name for u in users)
                raise UsageError(f"snapshot {self.path} holds {len(users)} users ({names}): say which to read",
                                 hint="give the pair a user map: users = \"by-name\" (or a list)")
            self.user_id = users[0].id
        for user in users:
            if user.id == self.user_id:
                return user
        raise NotFound(f"snapshot {self.path} holds no user with id {self.user_id}")

    async def why_cannot_write(self) -> str | None:
        return READ_ONLY

    async def resume_rules(self) -> ResumeRules:
        return ResumeRules()

    async def libraries(self) -> list[Library]:
        return []  # a snapshot keeps items, not libraries

    async def sessions(self) -> list[Session]:
        return []

    async def has_versions(self) -> bool:
        return False  # each line is one item with its own state

    # --- reading -------------------------------------------------------------------------------------

    async def _items(self) -> dict[str, Item]:
        me = await self.me()
        return self._file.by_user.get(me.id, {})

    async def resume_items(self, library_ids: Iterable[str] | None = None) -> list[Item]:
        return [i for i in (await self._items()).values() if i.user_data and i.user_data.position_ticks > 0]

    async def played_pages(self, page_size: int = 500) -> AsyncIterator[list[Item]]:
        played = [i for i in (await self._items()).values() if i.user_data and i.user_data.played]
        for start in range(0, len(played), page_size):
            yield played[start:start + page_size]

    async def played_items(self) -> list[Item]:
        return [i for i in (await self._items()).values() if i.user_data and i.user_data.played]

    async def library_pages(self, types: Iterable[str] = ("Movie",), parent_id: str | None = None,
                            page_size: int = 500) -> AsyncIterator[list[Item]]:
        """The user's items of those types (the only items a snapshot knows: the rest have no state)."""
        kinds = {t.lower() for t in types}
        items = [i for i in (await self._items()).values() if i.kind.value in kinds]
        for start in range(0, len(items), page_size):
            yield items[start:start + page_size]

    async def series_list(self, parent_id: str | None = None, page_size: int = 500) -> list[Series]:
        await self.snapshot()
        return list(self._file.series.values())

    async def episodes(self, series_id: str) -> list[Item]:
        return [i for i in (await self._items()).values() if i.series_id == series_id]

    async def items_by_ids(self, ids: Iterable[str], *, versions: bool = False,
                           resumable_only: bool = False) -> list[Item]:
        items = await self._items()
        found = [items[i] for i in dict.fromkeys(dto.norm_id(x) for x in ids) if i in items]
        return [i for i in found if not resumable_only or (i.user_data and i.user_data.position_ticks > 0)]

    async def version_items(self, primary: Item) -> list[Item]:
        return []

    async def item(self, item_id: str) -> Item:
        found = (await self._items()).get(dto.norm_id(item_id) or "")
        if found is None:
            raise NotFound(f"item {item_id} is not in snapshot {self.path} for this user")
        return found

    async def user_data(self, item_id: str) -> UserData:
        return (await self.item(item_id)).user_data or UserData()

    # --- writing: never ------------------------------------------------------------------------------

    async def write_user_data(self, item_id: str, *args: object, **kwargs: object) -> UserData:
        raise UsageError(f"{READ_ONLY}: {self.path}")

    async def mark_played(self, item_id: str, *args: object, **kwargs: object) -> UserData:
        raise UsageError(f"{READ_ONLY}: {self.path}")

    async def mark_unplayed(self, item_id: str) -> UserData:
        raise UsageError(f"{READ_ONLY}: {self.path}")
