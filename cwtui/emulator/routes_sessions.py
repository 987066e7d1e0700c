"""Routes for /Sessions (visibility, filters, AddUserToSession) and the playback reports (jellyfin-api.md §4.3, §6)."""

from __future__ import annotations

from datetime import timedelta

from cwtui.emulator import playback
from cwtui.emulator.dto import norm_guid, session_dto
from cwtui.emulator.routes_base import HttpError, Request, Response, empty, json_response, problem, route, text
from cwtui.emulator.state import SessionRec


def _contains(session: SessionRec, user_id: str | None) -> bool:
    """SessionInfo.ContainsUser: the session's user or one of its AdditionalUsers."""
    return user_id is not None and (session.user_id == user_id or user_id in session.additional_users)


def _may_control_others(req: Request, user_id: str | None) -> bool:
    """EnableRemoteControlOfOtherUsers: API keys yes; our users' policy has it off, administrators are taken to
    have it on (an assumption: jellyfin-api.md does not say)."""
    if user_id is None:
        return req.caller_is_api_key
    user = req.state.users.get(user_id)
    return bool(user and user.is_admin)


@route("GET", "/Sessions")
def sessions(req: Request) -> Response:
    """GET /Sessions as 10.8's SessionController and 10.10+'s SessionManager.GetSessions filter it (§6)."""
    s = req.state
    out = list(s.sessions.values())
    device = req.q("deviceId")
    if device:
        out = [x for x in out if x.device_id.lower() == device.lower()]
    controllable = req.q_guid("controllableByUserId")
    active = req.q_int("activeWithinSeconds")
    since = s.clock() - timedelta(seconds=active) if active and active > 0 else None
    if not s.at_least(10, 9):
        # 10.8: everyone sees every session; the filters, activeWithinSeconds included, apply only with
        # controllableByUserId, and are about that user
        if controllable:
            out = [x for x in out if x.supports_remote_control]
            if not _may_control_others(req, controllable):
                out = [x for x in out if x.user_id is None or _contains(x, controllable)]
            if since is not None:
                out = [x for x in out if x.last_activity is not None and x.last_activity >= since]
        return json_response([session_dto(s, x) for x in out])
    caller = req.caller_user_id
    if controllable:
        # 10.10+: remote-controllable sessions; a caller who may not control others keeps its own and unowned ones
        if controllable not in s.users:
            return json_response([])
        out = [x for x in out if x.supports_remote_control]
        if not _may_control_others(req, caller):
            out = [x for x in out if x.user_id is None or _contains(x, caller)]
    elif not req.caller_is_admin:
        out = [x for x in out if x.user_id is None or _contains(x, caller)]  # non-admins: their own and unowned
    if since is not None:
        out = [x for x in out if x.last_activity is not None and x.last_activity >= since]
    return json_response([session_dto(s, x) for x in out])


@route("POST", "/Sessions/{sessionId}/User/{userId}")
def add_user_to_session(req: Request) -> Response:
    """AddUserToSession: later reports and played/unplayed calls from that session write this user's data too."""
    s = req.state
    session = s.sessions.get(norm_guid(req.params["sessionId"]) or req.params["sessionId"])
    user_id = req.p_guid("userId")
    if session is None or user_id not in s.users:
        return text(404)  # GetSession throws ResourceNotFoundException
    if session.user_id == user_id:
        return text(400, "The requested user is already the primary user of the session.")
    if user_id not in session.additional_users:
        session.additional_users.append(user_id)
        s._touch()
    return empty(204)


def _report(req: Request, kind: str) -> Response:
    body = req.json_body()
    if not isinstance(body, dict):
        raise HttpError(problem(400))
    s = req.state
    session = s.session_of(req.token)
    if session is None:
        return empty(204)  # an API-key session has no user: nothing is written
    item = s.items.get(norm_guid(str(body.get("ItemId") or "")) or "")
    raw = body.get("PositionTicks")
    position = int(raw) if raw is not None else None
    source = norm_guid(str(body.get("MediaSourceId") or "")) or (item.id if item else None)
    if item is None:
        return empty(204)
    if kind == "start":
        playback.report_start(s, session, item, source)
    elif kind == "progress":
        playback.report_progress(s, session, item, position, source)
    else:
        playback.report_stop(s, session, item, position, source)
    stopped = kind == "stop"
    session.now_playing_item_id = None if stopped else item.id
    session.media_source_id = None if stopped else source
    session.position_ticks = position or 0
    session.is_paused = bool(body.get("IsPaused"))
    session.last_check_in = session.last_activity = s.clock()
    s._touch()
    return empty(204)


@route("POST", "/Sessions/Playing")
def playing(req: Request) -> Response:
    return _report(req, "start")


@route("POST", "/Sessions/Playing/Progress")
def progress(req: Request) -> Response:
    return _report(req, "progress")


@route("POST", "/Sessions/Playing/Stopped")
def stopped(req: Request) -> Response:
    return _report(req, "stop")
