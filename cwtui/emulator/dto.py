"""JSON shapes the emulator writes and reads: ids, dates, and the Jellyfin DTOs built from state records."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cwtui.emulator import versions

if TYPE_CHECKING:  # pragma: no cover
    from cwtui.emulator.state import EmulatorState, ItemRec, SessionRec, UserDataRec, UserRec

EMPTY_GUID = "0" * 32
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_DASHED = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", re.I
)


def norm_guid(text: str | None) -> str | None:
    """32 lower hex from either GUID form; None when the text is not a GUID (ASP.NET would refuse to bind it)."""
    if text is None:
        return None
    text = text.strip().strip("{}")
    if _HEX32.match(text):
        return text.lower()
    if _DASHED.match(text):
        return text.replace("-", "").lower()
    return None


def dashed(guid: str) -> str:
    return f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}"


def format_date(dt: datetime | None) -> str | None:
    """Jellyfin's date text: UTC, 'Z', seven fraction digits when the millisecond is 0, else zeros trimmed."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    fraction = f"{dt.microsecond:06d}0"
    if dt.microsecond // 1000 != 0:
        fraction = fraction.rstrip("0")
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{fraction}Z"


def parse_date(text: str | None) -> datetime | None:
    """Lenient ISO-8601 (any fraction width, Z or offset, no zone = UTC) or legacy yyyyMMddHHmmss (UTC)."""
    if text is None:
        return None
    text = text.strip()
    if re.fullmatch(r"\d{14}", text):
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    m = _ISO.match(text)
    if not m:
        raise ValueError("not a date")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro)
    if zone is None or zone.upper() == "Z":
        return dt.replace(tzinfo=UTC)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    from datetime import timedelta, timezone

    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return dt.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)


