"""Issue 13 §1 (finish) and §2 (played) end to end over real HTTP: plan, apply, the live re-check, undo."""

from __future__ import annotations

import pytest

from cwtui.core.models import Action, Reason, Status, UserData
from cwtui.core.sync import PairSync

from .factories import at, ticks
from .test_engine import run_apply, run_undo, writes_seen
from .test_sync_e2e import MIN, dest_state, library, plan_of, set_pos

pytestmark = pytest.mark.anyio


def state_of(pair, side_name, item_id) -> UserData:
    side = getattr(pair, side_name)
    return side.state.get_user_data(side.user_id, item_id)


def finished_on_source(pair, ids, *, source_last=500, dest_last=0, dest_count=2, n=0):
    """Movie n: half-watched on the destination, finished (played, at 0) on the source."""
    set_pos(pair, "source", ids[("source", n)], 0, last=source_last, played=True, play_count=1)
    set_pos(pair, "destination", ids[("destination", n)], 30 * MIN, last=dest_last, play_count=dest_count)


def played_reads(emulator, since=0):
    return [r for r in emulator.requests[since:] if r.path.lower() == "/items"
            and "IsPlayed" in ",".join(r.query.get("filters", []))]


# --- §1 finish ----------------------------------------------------------------------------------------------


async def test_finish_is_one_user_data_write_and_its_undo_is_exact(make_pair):
    pair = make_pair(finish=True)
    ids = library(pair)
    finished_on_source(pair, ids)
    before = dest_state(pair, ids)
    start = pair.destination.emulator.request_count
    plan, run, results = await run_apply(pair)
    [row] = [r for r in plan.rows if r.writes]
    assert (row.action, row.reason) == (Action.FINISH, Reason.FINISHED_ON_SOURCE)
    assert [(r.action, r.status, r.reason) for r in results] == [(Action.FINISH, Status.APPLIED, Reason.WRITTEN)]
    sent = writes_seen(pair.destination.emulator, start)
    assert len(sent) == 1 and sent[0][0] == "POST" and "PlayedItems" not in sent[0][1]  # never the played route
    body = sent[0][2]
    assert body["Played"] is True and body["PlaybackPositionTicks"] == 0 and body["PlayCount"] == 2
    assert body["LastPlayedDate"].startswith(at(500).strftime("%Y-%m-%dT%H:%M:%S"))
    now = state_of(pair, "destination", ids[("destination", 0)])
    assert (now.position_ticks, now.played, now.play_count, now.last_played) == (0, True, 2, at(500))
    assert [r for r in (await plan_of(pair)).rows if r.writes] == []  # finished is finished: nothing left

    _, undone = await run_undo(pair, run.run_id)
    assert [(r.status, r.reason) for r in undone] == [(Status.APPLIED, Reason.RESTORED)]
    assert dest_state(pair, ids) == before


async def test_finish_of_an_item_never_played_there_counts_one_play_and_undo_clears_the_time_again(make_pair):
    pair = make_pair(finish=True)
    ids = library(pair)
    finished_on_source(pair, ids, dest_last=None, dest_count=0)
    item = ids[("destination", 0)]
    before = dest_state(pair, ids)
    assert before[("destination", 0)].last_played is None
    _, run, results = await run_apply(pair)
    assert [r.status for r in results] == [Status.APPLIED]
    now = state_of(pair, "destination", item)
    assert (now.position_ticks, now.played, now.play_count, now.last_played) == (0, True, 1, at(500))
    start = pair.destination.emulator.request_count
    _, undone = await run_undo(pair, run.run_id)
    assert [r.status for r in undone] == [Status.APPLIED]
    assert dest_state(pair, ids) == before  # the empty last-played time included
    routes = [(m, p) for m, p, _ in writes_seen(pair.destination.emulator, start)]
    assert routes == [("DELETE", f"/UserPlayedItems/{item}"), ("POST", f"/UserItems/{item}/UserData")]


