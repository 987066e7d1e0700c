"""Snapshot files: a portable JSON Lines copy of users' watch state, written atomically and read back strictly.

Line 1 is a header (`cwtui_snapshot`: the format version, the server, the users, the time taken), then one line per
item a user has in progress or played, then `{"cwtui_snapshot_end": N}` with N the number of item lines: a file cut
anywhere, even at a line boundary, is known to be damaged. The writer streams (a page of items at a time), so its
memory does not grow with the library.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cwtui.core import dto
from cwtui.core.errors import UsageError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.models import TICKS_PER_MS, Item, ItemKind, ServerInfo, User, UserData
from cwtui.core.paths import private_atomic_file

FORMAT_VERSION = 1
HEADER_KEY = "cwtui_snapshot"
END_KEY = "cwtui_snapshot_end"
ITEM_FIELDS = ("user_id", "type", "name", "year", "series_name", "season", "episode", "provider_ids",
               "series_provider_ids", "runtime_ms", "position_ms", "played", "play_count", "last_played_at", "item_id")
Progress = Callable[[int, str], None]
"""Called with the item lines written so far and the name of the user being read."""


class SnapshotError(UsageError):
    """A snapshot file that cannot be trusted: it names the file and the line (exit 2, nothing is written)."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"snapshot {path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}", hint="the file is damaged or not a cwtui snapshot; nothing was "
                                                     "written. Take a new one with `cwtui snapshot SERVER`")
        self.path, self.line = str(path), line


@dataclass(frozen=True)
class SnapshotItem:
    """One item line: whose state it is, the item with that user's data, and its series' provider ids."""

    user_id: str
    item: Item
    series_provider_ids: dict[str, str] | None = None


@dataclass
class Snapshot:
    """A whole snapshot file, checked: the header's server and users, when it was taken, and every item line."""

    path: str
    server: ServerInfo
    users: tuple[User, ...]
    taken_at: datetime
    items: list[SnapshotItem] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    """What `write_snapshot` wrote: where, for which users, how many item lines (and per user)."""

    path: Path
    users: tuple[User, ...]
    items: int
    by_user: dict[str, int]


# --- writing -------------------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return dto.format_date(at).replace(".000000Z", "Z") if at else None


def item_line(user_id: str, item: Item, series_provider_ids: dict[str, str] | None) -> dict[str, Any]:
    """The JSON object of one item line (every field present; unknown values are null)."""
    ud = item.user_data or UserData()
    episode = item.kind is ItemKind.EPISODE
    return {"user_id": user_id, "type": item.kind.value, "name": item.name, "year": item.production_year,
            "series_name": item.series_name if episode else None, "season": item.season if episode else None,
            "episode": item.episode if episode else None, "provider_ids": dict(item.provider_ids),
            "series_provider_ids": series_provider_ids if episode else None, "runtime_ms": item.runtime_ms,
            "position_ms": ud.position_ms, "played": ud.played, "play_count": ud.play_count,
            "last_played_at": _iso(ud.last_played), "item_id": item.id}


async def user_items(client: JellyfinClient) -> AsyncIterator[list[Item]]:
    """A user's items in progress or played, a batch at a time, each once: the resume list, then played pages."""
    resume = await client.resume_items()
    yield resume
    in_resume = {item.id for item in resume}
    async for page in client.played_pages():
        yield [item for item in page if item.id not in in_resume]


async def write_snapshot(path: Path, server: JellyfinClient, users: list[tuple[User, JellyfinClient]], *,
                         progress: Progress | None = None) -> Written:
    """Write the snapshot of `users` of one server to `path`, atomically and with mode 0600.

    Args:
        server: a client of the server (for its public info and the series list, read once).
        users: each user with a client acting for that user.
        progress: called after each batch of item lines.

    Returns:
        What was written. On any failure the temp file is removed and `path` is left as it was.
    """
    info = await server.public_info()
    first = users[0][1] if users else server
    series = {s.id: s.provider_ids for s in await first.series_list()}
    header = {HEADER_KEY: FORMAT_VERSION, "server": {"name": info.name, "id": info.id, "version": info.version},
              "users": [{"id": u.id, "name": u.name} for u, _ in users],
              "taken_at": _iso(datetime.now(UTC))}
    count, by_user = 0, {}
    with private_atomic_file(path) as out:
        out.write(_dump(header))
        for user, client in users:
            by_user[user.name] = 0
            async for batch in user_items(client):
                out.write("".join(_dump(item_line(user.id, item, series.get(item.series_id or ""))) for item in batch))
                count += len(batch)
                by_user[user.name] += len(batch)
                if progress:
                    progress(count, user.name)
        out.write(_dump({END_KEY: count}))
    return Written(path, tuple(u for u, _ in users), count, by_user)


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- reading -------------------------------------------------------------------------------------------


