"""An adversarial review of the household (issue 12) and two-way (issue 14) core: each test here failed before the
fix that came with it (or pins a behaviour the review checked), over real HTTP to the emulator."""

from __future__ import annotations

import json
from dataclasses import replace

from cwtui.core.config_model import UserLink

from .test_household import cli, household, minutes, plan_json, pos


def _apply(capsys, *extra):
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", *extra)
    return code, [json.loads(line) for line in out.splitlines()], err


# --- household ------------------------------------------------------------------------------------------------


def test_an_administrators_token_serves_a_map_of_other_users_and_the_live_check_sees_their_players(make_pair,
                                                                                                   capsys):
    from cwtui.core.config_model import ServerEntry
    pair, ids, uids = household(make_pair, key_entries=False, users=(UserLink("alice", "alice"), UserLink("bob", "robert")))
    for side_name, entry in (("source", "home"), ("destination", "cabin")):
        side = getattr(pair, side_name)
        root = side.state.add_user("root", is_admin=True)
        pair.config_file.save_server(ServerEntry(entry, side.url, root, "root", side.state.issue_token(root)))
    pos(pair, "source", uids[("source", "alice")], ids[("source", 0)], 20)
    pos(pair, "source", uids[("source", "bob")], ids[("source", 0)], 30)
    pair.destination.state.start_session(uids[("destination", "robert")], ids[("destination", 0)])
    code, lines, err = _apply(capsys)
    assert code == 0, err
    got = {r["destination_user"]: (r["status"], r["reason"]) for r in lines[:-1]}
    assert got == {"alice": ("applied", "written"), "robert": ("skipped", "active_session")}
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 0)]) == 20
    assert minutes(pair, "destination", uids[("destination", "robert")], ids[("destination", 0)]) == 0
    writes = [r for r in pair.destination.emulator.requests if r.method == "POST" and "UserData" in r.path]
    assert [w.query.get("userId") for w in writes] == [[uids[("destination", "alice")]]]


def test_undo_of_a_household_run_after_one_user_was_deleted_still_restores_the_others(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    code, lines, err = _apply(capsys)
    assert code == 0, err
    state = pair.destination.state
    with state.lock:
        del state.users[uids[("destination", "bob")]]
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes", "--json")
    results = {r["destination_user"]: r for r in map(json.loads, out.splitlines()[:-1])}
    assert results["alice"]["status"] == "applied", results
    assert results["bob"]["status"] != "applied"
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 0


def test_undo_user_takes_an_id_written_with_dashes(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    code, lines, err = _apply(capsys)
    assert code == 0, err
    raw = uids[("source", "bob")]
    dashed = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}".upper()
    assert plan_json(capsys, "--user", dashed)["users"][0]["source"]["name"] == "bob"  # plan takes it
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes", "--user", dashed)
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 1)]) == 0
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 20


def test_malformed_items_read_for_household_users_are_still_a_notice(make_pair, capsys, monkeypatch):
    from cwtui.emulator import routes_items
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    pos(pair, "source", uids[("source", "bob")], ids[("source", 1)], 20)
    real = routes_items.item_dto
    monkeypatch.setattr(routes_items, "item_dto", lambda state, item, **kw: {"Name": "broken"}
                        if item.name == "Movie 3" else real(state, item, **kw))
    notices = " ".join(plan_json(capsys)["notices"])
    assert "had a shape cwtui could not read" in notices


# --- two-way ----------------------------------------------------------------------------------------------------

from .test_two_way import agreed_start, minutes as side_minutes, put, rows_by_title, state, two_way  # noqa: E402


def _writes(plan):
    """The rows that are not settled: writes, and skips that leave two sides apart (a conflict, no base)."""
    return [(r["title"], r["action"], r["reason"]) for r in plan["rows"] if r["reason"] not in ("in_sync", "unchanged")]


