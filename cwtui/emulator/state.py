"""The emulator's in-memory database: users, tokens, libraries, items, user data, sessions and Quick Connect."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from cwtui.core.models import UserData, parse_version
from cwtui.emulator.dto import norm_guid
from cwtui.emulator.records import ItemRec, QuickConnectRec, SessionRec, TokenRec, UserDataRec, UserRec
from cwtui.emulator.state_sessions import QUICK_CONNECT_TIMEOUT, QuickConnectAlreadyAuthorized, SessionsMixin
from cwtui.emulator.userdata import UserDataStore

__all__ = ["QUICK_CONNECT_TIMEOUT", "EmulatorState", "ItemRec", "QuickConnectAlreadyAuthorized", "QuickConnectRec",
           "SessionRec", "TokenRec", "UserDataRec", "UserRec"]

_DEFAULT_CONFIG = {
    "MinResumePct": 5,
    "MaxResumePct": 90,
    "MinResumeDurationSeconds": 300,
    "MinAudiobookResume": 5,
    "MaxAudiobookResume": 5,
    "QuickConnectAvailable": True,
}


class EmulatorState(SessionsMixin):
    """Everything one emulated server knows. Every read and write happens under `lock` (the server is threaded)."""

    def __init__(self, server_name: str = "Home", version: str = "10.11.11", server_id: str | None = None,
                 *, clock: Callable[[], datetime] | None = None) -> None:
        self.server_name = server_name
        self.version = version
        self.version_tuple = parse_version(version)
        self.server_id = norm_guid(server_id) if server_id else uuid.uuid4().hex
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.config: dict[str, object] = dict(_DEFAULT_CONFIG)
        if self.version_tuple >= (10, 11):
            # 10.11 added the switch with default true; 12.0 defaults it (and migrates it) to false.
            self.config["EnableLegacyAuthorization"] = self.version_tuple < (12,)
        self.users: dict[str, UserRec] = {}
        self.tokens: dict[str, TokenRec] = {}
        self.items: dict[str, ItemRec] = {}
        self.libraries: list[str] = []
        self.sessions: dict[str, SessionRec] = {}
        self.quick_connect: dict[str, QuickConnectRec] = {}
        self.children: dict[str, list[str]] = {}
        self.generation = 0
        """Bumped on every change; query caches compare it to know when to recompute."""
        self.structure_generation = 0
        """Bumped when items, users or visibility change (not user data): the type indexes depend on it."""
        self.query_cache: dict[tuple, tuple[int, list]] = {}
        self._rng = secrets.SystemRandom()
        self.store = UserDataStore(self)
        """Rows, keys and DTO caches as this version keeps them (userdata.py)."""

    # --- version helpers ---------------------------------------------------------------------------

    def at_least(self, *version: int) -> bool:
        return self.version_tuple >= version

    @property
    def legacy_auth(self) -> bool:
        return bool(self.config.get("EnableLegacyAuthorization", True))

    def _touch(self, structure: bool = False) -> None:
        self.generation += 1
        if structure:
            self.structure_generation += 1

    def _new_id(self, item_id: str | None) -> str:
        if item_id is None:
            return uuid.uuid4().hex
        norm = norm_guid(item_id)
        if norm is None:
            raise ValueError("item_id must be a GUID")
        return norm

    # --- users and tokens --------------------------------------------------------------------------

    def add_user(self, name: str, password: str = "", is_admin: bool = False,
                 enable_user_preference_access: bool = True, login_attempts_before_lockout: int = 0,
                 *, user_id: str | None = None, display_missing_episodes: bool = False) -> str:
        """Create a user; returns its id (32 lower hex).

        Args:
            enable_user_preference_access: False = Policy.EnableUserPreferenceAccess off: the UserData GET and POST
                answer 403 for this user's own token (played/unplayed still work).
            display_missing_episodes: Configuration.DisplayMissingEpisodes (virtual episodes in episode lists).
        """
        with self.lock:
            uid = self._new_id(user_id)
            self.users[uid] = UserRec(uid, name, password, is_admin, enable_user_preference_access,
                                      login_attempts_before_lockout, display_missing_episodes=display_missing_episodes)
            self._touch(structure=True)
            return uid

    def user_by_name(self, name: str) -> UserRec | None:
        with self.lock:
            for user in self.users.values():
                if user.name.lower() == name.lower():
                    return user
            return None

    def issue_token(self, user_id: str, device_id: str = "test-device", *, client: str = "cwtui-tests",
                    device_name: str = "tests", app_version: str = "0.0") -> str:
        """A user session token, as if the user had logged in from device_id (earlier tokens stay valid)."""
        with self.lock:
            if user_id not in self.users:
                raise KeyError("unknown user")
            token = secrets.token_hex(16)
            self.tokens[token] = TokenRec(token, user_id, device_id, device_name, client, app_version)
            self._touch()
            return token

    def add_api_key(self, name: str) -> str:
        """An admin-created API key: administrator rights, no user."""
        with self.lock:
            token = secrets.token_hex(16)
            self.tokens[token] = TokenRec(token, None, api_key_name=name, date_created=self.clock())
            self._touch()
            return token

    def revoke_token(self, token: str) -> None:
        """Logout(Device): the token goes and so does every session on its DeviceId, whoever's (§1.2)."""
        with self.lock:
            rec = self.tokens.pop(token, None)
            if rec is not None and not rec.is_api_key:
                self._end_device_sessions(rec.device_id)
            self._touch()

    def login(self, user: UserRec, *, client: str, device: str, device_id: str, version: str) -> tuple[str, SessionRec]:
        """A successful sign-in with the DeviceId rule of the version (jellyfin-api.md §1.2).

        10.9+: that user's earlier tokens on the DeviceId are logged out and a new token is made. 10.8: the user's
        token on the DeviceId is reissued, and every OTHER token on it, of any user, is logged out.
        """
        with self.lock:
            reissued = None
            for tok, rec in list(self.tokens.items()):
                if rec.is_api_key or rec.device_id != device_id:
                    continue
                if not self.at_least(10, 9) and rec.user_id == user.id and reissued is None:
                    reissued = tok
                elif rec.user_id == user.id or not self.at_least(10, 9):
                    self.revoke_token(tok)
            token = reissued or secrets.token_hex(16)
            self.tokens[token] = TokenRec(token, user.id, device_id, device, client, version)
            now = self.clock()
            user.last_login = user.last_activity = now
            user.invalid_attempts = 0
            session = self._session_for(user.id, device_id, client, device, version)
            self._touch()
            return token, session

    def set_user_disabled(self, user_id: str, disabled: bool = True) -> None:
        with self.lock:
            self.users[user_id].is_disabled = disabled
            if not disabled:
                self.users[user_id].invalid_attempts = 0
            self._touch()

    # --- libraries and items -----------------------------------------------------------------------

    def _add_item(self, rec: ItemRec) -> str:
        self.items[rec.id] = rec
        if rec.parent_id is not None:
            self.children.setdefault(rec.parent_id, []).append(rec.id)
        self._touch(structure=True)
        return rec.id

    def add_library(self, name: str, collection_type: str = "movies", *, item_id: str | None = None) -> str:
        """A library view (CollectionFolder); collection_type is 'movies' or 'tvshows'. Returns its id."""
        with self.lock:
            lid = self._new_id(item_id)
            self.libraries.append(lid)
            return self._add_item(ItemRec(lid, "CollectionFolder", name, lid, None, name.lower(),
                                          collection_type=collection_type, date_created=self.clock(),
                                          path=f"/config/root/default/{name}"))

    def add_movie(self, library_id: str, name: str, year: int | None = None, runtime_ticks: int | None = None,
                  provider_ids: dict[str, str] | None = None, *, item_id: str | None = None,
                  date_created: datetime | None = None) -> str:
        with self.lock:
            self._require(library_id, "CollectionFolder")
            mid = self._new_id(item_id)
            return self._add_item(ItemRec(
                mid, "Movie", name, library_id, library_id, _sort_name(name), runtime_ticks, year,
                provider_ids=dict(provider_ids or {}), date_created=date_created or self.clock(),
                path=f"/media/movies/{name} ({year})/{name}.mkv" if year else f"/media/movies/{name}.mkv"))

    def add_version(self, primary_id: str, name: str, runtime_ticks: int | None = None, *,
                    item_id: str | None = None) -> str:
        """12.0: an owned local alternate version of a movie (OwnerId = PrimaryVersionId = the primary, §2.6).

        It copies the primary's ProviderIds (so it has the primary's user-data keys) and keeps its own progress.
        """
        with self.lock:
            primary = self._require(primary_id, "Movie")
            vid = self._new_id(item_id)
            return self._add_item(ItemRec(
                vid, "Movie", name, primary.library_id, primary.id, primary.sort_name,
                runtime_ticks if runtime_ticks is not None else primary.runtime_ticks, primary.year,
                provider_ids=dict(primary.provider_ids), date_created=self.clock(),
                path=f"/media/movies/{name}.mkv", primary_version_id=primary.id))

    def versions_of(self, item: ItemRec) -> list[ItemRec]:
        """The primary first, then its owned alternates; a movie without versions is its own only version."""
        primary = self.items.get(item.primary_version_id or "") or item
        alternates = [self.items[i] for i in self.children.get(primary.id, ()) if i in self.items
                      and self.items[i].primary_version_id == primary.id]
        return [primary, *alternates]

    def add_series(self, library_id: str, name: str, provider_ids: dict[str, str] | None = None,
                   year: int | None = None, *, item_id: str | None = None,
                   date_created: datetime | None = None) -> str:
        with self.lock:
            self._require(library_id, "CollectionFolder")
            sid = self._new_id(item_id)
            return self._add_item(ItemRec(sid, "Series", name, library_id, library_id, _sort_name(name), None, year,
                                          provider_ids=dict(provider_ids or {}),
                                          date_created=date_created or self.clock(), path=f"/media/shows/{name}"))

    def add_episode(self, series_id: str, season: int, episode: int, name: str, runtime_ticks: int | None = None,
                    provider_ids: dict[str, str] | None = None, *, item_id: str | None = None,
                    season_item_id: str | None = None, year: int | None = None,
                    date_created: datetime | None = None, virtual: bool = False) -> str:
        """An episode; creates the Season item on first use (season 0 is named 'Specials').

        virtual=True makes a missing-episode placeholder (LocationType "Virtual", no file; jellyfin-api.md §3).
        """
        with self.lock:
            series = self._require(series_id, "Series")
            season_rec = self._season(series, season, season_item_id)
            eid = self._new_id(item_id)
            return self._add_item(ItemRec(
                eid, "Episode", name, series.library_id, season_rec.id, _sort_name(name), runtime_ticks,
                year if year is not None else series.year, episode, season, series.id, series.name, season_rec.id,
                season_rec.name, dict(provider_ids or {}), date_created=date_created or self.clock(),
                path=None if virtual else f"{series.path}/{season_rec.name}/S{season:02d}E{episode:02d}.mkv",
                location_type="Virtual" if virtual else "FileSystem"))

    def _season(self, series: ItemRec, number: int, season_item_id: str | None) -> ItemRec:
        for cid in self.children.get(series.id, ()):
            rec = self.items[cid]
            if rec.type == "Season" and rec.index_number == number:
                return rec
        name = "Specials" if number == 0 else f"Season {number}"
        rec = ItemRec(self._new_id(season_item_id), "Season", name, series.library_id, series.id,
                      f"season {number:03d}", None, series.year, number, None, series.id, series.name,
                      date_created=self.clock(), path=f"{series.path}/{name}")
        self._add_item(rec)
        return rec

    def _require(self, item_id: str, kind: str) -> ItemRec:
        rec = self.items.get(norm_guid(item_id) or "")
        if rec is None or rec.type != kind:
            raise KeyError(f"no {kind} with that id")
        return rec

    def remove_item(self, item_id: str) -> None:
        """The item (and anything under it) is gone: every route answers 404 for it."""
        with self.lock:
            rec = self.items.pop(norm_guid(item_id) or "", None)
            if rec is None:
                return
            if rec.parent_id in self.children:
                self.children[rec.parent_id] = [c for c in self.children[rec.parent_id] if c != rec.id]
            for child in list(self.children.pop(rec.id, [])):
                self.remove_item(child)
            if rec.id in self.libraries:
                self.libraries.remove(rec.id)
            self._touch(structure=True)

    def hide_item_from(self, user_id: str, item_id: str) -> None:
        """The user cannot see the item (parental rating, blocked tag...): 404 for them, like the real server."""
        with self.lock:
            self.users[user_id].hidden_items.add(norm_guid(item_id) or item_id)
            self._touch(structure=True)

    def hide_library_from(self, user_id: str, library_id: str) -> None:
        """The user has no access to the library: it vanishes from views and parentId on it answers 401."""
        with self.lock:
            self.users[user_id].hidden_libraries.add(norm_guid(library_id) or library_id)
            self._touch(structure=True)

    def visible(self, user_id: str | None, item: ItemRec) -> bool:
        """Can that user see the item? No user (an API key) sees everything."""
        if user_id is None:
            return True
        user = self.users.get(user_id)
        if user is None:
            return True
        if item.id in user.hidden_items or item.library_id in user.hidden_libraries:
            return False
        return not (user.hidden_items and (item.series_id in user.hidden_items or item.season_id in user.hidden_items
                                           or item.parent_id in user.hidden_items))

    def user_data_key(self, item: ItemRec) -> str:
        """The item's first user-data key (jellyfin-api.md §2.5): the one 10.8–10.10 read and filter by."""
        return self.store.keys(item)[0]

    def reidentify(self, item_id: str, provider_ids: dict[str, str]) -> None:
        """New provider ids (a re-identify or a refresh): the item's keys change, its old-key rows stay behind.

        On 10.11 the old rows keep shadowing the item (jellyfin#15795): writes update only the current keys, and the
        first (oldest) row still answers the resume filter (`/Items?ids=X&filters=IsResumable`, which reads stored
        rows) and, after `restart()`, the DTO reads. On 12.0 DTOs prefer the current keys, but the resume filter
        still counts an old row with a position.
        """
        with self.lock:
            self._item(item_id).provider_ids = dict(provider_ids)
            self._touch(structure=True)

    def upgrade_to(self, version: str) -> None:
        """Upgrade a 10.8-10.10 server to 10.11.x in place (a restart): shared rows are migrated the way 10.11's
        MigrateLibraryDb does it, so of two copies that shared a position only one keeps it."""
        with self.lock:
            new = parse_version(version)
            if not ((10, 11) <= new < (12,)) or self.at_least(10, 11):
                raise ValueError("upgrade_to supports 10.8-10.10 -> 10.11.x only")
            self.version, self.version_tuple = version, new
            self.config["EnableLegacyAuthorization"] = True
            self.store.migrate_from_shared()
            self._touch(structure=True)

    def restart(self) -> None:
        """A server restart: the user-data DTO caches are emptied (the rows stay). Also evicts the 10.11.10+ LRU."""
        with self.lock:
            self.store.restart()
            self._touch()

    def _item(self, item_id: str) -> ItemRec:
        rec = self.items.get(norm_guid(item_id) or item_id)
        if rec is None:
            raise KeyError("unknown item")
        return rec

    # --- user data ---------------------------------------------------------------------------------

    def set_user_data(self, user_id: str, item_id: str, position_ticks: int = 0, played: bool = False,
                      play_count: int = 0, last_played: datetime | None = None, *, is_favorite: bool = False) -> None:
        """Store a row as a save through this item would (every key; this item's cache entry)."""
        with self.lock:
            item = self._item(item_id)
            if user_id not in self.users:
                raise KeyError("unknown user")
            self.store.save(user_id, item, UserDataRec(position_ticks, played, play_count, last_played, is_favorite))

    def get_user_data(self, user_id: str, item_id: str) -> UserData:
        """What the server has stored (the row its queries use, §2.5), not what a possibly stale DTO shows."""
        with self.lock:
            found = self.store.stored(user_id, self._item(item_id))
            return _as_user_data(found[1] if found else None)

    def dto_user_data(self, user_id: str, item_id: str) -> UserData:
        """What a DTO read would show now (through the version's cache; fills it like a real read)."""
        with self.lock:
            return _as_user_data(self.store.read(user_id, self._item(item_id))[1])

    def user_data_rows(self, user_id: str, item_id: str) -> dict[str, UserData]:
        """Every stored row of the item by key, oldest first (10.8–10.10: the rows under the item's keys)."""
        with self.lock:
            return {k: _as_user_data(r) for k, r in self.store.rows_of(user_id, self._item(item_id)).items()}

    def update_user_data(self, user_id: str, item: ItemRec, **changes: object) -> UserDataRec:
        """GetUserData (through the cache), change the fields, SaveUserData: the server's read-modify-write."""
        rec = replace(self.store.read(user_id, item)[1], **changes)
        self.store.save(user_id, item, rec)
        return rec

    def mark_played(self, user_id: str, item: ItemRec, date_played: datetime | None) -> UserDataRec:
        """BaseItem.MarkPlayed(resetPosition: true) as 10.9+ does it."""
        current = self.store.read(user_id, item)[1]
        count = current.play_count + 1 if date_played is not None else max(current.play_count, 1)
        return self.update_user_data(user_id, item, play_count=count, played=True, position_ticks=0,
                                     last_played=date_played or current.last_played or self.clock())

    def mark_unplayed(self, user_id: str, item: ItemRec) -> UserDataRec:
        return self.update_user_data(user_id, item, played=False, play_count=0, position_ticks=0, last_played=None)

    def play_state_changes(self, item: ItemRec, position_ticks: int) -> dict[str, object]:
        """UserDataManager.UpdatePlayState: the resume rules that only playback reports go through (§4.3)."""
        runtime = item.runtime_ticks or 0
        cfg = self.config
        if runtime <= 0:
            return {"position_ticks": 0, "played": True}
        pct = 100.0 * position_ticks / runtime
        near_end = runtime - 10_000_000 if self.at_least(10, 11) else runtime
        if pct < float(cfg["MinResumePct"]):
            return {"position_ticks": 0}
        if pct > float(cfg["MaxResumePct"]) or position_ticks >= near_end:
            return {"position_ticks": 0, "played": True}
        if runtime < int(cfg["MinResumeDurationSeconds"]) * 10_000_000:
            return {"position_ticks": 0, "played": True}
        return {"position_ticks": position_ticks}

def _as_user_data(rec: UserDataRec | None) -> UserData:
    if rec is None:
        return UserData()
    return UserData(rec.position_ticks, rec.played, rec.play_count, rec.last_played)


def _sort_name(name: str) -> str:
    """Jellyfin's SortName drops a leading article and compares case-insensitively."""
    lower = name.lower()
    for article in ("the ", "a ", "an "):
        if lower.startswith(article) and len(lower) > len(article):
            return lower[len(article):]
    return lower