def dumps(obj: Any) -> bytes:
    """Compact JSON; callers omit null properties themselves (ChannelId: null is the one real exception)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _put(d: dict, key: str, value: Any) -> None:
    if value is not None:
        d[key] = value


# --- user data ----------------------------------------------------------------------------------------


def user_data_dto(state: EmulatorState, item: ItemRec, found: tuple[str, UserDataRec]) -> dict:
    """UserItemDataDto from (key, row); PlayedPercentage only when position and runtime are both > 0.

    `ItemId` per version (jellyfin-api.md §2.4): omitted on 10.8–10.9, all zeros on 10.10, the item's id on 10.11+.
    """
    key, ud = found
    pos = ud.position_ticks
    out: dict[str, Any] = {}
    if ud.rating is not None:
        out["Rating"] = ud.rating
    if pos > 0 and (item.runtime_ticks or 0) > 0:
        out["PlayedPercentage"] = 100.0 * pos / item.runtime_ticks
    out["PlaybackPositionTicks"] = pos
    out["PlayCount"] = ud.play_count
    out["IsFavorite"] = ud.is_favorite
    if ud.likes is not None:
        out["Likes"] = ud.likes
    _put(out, "LastPlayedDate", format_date(ud.last_played))
    out["Played"] = ud.played
    out["Key"] = key
    if state.at_least(10, 11):
        out["ItemId"] = item.id
    elif state.at_least(10, 10):
        out["ItemId"] = EMPTY_GUID
    return out


# --- items ---------------------------------------------------------------------------------------------

_MEDIA_TYPE = {"Movie": "Video", "Episode": "Video"}


def item_dto(
    state: EmulatorState,
    item: ItemRec,
    *,
    user_id: str | None,
    fields: frozenset[str] = frozenset(),
    enable_user_data: bool = True,
    all_fields: bool = False,
) -> dict:
    """BaseItemDto for one item; ProviderIds/Path/DateCreated/SortName only when asked (or all_fields)."""
    want = (lambda name: True) if all_fields else (lambda name: name.lower() in fields)
    d: dict[str, Any] = {"Name": item.name, "ServerId": state.server_id, "Id": item.id}
    if want("DateCreated"):
        _put(d, "DateCreated", format_date(item.date_created))
    if want("SortName"):
        d["SortName"] = item.sort_name
    if want("Path") and item.path:
        d["Path"] = item.path
    d["ChannelId"] = None  # Guid.Empty in a Guid? is written as null even though nulls are otherwise omitted
    _put(d, "RunTimeTicks", item.runtime_ticks)
    _put(d, "ProductionYear", item.year)
    _put(d, "IndexNumber", item.index_number)
    _put(d, "ParentIndexNumber", item.parent_index_number)
    d["IsFolder"] = item.type in ("Series", "Season", "CollectionFolder")
    if want("ParentId"):
        _put(d, "ParentId", item.parent_id)
    d["Type"] = item.type
    if item.type == "CollectionFolder":
        _put(d, "CollectionType", item.collection_type)
    if want("ProviderIds"):
        d["ProviderIds"] = dict(item.provider_ids)
    if item.type in ("Episode", "Season"):
        _put(d, "SeriesName", item.series_name)
        _put(d, "SeriesId", item.series_id)
    if item.type == "Episode":
        _put(d, "SeasonId", item.season_id)
        _put(d, "SeasonName", item.season_name)
    if want("MediaSources") and item.type in _MEDIA_TYPE:
        d["MediaSources"] = [_media_source(v) for v in state.versions_of(item)]
    if user_id is not None and enable_user_data:
        d["UserData"] = user_data_dto(state, item, versions.dto_row(state, user_id, item))
    if item.primary_version_id and state.at_least(12):
        d["PrimaryVersionId"] = item.primary_version_id
        d["OwnerId"] = item.primary_version_id
    d["LocationType"] = item.location_type
    d["MediaType"] = _MEDIA_TYPE.get(item.type, "Unknown")
    return d


def _media_source(version: ItemRec) -> dict:
    """MediaSourceInfo: on 12.0 one per version, its Id the version's item id (jellyfin-api.md §2.6)."""
    d: dict[str, Any] = {"Protocol": "File", "Id": version.id, "Type": "Default", "Container": "mkv",
                         "Name": version.name, "IsRemote": False}
    _put(d, "Path", version.path)
    _put(d, "RunTimeTicks", version.runtime_ticks)
    return d


def query_result(items: list[dict], total: int, start: int) -> dict:
    return {"Items": items, "TotalRecordCount": total, "StartIndex": start}


# --- users and sessions --------------------------------------------------------------------------------