def read_snapshot(path: Path | str) -> Snapshot:
    """The whole file, every line checked; a SnapshotError (exit 2) names the file and the first bad line."""
    lines = iter_snapshot(path)
    snapshot = next(lines)
    assert isinstance(snapshot, Snapshot)
    snapshot.items.extend(lines)  # type: ignore[arg-type]
    return snapshot


def iter_snapshot(path: Path | str) -> Iterator[Snapshot | SnapshotItem]:
    """The header (as an empty Snapshot) and then each item line, checked one by one; the end line is checked
    last, so a consumer has seen a complete file only when the iteration ends without an error."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed in the finally below)
    except OSError as exc:
        raise SnapshotError(path, None, f"cannot be read: {exc.strerror}") from None
    try:
        number, header = 1, None
        for number, raw in enumerate(handle, 1):
            obj = _parse_line(path, number, raw)
            if header is None:
                header = _header(path, obj)
                yield header
            elif END_KEY in obj:
                _end(path, number, obj, number - 2)
                if handle.read(1):
                    raise SnapshotError(path, number + 1, "more lines after the end line")
                return
            else:
                yield _item(path, number, obj, {u.id for u in header.users})
        if header is None:
            raise SnapshotError(path, 1, "the file is empty")
        raise SnapshotError(path, number, f"cut short: no end line after line {number} (the file is incomplete)")
    finally:
        handle.close()


def _parse_line(path: Path | str, number: int, raw: bytes) -> dict[str, Any]:
    if not raw.endswith(b"\n"):
        raise SnapshotError(path, number, "cut off in the middle of the line (the file is incomplete)")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SnapshotError(path, number, f"not valid JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise SnapshotError(path, number, f"expected a JSON object, got {_kind(obj)}")
    return obj


def _header(path: Path | str, obj: dict[str, Any]) -> Snapshot:
    version = obj.get(HEADER_KEY)
    if version is None:
        raise SnapshotError(path, 1, f"not a cwtui snapshot: the first line has no \"{HEADER_KEY}\" key")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise SnapshotError(path, 1, f"snapshot format version {json.dumps(version)}; this cwtui reads version "
                                     f"{FORMAT_VERSION}")
    check = _Fields(path, 1)
    server = check.table(obj, "server")
    users = check.value(obj, "users", list)
    info = ServerInfo(id=check.value(server, "id", str, "server.id"),
                      name=check.value(server, "name", str, "server.name"),
                      version=check.value(server, "version", str, "server.version"))
    people = []
    for n, user in enumerate(users):
        if not isinstance(user, dict):
            raise SnapshotError(path, 1, f"users[{n}]: expected an object, got {_kind(user)}")
        uid = dto.url_id(check.value(user, "id", str, f"users[{n}].id"))
        if uid is None:
            raise SnapshotError(path, 1, f"users[{n}].id is not a user id")
        people.append(User(id=uid, name=check.value(user, "name", str, f"users[{n}].name")))
    if not people:
        raise SnapshotError(path, 1, "the header lists no users")
    taken = dto.parse_date(check.value(obj, "taken_at", str))
    if taken is None:
        raise SnapshotError(path, 1, "taken_at is not a date and time")
    return Snapshot(str(path), info, tuple(people), taken)


def _end(path: Path | str, number: int, obj: dict[str, Any], items: int) -> None:
    count = obj[END_KEY]
    if isinstance(count, bool) or not isinstance(count, int):
        raise SnapshotError(path, number, f"{END_KEY} must be a whole number, got {_kind(count)}")
    if count != items:
        raise SnapshotError(path, number, f"the end line counts {count} item lines, but the file has {items} "
                                          "(lines are missing or were added)")


def _item(path: Path | str, number: int, obj: dict[str, Any], user_ids: set[str]) -> SnapshotItem:
    check = _Fields(path, number)
    kind = {"movie": ItemKind.MOVIE, "episode": ItemKind.EPISODE}.get(check.value(obj, "type", str))
    if kind is None:
        raise SnapshotError(path, number, f"type must be \"movie\" or \"episode\", got {json.dumps(obj['type'])}")
    user_id = dto.url_id(check.value(obj, "user_id", str))
    if user_id not in user_ids:
        raise SnapshotError(path, number, f"user_id {obj['user_id']!r} is not one of the header's users")
    item_id = dto.url_id(check.value(obj, "item_id", str))
    if item_id is None:
        raise SnapshotError(path, number, f"item_id {obj['item_id']!r} is not an item id")
    last = check.value(obj, "last_played_at", str, null=True)
    last_played = dto.parse_date(last) if last is not None else None
    if last is not None and last_played is None:
        raise SnapshotError(path, number, f"last_played_at {last!r} is not a date and time")
    runtime = check.count(obj, "runtime_ms", null=True)
    series_ids = check.ids(obj, "series_provider_ids", null=True)
    series_name = check.value(obj, "series_name", str, null=True)
    item = Item(
        id=item_id, kind=kind, name=check.value(obj, "name", str), production_year=check.count(obj, "year", null=True),
        runtime_ticks=runtime * TICKS_PER_MS if runtime is not None else None,
        provider_ids=check.ids(obj, "provider_ids") or {},
        series_id=series_key(series_name, series_ids) if kind is ItemKind.EPISODE else None,
        series_name=series_name, season=check.count(obj, "season", null=True),
        episode=check.count(obj, "episode", null=True),
        user_data=UserData(position_ticks=check.count(obj, "position_ms") * TICKS_PER_MS,
                           played=check.value(obj, "played", bool), play_count=check.count(obj, "play_count"),
                           last_played=last_played))
    return SnapshotItem(user_id, item, series_ids)


def series_key(name: str | None, provider_ids: dict[str, str] | None) -> str:
    """A stable stand-in for a series id (the format keeps the series' name and provider ids, not its id)."""
    text = json.dumps([(name or "").casefold(), sorted((provider_ids or {}).items())])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:32]