@pytest.mark.parametrize("finish, remove, action, reason, position_after, played_after", [
    (True, True, Action.FINISH, Reason.FINISHED_ON_SOURCE, 0, True),
    (False, True, Action.CLEAR, Reason.EXPLICIT_ZERO, 0, False),
    (False, False, Action.SKIP, Reason.FINISH_DISABLED, 30 * MIN, False),
])
async def test_finish_and_clear_precedence_over_http(make_pair, finish, remove, action, reason, position_after,
                                                     played_after):
    pair = make_pair(finish=finish, remove=remove)
    ids = library(pair)
    finished_on_source(pair, ids)
    start = pair.destination.emulator.request_count
    plan, _, _ = await run_apply(pair)
    [row] = [r for r in plan.rows if r.destination_item_ids == (ids[("destination", 0)],)]
    assert (row.action, row.reason) == (action, reason)
    now = state_of(pair, "destination", ids[("destination", 0)])
    assert (now.position_ticks, now.played) == (ticks(position_after), played_after)
    assert len(writes_seen(pair.destination.emulator, start)) == (0 if action is Action.SKIP else 1)


@pytest.mark.parametrize("source_last, reason", [(30, Reason.EXPLICIT_ZERO), (31, Reason.FINISHED_ON_SOURCE)])
async def test_the_tolerance_boundary_just_inside_clears_and_just_outside_finishes(make_pair, source_last, reason):
    pair = make_pair(finish=True, remove=True)  # timestamp_tolerance_seconds = 30
    ids = library(pair)
    finished_on_source(pair, ids, source_last=source_last, dest_last=0)
    plan = await plan_of(pair)
    assert [r.reason for r in plan.rows if r.writes] == [reason]


async def test_a_rewatch_on_the_source_goes_by_the_position_rules(make_pair):
    pair = make_pair(finish=True, remove=True)
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 50 * MIN, last=500, played=True, play_count=1)
    set_pos(pair, "destination", ids[("destination", 0)], 30 * MIN, last=0, play_count=1)
    _, _, results = await run_apply(pair)
    assert [(r.action, r.status) for r in results] == [(Action.UPSERT, Status.APPLIED)]
    now = state_of(pair, "destination", ids[("destination", 0)])
    assert (now.position_ticks, now.played) == (ticks(50 * MIN), False)


async def test_a_finish_is_skipped_live_while_the_destination_plays_it(make_pair):
    pair = make_pair(finish=True)
    ids = library(pair)
    finished_on_source(pair, ids)
    d = pair.destination
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        d.state.start_session(d.user_id, ids[("destination", 0)])  # someone starts it after the plan
        start = d.emulator.request_count
        results = [r async for r in sync.start_apply(plan).results()]
    assert [(r.action, r.status, r.reason) for r in results] == [(Action.FINISH, Status.SKIPPED,
                                                                  Reason.ACTIVE_SESSION)]
    assert writes_seen(d.emulator, start) == []


async def test_a_finish_is_skipped_when_the_destination_was_marked_played_since_the_plan(make_pair):
    pair = make_pair(finish=True)
    ids = library(pair)
    finished_on_source(pair, ids)
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        set_pos(pair, "destination", ids[("destination", 0)], 30 * MIN, last=0, played=True, play_count=3)
        results = [r async for r in sync.start_apply(plan).results()]
    assert [(r.status, r.reason) for r in results] == [(Status.SKIPPED, Reason.TARGET_NEWER)]
    assert "marked played" in results[0].detail


async def test_a_finish_keeps_the_play_count_the_destination_has_at_write_time(make_pair):
    pair = make_pair(finish=True)
    ids = library(pair)
    finished_on_source(pair, ids, dest_count=2)
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        # another client bumped the count after the plan (same position, flag and time: not a change that matters)
        set_pos(pair, "destination", ids[("destination", 0)], 30 * MIN, last=0, play_count=5)
        results = [r async for r in sync.start_apply(plan).results()]
    assert [r.status for r in results] == [Status.APPLIED]
    assert state_of(pair, "destination", ids[("destination", 0)]).play_count == 5


# --- §2 played ----------------------------------------------------------------------------------------------