def user_dto(state: EmulatorState, user: UserRec) -> dict:
    """UserDto with the policy fields a client reads (IsAdministrator, IsDisabled, EnableUserPreferenceAccess)."""
    d: dict[str, Any] = {
        "Name": user.name,
        "ServerId": state.server_id,
        "Id": user.id,
        "HasPassword": bool(user.password),
        "HasConfiguredPassword": bool(user.password),
        "HasConfiguredEasyPassword": False,
        "EnableAutoLogin": False,
    }
    _put(d, "LastLoginDate", format_date(user.last_login))
    _put(d, "LastActivityDate", format_date(user.last_activity))
    d["Configuration"] = {
        "PlayDefaultAudioTrack": True,
        "SubtitleLanguagePreference": "",
        "DisplayMissingEpisodes": user.display_missing_episodes,
        "GroupedFolders": [],
        "SubtitleMode": "Default",
        "DisplayCollectionsView": False,
        "EnableLocalPassword": False,
        "OrderedViews": [],
        "LatestItemsExcludes": [],
        "MyMediaExcludes": [],
        "HidePlayedInLatest": True,
        "RememberAudioSelections": True,
        "RememberSubtitleSelections": True,
        "EnableNextEpisodeAutoPlay": True,
    }
    d["Policy"] = {
        "IsAdministrator": user.is_admin,
        "IsHidden": False,
        "EnableCollectionManagement": False,
        "EnableSubtitleManagement": False,
        "EnableLyricManagement": False,
        "IsDisabled": user.is_disabled,
        "BlockedTags": [],
        "AllowedTags": [],
        "EnableUserPreferenceAccess": user.enable_user_preference_access,
        "AccessSchedules": [],
        "BlockUnratedItems": [],
        "EnableRemoteControlOfOtherUsers": False,
        "EnableSharedDeviceControl": True,
        "EnableRemoteAccess": True,
        "EnableLiveTvManagement": False,
        "EnableLiveTvAccess": True,
        "EnableMediaPlayback": True,
        "EnableAudioPlaybackTranscoding": True,
        "EnableVideoPlaybackTranscoding": True,
        "EnablePlaybackRemuxing": True,
        "ForceRemoteSourceTranscoding": False,
        "EnableContentDeletion": False,
        "EnableContentDeletionFromFolders": [],
        "EnableContentDownloading": True,
        "EnableSyncTranscoding": True,
        "EnableMediaConversion": True,
        "EnabledDevices": [],
        "EnableAllDevices": True,
        "EnabledChannels": [],
        "EnableAllChannels": True,
        "EnabledFolders": [],
        "EnableAllFolders": True,
        "InvalidLoginAttemptCount": user.invalid_attempts,
        "LoginAttemptsBeforeLockout": user.login_attempts_before_lockout,
        "MaxActiveSessions": 0,
        "EnablePublicSharing": True,
        "BlockedMediaFolders": [],
        "BlockedChannels": [],
        "RemoteClientBitrateLimit": 0,
        "AuthenticationProviderId": "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider",
        "PasswordResetProviderId": "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider",
        "SyncPlayAccess": "CreateAndJoinGroups",
    }
    return d


_MIN_DATE = "0001-01-01T00:00:00.0000000Z"


def session_dto(state: EmulatorState, session: SessionRec) -> dict:
    """SessionInfoDto; NowPlayingItem is absent when idle and PlayState.PositionTicks only while playing."""
    play_state: dict[str, Any] = {"CanSeek": session.now_playing_item_id is not None}
    if session.now_playing_item_id is not None:
        play_state["PositionTicks"] = session.position_ticks
        _put(play_state, "MediaSourceId", session.media_source_id)
    play_state.update({"IsPaused": session.is_paused, "IsMuted": False, "RepeatMode": "RepeatNone",
                       "PlaybackOrder": "Default"})
    d: dict[str, Any] = {
        "PlayState": play_state,
        "AdditionalUsers": [{"UserId": u, "UserName": state.users[u].name}
                            for u in session.additional_users if u in state.users],
        "Capabilities": {
            "PlayableMediaTypes": [],
            "SupportedCommands": [],
            "SupportsMediaControl": False,
            "SupportsPersistentIdentifier": True,
        },
        "RemoteEndPoint": "127.0.0.1",
        "PlayableMediaTypes": [],
        "Id": session.id,
    }
    user = state.users.get(session.user_id) if session.user_id else None
    if user is not None:
        d["UserId"] = user.id
        d["UserName"] = user.name
    d["Client"] = session.client
    d["LastActivityDate"] = format_date(session.last_activity)
    d["LastPlaybackCheckIn"] = format_date(session.last_check_in) or _MIN_DATE
    d["DeviceName"] = session.device_name
    d["DeviceId"] = session.device_id
    d["ApplicationVersion"] = session.app_version
    item = state.items.get(session.now_playing_item_id) if session.now_playing_item_id else None
    if item is not None:
        d["NowPlayingItem"] = item_dto(state, item, user_id=None, fields=frozenset({"providerids"}))
    d["IsActive"] = True
    d["SupportsMediaControl"] = False
    d["SupportsRemoteControl"] = session.supports_remote_control
    d["NowPlayingQueue"] = []
    d["NowPlayingQueueFullItems"] = []
    d["HasCustomDeviceName"] = False
    d["ServerId"] = state.server_id
    d["SupportedCommands"] = []
    return d
