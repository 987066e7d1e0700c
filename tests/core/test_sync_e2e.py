"""The engine end to end over real HTTP against two emulated servers: plan, apply, re-plan, undo, dry run, refusals."""

from __future__ import annotations

import pytest

from cwtui.core.errors import DestinationTooOld, UsageError
from cwtui.core.models import Action, Reason, Status
from cwtui.core.sync import PairSync, find_run, open_undo

from .factories import at, ticks

pytestmark = pytest.mark.anyio
MIN = 60


def library(pair, n_movies=6):
    """The same movies on both servers (other item ids), plus one series with a season-0 special."""
    ids = {}
    for side_name in ("source", "destination"):
        side = getattr(pair, side_name)
        lib = side.state.add_library("Movies", "movies")
        shows = side.state.add_library("Shows", "tvshows")
        for n in range(n_movies):
            ids[(side_name, n)] = side.state.add_movie(lib, f"Movie {n}", year=2000 + n, runtime_ticks=ticks(100 * MIN),
                                                       provider_ids={"Imdb": f"tt{n:07d}", "Tmdb": str(100 + n)})
        series = side.state.add_series(shows, "Show", provider_ids={"Tvdb": "555"})
        ids[(side_name, "special")] = side.state.add_episode(series, 0, 1, "Special", runtime_ticks=ticks(45 * MIN))
        ids[(side_name, "s1e1")] = side.state.add_episode(series, 1, 1, "Pilot", runtime_ticks=ticks(45 * MIN))
    return ids


def set_pos(pair, side_name, item_id, seconds, last=0, **kw):
    side = getattr(pair, side_name)
    side.state.set_user_data(side.user_id, item_id, position_ticks=ticks(seconds), last_played=at(last), **kw)


def dest_state(pair, ids):
    d = pair.destination
    return {k: d.state.get_user_data(d.user_id, v) for k, v in ids.items() if k[0] == "destination"}


async def plan_of(pair):
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        return await sync.plan()


async def apply_all(pair, **kw):
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        run = sync.start_apply(plan, **kw)
        results = [r async for r in run.results()]
        return plan, run, results


async def test_plan_apply_replan_undo_round_trip(make_pair):
    pair = make_pair(remove=True)
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)          # destination missing
    set_pos(pair, "source", ids[("source", 1)], 40 * MIN, last=100)          # source ahead
    set_pos(pair, "destination", ids[("destination", 1)], 10 * MIN, last=0)
    set_pos(pair, "source", ids[("source", 2)], 96 * MIN, last=100)          # near complete
    set_pos(pair, "source", ids[("source", "special")], 10 * MIN, last=100)   # season 0
    set_pos(pair, "source", ids[("source", 3)], 0, last=500, played=True, play_count=1)   # explicit zero
    set_pos(pair, "destination", ids[("destination", 3)], 30 * MIN, last=0)
    set_pos(pair, "destination", ids[("destination", 4)], 30 * MIN, last=0)  # absent on source
    before = dest_state(pair, ids)

    plan = await plan_of(pair)
    reasons = {row.title: row.reason for row in plan.rows}
    assert reasons["Movie 0 (2000)"] is Reason.DESTINATION_MISSING
    assert reasons["Movie 1 (2001)"] is Reason.SOURCE_AHEAD
    assert reasons["Movie 2 (2002)"] is Reason.NEAR_COMPLETE
    assert reasons["Show S00E01 Special"] is Reason.DESTINATION_MISSING
    assert reasons["Movie 3 (2003)"] is Reason.EXPLICIT_ZERO
    assert reasons["Movie 4 (2004)"] is Reason.ABSENT_ON_SOURCE

    plan, run, results = await apply_all(pair)
    assert {r.status for r in results} == {Status.APPLIED} and len(results) == 4
    d = pair.destination
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).position_ticks == ticks(20 * MIN)
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).last_played == at(100)
    assert d.state.get_user_data(d.user_id, ids[("destination", 3)]).position_ticks == 0
    assert d.state.get_user_data(d.user_id, ids[("destination", 4)]).position_ticks == ticks(30 * MIN)

    replan = await plan_of(pair)
    assert [row for row in replan.rows if row.action is not Action.SKIP] == []

    record = find_run(pair.journal, None)
    assert record.run_id == run.run_id
    undo = await open_undo(pair.config, pair.journal, record)
    undone = [r async for r in undo.results()]
    await undo.client.aclose()
    assert {r.status for r in undone} == {Status.APPLIED}
    assert dest_state(pair, ids) == before

    again = await open_undo(pair.config, pair.journal, pair.journal.load(run.run_id))
    assert again.already_undone_by == undo.run_id
    assert [r async for r in again.results()] == []
    await again.client.aclose()


