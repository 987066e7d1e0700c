"""Routes that read and write one user's play state: UserData (10.9+) and PlayedItems."""

from __future__ import annotations

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


def _target(req: Request, requested_user: str | None) -> tuple[UserRec, ItemRec]:
    """ItemsController's order: resolve the user (403), find it (404), may update (403 text), find the item (404)."""
    user = req.require_user(requested_user)
    if not req.can_update_user(user):
        raise HttpError(text(403, "User is not allowed to update the data."))
    rec = req.state.items.get(req.p_guid("itemId"))
    if rec is None or not req.state.visible(user.id, rec):
        raise not_found()
    return user, rec


def _dto(req: Request, user: UserRec, rec: ItemRec) -> dict:
    dto = user_data_dto(req.state, rec, req.state.user_data.get((user.id, rec.id)))
    return dto


def _get(req: Request, requested_user: str | None) -> Response:
    user, rec = _target(req, requested_user)
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
    user, rec = _target(req, requested_user)
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
    row = req.state.user_data_rec(user.id, rec.id)
    # A plain field copy: no resume rules, no implied Played or LastPlayedDate (jellyfin-api.md §4.1).
    for key, attribute in COPIED_FIELDS.items():
        if key in changes:
            setattr(row, attribute, changes[key])
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
    user, rec = _played_target(req, requested_user)
    if played:
        row = req.state.mark_played(user.id, rec.id, req.q_date("datePlayed"))
    else:
        row = req.state.mark_unplayed(user.id, rec.id)
    return json_response(user_data_dto(req.state, rec, row))


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
