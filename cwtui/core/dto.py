"""Parsing Jellyfin's JSON into `cwtui.core.models` objects: lenient about values, strict about shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from cwtui.core.errors import BadResponse
from cwtui.core.models import (
    AuthResult,
    Item,
    ItemKind,
    Library,
    QuickConnectCode,
    ResumeRules,
    Series,
    ServerInfo,
    Session,
    User,
    UserData,
)

_KINDS = {"movie": ItemKind.MOVIE, "episode": ItemKind.EPISODE}
_HEX32 = re.compile(r"[0-9a-f]{32}")
_EMPTY_GUID = "0" * 32
_EARLIEST = datetime(1, 1, 3, tzinfo=UTC)
_LATEST = datetime(9999, 12, 29, tzinfo=UTC)
# Jellyfin writes 7 fractional digits, or fewer with trailing zeros trimmed; Python wants at most 6.
_DATE = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*([Zz]|[+-]\d{2}:?\d{2})?\s*$"
)


# --- scalars ---------------------------------------------------------------------------------------


def norm_id(value: Any) -> str | None:
    """A GUID as 32 lower-case hex digits without dashes (the server writes both forms); "" -> None.

    Values that are not GUIDs (session ids, odd plugin ids) are lower-cased and kept, so they still compare.
    The all-zero GUID means "none" (the server writes it for Guid.Empty) and becomes None.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and _HEX32.fullmatch(value):  # already in the normal form (the usual case)
        return None if value == _EMPTY_GUID else value
    text = str(value).strip().lower()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    bare = text.replace("-", "")
    if _HEX32.fullmatch(bare):
        return None if bare == _EMPTY_GUID else bare
    return text or None


_URL_ID = re.compile(r"[a-z0-9._~-]+")


def url_id(value: Any) -> str | None:
    """`norm_id(value)` when it can be one segment of a URL path, else None: `.`, `..` and ids holding `/`, `\\`,
    `?`, `#`, `%`, spaces or control characters could point a request at another route."""
    iid = norm_id(value)
    if iid is None or not _URL_ID.fullmatch(iid) or not iid.strip("."):
        return None
    return iid


def parse_date(value: Any) -> datetime | None:
    """An aware UTC datetime from any ISO-8601 form Jellyfin writes, or None.

    None for missing or unreadable values and for `0001-01-01...` (DateTime.MinValue, "never");
    a date without a zone is taken as UTC, the zone the server stores.
    """
    if not isinstance(value, str):
        return None
    match = _DATE.match(value)
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    if day.startswith("0001-"):
        return None
    if clock.count(":") == 1:
        clock += ":00"
    text = f"{day}T{clock}"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    if zone and zone not in ("Z", "z"):
        text += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(text)
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 with a positive offset falls off the calendar
        return None
    # a date within a day of the calendar's ends cannot be shown in every local time zone (or shifted by a
    # tolerance): it is a placeholder, not a real play date
    return parsed if _EARLIEST <= parsed <= _LATEST else None


def format_date(value: datetime) -> str:
    """UTC with a `Z`, the form the server documents for writes; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_int(value: Any) -> int | None:
    """An int from a JSON number or a numeric string (the server reads numbers from strings too)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return int(number) if number == number and abs(number) != float("inf") else None
    return None