async def test_played_off_reads_nothing_more_than_before(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 1)], 0, last=500, played=True, play_count=2)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    starts = pair.source.emulator.request_count, pair.destination.emulator.request_count
    plan = await plan_of(pair)
    assert [r.reason for r in plan.rows] == [Reason.DESTINATION_MISSING]
    off = (pair.source.emulator.request_count - starts[0], pair.destination.emulator.request_count - starts[1])
    assert played_reads(pair.source.emulator) == played_reads(pair.destination.emulator) == []

    pair.set_settings(played=True)
    starts = pair.source.emulator.request_count, pair.destination.emulator.request_count
    plan = await plan_of(pair)
    on = (pair.source.emulator.request_count - starts[0], pair.destination.emulator.request_count - starts[1])
    assert {r.reason for r in plan.rows} == {Reason.DESTINATION_MISSING, Reason.PLAYED_ON_SOURCE}
    # one played-list read per side (a single short page here), and nothing else new: the library reads are shared
    assert len(played_reads(pair.source.emulator, starts[0])) == 1
    assert len(played_reads(pair.destination.emulator, starts[1])) == 1
    for side in (pair.source, pair.destination):
        [read] = played_reads(side.emulator, 0)
        assert {k: read.query[k] for k in ("userId", "includeItemTypes", "recursive")} == {
            "userId": [side.user_id], "includeItemTypes": ["Movie,Episode"], "recursive": ["true"]}
    assert on == (off[0] + 1, off[1] + 1)


async def test_played_lists_are_paged(make_pair):
    pair = make_pair(played=True)
    ids = library(pair, n_movies=12)
    for n in range(12):
        set_pos(pair, "source", ids[("source", n)], 0, last=500 + n, played=True, play_count=1)
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        sync.source.played_items = _paged_by(sync.source.played_items, 5)
        plan = await sync.plan()
    assert sum(r.action is Action.MARK_PLAYED for r in plan.rows) == 12
    starts = [int(r.query["startIndex"][0]) for r in played_reads(pair.source.emulator)]
    assert starts == [0, 5, 10]


def _paged_by(real, size):
    async def played_items(library_ids=None):
        return await real(library_ids, page_size=size)
    return played_items


@pytest.mark.parametrize("source_last", [500, None])
async def test_mark_played_writes_the_source_count_and_time_and_undo_is_exact(make_pair, source_last):
    pair = make_pair(played=True)
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 0, last=source_last, played=True, play_count=3)
    set_pos(pair, "destination", ids[("destination", 0)], 0, last=None, play_count=0)
    before = dest_state(pair, ids)
    start = pair.destination.emulator.request_count
    plan, run, results = await run_apply(pair)
    assert [(r.action, r.reason) for r in plan.rows if r.writes] == [(Action.MARK_PLAYED, Reason.PLAYED_ON_SOURCE)]
    assert [(r.action, r.status) for r in results] == [(Action.MARK_PLAYED, Status.APPLIED)]
    [(method, path, body)] = writes_seen(pair.destination.emulator, start)
    assert method == "POST" and "PlayedItems" not in path
    assert body["Played"] is True and body["PlayCount"] == 3
    assert ("LastPlayedDate" in body) is (source_last is not None)  # a missing time is left out, never invented
    now = state_of(pair, "destination", ids[("destination", 0)])
    assert (now.played, now.play_count, now.last_played) == (True, 3, at(source_last))
    _, undone = await run_undo(pair, run.run_id)
    assert [r.status for r in undone] == [Status.APPLIED]
    assert dest_state(pair, ids) == before


async def test_played_leaves_what_the_destination_played_or_started_and_names_unresolved_items(make_pair):
    pair = make_pair(played=True)
    ids = library(pair)
    for n in range(3):
        set_pos(pair, "source", ids[("source", n)], 0, last=500, played=True, play_count=1)
    set_pos(pair, "destination", ids[("destination", 0)], 0, last=100, played=True, play_count=4)
    set_pos(pair, "destination", ids[("destination", 1)], 20 * MIN, last=100)       # in progress there
    only_here = pair.source.state.add_movie(pair.source.state.add_library("Extra", "movies"), "Only Here", year=1999, runtime_ticks=ticks(90 * MIN),
                                            provider_ids={"Imdb": "tt9999999"})
    set_pos(pair, "source", only_here, 0, last=500, played=True, play_count=1)
    start = pair.destination.emulator.request_count
    plan, _, results = await run_apply(pair)
    by_source = {r.source_item_id: r for r in plan.rows}
    assert by_source[ids[("source", 0)]].reason is Reason.ALREADY_WATCHED
    assert by_source[ids[("source", 2)]].reason is Reason.PLAYED_ON_SOURCE
    assert by_source[only_here].reason is Reason.UNRESOLVED
    # the one in progress there is the destination's resume row, decided by rule 11 (finish is off here)
    assert by_source[ids[("source", 1)]].reason is Reason.FINISH_DISABLED
    assert ([r.destination_item_id for r in results if r.status is Status.APPLIED]
            == [ids[("destination", 2)]])
    assert len(writes_seen(pair.destination.emulator, start)) == 1


