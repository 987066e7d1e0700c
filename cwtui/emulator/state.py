"""The emulator's in-memory database: users, tokens, libraries, items, user data, sessions and Quick Connect."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cwtui.core.models import UserData, parse_version
from cwtui.emulator.dto import dashed, norm_guid
from cwtui.emulator.records import ItemRec, QuickConnectRec, SessionRec, TokenRec, UserDataRec, UserRec

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
        self.user_data: dict[tuple[str, str], UserDataRec] = {}
        self.sessions: dict[str, SessionRec] = {}
        self.quick_connect: dict[str, QuickConnectRec] = {}
        self.children: dict[str, list[str]] = {}
        self.generation = 0
        """Bumped on every change; query caches compare it to know when to recompute."""
        self.structure_generation = 0
        """Bumped when items, users or visibility change (not user data): the type indexes depend on it."""
        self.query_cache: dict[tuple, tuple[int, list]] = {}
        self._rng = secrets.SystemRandom()

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
                 *, user_id: str | None = None) -> str:
        """Create a user; returns its id (32 lower hex)."""
        with self.lock:
            uid = self._new_id(user_id)
            self.users[uid] = UserRec(uid, name, password, is_admin, enable_user_preference_access,
                                      login_attempts_before_lockout)
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
        with self.lock:
            rec = self.tokens.pop(token, None)
            if rec is not None and not rec.is_api_key:
                self._end_device_sessions(rec.user_id, rec.device_id)
            self._touch()

    def login(self, user: UserRec, *, client: str, device: str, device_id: str, version: str) -> tuple[str, SessionRec]:
        """A successful sign-in: revoke that (user, device)'s older tokens, issue one, open the device's session."""
        with self.lock:
            for tok, rec in list(self.tokens.items()):
                if rec.user_id == user.id and rec.device_id == device_id and not rec.is_api_key:
                    del self.tokens[tok]
            token = secrets.token_hex(16)
            self.tokens[token] = TokenRec(token, user.id, device_id, device, client, version)
            now = self.clock()
            user.last_login = user.last_activity = now
            user.invalid_attempts = 0
            session = self._session_for(user.id, device_id, client, device, version)
            self._touch()
            return token, session

    def _session_for(self, user_id: str | None, device_id: str, client: str, device: str, version: str) -> SessionRec:
        for session in self.sessions.values():
            if session.device_id == device_id and session.user_id == user_id and session.client == client:
                session.last_activity = self.clock()
                return session
        sid = uuid.uuid4().hex
        session = SessionRec(sid, user_id, client, device_id, device, version, last_activity=self.clock())
        self.sessions[sid] = session
        return session

    def _end_device_sessions(self, user_id: str | None, device_id: str) -> None:
        for sid, session in list(self.sessions.items()):
            if session.user_id == user_id and session.device_id == device_id:
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
                    date_created: datetime | None = None) -> str:
        """An episode; creates the Season item on first use (season 0 is named 'Specials')."""
        with self.lock:
            series = self._require(series_id, "Series")
            season_rec = self._season(series, season, season_item_id)
            eid = self._new_id(item_id)
            return self._add_item(ItemRec(
                eid, "Episode", name, series.library_id, season_rec.id, _sort_name(name), runtime_ticks,
                year if year is not None else series.year, episode, season, series.id, series.name, season_rec.id,
                season_rec.name, dict(provider_ids or {}), date_created=date_created or self.clock(),
                path=f"{series.path}/{season_rec.name}/S{season:02d}E{episode:02d}.mkv"))

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
        """The user-data key as Jellyfin builds it: videos use Tmdb, else Imdb, else the id; episodes series+SSSEEE."""
        if item.type == "Episode":
            series = self.items.get(item.series_id or "")
            base = self.user_data_key(series) if series else item.id
            return f"{base}{item.parent_index_number or 0:03d}{item.index_number or 0:03d}"
        ids = {k.lower(): v for k, v in item.provider_ids.items()}
        if item.type == "Series":
            return ids.get("tvdb") or ids.get("tmdb") or ids.get("imdb") or item.id
        if item.type == "CollectionFolder":
            return dashed(item.id)
        return ids.get("tmdb") or ids.get("imdb") or item.id

    # --- user data ---------------------------------------------------------------------------------

    def set_user_data(self, user_id: str, item_id: str, position_ticks: int = 0, played: bool = False,
                      play_count: int = 0, last_played: datetime | None = None, *, is_favorite: bool = False) -> None:
        with self.lock:
            iid = norm_guid(item_id) or item_id
            if user_id not in self.users or iid not in self.items:
                raise KeyError("unknown user or item")
            self.user_data[(user_id, iid)] = UserDataRec(position_ticks, played, play_count, last_played, is_favorite)
            self._touch()

    def get_user_data(self, user_id: str, item_id: str) -> UserData:
        with self.lock:
            rec = self.user_data.get((user_id, norm_guid(item_id) or item_id))
            if rec is None:
                return UserData()
            return UserData(rec.position_ticks, rec.played, rec.play_count, rec.last_played)

    def user_data_rec(self, user_id: str, item_id: str) -> UserDataRec:
        """The row to modify, created empty on first write."""
        key = (user_id, item_id)
        rec = self.user_data.get(key)
        if rec is None:
            rec = self.user_data[key] = UserDataRec()
        self._touch()
        return rec

    def mark_played(self, user_id: str, item_id: str, date_played: datetime | None) -> UserDataRec:
        """BaseItem.MarkPlayed(resetPosition: true) as 10.9+ does it."""
        rec = self.user_data_rec(user_id, item_id)
        if date_played is not None:
            rec.play_count += 1
        else:
            rec.play_count = max(rec.play_count, 1)
        rec.last_played = date_played or rec.last_played or self.clock()
        rec.played = True
        rec.position_ticks = 0
        return rec

    def mark_unplayed(self, user_id: str, item_id: str) -> UserDataRec:
        rec = self.user_data_rec(user_id, item_id)
        rec.played, rec.play_count, rec.position_ticks, rec.last_played = False, 0, 0, None
        return rec

    def apply_play_state(self, user_id: str, item: ItemRec, position_ticks: int | None, *, stopped: bool) -> None:
        """UserDataManager.UpdatePlayState: the resume rules that only playback reports go through."""
        rec = self.user_data_rec(user_id, item.id)
        if position_ticks is None:
            if stopped:
                rec.play_count += 1
                rec.played = True
                rec.position_ticks = 0
                rec.last_played = self.clock()
            return
        runtime = item.runtime_ticks or 0
        cfg = self.config
        if runtime <= 0:
            rec.position_ticks, rec.played = 0, True
        else:
            pct = 100.0 * position_ticks / runtime
            near_end = runtime - 10_000_000 if self.at_least(10, 11) else runtime
            if pct < float(cfg["MinResumePct"]):
                rec.position_ticks = 0
            elif pct > float(cfg["MaxResumePct"]) or position_ticks >= near_end:
                rec.position_ticks, rec.played = 0, True
            elif runtime < int(cfg["MinResumeDurationSeconds"]) * 10_000_000:
                rec.position_ticks, rec.played = 0, True
            else:
                rec.position_ticks = position_ticks
        if stopped:
            rec.last_played = self.clock()

    # --- sessions ----------------------------------------------------------------------------------

    def start_session(self, user_id: str | None, now_playing_item_id: str | None = None, *,
                      device_id: str | None = None, client: str = "Jellyfin Web", device_name: str = "Firefox",
                      position_ticks: int = 0) -> str:
        """A player's session (another client of that user), optionally playing an item right now."""
        with self.lock:
            sid = uuid.uuid4().hex
            self.sessions[sid] = SessionRec(
                sid, user_id, client, device_id or uuid.uuid4().hex, device_name, self.version,
                norm_guid(now_playing_item_id) if now_playing_item_id else None, position_ticks,
                last_activity=self.clock(), last_check_in=self.clock() if now_playing_item_id else None)
            self._touch()
            return sid

    def end_session(self, session_id: str) -> None:
        with self.lock:
            self.sessions.pop(session_id, None)
            self._touch()

    def playing_item_ids(self, user_id: str) -> set[str]:
        return {s.now_playing_item_id for s in self.sessions.values()
                if s.user_id == user_id and s.now_playing_item_id}

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
        """What a signed-in client does when its user types the code; False when no pending request has it."""
        with self.lock:
            self._expire_quick_connect()
            for rec in self.quick_connect.values():
                if rec.code == code and not rec.authenticated:
                    rec.authenticated, rec.user_id = True, user_id
                    return True
            return False


def _sort_name(name: str) -> str:
    """Jellyfin's SortName drops a leading article and compares case-insensitively."""
    lower = name.lower()
    for article in ("the ", "a ", "an "):
        if lower.startswith(article) and len(lower) > len(article):
            return lower[len(article):]
    return lower
