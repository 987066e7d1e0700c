"""SnapshotSource: a snapshot file read as if it were a server, the read side of JellyfinClient and nothing more.

A pair whose source is a `snapshot = "PATH"` entry plans and applies like any other. The file is read and checked
(in a thread) on first use, so a damaged file stops only the command that uses its pair. It is read-only: every
write raises, and `why_cannot_write` says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from pathlib import Path

from cwtui.core import dto
from cwtui.core.errors import NotFound, UsageError
from cwtui.core.models import Item, ItemKind, Library, ResumeRules, Series, ServerInfo, Session, User, UserData
from cwtui.core.snapshot import Snapshot, read_snapshot

READ_ONLY = "a snapshot is read-only"


class _File:
    """The parsed file, shared by every per-user view of it; loaded once.

    Like a server's library, every item of the file is visible to every user, with that user's data (empty where the
    user has none): provider ids belong to the items, only the play state to the user.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.snapshot: Snapshot | None = None
        self.library: dict[str, Item] = {}
        self.state: dict[str, dict[str, UserData]] = {}
        """user id -> item id -> that user's data."""
        self.series: dict[str, Series] = {}
        self.episodes: dict[str, list[str]] = {}
        """series id -> its episodes' item ids."""
        self._lock = asyncio.Lock()

    async def load(self) -> Snapshot:
        async with self._lock:
            if self.snapshot is None:
                snapshot = await asyncio.to_thread(read_snapshot, self.path)
                for line in snapshot.items:
                    item = line.item
                    if item.id not in self.library:
                        self.library[item.id] = replace(item, user_data=None)
                        if item.series_id:
                            self.episodes.setdefault(item.series_id, []).append(item.id)
                    self.state.setdefault(line.user_id, {})[item.id] = item.user_data or UserData()
                    if item.kind is ItemKind.EPISODE and item.series_id:
                        self.series.setdefault(item.series_id, Series(item.series_id, item.series_name or "",
                                                                      line.series_provider_ids or {}))
                snapshot.items = []  # kept above in the form the reads want
                self.snapshot = snapshot
        return self.snapshot


class SnapshotSource:
    """One user's view of a snapshot file (`for_user` gives the others). Use as `async with` like a client."""

    insecure = False
    token = None

    def __init__(self, path: str | Path, user_id: str | None = None, *, _file: _File | None = None,
                 _library_wide: bool = False) -> None:
        self.path = str(path)
        self.user_id = dto.norm_id(user_id)
        self._library_wide = _library_wide
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

    def library_view(self) -> SnapshotSource:
        """The file's items as a whole, with no one's user data (the index a household plan shares)."""
        return SnapshotSource(self.path, _file=self._file, _library_wide=True)

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

    async def token_user(self) -> User | None:
        """None, as for an API key: a file may be read as any of its users."""
        return None

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

    async def _state(self) -> dict[str, UserData]:
        return self._file.state.get((await self.me()).id, {})

    async def _library(self, keep: Callable[[Item], bool] = lambda _item: True,
                       ids: Iterable[str] | None = None) -> list[Item]:
        """The items of the file (or those of `ids` it has) that pass `keep`, with this user's data (empty where the
        user has none)."""
        await self.snapshot()
        library = self._file.library
        items = library.values() if ids is None else (library[i] for i in ids if i in library)
        if self._library_wide:
            return [i for i in items if keep(i)]  # as stored: user_data None
        state = await self._state()
        return [replace(i, user_data=state.get(i.id, UserData())) for i in items if keep(i)]

    async def _own(self, keep: Callable[[UserData], bool]) -> list[Item]:
        state = await self._state()
        return [replace(self._file.library[i], user_data=ud) for i, ud in state.items() if keep(ud)]

    async def resume_items(self, library_ids: Iterable[str] | None = None) -> list[Item]:
        return await self._own(lambda ud: ud.position_ticks > 0)

    async def played_pages(self, library_ids: Iterable[str] | None = None,
                           page_size: int = 500) -> AsyncIterator[list[Item]]:
        played = await self.played_items()
        for start in range(0, len(played), page_size):
            yield played[start:start + page_size]

    async def played_items(self, library_ids: Iterable[str] | None = None, page_size: int = 500) -> list[Item]:
        return await self._own(lambda ud: ud.played)

    async def library_pages(self, types: Iterable[str] = ("Movie",), parent_id: str | None = None,
                            page_size: int = 500) -> AsyncIterator[list[Item]]:
        kinds = {t.lower() for t in types}
        items = await self._library(lambda i: i.kind.value in kinds)
        for start in range(0, len(items), page_size):
            yield items[start:start + page_size]

    async def series_list(self, parent_id: str | None = None, page_size: int = 500) -> list[Series]:
        await self.snapshot()
        return list(self._file.series.values())

    async def episodes(self, series_id: str) -> list[Item]:
        await self.snapshot()
        return await self._library(ids=self._file.episodes.get(series_id, []))

    async def items_by_ids(self, ids: Iterable[str], *, versions: bool = False,
                           resumable_only: bool = False) -> list[Item]:
        found = await self._library(ids=dict.fromkeys(filter(None, (dto.norm_id(x) for x in ids))))
        return [i for i in found if not resumable_only or (i.user_data and i.user_data.position_ticks > 0)]

    async def version_items(self, primary: Item) -> list[Item]:
        return []

    async def item(self, item_id: str) -> Item:
        found = await self.items_by_ids([item_id])
        if not found:
            raise NotFound(f"item {item_id} is not in snapshot {self.path}")
        return found[0]

    async def user_data(self, item_id: str) -> UserData:
        return (await self.item(item_id)).user_data or UserData()

    # --- writing: never ------------------------------------------------------------------------------

    async def write_user_data(self, item_id: str, *args: object, **kwargs: object) -> UserData:
        raise UsageError(f"{READ_ONLY}: {self.path}")

    async def mark_played(self, item_id: str, *args: object, **kwargs: object) -> UserData:
        raise UsageError(f"{READ_ONLY}: {self.path}")

    async def mark_unplayed(self, item_id: str) -> UserData:
        raise UsageError(f"{READ_ONLY}: {self.path}")
