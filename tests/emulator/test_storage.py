"""Where user data lives, version by version (jellyfin-api.md §2.4, §2.5, gotchas 14-17), over real HTTP."""

from __future__ import annotations

import pytest

from cwtui.emulator.dto import EMPTY_GUID, dashed
from tests.emulator.conftest import MIN, T0

SHARED = ["10.8.13", "10.9.11", "10.10.7"]


def _copy(w, name="Heat (4K)", provider_ids=None):
    """A second library holding the same film: same provider ids, another item id."""
    lib = w.state.add_library("4K Movies", "movies")
    return w.state.add_movie(lib, name, year=1995, runtime_ticks=170 * MIN,
                             provider_ids=provider_ids or {"Imdb": "tt0113277", "Tmdb": "949"})


def _ud(w, item, token=None):
    """The UserData a DTO shows (the legacy by-id route works on every version)."""
    return w.get(f"/Users/{w.alice}/Items/{item}", token or w.alice_token).json()["UserData"]


def _resumable(w, item) -> bool:
    r = w.get("/Items", w.alice_token, params={"userId": w.alice, "ids": item, "filters": "IsResumable"})
    return [i["Id"] for i in r.json()["Items"]] == [item]


# --- 10.8-10.10: shared rows --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", SHARED)
def test_copies_share_one_row_by_first_key(world_factory, version):
    w = world_factory(version)
    copy = _copy(w)
    w.state.set_user_data(w.alice, w.heat, position_ticks=30 * MIN, last_played=T0)
    assert w.state.get_user_data(w.alice, copy).position_ticks == 30 * MIN  # one row under Tmdb 949
    assert _ud(w, copy)["PlaybackPositionTicks"] == 30 * MIN and _ud(w, copy)["Key"] == "949"
    assert _resumable(w, copy) and _resumable(w, w.heat)
    resume = w.get(f"/Users/{w.alice}/Items/Resume", w.alice_token).json()["Items"]
    assert {i["Id"] for i in resume} == {w.heat, copy}
    # the whole row is written under every key of the item: Tmdb, Imdb and the dashed id
    assert set(w.state.user_data_rows(w.alice, w.heat)) == {"949", "tt0113277", dashed(w.heat)}


@pytest.mark.parametrize("version", ["10.9.11", "10.10.7"])
def test_a_copys_dto_stays_stale_and_a_write_through_it_resaves_its_cache(world_factory, version):
    w = world_factory(version)
    copy = _copy(w)
    assert _ud(w, copy)["Played"] is False  # first read: the copy's cache entry is filled (empty)
    done = {"Played": True, "PlayCount": 1, "LastPlayedDate": "2026-11-20T20:00:00Z", "PlaybackPositionTicks": 0}
    assert w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json=done).status_code == 200
    assert w.state.get_user_data(w.alice, copy).played is True  # stored: the shared row changed
    assert _ud(w, copy)["Played"] is False  # but the copy's DTO comes from its stale cache entry
    # a position write through the copy re-saves the copy's cached Played/PlayCount/LastPlayedDate
    body = w.post(f"/UserItems/{copy}/UserData", w.alice_token, json={"PlaybackPositionTicks": 5 * MIN}).json()
    assert body["Played"] is False and body["PlaybackPositionTicks"] == 5 * MIN
    stored = w.state.get_user_data(w.alice, w.heat)
    assert (stored.played, stored.play_count, stored.last_played) == (False, 0, None)  # the newer change is undone
    assert _ud(w, w.heat)["Played"] is True  # and now the first copy's DTO is the stale one
    w.state.restart()
    assert _ud(w, w.heat)["Played"] is False and _ud(w, w.heat)["PlaybackPositionTicks"] == 5 * MIN


def test_episode_keys_join_two_libraries_of_one_show(world_factory):
    w = world_factory("10.10.7")
    lib = w.state.add_library("Shows 2", "tvshows")
    wire2 = w.state.add_series(lib, "The Wire", provider_ids={"Tvdb": "79126"})
    ep2 = w.state.add_episode(wire2, 1, 2, "Ep 1x2", runtime_ticks=58 * MIN)
    w.state.set_user_data(w.alice, ep2, position_ticks=11 * MIN, last_played=T0)
    ud = _ud(w, w.ep[(1, 2)])
    assert ud["PlaybackPositionTicks"] == 11 * MIN and ud["Key"] == "79126001002"
    assert not _resumable(w, w.ep[(1, 3)])
    assert w.state.user_data_rows(w.alice, ep2).keys() == {"79126001002", dashed(ep2)}


def test_first_key_falls_back_imdb_then_dashed_id(world_factory):
    w = world_factory("10.10.7")
    imdb_only = w.state.add_movie(w.movies, "A", runtime_ticks=90 * MIN, provider_ids={"Imdb": "tt1"})
    bare = w.state.add_movie(w.movies, "B", runtime_ticks=90 * MIN)
    assert _ud(w, imdb_only)["Key"] == "tt1" and _ud(w, bare)["Key"] == dashed(bare)
    series = w.state.add_series(w.shows, "S", provider_ids={"Tmdb": "5", "Imdb": "tt5", "Custom": "c5"})
    assert w.state.user_data_key(w.state.items[series]) == "c5"  # Custom first from 10.9; no Tmdb for series
    old = world_factory("10.8.13")
    series8 = old.state.add_series(old.shows, "S", provider_ids={"Tmdb": "5", "Imdb": "tt5", "Custom": "c5"})
    assert old.state.user_data_key(old.state.items[series8]) == "tt5"


