"""Where the emulator keeps user data, version by version (jellyfin-api.md §2.5): keys, rows and the DTO cache.

Three storage models, chosen by the server version:
- 10.8–10.10 (shared): one row per (user, key). A save writes the whole row under every key of the item; reads use
  the row of the item's first key, so items with the same first key share one state. DTOs come from a cache keyed
  (user, item id) that is filled on first read, updated only for the item saved and never emptied (a copy's DTO can
  stay stale until `restart()`).
- 10.11 (per item): rows per (user, item, key) for each key the item had when it was saved. A key change (see
  `reidentify`) leaves the old-key rows behind; "the first row" is made deterministic here as the OLDEST row, so an
  old-key row shadows the current ones. 10.11.0–10.11.9 read that first row directly (even in a write's response);
  10.11.10+ read through an LRU cache keyed (user, item) that a save updates and `restart()` empties.
- 12.0: the same rows, but reads prefer the current keys in order; the resume filter still counts any row of the
  item that has a position.

Which query answers from stored rows rather than the DTO cache: `/Items?ids=X&filters=IsResumable` (and every other
user-data filter, the DatePlayed/PlayCount sorts and the /UserItems/Resume list) use `stored()`/`resumable()`;
only the UserData objects inside DTOs use `read()` (jellyfin-api.md gotcha 17).

Row objects are never changed in place: a save stores a new UserDataRec, so a cache entry that still points at an
older object is exactly the stale copy the real server keeps.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from cwtui.emulator.dto import dashed
from cwtui.emulator.records import UserDataRec

if TYPE_CHECKING:  # pragma: no cover
    from cwtui.emulator.state import EmulatorState, ItemRec

EMPTY = UserDataRec()
"""The row a read makes up when none is stored (never stored itself, never changed)."""

DEFAULT_CACHE_SIZE = 400
"""10.11.10+ `CacheSize` is 100 × CPU count; 400 is a 4-core server."""


def user_data_keys(state: EmulatorState, item: ItemRec) -> list[str]:
    """GetUserDataKeys as the real server builds it (jellyfin-api.md §2.5 table), in order."""
    own = dashed(item.id)
    ids = {k.lower(): v for k, v in item.provider_ids.items() if v}
    if item.type in ("Episode", "Season"):
        series = state.items.get(item.series_id or "")
        if series is None:
            return [own]
        series_keys = user_data_keys(state, series)
        if item.type == "Season":
            return [k + f"{item.index_number or 0:03d}" for k in series_keys] + [own]
        if item.parent_index_number is None or item.index_number is None:
            return [own]
        if len(series_keys) > 1:
            series_keys = series_keys[:-1]  # the series id counts only when it is the series' sole key
        suffix = f"{item.parent_index_number:03d}{item.index_number:03d}"
        return [k + suffix for k in series_keys] + [own]
    if item.type == "Series":
        names = ("custom", "tvdb", "imdb") if state.at_least(10, 9) else ("tvdb", "imdb")
    elif item.type in ("Movie", "Video"):
        names = ("tmdb", "imdb")
    else:
        names = ()
    return [ids[n] for n in names if n in ids] + [own]


class UserDataStore:
    """Rows and caches for one emulated server; every call happens under the state's lock."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.shared = not state.at_least(10, 11)
        self.lru = state.at_least(10, 11, 10) and not state.at_least(12)
        self.cache_size = DEFAULT_CACHE_SIZE
        """10.11.10+ only: how many (user, item) entries the LRU keeps."""
        self._rows: dict[tuple[str, str], object] = {}
        """shared: (user, key) -> UserDataRec; per item: (user, item id) -> {key: UserDataRec}, oldest first."""
        self._cache: OrderedDict[tuple[str, str], tuple[str, UserDataRec]] = OrderedDict()
        self._keys: dict[str, tuple[str, ...]] = {}
        self._keys_gen = -1
        self._first_key_items: dict[str, list[str]] = {}
        self._first_key_gen = -1

    # --- keys ---------------------------------------------------------------------------------------

    def keys(self, item: ItemRec) -> tuple[str, ...]:
        """The item's current user-data keys (cached until the library's structure changes)."""
        if self._keys_gen != self.state.structure_generation:
            self._keys, self._keys_gen = {}, self.state.structure_generation
        keys = self._keys.get(item.id)
        if keys is None:
            keys = self._keys[item.id] = tuple(user_data_keys(self.state, item))
        return keys

    # --- the database view ----------------------------------------------------------------------------

    def rows_of(self, user_id: str, item: ItemRec) -> dict[str, UserDataRec]:
        """Every stored row the item's reads could pick, by key, oldest first (for tests and inspection)."""
        if self.shared:
            found = ((k, self._rows.get((user_id, k))) for k in self.keys(item))
            return {k: r for k, r in found if r is not None}  # type: ignore[misc]
        return dict(self._rows.get((user_id, item.id), {}))  # type: ignore[arg-type]

    def stored(self, user_id: str, item: ItemRec) -> tuple[str, UserDataRec] | None:
        """The row the database answers queries with: first key (10.8–10.10), oldest row (10.11), first current key
        that has a row (12.0)."""
        if self.shared:
            key = self.keys(item)[0]
            rec = self._rows.get((user_id, key))
            return None if rec is None else (key, rec)  # type: ignore[return-value]
        rows: dict[str, UserDataRec] | None = self._rows.get((user_id, item.id))  # type: ignore[assignment]
        if not rows:
            return None
        if self.state.at_least(12):
            for key in self.keys(item):
                if key in rows:
                    return key, rows[key]
            return None
        key = next(iter(rows))
        return key, rows[key]

    def resumable(self, user_id: str, item: ItemRec) -> bool:
        """The IsResumable filter: the stored row has a position; on 12.0 any row of the item (old keys too)."""
        if self.state.at_least(12):
            rows = self._rows.get((user_id, item.id)) or {}
            return any(r.position_ticks > 0 for r in rows.values())  # type: ignore[attr-defined]
        found = self.stored(user_id, item)
        return found is not None and found[1].position_ticks > 0

    def resume_candidates(self, user_id: str) -> list[str]:
        """Ids of the items that may pass IsResumable for the user (a superset; `resumable` decides)."""
        items = self.state.items
        if not self.shared:
            return [iid for (uid, iid), rows in self._rows.items()
                    if uid == user_id and iid in items
                    and any(r.position_ticks > 0 for r in rows.values())]  # type: ignore[attr-defined]
        keys = {k for (uid, k), r in self._rows.items() if uid == user_id and r.position_ticks > 0}  # type: ignore
        if not keys:
            return []
        index = self._first_key_index()
        return [iid for k in keys for iid in index.get(k, ())]

    def _first_key_index(self) -> dict[str, list[str]]:
        if self._first_key_gen != self.state.structure_generation:
            index: dict[str, list[str]] = {}
            for item in self.state.items.values():
                index.setdefault(self.keys(item)[0], []).append(item.id)
            self._first_key_items, self._first_key_gen = index, self.state.structure_generation
        return self._first_key_items

    # --- the DTO view ---------------------------------------------------------------------------------

    def read(self, user_id: str, item: ItemRec) -> tuple[str, UserDataRec]:
        """(key, row) as a DTO shows it right now, through the version's cache; a missing row reads as empty."""
        if self.shared or self.lru:
            ck = (user_id, item.id)
            hit = self._cache.get(ck)
            if hit is not None:
                if self.lru:
                    self._cache.move_to_end(ck)
                return hit
            hit = self.stored(user_id, item) or (self.keys(item)[0], EMPTY)
            self._put_cache(ck, hit)
            return hit
        return self.stored(user_id, item) or (self.keys(item)[0], EMPTY)

    def _put_cache(self, ck: tuple[str, str], value: tuple[str, UserDataRec]) -> None:
        self._cache[ck] = value
        if self.lru:
            self._cache.move_to_end(ck)
            while len(self._cache) > max(self.cache_size, 1):
                self._cache.popitem(last=False)

    def restart(self) -> None:
        """Empty the DTO caches, as a server restart (or, on 10.11.10+, LRU eviction) does."""
        self._cache.clear()

    # --- writes ---------------------------------------------------------------------------------------

    def save(self, user_id: str, item: ItemRec, rec: UserDataRec) -> None:
        """SaveUserData: the whole row under every current key of the item, then this item's cache entry."""
        keys = self.keys(item)
        if self.shared:
            for key in keys:
                self._rows[(user_id, key)] = rec
            self._put_cache((user_id, item.id), (keys[0], rec))
        else:
            rows: dict[str, UserDataRec] = self._rows.setdefault((user_id, item.id), {})  # type: ignore[assignment]
            for key in keys:
                rows[key] = rec
            if self.lru:  # the entry names the last key written: the item's dashed id
                self._put_cache((user_id, item.id), (keys[-1], rec))
        self.state._touch()

    def migrate_from_shared(self) -> None:
        """MigrateLibraryDb (10.10 -> 10.11): a row moves only if its key is some item's first key, and only to ONE
        item, the last one with that first key; copies that shared a position keep it on one copy (§2.5, gotcha 16).
        """
        owner: dict[str, str] = {}
        for item in self.state.items.values():
            owner[self.keys(item)[0]] = item.id
        moved: dict[tuple[str, str], dict[str, UserDataRec]] = {}
        for (user_id, key), rec in self._rows.items():
            if key in owner:
                moved.setdefault((user_id, owner[key]), {})[key] = rec  # type: ignore[assignment]
        self._rows = moved  # type: ignore[assignment]
        self._cache.clear()
        self.shared = False
        self.lru = self.state.at_least(10, 11, 10)

    def put_row(self, user_id: str, item: ItemRec, key: str, rec: UserDataRec) -> None:
        """Store one row under an arbitrary key, bypassing the cache (builds stale or old-key rows for tests)."""
        if self.shared:
            self._rows[(user_id, key)] = rec
        else:
            self._rows.setdefault((user_id, item.id), {})[key] = rec  # type: ignore[union-attr]
        self.state._touch()
