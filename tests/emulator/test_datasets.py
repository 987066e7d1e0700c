"""The seeded generator, the matching pair, the demo data set and the CLI entry point."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime

import httpx

from cwtui.emulator import Emulator, EmulatorState
from cwtui.emulator.__main__ import build_parser, make_state
from cwtui.emulator.demo import build_demo
from cwtui.emulator.generate import SIZES, Size, populate, populate_household, populate_pair
from tests.emulator.conftest import auth


def _fingerprint(state: EmulatorState) -> list:
    return sorted((r.id, r.type, r.name, tuple(sorted(r.provider_ids.items())), r.runtime_ticks)
                  for r in state.items.values() if r.type != "CollectionFolder")


def test_populate_is_deterministic_and_counts_match():
    a, b = EmulatorState("X"), EmulatorState("X")
    pa = populate(a, seed=7, movies=30, series=4, episodes_per_series=10, resumable_movies=5, resumable_episodes=6)
    pb = populate(b, seed=7, movies=30, series=4, episodes_per_series=10, resumable_movies=5, resumable_episodes=6)
    assert _fingerprint(a) == _fingerprint(b)
    assert (len(pa.movie_ids), len(pa.series_ids), len(pa.episode_ids)) == (30, 4, 40)
    assert len(pa.resumable_ids) == 11 and pa.resumable_ids == pb.resumable_ids
    for iid in pa.resumable_ids:
        ud = a.get_user_data(pa.user_id, iid)
        assert ud.position_ticks > 0 and isinstance(ud.last_played, datetime) and ud.played is False
        assert ud == b.get_user_data(pb.user_id, iid)
    c = EmulatorState("X")
    populate(c, seed=8, movies=30, series=4, episodes_per_series=10)
    assert _fingerprint(c) != _fingerprint(a)
    imdb = [r.provider_ids["Imdb"] for r in a.items.values() if r.type == "Movie"]
    assert len(set(imdb)) == len(imdb)


def test_pair_destination_is_a_superset_with_other_ids():
    src, dst = EmulatorState("S"), EmulatorState("D", version="10.10.7")
    pair = populate_pair(src, dst, seed=3, size=Size(movies=40, series=5, episodes_per_series=8,
                                                    resumable_movies=6, resumable_episodes=9, resumable_series=3))
    assert len(pair.source.resumable_ids) == 15
    assert set(pair.counterpart) >= set(pair.source.resumable_ids)
    for sid, did in pair.counterpart.items():
        s_rec, d_rec = src.items[sid], dst.items[did]
        assert sid != did and s_rec.provider_ids == d_rec.provider_ids and s_rec.type == d_rec.type
        assert (s_rec.parent_index_number, s_rec.index_number) == (d_rec.parent_index_number, d_rec.index_number)
    assert not set(src.items) & set(dst.items)
    assert len(dst.items) > len(src.items)
    episodes = [i for i in pair.source.resumable_ids if src.items[i].type == "Episode"]
    assert len({src.items[i].series_id for i in episodes}) <= 3
    # some destination counterparts already have an older, lower position
    moved = [pair.counterpart[i] for i in pair.source.resumable_ids
             if dst.get_user_data(pair.destination.user_id, pair.counterpart[i]).position_ticks > 0]
    assert moved


def test_household_gives_every_user_the_sizes_resume_rows_and_leaves_the_first_as_populate_pair_made_it():
    size = Size(movies=40, series=6, episodes_per_series=8, resumable_movies=6, resumable_episodes=9,
                resumable_series=3)
    src, dst = EmulatorState("S"), EmulatorState("D", version="10.10.7")
    pair = populate_household(src, dst, seed=3, size=size, users=3)
    one_src, one_dst = EmulatorState("S"), EmulatorState("D", version="10.10.7")
    one = populate_pair(one_src, one_dst, seed=3, size=size)
    names = ["alice", "bob", "carol"]
    assert list(pair.resumable) == names and list(pair.source.user_ids) == list(pair.destination.user_ids) == names
    assert pair.resumable["alice"] == pair.source.resumable_ids
    key_of = {iid: key for key, iid in pair.source.by_key.items()}  # more users, other item ids: compare by title
    one_key_of = {iid: key for key, iid in one.source.by_key.items()}
    assert [key_of[i] for i in pair.source.resumable_ids] == [one_key_of[i] for i in one.source.resumable_ids]
    for sid in pair.source.resumable_ids:  # the first user: exactly what populate_pair makes
        key = key_of[sid]
        one_sid = one.source.by_key[key]
        assert src.get_user_data(pair.source.user_id, sid) == one_src.get_user_data(one.source.user_id, one_sid)
        assert dst.get_user_data(pair.destination.user_id, pair.counterpart[sid]) == \
            one_dst.get_user_data(one.destination.user_id, one.counterpart[one_sid])
    shows = {src.items[i].series_id for i in pair.resumable["alice"] if src.items[i].type == "Episode"}
    for name in names[1:]:
        uid = pair.source.user_ids[name]
        mine = pair.resumable[name]
        kinds = [src.items[i].type for i in mine]
        assert (kinds.count("Movie"), kinds.count("Episode")) == (6, 9)
        assert mine != pair.resumable["alice"]  # their own picks ...
        episodes = [i for i in mine if src.items[i].type == "Episode"]
        assert {src.items[i].series_id for i in episodes} <= shows  # ... of the same shows
        assert all(src.get_user_data(uid, i).position_ticks > 0 for i in mine)
        behind = [i for i in mine if dst.get_user_data(pair.destination.user_ids[name],
                                                       pair.counterpart[i]).position_ticks > 0]
        assert len(behind) == 3  # a fifth of 15: updates as well as adds
    again_src, again_dst = EmulatorState("S"), EmulatorState("D", version="10.10.7")
    again = populate_household(again_src, again_dst, seed=3, size=size, users=3)
    assert again.resumable == pair.resumable
    assert again_src.get_user_data(again.source.user_ids["carol"], again.resumable["carol"][0]) == \
        src.get_user_data(pair.source.user_ids["carol"], pair.resumable["carol"][0])


def test_large_pair_is_quick_and_the_right_size():
    src, dst = EmulatorState("S"), EmulatorState("D")
    started = time.perf_counter()
    pair = populate_pair(src, dst, seed=1, size="large")
    elapsed = time.perf_counter() - started
    sz = SIZES["large"]
    assert len(pair.source.movie_ids) == sz.movies == 10_000
    assert len(pair.source.episode_ids) == 60_000 and len(pair.source.series_ids) == 3_000
    kinds = [src.items[i].type for i in pair.source.resumable_ids]
    assert (kinds.count("Movie"), kinds.count("Episode")) == (500, 1_500)
    assert len({src.items[i].series_id for i in pair.source.resumable_ids if src.items[i].series_id}) == 300
    assert elapsed < 8, f"populating large took {elapsed:.1f}s"


def test_large_library_pages_quickly_over_http():
    state = EmulatorState("Big")
    pop = populate(state, seed=2, movies=10_000, series=1_000, episodes_per_series=20)
    token = state.issue_token(pop.user_id)
    params = {"userId": pop.user_id, "recursive": "true", "includeItemTypes": "Movie,Episode",
              "fields": "ProviderIds", "sortBy": "SortName,ProductionYear", "sortOrder": "Ascending",
              "limit": "500", "enableTotalRecordCount": "false"}
    seen: set[str] = set()
    with Emulator(state) as emu, httpx.Client(base_url=emu.url, headers=auth(token)) as http:
        started = time.perf_counter()
        start = 0
        while True:
            items = http.get("/Items", params={**params, "startIndex": str(start)}).json()["Items"]
            seen.update(i["Id"] for i in items)
            start += 500
            if len(items) < 500:
                break
        elapsed = time.perf_counter() - started
    assert len(seen) == 30_000
    assert elapsed < 6, f"paging 30,000 items took {elapsed:.1f}s"


def test_demo_has_every_case_with_its_defining_data():
    demo = build_demo()
    src, dst = demo.source, demo.destination
    su, du = demo.source_user_id, demo.destination_user_id
    assert (src.server_name, src.version, dst.server_name, dst.version) == ("Home", "10.11.11", "Cabin", "10.10.7")
    expected = {"in_sync", "source_ahead", "behind_newer", "behind_older", "destination_no_position",
                "below_minimum", "within_delta", "near_complete", "over_destination_max", "destination_played",
                "unmatched", "ambiguous", "special", "two_versions", "playing_now", "explicit_zero",
                "absent_on_source", "short_item", "episode_source_ahead"}
    assert expected <= set(demo.cases)

    def s(case):
        return src.get_user_data(su, demo.cases[case])

    def d(case, n=0):
        return dst.get_user_data(du, demo.destination_ids[case][n])

    def runtime(case):
        return src.items[demo.cases[case]].runtime_ticks

    assert s("in_sync").position_ticks == d("in_sync").position_ticks > 0
    assert s("source_ahead").position_ticks > d("source_ahead").position_ticks
    assert s("source_ahead").last_played > d("source_ahead").last_played
    assert s("behind_newer").position_ticks < d("behind_newer").position_ticks
    assert (s("behind_newer").last_played - d("behind_newer").last_played).days >= 7
    assert s("behind_older").position_ticks < d("behind_older").position_ticks
    assert s("behind_older").last_played < d("behind_older").last_played
    assert s("destination_no_position").position_ticks > 0 and d("destination_no_position").position_ticks == 0
    assert s("below_minimum").position_ticks == 30 * 10_000_000
    assert abs(s("within_delta").position_ticks - d("within_delta").position_ticks) == 10 * 10_000_000
    assert 0.955 < s("near_complete").position_ticks / runtime("near_complete") < 0.97
    assert 0.90 < s("over_destination_max").position_ticks / runtime("over_destination_max") < 0.95
    assert d("destination_played").played is True
    assert not any(r.provider_ids.get("Imdb") == "tt0055830" for r in dst.items.values())  # unmatched
    amb = [dst.items[i].provider_ids for i in demo.destination_ids["ambiguous"]]
    src_amb = src.items[demo.cases["ambiguous"]].provider_ids
    assert amb[0]["Imdb"] == src_amb["Imdb"] and amb[0]["Tmdb"] != src_amb["Tmdb"]
    assert amb[1]["Tmdb"] == src_amb["Tmdb"] and amb[1]["Imdb"] != src_amb["Imdb"]
    assert src.items[demo.cases["special"]].parent_index_number == 0 and s("special").position_ticks > 0
    two = [dst.items[i] for i in demo.destination_ids["two_versions"]]
    assert len(two) == 2 and two[0].provider_ids == two[1].provider_ids and two[0].id != two[1].id
    playing = [x for x in dst.sessions.values() if x.now_playing_item_id == demo.destination_ids["playing_now"][0]]
    assert playing and playing[0].user_id == du
    assert s("explicit_zero").position_ticks == 0 and s("explicit_zero").played
    assert d("explicit_zero").position_ticks > 0 and s("explicit_zero").last_played > d("explicit_zero").last_played
    assert demo.cases["absent_on_source"] in dst.items and d("absent_on_source").position_ticks > 0
    absent_ids = dst.items[demo.cases["absent_on_source"]].provider_ids
    src_twin = [r for r in src.items.values() if r.provider_ids == absent_ids]
    assert src_twin and src.get_user_data(su, src_twin[0].id).position_ticks == 0
    assert runtime("short_item") == 4 * 60 * 10_000_000 and s("short_item").position_ticks >= 60 * 10_000_000
    # issue 8: two source copies with their own positions and dates; two destination copies with ONE row (10.10)
    newer, older = s("source_copies_newer"), s("source_copies_older")
    assert newer.position_ticks != older.position_ticks and newer.last_played > older.last_played
    assert demo.destination_ids["source_copies_newer"] == demo.destination_ids["source_copies_older"]
    first, second = demo.destination_ids["shared_row_copies"]
    assert d("shared_row_copies", 1) == d("shared_row_copies") and d("shared_row_copies").position_ticks > 0
    assert dst.user_data_key(dst.items[first]) == dst.user_data_key(dst.items[second])
    assert dst.items[first].library_id != dst.items[second].library_id
    kid = dst.users[demo.restricted_user_id]
    assert kid.name == demo.restricted_user_name and not kid.enable_user_preference_access and not kid.is_admin
    # fixed dates: two builds give the same user data and ids
    again = build_demo()
    assert again.cases == demo.cases
    assert again.source.get_user_data(su, demo.cases["source_ahead"]) == s("source_ahead")


def test_demo_serves_and_alice_logs_in_on_both():
    demo = build_demo()
    for state, key in ((demo.source, demo.source_api_key), (demo.destination, demo.destination_api_key)):
        with Emulator(state) as emu:
            r = httpx.post(emu.url + "/Users/AuthenticateByName", headers=auth(),
                           json={"Username": demo.user_name, "Pw": demo.password})
            assert r.status_code == 200
            assert httpx.get(emu.url + "/Users", headers=auth(key)).status_code == 200


def test_cli_help_and_state_building():
    out = subprocess.run([sys.executable, "-m", "cwtui.emulator", "--help"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and "--demo" in out.stdout and "--latency-ms" in out.stdout
    state, lines = make_state(build_parser().parse_args(["--demo", "destination"]))
    assert state.server_name == "Cabin" and any("alice" in line for line in lines)
    state, lines = make_state(build_parser().parse_args(["--size", "small", "--version", "10.9.11"]))
    assert state.version == "10.9.11" and sum(r.type == "Movie" for r in state.items.values()) == 400
