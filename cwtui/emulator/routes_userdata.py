"""Routes that read and write one user's play state: UserData (10.9+) and PlayedItems."""

from __future__ import annotations

from cwtui.emulator import versions
from cwtui.emulator.dto import parse_date, user_data_dto
from cwtui.emulator.routes_base import (
    HttpError, Request, Response, json_response, not_found, problem, route, text, v,
)
from cwtui.emulator.state import ItemRec, UserRec

_FIELDS = {"PlaybackPositionTicks": int, "PlayCount": int, "IsFavorite": bool, "Likes": bool, "Played": bool,
           "Rating": float}

COPIED_FIELDS = {"PlaybackPositionTicks": "position_ticks", "PlayCount": "play_count", "IsFavorite": "is_favorite",
                 "Likes": "likes", "Played": "played", "LastPlayedDate": "last_played", "Rating": "rating"}
"""UpdateUserItemDataDto fields the server applies, each only when present (jellyfin-api.md §4.1)."""


def _target(req: Request, requested_user: str | None, verb: str) -> tuple[UserRec, ItemRec]:
    """ItemsController's order: resolve the user (403), find it (404), may update (403 text), find the item (404).

    10.9 checks the preference-access 403 before it looks the user up, and answers an unknown user with a
    text/plain 404 (RequestHelpers.cs:94-118 @v10.9.11).
    """
    state = req.state
    if not state.at_least(10, 10):
        uid = req.resolve_user_id(requested_user)
        user = state.users.get(uid or "")
        if user is not None and not req.can_update_user(user):
            raise HttpError(text(403, f"User is not allowed to {verb} this item user data."))
        if user is None:
            raise HttpError(text(404))
    else:
        user = req.require_user(requested_user)
        if not req.can_update_user(user):
            raise HttpError(text(403, f"User is not allowed to {verb} this item user data."))
    rec = state.items.get(req.p_guid("itemId"))
    if rec is None or not state.visible(user.id, rec):
        raise not_found()
    return user, rec


def _dto(req: Request, user: UserRec, rec: ItemRec) -> dict:
    return user_data_dto(req.state, rec, versions.dto_row(req.state, user.id, rec))


def _get(req: Request, requested_user: str | None) -> Response:
    user, rec = _target(req, requested_user, "view")
    return json_response(_dto(req, user, rec))


def _coerce(name: str, kind: type, value: object) -> object:
    """System.Text.Json with AllowReadingFromString: numbers may arrive as strings; anything else is a 400."""
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            return value
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    raise HttpError(problem(400, {f"$.{name}": ["The JSON value could not be converted."]}))


def _post(req: Request, requested_user: str | None) -> Response:
    body = req.json_body()
    if not isinstance(body, dict):
        raise HttpError(problem(400, {"$": ["The JSON value could not be converted."]}))
    user, rec = _target(req, requested_user, "update")
    changes: dict[str, object] = {}
    for name, kind in _FIELDS.items():
        value = body.get(name)
        if value is not None:  # a null is "not sent": the field stays as it was
            changes[name] = _coerce(name, kind, value)
    if body.get("LastPlayedDate") is not None:
        try:
            changes["LastPlayedDate"] = parse_date(str(body["LastPlayedDate"]))
        except ValueError:
            raise HttpError(problem(400, {"$.LastPlayedDate": ["The JSON value could not be converted."]})) from None
    # A plain field copy: no resume rules, no implied Played or LastPlayedDate (jellyfin-api.md §4.1).
    req.state.update_user_data(user.id, rec, **{attr: changes[key] for key, attr in COPIED_FIELDS.items()
                                               if key in changes})
    return json_response(_dto(req, user, rec))


@route("GET", "/UserItems/{itemId}/UserData", when=v(10, 9))
def get_user_data(req: Request) -> Response:
    return _get(req, req.q_guid("userId"))


@route("POST", "/UserItems/{itemId}/UserData", when=v(10, 9))
def post_user_data(req: Request) -> Response:
    return _post(req, req.q_guid("userId"))


@route("GET", "/Users/{userId}/Items/{itemId}/UserData", when=v(10, 9))
def get_user_data_legacy(req: Request) -> Response:
    return _get(req, req.p_guid("userId"))


@route("POST", "/Users/{userId}/Items/{itemId}/UserData", when=v(10, 9))
def post_user_data_legacy(req: Request) -> Response:
    return _post(req, req.p_guid("userId"))


# --- played / unplayed ---------------------------------------------------------------------------------


def _played_target(req: Request, requested_user: str | None) -> tuple[UserRec, ItemRec]:
    user = req.require_user(requested_user)
    rec = req.state.items.get(req.p_guid("itemId"))
    if rec is None or not req.state.visible(user.id, rec):
        if not req.state.at_least(10, 9):
            raise HttpError(text(500))  # 10.8 had no null check here
        raise not_found()
    return user, rec


def _mark(req: Request, requested_user: str | None, played: bool) -> Response:
    """MarkPlayed/MarkUnplayed: no preference-access check (§4.2); the calling session's AdditionalUsers too; on 12.0
    every version of the video."""
    user, rec = _played_target(req, requested_user)
    state = req.state
    date = req.q_date("datePlayed") if played else None
    targets = state.versions_of(rec) if versions.has_versions(state, rec) else [rec]  # 12.0: every version
    for uid in dict.fromkeys([user.id, *state.additional_users_of(req.token)]):
        for target in targets if uid in state.users else ():
            if played:
                state.mark_played(uid, target, date)
            else:
                state.mark_unplayed(uid, target)
    return json_response(_dto(req, user, rec))


@route("POST", "/UserPlayedItems/{itemId}", when=v(10, 9))
def mark_played(req: Request) -> Response:
    return _mark(req, req.q_guid("userId"), True)


@route("DELETE", "/UserPlayedItems/{itemId}", when=v(10, 9))
def mark_unplayed(req: Request) -> Response:
    return _mark(req, req.q_guid("userId"), False)


@route("POST", "/Users/{userId}/PlayedItems/{itemId}")
def mark_played_legacy(req: Request) -> Response:
    return _mark(req, req.p_guid("userId"), True)


@route("DELETE", "/Users/{userId}/PlayedItems/{itemId}")
def mark_unplayed_legacy(req: Request) -> Response:
    return _mark(req, req.p_guid("userId"), False)
