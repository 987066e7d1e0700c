"""12.0 alternate versions (jellyfin-api.md §2.6, gotchas 18-19): own progress, merged primary, which routes list them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.emulator.conftest import MIN, T0


@pytest.fixture
def v12(world_factory):
    w = world_factory("12.0.0")
    w.four_k = w.state.add_version(w.heat, "Heat (4K)")
    return w


def _ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["Id"] for i in r.json()["Items"]]


def _ud(w, item):
    return w.get(f"/Items/{item}", w.alice_token).json()["UserData"]


def test_versions_are_owned_items_listed_as_media_sources(v12):
    w = v12
    alt = w.get(f"/Items/{w.four_k}", w.alice_token).json()
    assert alt["PrimaryVersionId"] == alt["OwnerId"] == w.heat
    primary = w.get("/Items", w.alice_token, params={"ids": w.heat, "fields": "MediaSources"}).json()["Items"][0]
    assert [m["Id"] for m in primary["MediaSources"]] == [w.heat, w.four_k]


def test_each_version_keeps_its_own_progress_and_reports_go_to_the_media_source(v12):
    w = v12
    w.post("/Sessions/Playing/Progress", w.alice_token,
           json={"ItemId": w.heat, "MediaSourceId": w.four_k, "PositionTicks": 40 * MIN})
    assert w.state.get_user_data(w.alice, w.four_k).position_ticks == 40 * MIN
    assert w.state.get_user_data(w.alice, w.heat).position_ticks == 0
    assert w.get(f"/UserItems/{w.four_k}/UserData", w.alice_token).json()["PlaybackPositionTicks"] == 40 * MIN
    mine = w.state.session_of(w.state.tokens[w.alice_token])
    dto = next(x for x in w.get("/Sessions", w.api_key).json() if x["Id"] == mine.id)
    assert dto["NowPlayingItem"]["Id"] == w.heat and dto["PlayState"]["MediaSourceId"] == w.four_k
    # a report that leaves a version Played marks every version Played at 0
    w.state.set_user_data(w.alice, w.heat, position_ticks=10 * MIN, last_played=T0)
    w.post("/Sessions/Playing/Stopped", w.alice_token, json={"ItemId": w.heat, "MediaSourceId": w.four_k})
    after = [w.state.get_user_data(w.alice, i) for i in (w.heat, w.four_k)]
    assert [(ud.played, ud.position_ticks) for ud in after] == [(True, 0)] * 2


def test_the_primary_shows_a_merged_view(v12):
    w = v12
    w.state.set_user_data(w.alice, w.heat, position_ticks=30 * MIN, last_played=T0)
    w.state.set_user_data(w.alice, w.four_k, position_ticks=0, played=True, play_count=1,
                          last_played=T0 + timedelta(days=1))
    ud = _ud(w, w.heat)
    assert ud["Played"] is True and ud["PlaybackPositionTicks"] == 0 and "PlayedPercentage" not in ud
    assert ud["LastPlayedDate"].startswith("2026-11-21T20:00:00")
    own = w.state.get_user_data(w.alice, w.heat)  # the primary's stored row is untouched
    assert (own.position_ticks, own.played) == (30 * MIN, False)
    body = w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": 35 * MIN}).json()
    assert body["Played"] is True and body["PlaybackPositionTicks"] == 0  # the POST answer is merged too
    assert w.state.get_user_data(w.alice, w.four_k).played is True  # a POST writes only the item named
    assert w.state.get_user_data(w.alice, w.heat).position_ticks == 35 * MIN


def test_which_routes_list_alternates(v12):
    w = v12
    w.state.set_user_data(w.alice, w.heat, position_ticks=30 * MIN, last_played=T0)
    w.state.set_user_data(w.alice, w.four_k, position_ticks=50 * MIN, last_played=T0 + timedelta(hours=1))
    resume = _ids(w.get("/UserItems/Resume", w.alice_token))
    assert w.four_k in resume and w.heat not in resume  # one per movie: the newest in-progress version
    resumable = _ids(w.get("/Items", w.alice_token, params={"filters": "IsResumable", "recursive": "true",
                                                              "includeItemTypes": "Movie"}))
    assert w.heat not in resumable and w.four_k not in resumable  # the movie is missing altogether
    assert _ids(w.get("/Items", w.alice_token, params={"ids": f"{w.heat},{w.four_k}"})) == [w.heat]
    assert w.four_k in _ids(w.get("/Items", w.alice_token, params={"ids": w.four_k, "isHD": "true"}))
    listing = _ids(w.get("/Items", w.alice_token, params={"recursive": "true", "includeItemTypes": "Movie"}))
    assert w.four_k not in listing and w.heat in listing
    w.state.set_user_data(w.alice, w.heat, position_ticks=30 * MIN, last_played=T0 + timedelta(hours=2))
    assert _ids(w.get("/Items", w.alice_token, params={"filters": "IsResumable", "recursive": "true",
                                                        "includeItemTypes": "Movie"})) == [w.heat]
    # excludeActiveSessions drops every version of a now-playing movie
    w.state.start_session(w.alice, w.heat, media_source_id=w.four_k)
    w.state.set_user_data(w.alice, w.heat, position_ticks=30 * MIN, last_played=T0)
    assert w.four_k in _ids(w.get("/UserItems/Resume", w.alice_token))
    assert not _ids(w.get("/UserItems/Resume", w.alice_token, params={"excludeActiveSessions": "true"}))


def test_played_and_unplayed_spread_to_every_version(v12):
    w = v12
    w.state.set_user_data(w.alice, w.four_k, position_ticks=50 * MIN, last_played=T0)
    assert w.post(f"/UserPlayedItems/{w.heat}", w.alice_token).status_code == 200
    assert all(w.state.get_user_data(w.alice, i).played for i in (w.heat, w.four_k))
    assert w.state.get_user_data(w.alice, w.four_k).position_ticks == 0
    assert w.delete(f"/UserPlayedItems/{w.four_k}", w.alice_token).status_code == 200  # by the version's own id
    assert not any(w.state.get_user_data(w.alice, i).played for i in (w.heat, w.four_k))


def test_before_12_a_version_is_an_ordinary_copy(world_factory):
    w = world_factory("10.11.11")
    alt = w.state.add_version(w.heat, "Heat (4K)")
    assert "PrimaryVersionId" not in w.get(f"/Items/{alt}", w.alice_token).json()
    assert alt in _ids(w.get("/Items", w.alice_token, params={"ids": alt}))
