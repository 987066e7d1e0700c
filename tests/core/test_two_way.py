"""Two-way pairs (issue 14): a three-way merge against the last agreed state, end to end over real HTTP."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from .factories import T0, at, ticks
from .test_household import cli, four_movies, plan_json

MIN = 60


def two_way(make_pair, **settings):
    """Two servers with the same four movies; the pair is two-way."""
    pair = make_pair(**settings)
    ids = four_movies(pair)
    entry = pair.config.pair(pair.pair_name)
    pair.config_file.save_pair(replace(entry, direction="both"))
    return pair, ids


def put(pair, side_name, ids, n, minutes, last, **kw):
    side = getattr(pair, side_name)
    side.state.set_user_data(side.user_id, ids[(side_name, n)], position_ticks=ticks(minutes * MIN),
                             last_played=at(last), **kw)


def state(pair, side_name, ids, n):
    side = getattr(pair, side_name)
    return side.state.get_user_data(side.user_id, ids[(side_name, n)])


def minutes(pair, side_name, ids, n):
    return state(pair, side_name, ids, n).position_ticks // ticks(MIN)


plan = plan_json


def rows_by_title(plan_json):
    return {r["title"]: r for r in plan_json["rows"]}


def apply(capsys, *extra):
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", *extra)
    lines = [json.loads(line) for line in out.splitlines()]
    return code, lines, err


def agreed_start(pair, ids, capsys):
    """Both sides at the same positions, applied once so that the base holds them."""
    put(pair, "source", ids, 0, 20, 100)
    put(pair, "destination", ids, 0, 20, 100)
    put(pair, "source", ids, 1, 30, 100)
    put(pair, "destination", ids, 1, 30, 100)
    code, lines, err = apply(capsys)
    assert code == 0, err


def test_without_a_base_nothing_is_written_and_agreeing_items_get_one(make_pair, capsys):
    pair, ids = two_way(make_pair)
    put(pair, "source", ids, 0, 20, 100)
    put(pair, "destination", ids, 0, 20, 100)           # the same on both sides
    put(pair, "source", ids, 1, 30, 100)                # only the source has it
    put(pair, "destination", ids, 2, 40, 100)           # only the destination has it
    p = plan(capsys)
    rows = rows_by_title(p)
    assert rows["Movie 0"]["reason"] == "in_sync"
    assert (rows["Movie 1"]["action"], rows["Movie 1"]["reason"]) == ("skip", "no_base")
    assert (rows["Movie 2"]["action"], rows["Movie 2"]["reason"]) == ("skip", "no_base")
    assert any("no agreed state yet" in n and "--seed" in n for n in p["notices"])
    assert p["summary"]["by_direction"] == {"to_destination": 0, "to_source": 0}
    code, lines, err = apply(capsys)
    assert code == 0 and lines[-1]["run_id"] is None  # nothing to write ...
    assert minutes(pair, "destination", ids, 1) == 0 and minutes(pair, "source", ids, 2) == 0
    # ... and yet the base holds Movie 0, so a change on one side now goes across
    put(pair, "destination", ids, 0, 50, 500)
    rows = rows_by_title(plan(capsys))
    assert (rows["Movie 0"]["action"], rows["Movie 0"]["reason"], rows["Movie 0"]["direction"]) == (
        "upsert", "changed_on_destination", "to_source")


def test_seed_picks_the_master_once_then_an_immediate_replan_finds_nothing(make_pair, capsys):
    pair, ids = two_way(make_pair)
    put(pair, "source", ids, 1, 30, 100)
    put(pair, "destination", ids, 2, 40, 100)
    code, lines, err = apply(capsys, "--seed", "destination")
    assert code == 0, err
    assert [(r["title"], r["direction"], r["status"]) for r in lines[:-1]] == [("Movie 2", "to_source", "applied")]
    assert minutes(pair, "source", ids, 2) == 40
    assert minutes(pair, "destination", ids, 1) == 0  # one-way from the destination: absence never clears
    code, lines, err = apply(capsys, "--seed", "source")
    assert code == 0, err
    assert minutes(pair, "destination", ids, 1) == 30
    p = plan(capsys)
    assert [r for r in p["rows"] if r["action"] != "skip"] == []
    assert {r["reason"] for r in p["rows"]} == {"in_sync"}


def test_only_one_side_changed_goes_to_the_other_with_its_last_played_time_and_no_echo(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 45, 1000)          # watched on the source
    put(pair, "destination", ids, 1, 60, 2000)     # watched on the destination
    rows = rows_by_title(plan(capsys))
    assert (rows["Movie 0"]["reason"], rows["Movie 0"]["direction"]) == ("changed_on_source", "to_destination")
    assert (rows["Movie 1"]["reason"], rows["Movie 1"]["direction"]) == ("changed_on_destination", "to_source")
    code, lines, err = apply(capsys)
    assert code == 0, err
    by_title = {r["title"]: r for r in lines[:-1]}
    assert by_title["Movie 0"]["destination_item_id"] == ids[("destination", 0)]
    assert by_title["Movie 1"]["destination_item_id"] == ids[("source", 1)]  # the item written, on its server
    assert minutes(pair, "destination", ids, 0) == 45 and minutes(pair, "source", ids, 1) == 60
    assert state(pair, "destination", ids, 0).last_played == at(1000)
    assert state(pair, "source", ids, 1).last_played == at(2000)
    p = plan(capsys)
    assert [r for r in p["rows"] if r["action"] != "skip"] == []


def test_both_changed_the_later_wins_beyond_the_tolerance_and_a_conflict_within_it(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 45, 1000)
    put(pair, "destination", ids, 0, 50, 1031)     # 31 s later: beyond the 30 s tolerance
    put(pair, "source", ids, 1, 45, 1000)
    put(pair, "destination", ids, 1, 50, 1030)     # 30 s: within it
    rows = rows_by_title(plan(capsys))
    assert (rows["Movie 0"]["reason"], rows["Movie 0"]["direction"]) == ("newer_on_destination", "to_source")
    assert (rows["Movie 1"]["action"], rows["Movie 1"]["reason"]) == ("skip", "conflict")
    assert "direction" not in rows["Movie 1"]
    code, lines, err = apply(capsys)
    assert code == 0, err
    assert minutes(pair, "source", ids, 0) == 50
    assert (minutes(pair, "source", ids, 1), minutes(pair, "destination", ids, 1)) == (45, 50)  # left for review

    key = rows["Movie 1"]["key"]
    code, lines, err = apply(capsys, "--prefer", "source", key[:8], "--only", key[:8])
    assert code == 0, err
    assert [(r["title"], r["direction"]) for r in lines[:-1]] == [("Movie 1", "to_destination")]
    assert minutes(pair, "destination", ids, 1) == 45
    assert [r for r in plan(capsys)["rows"] if r["action"] != "skip"] == []


def test_prefer_on_a_row_that_is_not_a_conflict_is_refused(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 45, 1000)
    key = rows_by_title(plan(capsys))["Movie 0"]["key"]
    code, lines, err = apply(capsys, "--prefer", "destination", key)
    assert code == 2 and "not a conflict" in err
    assert minutes(pair, "destination", ids, 0) == 20


@pytest.mark.parametrize("side_name, other", [("source", "destination"), ("destination", "source")])
def test_a_clear_made_on_either_side_is_carried_to_the_other(make_pair, capsys, side_name, other):
    pair, ids = two_way(make_pair, remove=True)
    agreed_start(pair, ids, capsys)
    put(pair, side_name, ids, 0, 0, 1000)          # an explicit 0: played, then set back to the start
    rows = rows_by_title(plan(capsys))
    assert rows["Movie 0"]["action"] == "clear"
    code, lines, err = apply(capsys)
    assert code == 0, err
    assert minutes(pair, other, ids, 0) == 0
    assert [r for r in plan(capsys)["rows"] if r["action"] != "skip"] == []


def test_the_one_way_rules_hold_in_each_direction(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "destination", ids, 0, 98, 1000)     # 98%: near complete, in the destination -> source direction
    put(pair, "destination", ids, 1, 0, None)      # gone from the destination without a trace: absence never clears
    rows = rows_by_title(plan(capsys))
    assert (rows["Movie 0"]["action"], rows["Movie 0"]["reason"]) == ("skip", "near_complete")
    assert "destination -> source" in rows["Movie 0"]["rule"]
    assert (rows["Movie 1"]["action"], rows["Movie 1"]["reason"]) == ("skip", "absent_on_source")


def test_undo_of_a_two_way_run_restores_both_servers_and_the_agreed_state(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 45, 1000)
    put(pair, "destination", ids, 1, 60, 2000)
    before = {(s, n): state(pair, s, ids, n) for s in ("source", "destination") for n in (0, 1)}
    plan_before = plan(capsys)
    code, lines, err = apply(capsys)
    assert code == 0, err
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes")
    assert code == 0, err
    assert {(s, n): state(pair, s, ids, n) for s in ("source", "destination") for n in (0, 1)} == before
    again = plan(capsys)  # the base is back: the plan is the one from before the run
    assert [(r["title"], r["action"], r["reason"], r.get("direction")) for r in again["rows"]] == [
        (r["title"], r["action"], r["reason"], r.get("direction")) for r in plan_before["rows"]]


def test_a_side_that_cannot_take_writes_stops_the_apply_before_any_write(make_pair, capsys):
    pair, ids = two_way(make_pair, destination_version="10.8.13")
    put(pair, "source", ids, 0, 45, 1000)
    put(pair, "destination", ids, 1, 60, 2000)
    code, lines, err = apply(capsys, "--seed", "destination")  # would write only to the source
    assert code == 2, err
    assert "10.8" in err
    writes = [r for side in (pair.source, pair.destination) for r in side.emulator.requests if r.method != "GET"]
    assert writes == []
    p = plan(capsys)
    assert any("two-way pair writes nothing unless both sides can" in n for n in p["notices"])


def test_clock_skew_between_the_servers_is_a_notice(make_pair, capsys):
    pair, ids = two_way(make_pair)
    pair.destination.state.clock = lambda: T0 + timedelta(minutes=10)
    pair.source.state.clock = lambda: T0
    p = plan(capsys)
    assert any("clocks of the two servers differ by 600 s" in n and "'cabin' is ahead" in n for n in p["notices"])


def test_a_renamed_pair_starts_a_new_base_and_the_plan_says_so(make_pair, capsys):
    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    entry = pair.config.pair("home-to-cabin")
    pair.config_file.remove_pair("home-to-cabin")
    pair.config_file.save_pair(replace(entry, name="renamed"))
    code, out, err = cli(capsys, "plan", "renamed", "--json")
    notices = " ".join(json.loads(out)["notices"])
    assert "no agreed state yet" in notices and "home-to-cabin" in notices and "renaming" in notices


def test_two_way_works_for_every_user_of_a_household(make_pair, capsys):
    from cwtui.core.config_model import UserLink

    from .test_household import household, minutes as user_minutes, pos
    pair, ids, uids = household(make_pair, users=(UserLink("alice", "alice"), UserLink("bob", "robert")))
    pair.config_file.save_pair(replace(pair.config.pair("home-to-cabin"), direction="both"))
    for src, dst in (("alice", "alice"), ("bob", "robert")):
        pos(pair, "source", uids[("source", src)], ids[("source", 0)], 20)
        pos(pair, "destination", uids[("destination", dst)], ids[("destination", 0)], 20)
    code, lines, err = apply(capsys)   # records the base for both users
    assert code == 0, err
    pos(pair, "destination", uids[("destination", "robert")], ids[("destination", 0)], 70, last=900)  # robert
    pos(pair, "source", uids[("source", "alice")], ids[("source", 0)], 33, last=900)                 # alice
    code, lines, err = apply(capsys)
    assert code == 0, err
    got = {(r["source_user"], r["direction"], r["status"]) for r in lines[:-1]}
    assert got == {("alice", "to_destination", "applied"), ("bob", "to_source", "applied")}
    assert user_minutes(pair, "source", uids[("source", "bob")], ids[("source", 0)]) == 70
    assert user_minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 0)]) == 33
    assert user_minutes(pair, "source", uids[("source", "alice")], ids[("source", 0)]) == 33
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes", "--user", "bob")
    assert code == 0, err
    assert user_minutes(pair, "source", uids[("source", "bob")], ids[("source", 0)]) == 20
    assert user_minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 0)]) == 33


def test_seed_is_refused_on_a_one_way_pair(make_pair, capsys):
    pair, ids = two_way(make_pair)
    pair.config_file.save_pair(replace(pair.config.pair("home-to-cabin"), direction="one-way"))
    put(pair, "destination", ids, 2, 40, 100)
    code, lines, err = apply(capsys, "--seed", "destination")
    assert code == 2 and "one-way" in err
    assert minutes(pair, "source", ids, 2) == 0


@pytest.mark.parametrize("side_name, other", [("source", "destination"), ("destination", "source")])
def test_a_finish_made_on_either_side_is_carried_to_the_other(make_pair, capsys, side_name, other):
    pair, ids = two_way(make_pair, finish=True)
    agreed_start(pair, ids, capsys)
    put(pair, side_name, ids, 0, 0, 1000, played=True, play_count=1)   # finished there
    rows = rows_by_title(plan(capsys))
    assert (rows["Movie 0"]["action"], rows["Movie 0"]["direction"]) == (
        "finish", "to_destination" if side_name == "source" else "to_source")
    code, lines, err = apply(capsys)
    assert code == 0, err
    done = state(pair, other, ids, 0)
    assert (done.played, done.position_ticks, done.last_played) == (True, 0, at(1000))
    assert [r for r in plan(capsys)["rows"] if r["action"] != "skip"] == []


@pytest.mark.parametrize("side_name, other", [("source", "destination"), ("destination", "source")])
def test_an_unwatch_on_either_side_is_carried_to_the_other_and_undone_exactly(make_pair, capsys, side_name, other):
    pair, ids = two_way(make_pair, remove=True, finish=True)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 0, 900, played=True, play_count=2)  # finished on the source ...
    code, lines, err = apply(capsys)                                # ... and on the destination: agreed as played
    assert code == 0 and state(pair, "destination", ids, 0).played, err
    put(pair, side_name, ids, 0, 0, None, played=False, play_count=0)  # "mark unplayed" in Jellyfin
    before = state(pair, other, ids, 0)
    row = rows_by_title(plan(capsys))["Movie 0"]
    assert (row["action"], row["reason"]) == ("mark_unplayed", f"changed_on_{side_name}")
    code, lines, err = apply(capsys)
    assert code == 0, err
    now = state(pair, other, ids, 0)
    assert (now.played, now.position_ticks) == (False, 0), lines
    assert [r for r in plan(capsys)["rows"] if r["action"] != "skip"] == []
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes")
    assert code == 0, err
    assert state(pair, other, ids, 0) == before


def test_an_unwatch_needs_remove_on(make_pair, capsys):
    pair, ids = two_way(make_pair, finish=True)
    agreed_start(pair, ids, capsys)
    put(pair, "source", ids, 0, 0, 900, played=True, play_count=1)
    apply(capsys)
    put(pair, "source", ids, 0, 0, None, played=False, play_count=0)
    row = rows_by_title(plan(capsys))["Movie 0"]
    assert (row["action"], row["reason"]) == ("skip", "remove_disabled")
    assert "would unmark" in row["rule"]


def test_an_item_that_left_both_resume_lists_is_still_merged_and_absence_never_unmarks(make_pair, capsys):
    pair, ids = two_way(make_pair, remove=True)
    put(pair, "source", ids, 0, 20, 100)
    put(pair, "destination", ids, 0, 20, 100)
    apply(capsys)                                                   # agreed: in progress, not played
    put(pair, "destination", ids, 0, 0, 500, played=True, play_count=1)  # finished on the destination
    put(pair, "source", ids, 0, 0, None, played=False)              # and gone from the source without a trace
    row = rows_by_title(plan(capsys))["Movie 0"]  # in no resume list, yet both sides changed since they agreed
    assert (row["action"], row["reason"]) == ("skip", "conflict")
    code, lines, err = apply(capsys)
    assert code == 0 and state(pair, "destination", ids, 0).played and not state(pair, "source", ids, 0).played