async def test_played_between_two_users_of_one_server_matches_by_id(tmp_path):
    from cwtui.core.config import ConfigFile
    from cwtui.core.config_model import PairEntry, ServerEntry
    from cwtui.core.journal import Journal
    from cwtui.core.models import ProgressSettings

    from ..conftest import make_side

    side = make_side("10.11.11", "Home")
    try:
        state = side.state
        bob = state.add_user("bob", password="pw2")
        bob_token = state.issue_token(bob, device_id="cwtui-test-bob")
        lib = state.add_library("Movies", "movies")
        film = state.add_movie(lib, "Heat", year=1995, runtime_ticks=ticks(170 * MIN), provider_ids={"Imdb": "tt1"})
        state.set_user_data(side.user_id, film, played=True, play_count=2, last_played=at(500))
        cf = ConfigFile(tmp_path / "config.toml")
        cf.ensure_device_id()
        cf.save_server(ServerEntry("alice", side.url, side.user_id, "alice", side.token))
        cf.save_server(ServerEntry("bob", side.url, bob, "bob", bob_token))
        cf.save_pair(PairEntry("a-to-b", "alice", "bob", ProgressSettings(played=True)))
        async with PairSync(cf.load(), "a-to-b", Journal(tmp_path / "state")) as sync:
            plan = await sync.plan()
            results = [r async for r in sync.start_apply(plan).results()]
        assert [(r.action, r.reason) for r in plan.rows] == [(Action.MARK_PLAYED, Reason.PLAYED_ON_SOURCE)]
        assert plan.rows[0].destination_item_ids == (film,)
        assert [r.status for r in results] == [Status.APPLIED]
        now = state.get_user_data(bob, film)
        assert (now.played, now.play_count, now.last_played) == (True, 2, at(500))
    finally:
        side.emulator.stop()


async def test_a_dry_run_of_a_finish_says_what_it_would_mark(make_pair):
    pair = make_pair(finish=True)
    ids = library(pair)
    finished_on_source(pair, ids, dest_count=2)
    before = dest_state(pair, ids)
    _, _, results = await run_apply(pair, dry_run=True)
    assert [(r.action, r.status, r.dry_run) for r in results] == [(Action.FINISH, Status.APPLIED, True)]
    assert results[0].detail == "dry run: would write position 0:00, played, play count 2"
    assert dest_state(pair, ids) == before


@pytest.mark.parametrize("with_resume_episode", [False, True])
async def test_played_episodes_are_matched_through_their_series(make_pair, with_resume_episode):
    pair = make_pair(played=True)
    ids = library(pair)
    set_pos(pair, "source", ids[("source", "s1e1")], 0, last=500, played=True, play_count=1)
    if with_resume_episode:  # the resume matching has read the series lists already: they are reused
        set_pos(pair, "source", ids[("source", "special")], 10 * MIN, last=100)
    start = pair.destination.emulator.request_count
    plan, _, results = await run_apply(pair)
    row = next(r for r in plan.rows if r.source_item_id == ids[("source", "s1e1")])
    assert (row.action, row.destination_item_ids) == (Action.MARK_PLAYED, (ids[("destination", "s1e1")],))
    assert state_of(pair, "destination", ids[("destination", "s1e1")]).played
    series_reads = [r for r in pair.destination.emulator.requests[start:]
                    if r.path.lower() == "/items" and r.query.get("includeItemTypes") == ["Series"]]
    assert len(series_reads) == 1