def test_two_way_a_played_item_with_a_position_settles_after_one_apply(make_pair, capsys):
    """Played with a position (a 12.0 rewatch keeps Played): the write must leave both sides agreeing."""
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 45, 1000, played=True, play_count=1)
    assert _writes(plan_json(capsys)) == [("Movie 0", "upsert", "changed_on_source")]
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert _writes(plan_json(capsys)) == []


def test_two_way_forced_row_and_prefer_destination_settle(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "destination", ids, 0, 98, 1000)               # near complete going to the source: forceable
    put(pair, "source", ids, 1, 45, 1000)
    put(pair, "destination", ids, 1, 50, 1010)               # a conflict
    rows = rows_by_title(plan_json(capsys))
    assert rows["Movie 0"]["reason"] == "near_complete" and rows["Movie 1"]["reason"] == "conflict"
    k0, k1 = rows["Movie 0"]["key"], rows["Movie 1"]["key"]
    code, lines, err = _apply(capsys, "--force", k0, "--prefer", "destination", k1)
    assert code == 0, err
    assert {(r["title"], r["direction"], r["status"]) for r in lines[:-1]} == {
        ("Movie 0", "to_source", "applied"), ("Movie 1", "to_source", "applied")}
    assert side_minutes(pair, "source", ids, 0) == 98 and side_minutes(pair, "source", ids, 1) == 50
    assert side_minutes(pair, "destination", ids, 1) == 50
    assert _writes(plan_json(capsys)) == []


def test_two_way_undo_twice_and_undo_of_a_seed_run(make_pair, capsys):
    pair, ids = two_way(make_pair)
    put(pair, "destination", ids, 2, 40, 100)
    before = plan_json(capsys)
    code, lines, err = _apply(capsys, "--seed", "destination")
    assert code == 0, err
    assert side_minutes(pair, "source", ids, 2) == 40
    run_id = lines[-1]["run_id"]
    code, out, err = cli(capsys, "undo", run_id, "--yes")
    assert code == 0, err
    assert side_minutes(pair, "source", ids, 2) == 0
    code, out, err = cli(capsys, "undo", run_id, "--yes")
    assert code == 0 and "already undone" in out
    assert side_minutes(pair, "source", ids, 2) == 0
    after = plan_json(capsys)  # the seed's base entries are gone again: the rows are what they were
    assert [(r["title"], r["reason"]) for r in after["rows"]] == [(r["title"], r["reason"]) for r in before["rows"]]
def test_seed_from_the_destination_keeps_to_the_pairs_libraries(make_pair, capsys):
    """`libraries` limits what a pair syncs; a seed from the destination must not write source items outside it."""
    pair, ids = two_way(make_pair)
    lib = pair.source.state.add_library("Kids", "movies")
    kid_src = pair.source.state.add_movie(lib, "Kid Film", year=2010, runtime_ticks=ids and 60_000_000_000,
                                          provider_ids={"Imdb": "tt7777777"})
    dlib = pair.destination.state.add_library("Kids", "movies")
    kid_dst = pair.destination.state.add_movie(dlib, "Kid Film", year=2010, runtime_ticks=60_000_000_000,
                                               provider_ids={"Imdb": "tt7777777"})
    pair.set_settings(libraries=("Movies",))
    pair.destination.state.set_user_data(pair.destination.user_id, kid_dst, position_ticks=20 * 60 * 10_000_000,
                                         last_played=state(pair, "destination", ids, 0).last_played)
    put(pair, "destination", ids, 2, 40, 100)
    code, lines, err = _apply(capsys, "--seed", "destination")
    assert code == 0, err
    assert side_minutes(pair, "source", ids, 2) == 40
    assert pair.source.state.get_user_data(pair.source.user_id, kid_src).position_ticks == 0