async def test_apply_twice_is_a_no_op(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    await apply_all(pair)
    _, _, results = await apply_all(pair)
    assert results == []


async def test_dry_run_reads_and_decides_but_writes_nothing(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    before = dest_state(pair, ids)
    pair.destination.emulator.reset_requests()
    _, run, results = await apply_all(pair, dry_run=True)
    assert [(r.status, r.dry_run) for r in results] == [(Status.APPLIED, True)]
    assert dest_state(pair, ids) == before
    assert not [r for r in pair.destination.emulator.requests if r.method != "GET"]
    assert pair.journal.latest_written() is None


async def test_undo_leaves_items_changed_since_the_run_unless_forced(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    await apply_all(pair)
    set_pos(pair, "destination", ids[("destination", 0)], 50 * MIN, last=900)  # watched more since
    record = find_run(pair.journal, None)
    undo = await open_undo(pair.config, pair.journal, record)
    results = [r async for r in undo.results()]
    await undo.client.aclose()
    assert [(r.status, r.reason) for r in results] == [(Status.SKIPPED, Reason.CHANGED_SINCE_RUN)]
    d = pair.destination
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).position_ticks == ticks(50 * MIN)

    forced = await open_undo(pair.config, pair.journal, record, force=True)
    results = [r async for r in forced.results()]
    await forced.client.aclose()
    assert [r.status for r in results] == [Status.APPLIED]
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).position_ticks == 0
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).last_played is None


async def test_pre_10_9_destination_plans_but_refuses_apply(make_pair):
    pair = make_pair(destination_version="10.8.13")
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        assert plan.destination.writable is False
        assert any("10.8.13" in n for n in plan.notices)
        assert plan.writes
        with pytest.raises(DestinationTooOld, match="10.8.13"):
            sync.start_apply(plan)
    assert pair.journal.run_ids() == []


async def test_same_server_and_user_is_refused(make_pair):
    pair = make_pair()
    cf = pair.config_file
    from cwtui.core.config_model import ServerEntry
    cf.save_server(ServerEntry("cabin", pair.source.url, pair.source.user_id, "alice", pair.source.token))
    with pytest.raises(UsageError, match="same server and user"):
        await plan_of(pair)


async def test_forced_near_complete_row_is_written(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 2)], 96 * MIN, last=100)
    plan = await plan_of(pair)
    (row,) = [r for r in plan.rows if r.reason is Reason.NEAR_COMPLETE]
    _, _, results = await apply_all(pair, force=[row.key[:8]])
    assert [r.status for r in results] == [Status.APPLIED]
    assert "forced" in results[0].detail


async def test_active_session_and_changed_items_are_rechecked_live(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    set_pos(pair, "source", ids[("source", 1)], 20 * MIN, last=100)
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        d = pair.destination
        d.state.start_session(d.user_id, now_playing_item_id=ids[("destination", 0)])
        set_pos(pair, "destination", ids[("destination", 1)], 5 * MIN, last=5000)  # played there since
        results = [r async for r in sync.start_apply(plan).results()]
    assert sorted(r.reason for r in results) == sorted([Reason.ACTIVE_SESSION, Reason.TARGET_NEWER])
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).position_ticks == 0


async def test_cancelled_undo_reports_the_rest_and_a_second_undo_finishes(make_pair):
    pair = make_pair()
    ids = library(pair)
    before = dest_state(pair, ids)
    for n in range(4):
        set_pos(pair, "source", ids[("source", n)], (20 + n) * MIN, last=100)
    _, run, results = await apply_all(pair)
    assert len(results) == 4
    # One item per chunk, so the cancel lands between writes (results stream a chunk at a time).
    undo = await open_undo(pair.config, pair.journal, pair.journal.load(run.run_id), chunk_size=1)
    seen = []
    async for result in undo.results():
        seen.append(result)
        undo.cancel()
    await undo.client.aclose()
    assert [r.status for r in seen] == [Status.APPLIED] + [Status.CANCELLED] * 3 and undo.cancelled
    again = await open_undo(pair.config, pair.journal, pair.journal.load(run.run_id))
    assert again.already_undone_by is None and len(again.candidates) == 3
    assert [r.status for r in [r async for r in again.results()]] == [Status.APPLIED] * 3
    await again.client.aclose()
    assert dest_state(pair, ids) == before