@pytest.mark.parametrize("watched_there, marked", [("bob", "alice"), ("alice", "bob")])
def test_a_household_finishes_and_marks_played_per_user_and_undoes_exactly(make_pair, capsys, watched_there, marked):
    """Each user's rows come from that user's own data, whichever user's reads the library index was built from."""
    import json

    from cwtui.cli import main
    from cwtui.core.config_model import PairEntry
    from cwtui.core.models import ProgressSettings

    from .test_household import household

    pair, ids, uids = household(make_pair, src_users=("alice", "bob"), dst_users=("alice", "bob"))
    pair.config_file.save_pair(PairEntry("home-to-cabin", "home", "cabin",
                                         ProgressSettings(finish=True, played=True), users="by-name"))
    src, dst = pair.source.state, pair.destination.state
    for name in ("alice", "bob"):  # both played Movie 1 on the source; one of them has it played on the destination
        src.set_user_data(uids[("source", name)], ids[("source", 1)], played=True, play_count=2, last_played=at(500))
    dst.set_user_data(uids[("destination", watched_there)], ids[("destination", 1)], played=True, play_count=1,
                      last_played=at(100))
    src.set_user_data(uids[("source", "bob")], ids[("source", 2)], played=True, play_count=1, last_played=at(900))
    dst.set_user_data(uids[("destination", "bob")], ids[("destination", 2)], position_ticks=ticks(30 * MIN),
                      last_played=at(0), play_count=3)
    before = {(n, k): dst.get_user_data(uids[("destination", n)], ids[("destination", k)])
              for n in ("alice", "bob") for k in (1, 2)}

    assert main(["plan", "home-to-cabin", "--json", "--all"]) == 0
    plan = json.loads(capsys.readouterr()[0])
    rows = {(r["source_user"], r["title"]): (r["action"], r["reason"]) for r in plan["rows"]}
    assert rows == {(marked, "Movie 1"): ("mark_played", "played_on_source"),
                    (watched_there, "Movie 1"): ("skip", "already_watched"),
                    ("bob", "Movie 2"): ("finish", "finished_on_source")}
    for side in (pair.source, pair.destination):  # each user's played list is read once
        assert len(played_reads(side.emulator)) == 2

    assert main(["apply", "home-to-cabin", "--yes", "--json"]) == 0
    capsys.readouterr()
    marked_1 = dst.get_user_data(uids[("destination", marked)], ids[("destination", 1)])
    bob_2 = dst.get_user_data(uids[("destination", "bob")], ids[("destination", 2)])
    assert (marked_1.played, marked_1.play_count, marked_1.last_played) == (True, 2, at(500))
    assert (bob_2.played, bob_2.position_ticks, bob_2.play_count, bob_2.last_played) == (True, 0, 3, at(900))

    assert main(["undo", "--yes", "--json"]) == 0
    capsys.readouterr()
    assert before == {(n, k): dst.get_user_data(uids[("destination", n)], ids[("destination", k)])
                      for n in ("alice", "bob") for k in (1, 2)}


async def test_played_episodes_of_many_series_are_read_in_pages_not_one_list_per_series(make_pair, monkeypatch):
    from cwtui.core import index

    pair = make_pair(played=True)
    ids = library(pair)
    for side_name in ("source", "destination"):  # a second series, so that two series are looked in
        side = getattr(pair, side_name)
        shows = next(i.id for i in side.state.items.values() if i.name == "Shows")
        other = side.state.add_series(shows, "Other", provider_ids={"Tvdb": "777"})
        ids[(side_name, "other")] = side.state.add_episode(other, 2, 3, "Third", runtime_ticks=ticks(45 * MIN))
    for key in ("s1e1", "other"):
        set_pos(pair, "source", ids[("source", key)], 0, last=500, played=True, play_count=1)
    monkeypatch.setattr(index, "EPISODE_LISTS_BEFORE_FULL_READ", 1)
    start = pair.destination.emulator.request_count
    plan, _, results = await run_apply(pair)
    marked = {r.source_item_id: r.destination_item_ids for r in plan.rows if r.action is Action.MARK_PLAYED}
    assert marked == {ids[("source", "s1e1")]: (ids[("destination", "s1e1")],),
                      ids[("source", "other")]: (ids[("destination", "other")],)}
    assert [r.status for r in results] == [Status.APPLIED, Status.APPLIED]
    paths = [r.path.lower() for r in pair.destination.emulator.requests[start:]]
    assert not [p for p in paths if p.startswith("/shows/")]  # no per-series episode list
    episode_pages = [r for r in pair.destination.emulator.requests[start:]
                     if r.path.lower() == "/items" and r.query.get("includeItemTypes") == ["Episode"]]
    assert len(episode_pages) == 1
