"""Parsing Jellyfin JSON: dates, GUIDs, provider ids, ticks, malformed items, and the captured real samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cwtui.core import dto
from cwtui.core.errors import BadResponse
from cwtui.core.models import ItemKind

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "jellyfin-samples"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T19:04:11.1234567Z", datetime(2026, 11, 20, 19, 4, 11, 123456, tzinfo=UTC)),
        ("2026-11-20T19:04:11.123456Z", datetime(2026, 11, 20, 19, 4, 11, 123456, tzinfo=UTC)),
        ("2024-11-21T21:04:49.571Z", datetime(2024, 11, 21, 21, 4, 49, 571000, tzinfo=UTC)),
        ("2023-12-11T12:10:40.981531Z", datetime(2023, 12, 11, 12, 10, 40, 981531, tzinfo=UTC)),
        ("2026-11-20T19:04:11Z", datetime(2026, 11, 20, 19, 4, 11, tzinfo=UTC)),
        ("2026-11-20T19:04:11+00:00", datetime(2026, 11, 20, 19, 4, 11, tzinfo=UTC)),
        ("2026-11-20T19:04:11.5+02:00", datetime(2026, 11, 20, 17, 4, 11, 500000, tzinfo=UTC)),
        ("2026-11-20T19:04:11-0130", datetime(2026, 11, 20, 20, 34, 11, tzinfo=UTC)),
        ("2026-11-20T19:04:11", datetime(2026, 11, 20, 19, 4, 11, tzinfo=UTC)),
        ("2026-11-20T19:04:11.1234567", datetime(2026, 11, 20, 19, 4, 11, 123456, tzinfo=UTC)),
        ("2026-11-20 19:04:11z", datetime(2026, 11, 20, 19, 4, 11, tzinfo=UTC)),
        ("2026-11-20T19:04Z", datetime(2026, 11, 20, 19, 4, tzinfo=UTC)),
        ("0001-01-01T00:00:00.0000000Z", None),
        ("0001-01-01T00:00:00", None),
        ("", None),
        ("yesterday", None),
        ("2026-13-45T99:00:00Z", None),
        (None, None),
        (1700000000, None),
    ],
)
def test_parse_date_table(text, expected):
    parsed = dto.parse_date(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)


def test_format_date_is_utc_with_z():
    aware = datetime(2026, 1, 2, 5, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    assert dto.format_date(aware) == "2026-01-02T03:04:05.000006Z"
    assert dto.format_date(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"
    assert dto.parse_date(dto.format_date(aware)) == aware


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("F137A2DD-21BB-C1B9-9AA5-C0F6BF02A805", "f137a2dd21bbc1b99aa5c0f6bf02a805"),
        ("f137a2dd21bbc1b99aa5c0f6bf02a805", "f137a2dd21bbc1b99aa5c0f6bf02a805"),
        ("{F137A2DD-21BB-C1B9-9AA5-C0F6BF02A805}", "f137a2dd21bbc1b99aa5c0f6bf02a805"),
        ("  f137a2dd21bbc1b99aa5c0f6bf02a805 ", "f137a2dd21bbc1b99aa5c0f6bf02a805"),
        ("00000000000000000000000000000000", None),
        ("00000000-0000-0000-0000-000000000000", None),
        ("Session-ABC", "session-abc"),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_norm_id(raw, expected):
    assert dto.norm_id(raw) == expected


def test_provider_ids_keys_lowercased_values_stripped_empties_dropped():
    raw = {"Imdb": " tt0113277 ", "TMDB": "949", "tvdb": "", "TvRage": "0", "Odd": None, "": "x"}
    assert dto.parse_provider_ids(raw) == {"imdb": "tt0113277", "tmdb": "949", "tvrage": "0"}
    assert dto.parse_provider_ids(None) == {}
    assert dto.parse_provider_ids(["Imdb"]) == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(12, 12), ("12", 12), (" 12 ", 12), (12.9, 12), ("1.5e3", 1500), (-5, -5), ("-5", -5),
     (None, None), (True, None), ("abc", None), (float("nan"), None), ([], None)],
)
def test_parse_int_accepts_numeric_strings_and_never_crashes(raw, expected):
    assert dto.parse_int(raw) == expected


def _movie(**extra):
    return {"Id": "AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA", "Type": "Movie", "Name": "Heat", **extra}


def test_parse_item_movie_with_user_data():
    item = dto.parse_item(_movie(
        RunTimeTicks="102000000000", ProductionYear=1995, ProviderIds={"IMDB": "tt0113277"},
        UserData={"PlaybackPositionTicks": "36000000000", "Played": False, "PlayCount": 2,
                  "LastPlayedDate": "2026-11-20T19:04:11.1234567Z", "Key": "949",
                  "ItemId": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        SeriesName="ignored for movies", IndexNumber=4,
    ))
    assert item is not None
    assert item.id == "a" * 32 and item.kind is ItemKind.MOVIE and item.name == "Heat"
    assert item.runtime_ticks == 102_000_000_000 and item.production_year == 1995
    assert item.provider_ids == {"imdb": "tt0113277"}
    assert item.series_name is None and item.episode is None
    ud = item.user_data
    assert ud is not None and ud.position_ticks == 36_000_000_000 and ud.play_count == 2 and not ud.played
    assert ud.last_played == datetime(2026, 11, 20, 19, 4, 11, 123456, tzinfo=UTC)


def test_parse_item_episode_and_missing_fields():
    item = dto.parse_item({"Id": "b" * 32, "Type": "episode", "SeriesId": "C" * 32, "SeriesName": "The Wire",
                           "ParentIndexNumber": 0, "IndexNumber": 3})
    assert item is not None and item.kind is ItemKind.EPISODE
    assert (item.series_id, item.season, item.episode) == ("c" * 32, 0, 3)
    assert item.name == "" and item.runtime_ticks is None and item.user_data is None and item.provider_ids == {}


def test_negative_ticks_kept_and_missing_user_data_fields_default():
    item = dto.parse_item(_movie(UserData={"PlaybackPositionTicks": -10}))
    assert item is not None and item.user_data is not None
    assert item.user_data.position_ticks == -10 and item.user_data.play_count == 0
    assert item.user_data.last_played is None and item.user_data.played is False


@pytest.mark.parametrize("raw", [
    {"Type": "Movie", "Name": "no id"},
    {"Id": "", "Type": "Movie"},
    {"Id": "a" * 32, "Type": "Series"},
    {"Id": "a" * 32, "Type": "Audio"},
    {"Id": "a" * 32},
    "not an object",
    None,
])
def test_malformed_items_are_none(raw):
    assert dto.parse_item(raw) is None


def test_query_items_shapes():
    assert dto.query_items({"Items": [1, 2], "TotalRecordCount": 2}) == [1, 2]
    assert dto.query_items({"TotalRecordCount": 0}) == []
    assert dto.query_items([3]) == [3]
    with pytest.raises(BadResponse):
        dto.query_items("nope")
    with pytest.raises(BadResponse):
        dto.query_items({"Items": {"a": 1}})


def test_server_info_and_shape_errors():
    info = dto.parse_server_info({"Id": "ABC" * 10 + "AB", "ServerName": "Home", "Version": "10.8.13",
                                  "ProductName": "Jellyfin Server", "StartupWizardCompleted": False})
    assert info.version_tuple == (10, 8, 13) and not info.writable and not info.startup_complete
    with pytest.raises(BadResponse):
        dto.parse_server_info({"ServerName": "no id"})
    with pytest.raises(BadResponse):
        dto.parse_server_info(["x"])


def test_auth_result_repr_hides_token():
    result = dto.parse_auth_result({"AccessToken": "sekrit-token-123", "ServerId": "D" * 32,
                                    "User": {"Id": "E" * 32, "Name": "alice", "Policy": {"IsAdministrator": True}}})
    assert result.token == "sekrit-token-123" and result.user.is_admin and result.server_id == "d" * 32
    assert "sekrit" not in repr(result)
    with pytest.raises(BadResponse):
        dto.parse_auth_result({"User": {"Id": "e" * 32}})


def test_resume_rules_defaults_and_values():
    rules = dto.parse_resume_rules({"MinResumePct": 10, "MaxResumePct": "80", "MinResumeDurationSeconds": 120})
    assert (rules.min_resume_pct, rules.max_resume_pct, rules.min_resume_duration_seconds) == (10, 80, 120)
    assert dto.parse_resume_rules({}) == dto.ResumeRules()


def test_session_parsing():
    session = dto.parse_session({"Id": "abc", "UserId": "F" * 32, "NowPlayingItem": {"Id": "A" * 32},
                                 "AdditionalUsers": [{"UserId": "1" * 32}, {"UserName": "x"}]})
    assert session is not None and session.user_id == "f" * 32 and session.now_playing_item_id == "a" * 32
    assert session.additional_user_ids == ("1" * 32,) and session.is_playing("1" * 32, "a" * 32)
    idle = dto.parse_session({"Id": "xyz"})
    assert idle is not None and idle.user_id is None and idle.now_playing_item_id is None
    assert dto.parse_session({"UserId": "f" * 32}) is None


# --- real captured samples -------------------------------------------------------------------------


def _sample(name: str):
    path = SAMPLES / name
    assert path.exists(), f"missing sample {path} (tests/data/README.md lists them)"
    return json.loads(path.read_text())


def test_sample_tvshows_recursive_parses_episodes_and_skips_other_types():
    data = _sample("items-tvshows-recursive-no-user.10.11.6.json")
    raw = dto.query_items(data)
    items = [dto.parse_item(entry) for entry in raw]
    episodes = [i for i in items if i is not None]
    assert episodes and all(i.kind is ItemKind.EPISODE for i in episodes)
    assert all(len(i.id) == 32 and i.series_id for i in episodes)
    assert sum(1 for i in items if i is None) == sum(1 for e in raw if e.get("Type") != "Episode")
    series = [s for s in (dto.parse_series(e) for e in raw) if s is not None]
    assert series and all(k == k.lower() for s in series for k in s.provider_ids)


def test_sample_userviews_libraries():
    libs = [dto.parse_library(e) for e in dto.query_items(_sample("userviews.opal-author-server.json"))]
    assert libs and all(lib is not None and len(lib.id) == 32 and "-" not in lib.id for lib in libs)


def test_sample_played_item_user_data():
    ud = dto.require_user_data(_sample("userplayeditems-post.polyfin-12.2.json"))
    assert ud.played is True and ud.last_played == datetime(2026, 10, 6, 16, 29, 5, 514399, tzinfo=UTC)


def test_sample_login_and_public_info():
    result = dto.parse_auth_result(_sample("users-authenticatebyname.demo-10.11.6.json"))
    assert result.user.name and len(result.user.id) == 32
    info = dto.parse_server_info(_sample("system-info-public.demo-10.11.6.json"))
    assert info.product == "Jellyfin Server" and info.version_tuple[:2] == (10, 11)