class _Fields:
    """Type checks for one line's fields; each failure names the file, the line and the field."""

    def __init__(self, path: Path | str, number: int) -> None:
        self.path, self.number = path, number

    def fail(self, name: str, expected: str, value: Any) -> None:
        raise SnapshotError(self.path, self.number, f"{name}: expected {expected}, got {_kind(value)}")

    def value(self, obj: dict[str, Any], key: str, kind: type, name: str | None = None, *, null: bool = False) -> Any:
        if key not in obj:
            raise SnapshotError(self.path, self.number, f"the field {name or key} is missing")
        value = obj[key]
        if value is None and null:
            return None
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(name or key, _KIND_WORDS[kind] + (" or null" if null else ""), value)
        return value

    def table(self, obj: dict[str, Any], key: str) -> dict[str, Any]:
        return self.value(obj, key, dict)

    def count(self, obj: dict[str, Any], key: str, *, null: bool = False) -> Any:
        value = self.value(obj, key, int, null=null)
        if value is not None and value < 0:
            self.fail(key, "a whole number >= 0", value)
        return value

    def ids(self, obj: dict[str, Any], key: str, *, null: bool = False) -> dict[str, str] | None:
        value = self.value(obj, key, dict, null=null)
        if value is None:
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            self.fail(key, "an object of strings", value)
        return dto.parse_provider_ids(value)


_KIND_WORDS = {str: "a string", int: "a whole number", bool: "true or false", dict: "an object", list: "a list"}


_VALUE_WORDS = ((bool, "a boolean"), (int, "a whole number"), (float, "a number with a fraction"), (str, "a string"),
                (list, "a list"), (dict, "an object"))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return next((word for kind, word in _VALUE_WORDS if isinstance(value, kind)), type(value).__name__)
