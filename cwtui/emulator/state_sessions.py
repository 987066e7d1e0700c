"""The emulator's sessions and Quick Connect requests: a mixin of EmulatorState (the same lock and tables)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from cwtui.emulator import playback
from cwtui.emulator.dto import norm_guid, session_dto, user_dto
from cwtui.emulator.records import QuickConnectRec, SessionRec, TokenRec

QUICK_CONNECT_TIMEOUT = timedelta(minutes=10)


class QuickConnectAlreadyAuthorized(Exception):
    """AuthorizeRequest on an authorized code throws InvalidOperationException: a 500."""


class SessionsMixin:
    """Sessions (one per Client + DeviceId), player sessions for tests, and the Quick Connect flow.

    It works on EmulatorState's tables (lock, clock, users, items, sessions, quick_connect) and its login().
    """

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