def test_an_episode_outside_the_pairs_libraries_is_no_evidence_for_a_clear(make_pair, capsys):
    """As for movies, a source episode outside `libraries` is not this pair's business: its explicit 0 clears nothing."""
    from .factories import at, ticks
    pair = make_pair(remove=True)
    src, dst = pair.source.state, pair.destination.state
    src.add_library("Movies", "movies")
    ep = {}
    for side, st in (("source", src), ("destination", dst)):
        shows = st.add_library("Shows", "tvshows")
        series = st.add_series(shows, "Show", provider_ids={"Tvdb": "4242"})
        ep[side] = st.add_episode(series, 1, 1, "Pilot", runtime_ticks=ticks(45 * 60))
    pair.set_settings(libraries=("Movies",))
    src.set_user_data(pair.source.user_id, ep["source"], played=True, last_played=at(500))   # explicit 0 there
    dst.set_user_data(pair.destination.user_id, ep["destination"], position_ticks=ticks(600), last_played=at(100))
    code, out, err = cli(capsys, "plan", "home-to-cabin", "--json", "--all")
    assert code == 0, err
    assert [r["action"] for r in json.loads(out)["rows"]] == ["skip"]
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert dst.get_user_data(pair.destination.user_id, ep["destination"]).position_ticks == ticks(600)


def _many_movies(pair, n):
    from .factories import ticks
    ids = {}
    for side_name in ("source", "destination"):
        st = getattr(pair, side_name).state
        lib = st.add_library("Movies", "movies")
        for i in range(n):
            ids[(side_name, i)] = st.add_movie(lib, f"Film {i:02d}", year=1990 + i, runtime_ticks=ticks(100 * 60),
                                               provider_ids={"Imdb": f"tt{i + 100:07d}"})
    return ids


def test_a_two_way_run_stopped_hard_then_applied_again_and_undone_never_writes_back_to_the_other_side(make_pair,
                                                                                                     capsys):
    """A run that dies mid-way (SIGKILL, a second Ctrl+C, a full disk) records no base. The next apply finds the
    items it wrote already equal and records them as agreed; undoing the dead run must then not make its undo
    look like a change made on the destination, which would carry the old positions back to the source."""
    import asyncio

    from cwtui.core.sync import PairSync
    n = 12
    pair = make_pair()
    ids = _many_movies(pair, n)
    pair.config_file.save_pair(replace(pair.config.pair("home-to-cabin"), direction="both"))
    for i in range(n):
        put(pair, "source", ids, i, 20, 100)
        put(pair, "destination", ids, i, 20, 100)
    code, lines, err = _apply(capsys)
    assert code == 0, err  # the base: every film agreed at 20 min
    for i in range(n):
        put(pair, "source", ids, i, 45, 1000)  # watched on the source

    async def die_after(results_wanted):
        async with PairSync(pair.config, "home-to-cabin", pair.journal) as sync:
            run = sync.start_apply(await sync.plan(), chunk_size=4, concurrency=1)
            seen = 0
            async for _ in run.results():
                seen += 1
                if seen == results_wanted:
                    raise KeyboardInterrupt  # the run stops hard, as after a second Ctrl+C
    try:
        asyncio.run(die_after(4))
    except KeyboardInterrupt:
        pass
    dead = pair.journal.latest_written()
    assert dead is not None and not dead.complete
    written = [i for i in range(n) if side_minutes(pair, "destination", ids, i) == 45]
    assert 4 <= len(written) < n
    code, lines, err = _apply(capsys)  # writes the rest; the films the dead run wrote are agreed now
    assert code == 0, err
    code, out, err = cli(capsys, "undo", dead.run_id, "--yes")
    assert code == 0, err
    assert all(side_minutes(pair, "destination", ids, i) == 20 for i in written)
    p = plan_json(capsys)
    assert [r for r in p["rows"] if r.get("direction") == "to_source"] == []
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert all(side_minutes(pair, "source", ids, i) == 45 for i in range(n))  # the source never went back