def parse_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def parse_bool(value: Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def parse_provider_ids(raw: Any) -> dict[str, str]:
    """ProviderIds with keys lower-cased (the server compares them case-insensitively) and values stripped.

    Empty values are dropped; junk like `TvRage: "0"` is kept as given, because judging it is the matcher's job.
    """
    if not isinstance(raw, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if value is None or not isinstance(key, str) or not key.strip():
            continue
        text = str(value).strip()
        if text:
            out[key.strip().lower()] = text
    return out


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _require_dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadResponse(f"expected a JSON object for {what}, got {type(data).__name__}")
    return data


def _require_list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise BadResponse(f"expected a JSON array for {what}, got {type(data).__name__}")
    return data


# --- objects ---------------------------------------------------------------------------------------


def parse_user_data(raw: Any) -> UserData | None:
    """UserItemDataDto -> UserData; None when the server sent none (no user resolved)."""
    if not isinstance(raw, dict):
        return None
    return UserData(
        position_ticks=parse_int(raw.get("PlaybackPositionTicks")) or 0,
        played=parse_bool(raw.get("Played")),
        play_count=parse_int(raw.get("PlayCount")) or 0,
        last_played=parse_date(raw.get("LastPlayedDate")),
        key=_str(raw.get("Key")) or None,
    )


def require_user_data(raw: Any) -> UserData:
    """UserItemDataDto from an endpoint that must return one."""
    parsed = parse_user_data(_require_dict(raw, "user data"))
    assert parsed is not None
    return parsed


def parse_item(raw: Any) -> Item | None:
    """A Movie or Episode BaseItemDto -> Item; None when malformed (no Id) or of another Type."""
    if not isinstance(raw, dict):
        return None
    item_id = url_id(raw.get("Id"))
    kind = _KINDS.get(str(raw.get("Type", "")).strip().lower())
    if item_id is None or kind is None:
        return None
    return Item(
        id=item_id,
        kind=kind,
        name=_str(raw.get("Name")) or "",
        runtime_ticks=parse_int(raw.get("RunTimeTicks")),
        provider_ids=parse_provider_ids(raw.get("ProviderIds")),
        production_year=parse_int(raw.get("ProductionYear")),
        series_id=url_id(raw.get("SeriesId")) if kind is ItemKind.EPISODE else None,
        series_name=_str(raw.get("SeriesName")) if kind is ItemKind.EPISODE else None,
        season=parse_int(raw.get("ParentIndexNumber")) if kind is ItemKind.EPISODE else None,
        episode=parse_int(raw.get("IndexNumber")) if kind is ItemKind.EPISODE else None,
        user_data=parse_user_data(raw.get("UserData")),
        virtual=str(raw.get("LocationType") or "").strip().lower() == "virtual",
        version_ids=_version_ids(raw.get("MediaSources")),
    )


def _version_ids(raw: Any) -> tuple[str, ...]:
    """The item ids of a 12.0 item's versions (MediaSource.Id), only when there are at least two."""
    if not isinstance(raw, list):
        return ()
    ids = tuple(dict.fromkeys(i for i in (norm_id(m.get("Id")) for m in raw if isinstance(m, dict)) if i))
    return ids if len(ids) > 1 else ()


def parse_series(raw: Any) -> Series | None:
    if not isinstance(raw, dict):
        return None
    series_id = url_id(raw.get("Id"))
    if series_id is None or str(raw.get("Type", "")).strip().lower() != "series":
        return None
    return Series(id=series_id, name=_str(raw.get("Name")) or "",
                  provider_ids=parse_provider_ids(raw.get("ProviderIds")))


def query_items(data: Any) -> list[Any]:
    """The `Items` array of a QueryResult (a bare array is accepted too: some routes answer one)."""
    if isinstance(data, list):
        return data
    return _require_list(_require_dict(data, "a query result").get("Items", []), "Items")


def parse_user(raw: Any) -> User:
    data = _require_dict(raw, "a user")
    user_id = url_id(data.get("Id"))
    if user_id is None:
        raise BadResponse("a user without an Id")
    policy = data.get("Policy") if isinstance(data.get("Policy"), dict) else {}
    return User(id=user_id, name=_str(data.get("Name")) or "", is_admin=parse_bool(policy.get("IsAdministrator")),
                may_edit_user_data=parse_bool(policy.get("EnableUserPreferenceAccess"), default=True),
                last_activity=parse_date(data.get("LastActivityDate")))


def parse_users(raw: Any) -> list[User]:
    return [parse_user(entry) for entry in _require_list(raw, "the user list")]


def parse_auth_result(raw: Any) -> AuthResult:
    data = _require_dict(raw, "the login answer")
    token = data.get("AccessToken")
    if not isinstance(token, str) or not token:
        raise BadResponse("the login answer has no AccessToken")
    user = parse_user(data.get("User"))
    server_id = norm_id(data.get("ServerId")) or ""
    return AuthResult(token=token, user=user, server_id=server_id)


def parse_server_info(raw: Any) -> ServerInfo:
    data = _require_dict(raw, "the public system info")
    server_id, version = norm_id(data.get("Id")), _str(data.get("Version"))
    if not server_id or not version:
        raise BadResponse("the public system info has no Id or Version: is this a Jellyfin server?")
    product = _str(data.get("ProductName"))
    return ServerInfo(
        id=server_id,
        name=_str(data.get("ServerName")) or "",
        version=version,
        product=product if product is not None else ServerInfo.product,
        startup_complete=parse_bool(data.get("StartupWizardCompleted"), default=True),
    )


def parse_resume_rules(raw: Any) -> ResumeRules:
    data = _require_dict(raw, "the server configuration")
    defaults = ResumeRules()
    min_pct = parse_float(data.get("MinResumePct"))
    max_pct = parse_float(data.get("MaxResumePct"))
    min_secs = parse_int(data.get("MinResumeDurationSeconds"))
    return ResumeRules(
        min_resume_pct=defaults.min_resume_pct if min_pct is None else min_pct,
        max_resume_pct=defaults.max_resume_pct if max_pct is None else max_pct,
        min_resume_duration_seconds=defaults.min_resume_duration_seconds if min_secs is None else min_secs,
    )


def parse_quick_connect(raw: Any) -> QuickConnectCode:
    data = _require_dict(raw, "the Quick Connect answer")
    secret, code = data.get("Secret"), data.get("Code")
    if not isinstance(secret, str) or not secret or code is None:
        raise BadResponse("the Quick Connect answer has no Secret or Code")
    return QuickConnectCode(secret=secret, code=str(code))


def parse_quick_connect_state(raw: Any) -> bool:
    return parse_bool(_require_dict(raw, "the Quick Connect state").get("Authenticated"))


def parse_library(raw: Any) -> Library | None:
    if not isinstance(raw, dict):
        return None
    library_id = url_id(raw.get("Id"))
    if library_id is None:
        return None
    collection = _str(raw.get("CollectionType"))
    return Library(id=library_id, name=_str(raw.get("Name")) or "", collection_type=collection or None)


def parse_session(raw: Any) -> Session | None:
    if not isinstance(raw, dict) or raw.get("Id") in (None, ""):
        return None
    playing = raw.get("NowPlayingItem")
    play_state = raw.get("PlayState") if isinstance(raw.get("PlayState"), dict) else {}
    extra = raw.get("AdditionalUsers") if isinstance(raw.get("AdditionalUsers"), list) else []
    return Session(
        id=str(raw["Id"]),
        user_id=norm_id(raw.get("UserId")),
        now_playing_item_id=norm_id(playing.get("Id")) if isinstance(playing, dict) else None,
        additional_user_ids=tuple(
            uid for uid in (norm_id(u.get("UserId")) for u in extra if isinstance(u, dict)) if uid
        ),
        media_source_id=norm_id(play_state.get("MediaSourceId")),
    )
