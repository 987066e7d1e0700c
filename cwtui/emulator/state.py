"""The emulator's in-memory database: users, tokens, libraries, items, user data, sessions and Quick Connect."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cwtui.core.models import UserData, parse_version
from cwtui.emulator import playback
from cwtui.emulator.dto import norm_guid, session_dto, user_dto
from cwtui.emulator.records import ItemRec, QuickConnectRec, SessionRec, TokenRec, UserDataRec, UserRec
from cwtui.emulator.userdata import UserDataStore

__all__ = ["EmulatorState", "ItemRec", "QuickConnectRec", "SessionRec", "TokenRec", "UserDataRec", "UserRec"]

QUICK_CONNECT_TIMEOUT = timedelta(minutes=10)

_DEFAULT_CONFIG = {
    "MinResumePct": 5,
    "MaxResumePct": 90,
    "MinResumeDurationSeconds": 300,
    "MinAudiobookResume": 5,
    "MaxAudiobookResume": 5,
    "QuickConnectAvailable": True,
}


class EmulatorState:
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

    def _session_for(self, user_id: str | None, device_id: str, client: str, device: str, version: str) -> SessionRec:
        """GetSessionInfo: one session per Client + DeviceId; its user becomes the last one it was resolved for."""
        for session in self.sessions.values():
            if session.device_id == device_id and session.client == client:
                session.last_activity = self.clock()
                session.user_id = user_id
                return session
        sid = uuid.uuid4().hex
        session = SessionRec(sid, user_id, client, device_id, device, version, last_activity=self.clock())
        self.sessions[sid] = session
        return session

    def session_of(self, token: TokenRec | None) -> SessionRec | None:
        """The session a user token reports through (made on first use, as the real server does)."""
        if token is None or token.is_api_key or token.user_id is None:
            return None
        return self._session_for(token.user_id, token.device_id, token.client, token.device_name, token.app_version)

    def additional_users_of(self, token: TokenRec | None) -> list[str]:
        """The AdditionalUsers of the token's session (played/unplayed and reports write theirs too)."""
        for session in self.sessions.values():
            if token is not None and session.device_id == token.device_id and session.client == token.client:
                return list(session.additional_users)
        return []

    def _end_device_sessions(self, device_id: str) -> None:
        for sid, session in list(self.sessions.items()):
            if session.device_id == device_id:
                del self.sessions[sid]

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

    # --- sessions ----------------------------------------------------------------------------------

    def start_session(self, user_id: str | None, now_playing_item_id: str | None = None, *,
                      device_id: str | None = None, client: str = "Jellyfin Web", device_name: str = "Firefox",
                      position_ticks: int = 0, media_source_id: str | None = None, is_paused: bool = False,
                      additional_users: list[str] | tuple[str, ...] = (),
                      last_activity: datetime | None = None) -> str:
        """A player's session (another client of that user), optionally playing an item right now.

        Args:
            media_source_id: the version being played (12.0: an alternate's item id); default the item itself.
            additional_users: user ids added to the session (AddUserToSession).
            last_activity: when the session was last active (for activeWithinSeconds); default now.
        """
        with self.lock:
            sid = uuid.uuid4().hex
            playing = norm_guid(now_playing_item_id) if now_playing_item_id else None
            when = last_activity or self.clock()
            self.sessions[sid] = SessionRec(
                sid, user_id, client, device_id or uuid.uuid4().hex, device_name, self.version, playing,
                position_ticks, is_paused, last_activity=when, last_check_in=when if playing else None,
                media_source_id=(norm_guid(media_source_id) if media_source_id else playing),
                additional_users=list(additional_users), supports_remote_control=True)
            self._touch()
            return sid

    def add_user_to_session(self, session_id: str, user_id: str) -> None:
        """AddUserToSession without HTTP: the session's reports and played calls write this user's data too."""
        with self.lock:
            session = self.sessions[session_id]
            if user_id != session.user_id and user_id not in session.additional_users:
                session.additional_users.append(user_id)
            self._touch()

    def idle_stop(self, session_id: str, *, advanced_seconds: float = 0.0) -> None:
        """The server's idle cleanup stops this session's playback and saves its position (see playback.idle_stop)."""
        playback.idle_stop(self, session_id, advanced_seconds=advanced_seconds)

    def end_session(self, session_id: str) -> None:
        with self.lock:
            self.sessions.pop(session_id, None)
            self._touch()

    def playing_item_ids(self, user_id: str) -> set[str]:
        """Items the user's sessions play now (excludeActiveSessions); on 12.0 every version of each."""
        playing = {s.now_playing_item_id for s in self.sessions.values()
                   if s.user_id == user_id and s.now_playing_item_id}
        if self.at_least(12):
            playing |= {v.id for i in list(playing) if i in self.items for v in self.versions_of(self.items[i])}
        return playing

    # --- quick connect -----------------------------------------------------------------------------

    def quick_connect_initiate(self, *, device_id: str, device_name: str, app_name: str,
                               app_version: str) -> QuickConnectRec:
        with self.lock:
            self._expire_quick_connect()
            codes = {r.code for r in self.quick_connect.values()}
            code = f"{self._rng.randrange(1_000_000):06d}"
            while code in codes:
                code = f"{self._rng.randrange(1_000_000):06d}"
            rec = QuickConnectRec(secrets.token_hex(32), code, device_id, device_name, app_name, app_version,
                                  self.clock())
            self.quick_connect[rec.secret] = rec
            return rec

    def _expire_quick_connect(self) -> None:
        now = self.clock()
        for secret, rec in list(self.quick_connect.items()):
            if now - rec.date_added > QUICK_CONNECT_TIMEOUT:
                del self.quick_connect[secret]

    def quick_connect_lookup(self, secret: str) -> QuickConnectRec | None:
        with self.lock:
            self._expire_quick_connect()
            return self.quick_connect.get(secret)

    def quick_connect_authorize(self, code: str, user_id: str) -> bool:
        """What a signed-in client does when its user types the code; False when no pending request has it.

        The access token is made here, with the initiator's DeviceId, Device, Client and Version, so the DeviceId
        rule of a login applies now (jellyfin-api.md §1.4); the request then stays valid 10 minutes from now.
        Raises QuickConnectAlreadyAuthorized for a code already authorized (the real server's 500).
        """
        with self.lock:
            self._expire_quick_connect()
            for rec in self.quick_connect.values():
                if rec.code != code:
                    continue
                if rec.authenticated:
                    raise QuickConnectAlreadyAuthorized(code)
                user = self.users[user_id]
                token, session = self.login(user, client=rec.app_name, device=rec.device_name,
                                            device_id=rec.device_id, version=rec.app_version)
                rec.result = {"User": user_dto(self, user), "SessionInfo": session_dto(self, session),
                              "AccessToken": token, "ServerId": self.server_id}
                rec.authenticated, rec.user_id, rec.date_added = True, user_id, self.clock()
                return True
            return False


class QuickConnectAlreadyAuthorized(Exception):
    """AuthorizeRequest on an authorized code throws InvalidOperationException: a 500."""


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