def test_by_name_never_guesses_between_destination_users_whose_names_differ_only_in_case(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("robert",), src_users=("alice", "robert"))
    upper = pair.destination.state.add_user("ALICE")
    lower = pair.destination.state.add_user("alice")
    pos(pair, "source", uids[("source", "alice")], ids[("source", 0)], 20)
    pos(pair, "source", uids[("source", "robert")], ids[("source", 0)], 30)
    plan = plan_json(capsys)
    assert [u["source"]["name"] for u in plan["users"]] == ["robert"]
    assert any("several destination users are called alice" in n for n in plan["notices"])
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert minutes(pair, "destination", upper, ids[("destination", 0)]) == 0
    assert minutes(pair, "destination", lower, ids[("destination", 0)]) == 0
    assert minutes(pair, "destination", uids[("destination", "robert")], ids[("destination", 0)]) == 30


def _user_data_writes(side):
    return [(r.path.split("/")[2], r.query.get("userId", [""])[0]) for r in side.emulator.requests
            if r.method in ("POST", "DELETE") and ("UserData" in r.path or "PlayedItems" in r.path)]


def test_two_way_household_writes_each_way_only_to_that_server_and_that_user(make_pair, capsys):
    from .test_household import household as make_household
    pair, ids, uids = make_household(make_pair, users=(UserLink("alice", "alice"), UserLink("bob", "robert")))
    pair.config_file.save_pair(replace(pair.config.pair("home-to-cabin"), direction="both"))
    src_u = {n: uids[("source", n)] for n in ("alice", "bob")}
    dst_u = {n: uids[("destination", n)] for n in ("alice", "robert")}
    for s, d in (("alice", "alice"), ("bob", "robert")):
        for n in (0, 1):
            pos(pair, "source", src_u[s], ids[("source", n)], 20)
            pos(pair, "destination", dst_u[d], ids[("destination", n)], 20)
    code, lines, err = _apply(capsys)
    assert code == 0, err
    pos(pair, "source", src_u["alice"], ids[("source", 0)], 40, last=900)        # alice -> destination
    pos(pair, "destination", dst_u["alice"], ids[("destination", 1)], 50, last=900)  # alice <- destination
    pos(pair, "destination", dst_u["robert"], ids[("destination", 0)], 60, last=900)  # bob <- robert
    pos(pair, "source", src_u["bob"], ids[("source", 1)], 70, last=900)           # bob -> robert
    for side in (pair.source, pair.destination):
        side.emulator.reset_requests()
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert sorted((r["source_user"], r["title"], r["direction"], r["status"]) for r in lines[:-1]) == [
        ("alice", "Movie 0", "to_destination", "applied"), ("alice", "Movie 1", "to_source", "applied"),
        ("bob", "Movie 0", "to_source", "applied"), ("bob", "Movie 1", "to_destination", "applied")]
    assert sorted(_user_data_writes(pair.source)) == sorted([
        (ids[("source", 1)], src_u["alice"]), (ids[("source", 0)], src_u["bob"])])
    assert sorted(_user_data_writes(pair.destination)) == sorted([
        (ids[("destination", 0)], dst_u["alice"]), (ids[("destination", 1)], dst_u["robert"])])
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes")
    assert code == 0, err
    assert minutes(pair, "source", src_u["alice"], ids[("source", 1)]) == 20
    assert minutes(pair, "source", src_u["bob"], ids[("source", 0)]) == 20
    assert minutes(pair, "destination", dst_u["alice"], ids[("destination", 0)]) == 20
    assert minutes(pair, "destination", dst_u["robert"], ids[("destination", 1)]) == 20


def test_a_one_way_pair_switched_to_both_uses_the_base_its_one_way_applies_recorded(make_pair, capsys):
    from .test_household import four_movies
    pair = make_pair()
    ids = four_movies(pair)
    put(pair, "source", ids, 0, 20, 100)                  # one-way writes it
    put(pair, "source", ids, 1, 30, 100)
    put(pair, "destination", ids, 1, 30, 100)             # already equal: recorded without a write
    put(pair, "destination", ids, 2, 50, 900)             # only on the destination: one-way never touches it
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert side_minutes(pair, "destination", ids, 0) == 20
    pair.config_file.save_pair(replace(pair.config.pair("home-to-cabin"), direction="both"))
    put(pair, "destination", ids, 0, 25, 1000)
    put(pair, "destination", ids, 1, 35, 1000)
    rows = rows_by_title(plan_json(capsys))
    assert [(rows[t]["reason"], rows[t].get("direction")) for t in ("Movie 0", "Movie 1", "Movie 2")] == [
        ("changed_on_destination", "to_source"), ("changed_on_destination", "to_source"), ("no_base", None)]
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert (side_minutes(pair, "source", ids, 0), side_minutes(pair, "source", ids, 1)) == (25, 35)
    assert side_minutes(pair, "source", ids, 2) == 0
    assert _writes(plan_json(capsys)) == [("Movie 2", "skip", "no_base")]