@pytest.mark.parametrize(("version", "item_id"), [("10.8.13", None), ("10.9.11", None), ("10.10.7", EMPTY_GUID),
                                                  ("10.11.11", "own"), ("12.0.0", "own")])
def test_user_data_item_id_per_version(world_factory, version, item_id):
    w = world_factory(version)
    ud = _ud(w, w.heat)
    assert ud.get("ItemId") == (w.heat if item_id == "own" else item_id)


# --- 10.11: per-item rows and the stale shadow row ------------------------------------------------------------


@pytest.mark.parametrize("version", ["10.11.11", "12.0.0"])
def test_copies_are_independent_from_10_11(world_factory, version):
    w = world_factory(version)
    copy = _copy(w)
    w.state.set_user_data(w.alice, w.heat, position_ticks=30 * MIN, last_played=T0)
    assert w.state.get_user_data(w.alice, copy).position_ticks == 0
    assert _ud(w, copy)["PlaybackPositionTicks"] == 0 and not _resumable(w, copy)


def _shadowed(w, position: int, played: bool = False):
    """heat had a row under its old keys; a re-identify gives it new keys and leaves the old rows behind."""
    w.state.set_user_data(w.alice, w.heat, position_ticks=position, played=played, last_played=T0)
    w.state.reidentify(w.heat, {"Tmdb": "111", "Imdb": "tt0000111"})
    assert list(w.state.user_data_rows(w.alice, w.heat))[:2] == ["949", "tt0113277"]


def test_10_11_10_plus_old_row_keeps_a_cleared_item_resumable(world_factory):
    w = world_factory("10.11.11")
    _shadowed(w, 40 * MIN)
    r = w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": 0})
    assert r.json()["PlaybackPositionTicks"] == 0  # the response comes from the cache the write updated
    assert _ud(w, w.heat)["PlaybackPositionTicks"] == 0
    assert _resumable(w, w.heat)  # but the stored rows still answer "in progress" (old row first)
    assert w.state.get_user_data(w.alice, w.heat).position_ticks == 40 * MIN
    w.state.restart()  # an eviction or a restart: the old row wins the DTO read too
    assert _ud(w, w.heat)["PlaybackPositionTicks"] == 40 * MIN


def test_10_11_10_plus_old_row_at_zero_hides_a_written_position(world_factory):
    w = world_factory("10.11.11")
    _shadowed(w, 0, played=True)
    w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": 25 * MIN, "Played": False})
    assert _ud(w, w.heat)["PlaybackPositionTicks"] == 25 * MIN
    assert not _resumable(w, w.heat)
    w.state.restart()
    assert _ud(w, w.heat)["PlaybackPositionTicks"] == 0 and _ud(w, w.heat)["Played"] is True
    assert w.state.user_data_rows(w.alice, w.heat)["111"].position_ticks == 25 * MIN  # the write did land


def test_10_11_0_to_9_even_the_write_response_shows_the_old_row(world_factory):
    w = world_factory("10.11.9")
    _shadowed(w, 40 * MIN)
    r = w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": 0})
    assert r.json()["PlaybackPositionTicks"] == 40 * MIN and r.json()["Key"] == "949"


def test_10_11_lru_evicts_the_least_recently_read(world_factory):
    w = world_factory("10.11.11")
    _shadowed(w, 40 * MIN)
    w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": 0})
    w.state.store.cache_size = 1
    assert _ud(w, w.alien)["PlaybackPositionTicks"] == 0  # reading another item pushes heat out
    assert _ud(w, w.heat)["PlaybackPositionTicks"] == 40 * MIN


def test_12_0_reads_prefer_current_keys_but_resume_counts_any_row(world_factory):
    w = world_factory("12.0.0")
    _shadowed(w, 40 * MIN)
    w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": 0})
    w.state.restart()
    ud = _ud(w, w.heat)
    assert ud["PlaybackPositionTicks"] == 0 and ud["Key"] == "111"
    assert _resumable(w, w.heat)  # the old-key row with a position still counts (PR #18001)
    assert w.state.get_user_data(w.alice, w.heat).position_ticks == 0


def test_upgrade_from_10_10_keeps_a_shared_position_on_one_copy_only(world_factory):
    w = world_factory("10.10.7")
    copy = _copy(w)
    w.state.set_user_data(w.alice, w.heat, position_ticks=30 * MIN, last_played=T0)
    assert _ud(w, copy)["PlaybackPositionTicks"] == 30 * MIN
    w.state.upgrade_to("10.11.11")
    assert w.get("/System/Info/Public").json()["Version"] == "10.11.11"
    # the row's key (Tmdb 949) maps to the LAST item with that first key: the copy keeps it, heat starts empty
    assert [_ud(w, i)["PlaybackPositionTicks"] for i in (w.heat, copy)] == [0, 30 * MIN]
    assert _resumable(w, copy) and not _resumable(w, w.heat)
    w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": 5 * MIN})
    assert _ud(w, copy)["PlaybackPositionTicks"] == 30 * MIN  # copies are independent from now on
    with pytest.raises(ValueError):
        w.state.upgrade_to("12.0.0")