def test_forcing_a_two_way_row_with_no_direction_points_at_prefer_and_seed(make_pair, capsys):
    pair, ids = two_way(make_pair)
    put(pair, "source", ids, 1, 30, 100)                       # no base: no_base
    key = rows_by_title(plan_json(capsys))["Movie 1"]["key"]
    for flag in ("--force", "--only"):
        code, lines, err = _apply(capsys, flag, key)
        assert code == 2 and "--seed" in err and "no destination item" not in err, err
    assert side_minutes(pair, "destination", ids, 1) == 0


def test_seed_from_the_destination_for_one_household_user_writes_only_that_users_source_data(make_pair, capsys):
    from .test_household import household as make_household
    pair, ids, uids = make_household(make_pair, users=(UserLink("alice", "alice"), UserLink("bob", "robert")))
    pair.config_file.save_pair(replace(pair.config.pair("home-to-cabin"), direction="both"))
    pos(pair, "destination", uids[("destination", "robert")], ids[("destination", 2)], 40)
    pos(pair, "destination", uids[("destination", "alice")], ids[("destination", 2)], 10)
    pair.source.emulator.reset_requests()
    code, lines, err = _apply(capsys, "--seed", "destination", "--user", "bob")
    assert code == 0, err
    assert [(r["source_user"], r["direction"], r["status"]) for r in lines[:-1]] == [("bob", "to_source", "applied")]
    assert _user_data_writes(pair.source) == [(ids[("source", 2)], uids[("source", "bob")])]
    assert _user_data_writes(pair.destination) == []
    assert minutes(pair, "source", uids[("source", "alice")], ids[("source", 2)]) == 0
    rows = {r["source_user"]: r for r in plan_json(capsys)["rows"] if r["title"] == "Movie 2"}
    assert rows["bob"]["reason"] == "in_sync" and rows["alice"]["reason"] == "no_base"


def test_undo_of_a_two_way_run_says_which_servers_it_restores(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 45, 1000)
    put(pair, "destination", ids, 1, 60, 2000)
    code, lines, err = _apply(capsys)
    assert code == 0, err
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes")
    assert code == 0, err
    assert "1 on 'cabin' and 1 on 'home'" in out


def test_two_way_destination_copies_of_one_source_item_are_one_ambiguous_row_with_a_unique_key(make_pair, capsys):
    from .factories import ticks
    pair, ids = two_way(make_pair)
    lib4k = pair.destination.state.add_library("4K", "movies")
    copy = pair.destination.state.add_movie(lib4k, "Movie 3", year=2003, runtime_ticks=ticks(100 * 60),
                                            provider_ids={"Imdb": "tt0000003"})
    put(pair, "destination", ids, 3, 30, 500)
    pair.destination.state.set_user_data(pair.destination.user_id, copy, position_ticks=ticks(50 * 60))
    put(pair, "source", ids, 3, 0, 100, played=True)
    rows = [r for r in plan_json(capsys)["rows"] if r["title"] == "Movie 3"]
    assert len({r["key"] for r in rows}) == len(rows)
    assert [(r["action"], r["reason"], len(r["destination_item_ids"])) for r in rows] == [("skip", "ambiguous", 2)]


def test_undo_of_a_household_run_after_users_were_renamed_restores_them_by_id(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    code, lines, err = _apply(capsys)
    assert code == 0, err
    pair.source.state.users[uids[("source", "bob")]].name = "Robert"
    pair.destination.state.users[uids[("destination", "bob")]].name = "Bobby"
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes", "--user", "bob")  # as the run knew them
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 1)]) == 0
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 20


def test_a_seed_of_a_played_item_with_a_position_records_its_base(make_pair, capsys):
    """--seed runs once one-way and records the base: the write must leave both sides agreeing, Played included."""
    pair, ids = two_way(make_pair)
    put(pair, "source", ids, 0, 45, 1000, played=True, play_count=1)
    put(pair, "destination", ids, 1, 30, 1000, played=True, play_count=1)
    for side in ("source", "destination"):
        code, lines, err = _apply(capsys, "--seed", side)
        assert code == 0, err
    assert _writes(plan_json(capsys)) == []
    assert state(pair, "destination", ids, 0).played and state(pair, "source", ids, 1).played


def test_two_way_base_after_a_partly_failed_run_keeps_what_did_not_settle(make_pair, capsys):
    """A write whose answer was lost but which the read-back shows landed settles; a refused one keeps the old base,
    so the next plan decides it exactly as before; an immediate re-plan finds only that one."""
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 45, 1000)                    # -> destination: its answer is lost (it lands)
    put(pair, "destination", ids, 1, 60, 2000)               # -> source: refused
    pair.destination.emulator.faults.after_next(502, path_regex=ids[("destination", 0)], method="POST")
    pair.source.emulator.faults.fail_matching(ids[("source", 1)], 403, method="POST")
    code, lines, err = _apply(capsys)
    got = {r["title"]: r["status"] for r in lines[:-1]}
    assert got == {"Movie 0": "applied", "Movie 1": "failed"}, lines
    assert side_minutes(pair, "destination", ids, 0) == 45 and side_minutes(pair, "source", ids, 1) == 30
    assert _writes(plan_json(capsys)) == [("Movie 1", "upsert", "changed_on_destination")]
    code, lines, err = _apply(capsys)
    assert code == 0, err
    assert side_minutes(pair, "source", ids, 1) == 60
    assert _writes(plan_json(capsys)) == []


def test_the_base_is_written_only_while_the_pairs_lock_is_held(make_pair, capsys, monkeypatch):
    """Two cwtui processes on one pair: the lock that keeps their runs apart must cover the agreed state too, or one
    run's base save can drop the other's (each loads the whole file, changes it, and writes it back)."""
    from cwtui.core import base as base_module
    from cwtui.core.locks import RunLocked, pair_lock
    pair, ids = two_way(make_pair)
    held = []
    real_save = base_module.BaseStore._save

    def save(self, b):
        try:
            with pair_lock(pair.state_dir, "home-to-cabin"):
                held.append(False)
        except RunLocked:
            held.append(True)
        return real_save(self, b)

    monkeypatch.setattr(base_module.BaseStore, "_save", save)
    put(pair, "source", ids, 0, 20, 100)
    put(pair, "destination", ids, 0, 20, 100)
    code, lines, err = _apply(capsys)             # nothing to write: the agreed items are recorded
    assert code == 0, err
    put(pair, "source", ids, 0, 45, 1000)
    code, lines, err = _apply(capsys)             # a write, then its base
    assert code == 0, err
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes")   # and the base put back
    assert code == 0, err
    assert held == [True, True, True]


def test_a_seed_from_the_source_counts_its_writes_by_direction_like_any_two_way_plan(make_pair, capsys):
    pair, ids = two_way(make_pair)
    put(pair, "source", ids, 1, 30, 100)
    p = plan_json(capsys, "--seed", "source")
    assert p["summary"]["by_direction"] == {"to_destination": 1, "to_source": 0}
    assert [r["direction"] for r in p["rows"] if r["action"] != "skip"] == ["to_destination"]
    code, lines, err = _apply(capsys, "--seed", "source")
    assert code == 0, err
    assert [r["direction"] for r in lines[:-1]] == ["to_destination"]
