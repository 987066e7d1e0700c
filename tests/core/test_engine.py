"""The one run engine over real HTTP: the write path of issue 8 and the shared guarantees of apply and undo."""

from __future__ import annotations

import asyncio
import json

import pytest

from cwtui.core.errors import ServerFailure, UsageError
from cwtui.core.journal import Journal
from cwtui.core.models import Reason, Status
from cwtui.core.sync import PairSync, default_client_factory, find_run, open_undo

from .factories import at, ticks
from .test_sync_e2e import MIN, dest_state, library, set_pos

pytestmark = pytest.mark.anyio


def writes_seen(emulator, since: int = 0):
    """(method, path, body) of every write the emulator received since request number `since`."""
    return [(r.method, r.path, json.loads(r.body) if r.body else None) for r in emulator.requests[since:]
            if r.method in ("POST", "DELETE") and ("UserData" in r.path or "PlayedItems" in r.path)]


class Wrapped:
    """A client factory that lets a test replace one method of the destination client (real HTTP underneath)."""

    def __init__(self, **methods) -> None:
        self.methods = methods
        self.clients = []

    def __call__(self, entry, device_id):
        client = default_client_factory(entry, device_id)
        if entry.name == "cabin":
            for name, make in self.methods.items():
                setattr(client, name, make(getattr(client, name)))
            self.clients.append(client)
        return client


async def run_apply(pair, factory=default_client_factory, **kw):
    async with PairSync(pair.config, pair.pair_name, pair.journal, client_factory=factory) as sync:
        plan = await sync.plan()
        run = sync.start_apply(plan, **kw)
        return plan, run, [r async for r in run.results()]


async def run_undo(pair, run_id=None, **kw):
    undo = await open_undo(pair.config, pair.journal, find_run(pair.journal, run_id), **kw)
    return undo, [r async for r in undo.results()]


# --- issue 8 §1: the write path -----------------------------------------------------------------------


async def test_replay_is_one_user_data_write_that_keeps_the_play_count(make_pair):
    pair = make_pair(replay_watched=True)
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 30 * MIN, last=500)
    set_pos(pair, "destination", ids[("destination", 0)], 0, last=100, played=True, play_count=3)
    start = pair.destination.emulator.request_count
    _, _, results = await run_apply(pair)
    assert [(r.status, r.reason) for r in results] == [(Status.APPLIED, Reason.WRITTEN)]
    sent = writes_seen(pair.destination.emulator, start)
    assert len(sent) == 1 and sent[0][0] == "POST" and "PlayedItems" not in sent[0][1]  # never the unplayed route
    body = sent[0][2]
    assert body["Played"] is False and body["PlayCount"] == 3 and body["PlaybackPositionTicks"] == ticks(30 * MIN)
    assert body["LastPlayedDate"].startswith(at(500).strftime("%Y-%m-%dT%H:%M:%S"))
    now = pair.destination.state.get_user_data(pair.destination.user_id, ids[("destination", 0)])
    assert (now.played, now.play_count, now.position_ticks) == (False, 3, ticks(30 * MIN))


async def test_a_user_who_may_not_edit_play_state_is_found_at_plan_time_and_apply_refuses(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 30 * MIN, last=500)
    pair.destination.state.users[pair.destination.user_id].enable_user_preference_access = False
    start = pair.destination.emulator.request_count
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        assert not plan.destination.writable and "EnableUserPreferenceAccess" in plan.destination.why_not_writable
        assert any("cannot take writes" in n for n in plan.notices)
        assert [r.reason for r in plan.rows if r.writes] == [Reason.DESTINATION_MISSING]  # still planned and shown
        with pytest.raises(UsageError) as caught:
            sync.start_apply(plan)
        assert caught.value.exit_code == 2
    assert writes_seen(pair.destination.emulator, start) == []


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_write_whose_answer_is_lost_counts_as_landed_and_undo_restores_it(make_pair, status):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 30 * MIN, last=500)
    before = dest_state(pair, ids)

    def lands_then_fails(real):
        async def write(*args, **kwargs):
            await real(*args, **kwargs)  # the server stored it; the proxy in front answered badly
            raise ServerFailure(f"the server failed with HTTP {status}", status=status)
        return write

    _, run, results = await run_apply(pair, Wrapped(write_user_data=lands_then_fails))
    assert [(r.status, r.reason) for r in results] == [(Status.APPLIED, Reason.WRITTEN)]
    assert "answer was lost" in results[0].detail
    intent = pair.journal.load(run.run_id).intents[0]
    assert intent.outcome.maybe_written
    _, undone = await run_undo(pair, run.run_id)
    assert [r.status for r in undone] == [Status.APPLIED]
    assert dest_state(pair, ids) == before


async def test_a_write_refused_with_a_4xx_is_not_landed(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 30 * MIN, last=500)
    pair.destination.emulator.faults.fail_matching(r"/UserItems/.*/UserData$", 400, method="POST")
    _, run, results = await run_apply(pair)
    assert [(r.status, r.reason) for r in results] == [(Status.FAILED, Reason.WRITE_FAILED)]
    assert "refused" in results[0].detail
    assert not pair.journal.load(run.run_id).intents[0].may_have_landed


async def test_a_live_read_without_user_data_is_skipped_not_taken_as_empty(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 30 * MIN, last=500)
    calls = []

    def strip_user_data(real):
        async def items_by_ids(ids_, **kw):
            calls.append(kw)
            items = await real(ids_, **kw)
            if len(calls) == 1:  # the live re-read (the plan never calls this on a 10.11 pair)
                from dataclasses import replace
                return [replace(i, user_data=None) for i in items]
            return items
        return items_by_ids

    start = pair.destination.emulator.request_count
    _, run, results = await run_apply(pair, Wrapped(items_by_ids=strip_user_data))
    assert [(r.status, r.reason) for r in results] == [(Status.SKIPPED, Reason.READ_FAILED)]
    assert writes_seen(pair.destination.emulator, start) == []
    assert pair.journal.load(run.run_id).intents == []  # no made-up prior state journaled


# --- issue 8 §2: what one destination item receives -------------------------------------------------------


async def test_two_source_copies_of_one_title_give_one_write_from_the_newest(make_pair):
    pair = make_pair()
    src = pair.source.state
    hd, uhd = src.add_library("Movies", "movies"), src.add_library("4K Movies", "movies")
    ids_ = {"Imdb": "tt0000042", "Tmdb": "42"}
    old = src.add_movie(hd, "Heat", year=1995, runtime_ticks=ticks(170 * MIN), provider_ids=ids_)
    new = src.add_movie(uhd, "Heat", year=1995, runtime_ticks=ticks(170 * MIN), provider_ids=ids_)
    dst_lib = pair.destination.state.add_library("Movies", "movies")
    target = pair.destination.state.add_movie(dst_lib, "Heat", year=1995, runtime_ticks=ticks(170 * MIN),
                                              provider_ids=ids_)
    set_pos(pair, "source", old, 90 * MIN, last=100)   # further along, but played earlier
    set_pos(pair, "source", new, 40 * MIN, last=900)   # played most recently: this one wins
    start = pair.destination.emulator.request_count
    plan, _, results = await run_apply(pair)
    rows = {r.source_item_id: r for r in plan.rows}
    assert rows[old].reason is Reason.SUPERSEDED_BY_COPY and new[:8] in rows[old].rule
    assert rows[new].reason is Reason.DESTINATION_MISSING
    assert [(r.status, r.destination_item_id) for r in results] == [(Status.APPLIED, target)]
    assert len(writes_seen(pair.destination.emulator, start)) == 1
    assert pair.destination.state.get_user_data(pair.destination.user_id, target).position_ticks == ticks(40 * MIN)


async def test_destination_copies_sharing_a_stored_row_on_10_10_are_written_once(make_pair):
    pair = make_pair(destination_version="10.10.7")
    src_lib = pair.source.state.add_library("Movies", "movies")
    ids_ = {"Imdb": "tt0000077", "Tmdb": "77"}
    source = pair.source.state.add_movie(src_lib, "Ran", year=1985, runtime_ticks=ticks(160 * MIN), provider_ids=ids_)
    d = pair.destination.state
    copies = [d.add_movie(d.add_library(name, "movies"), "Ran", year=1985, runtime_ticks=ticks(160 * MIN),
                          provider_ids=ids_) for name in ("Movies", "4K Movies")]
    set_pos(pair, "source", source, 50 * MIN, last=500)
    start = pair.destination.emulator.request_count
    _, _, results = await run_apply(pair)
    by_item = {r.destination_item_id: r for r in results}
    assert set(by_item) == set(copies)  # each copy has its own line
    written = [r for r in results if r.status is Status.APPLIED]
    shared = [r for r in results if r.reason is Reason.SHARED_ROW]
    assert len(written) == 1 and len(shared) == 1 and written[0].destination_item_id in shared[0].detail
    assert len(writes_seen(pair.destination.emulator, start)) == 1


async def test_on_10_11_copies_are_separate_rows_and_each_is_written(make_pair):
    pair = make_pair(destination_version="10.11.11")
    src_lib = pair.source.state.add_library("Movies", "movies")
    ids_ = {"Imdb": "tt0000078", "Tmdb": "78"}
    source = pair.source.state.add_movie(src_lib, "Ran", year=1985, runtime_ticks=ticks(160 * MIN), provider_ids=ids_)
    d = pair.destination.state
    for name in ("Movies", "4K Movies"):
        d.add_movie(d.add_library(name, "movies"), "Ran", year=1985, runtime_ticks=ticks(160 * MIN),
                    provider_ids=ids_)
    set_pos(pair, "source", source, 50 * MIN, last=500)
    _, _, results = await run_apply(pair)
    assert [r.status for r in results] == [Status.APPLIED, Status.APPLIED]


# --- issue 9: undo has every guarantee apply has ------------------------------------------------------------


async def test_undo_checks_sessions_and_a_later_undo_finishes_the_item(make_pair):
    pair = make_pair()
    ids = library(pair)
    before = dest_state(pair, ids)
    for n in range(2):
        set_pos(pair, "source", ids[("source", n)], (20 + n) * MIN, last=100)
    _, run, _ = await run_apply(pair)
    d = pair.destination
    session = d.state.start_session(d.user_id, ids[("destination", 0)])
    _, undone = await run_undo(pair, run.run_id)
    assert sorted((r.status, r.reason) for r in undone) == [(Status.APPLIED, Reason.RESTORED),
                                                           (Status.SKIPPED, Reason.ACTIVE_SESSION)]
    d.state.end_session(session)
    again, rest = await run_undo(pair, run.run_id)
    assert again.already_undone_by is None
    assert [(r.status, r.reason) for r in rest] == [(Status.APPLIED, Reason.RESTORED)]
    assert dest_state(pair, ids) == before


async def test_a_restore_that_stops_after_its_unplayed_step_is_finished_by_the_next_undo(make_pair):
    pair = make_pair()
    ids = library(pair)
    item = ids[("destination", 0)]
    set_pos(pair, "source", ids[("source", 0)], 30 * MIN, last=500)
    set_pos(pair, "destination", item, 0, last=None, play_count=2)   # no last-played time: needs the unplayed route
    before = dest_state(pair, ids)
    _, run, _ = await run_apply(pair)
    undo = await open_undo(pair.config, pair.journal, pair.journal.load(run.run_id))
    assert [i.item_id for i in undo.needs_unplay] == [item]  # the preview can say so
    pair.destination.emulator.faults.fail_matching(r"/UserItems/.*/UserData$", 403, method="POST")
    undone = [r async for r in undo.results()]
    assert [(r.status, r.reason) for r in undone] == [(Status.FAILED, Reason.WRITE_FAILED)]
    assert "still to restore" in undone[0].detail and "next undo" in undone[0].detail
    assert pair.journal.load(undo.run_id).intents[0].steps_done == ("unplay",)
    again, rest = await run_undo(pair, run.run_id)
    assert [(r.status, r.reason) for r in rest] == [(Status.APPLIED, Reason.RESTORED)]
    assert dest_state(pair, ids) == before


async def test_undo_of_an_undone_run_says_so_and_names_what_was_left_alone(make_pair):
    pair = make_pair()
    ids = library(pair)
    for n in range(2):
        set_pos(pair, "source", ids[("source", n)], (20 + n) * MIN, last=100)
    _, run, _ = await run_apply(pair)
    set_pos(pair, "destination", ids[("destination", 1)], 70 * MIN, last=9000)  # played there since
    first, _ = await run_undo(pair, run.run_id)
    start = pair.destination.emulator.request_count
    again, results = await run_undo(pair, run.run_id)
    assert again.already_undone_by == first.run_id and results == []
    assert [i.item_id for i, _ in again.left_alone] == [ids[("destination", 1)]]
    assert writes_seen(pair.destination.emulator, start) == []


async def test_after_an_undo_of_the_undo_the_original_run_can_be_undone_again(make_pair):
    pair = make_pair()
    ids = library(pair)
    before = dest_state(pair, ids)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    _, run, _ = await run_apply(pair)
    after_apply = dest_state(pair, ids)
    first, _ = await run_undo(pair, run.run_id)
    _, redone = await run_undo(pair, first.run_id)  # undo the undo: the run's write is back
    assert [r.status for r in redone] == [Status.APPLIED] and dest_state(pair, ids) == after_apply
    again, results = await run_undo(pair, run.run_id)
    assert again.already_undone_by is None
    assert [r.status for r in results] == [Status.APPLIED] and "written again by run" in results[0].detail
    assert dest_state(pair, ids) == before


async def test_cancel_stops_unsent_writes_at_once_and_in_flight_ones_count_as_maybe_written(make_pair):
    pair = make_pair()
    ids = library(pair)
    for n in range(6):
        set_pos(pair, "source", ids[("source", n)], (20 + n) * MIN, last=100)
    held = asyncio.Event()
    never = asyncio.Event()

    def hold_all(real):
        async def write(*args, **kwargs):
            held.set()
            await never.wait()  # no answer ever comes
            return await real(*args, **kwargs)
        return write

    async with PairSync(pair.config, pair.pair_name, pair.journal,
                        client_factory=Wrapped(write_user_data=hold_all)) as sync:
        plan = await sync.plan()
        run = sync.start_apply(plan, concurrency=2)
        run.cancel_grace = 0.01
        consumer = asyncio.ensure_future(_collect(run))
        await held.wait()
        run.cancel()
        results = await consumer
    by_status = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r)
    assert len(by_status[Status.FAILED]) == 2  # the two in flight: may have been written
    assert all("may have reached the server" in r.detail for r in by_status[Status.FAILED])
    assert len(by_status[Status.CANCELLED]) == 4 and run.cancelled
    record = pair.journal.load(run.run_id)
    assert record.complete and sum(i.may_have_landed for i in record.intents) == 2


async def _collect(run):
    return [r async for r in run.results()]


async def test_a_second_run_on_the_same_journal_is_independent(make_pair, tmp_path):
    """Runs never share state through the engine: two journals, two runs, each complete."""
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    other = Journal(tmp_path / "other")
    async with PairSync(pair.config, pair.pair_name, other) as sync:
        plan = await sync.plan()
        run = sync.start_apply(plan, dry_run=True)
        results = [r async for r in run.results()]
    assert [r.dry_run for r in results] == [True] and other.load(run.run_id).complete


# --- issue 10 §4: say what happened ------------------------------------------------------------------------


async def test_only_a_skipped_row_says_why_and_writes_nothing(make_pair):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 2)], 96 * MIN, last=100)   # near complete: skipped
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        row = next(r for r in plan.rows if r.reason is Reason.NEAR_COMPLETE)
        with pytest.raises(UsageError) as caught:
            sync.start_apply(plan, only=[row.key])
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "near_complete" in message and f"--force {row.key[:8]}" in message
    assert pair.journal.run_ids() == []


async def test_a_full_disk_mid_apply_stops_before_unjournaled_writes_and_names_the_undo(make_pair, monkeypatch):
    import errno
    import os

    from cwtui.core import journal as journal_module
    from cwtui.core.errors import EXIT_JOURNAL, JournalError

    pair = make_pair()
    ids = library(pair)
    for n in range(6):
        set_pos(pair, "source", ids[("source", n)], (20 + n) * MIN, last=100)
    syncs = []
    real_fsync = os.fsync

    def fsync(fd):
        syncs.append(fd)
        # header, the base's provisional record (file and directory), first chunk's intents, first chunk's
        # results: then the disk is full
        if len(syncs) > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    seen = []
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan()
        run = sync.start_apply(plan, concurrency=1, chunk_size=2)
        with pytest.raises(JournalError) as caught:
            async for result in run.results():
                seen.append(result)
    monkeypatch.setattr(journal_module.os, "fsync", real_fsync)
    assert caught.value.exit_code == EXIT_JOURNAL != 2
    assert f"cwtui undo {run.run_id}" in str(caught.value) and "No space" in str(caught.value)
    assert [r.status for r in seen] == [Status.APPLIED, Status.APPLIED]
    record = pair.journal.load(run.run_id)
    changed = {ids[k] for k, v in dest_state(pair, ids).items() if v.position_ticks}
    assert len(changed) == 2 and changed <= {i.item_id for i in record.intents}  # no write without its intent
    assert {r.destination_item_id for r in seen} == changed  # and every write sent was reported


# --- against the emulator's picture of the real server (issue 8 §4 knobs) -------------------------------------


@pytest.mark.parametrize("kind", [500, 502, 504, "html", "drop"])
async def test_a_write_that_lands_behind_a_bad_answer_is_journaled_as_landed(make_pair, kind):
    pair = make_pair()
    ids = library(pair)
    set_pos(pair, "source", ids[("source", 0)], 30 * MIN, last=500)
    before = dest_state(pair, ids)
    pair.destination.emulator.faults.after_next(kind, path_regex=r"/UserItems/.*/UserData$", method="POST")
    _, run, results = await run_apply(pair)
    assert pair.destination.emulator.faults.after_applied == 1  # the server did store it
    assert [(r.status, r.reason) for r in results] == [(Status.APPLIED, Reason.WRITTEN)]
    assert "answer was lost" in results[0].detail
    assert pair.journal.load(run.run_id).intents[0].outcome.maybe_written
    _, undone = await run_undo(pair, run.run_id)
    assert [r.status for r in undone] == [Status.APPLIED] and dest_state(pair, ids) == before


async def test_a_clear_shadowed_by_a_stale_stored_row_is_a_verify_mismatch_that_names_the_cause(make_pair):
    pair = make_pair(remove=True)  # both 10.11.11
    d = pair.destination
    source = pair.source.state.add_movie(pair.source.state.add_library("Movies", "movies"), "Brazil", year=1985,
                                         runtime_ticks=ticks(140 * MIN), provider_ids={"Imdb": "tt0088846"})
    item = d.state.add_movie(d.state.add_library("Movies", "movies"), "Brazil", year=1985,
                             runtime_ticks=ticks(140 * MIN), provider_ids={"Imdb": "tt0088846", "Tmdb": "111"})
    set_pos(pair, "destination", item, 30 * MIN, last=0)              # stored under the key Tmdb 111
    d.state.reidentify(item, {"Imdb": "tt0088846", "Tmdb": "68"})    # corrected: the Tmdb-111 row stays behind
    set_pos(pair, "source", source, 0, last=500, played=True, play_count=1)  # explicit zero: clear
    _, _, results = await run_apply(pair)
    cleared = [r for r in results if r.destination_item_id == item]
    assert [(r.status, r.reason) for r in cleared] == [(Status.FAILED, Reason.VERIFY_MISMATCH)]
    assert "15795" in cleared[0].detail and "restart" in cleared[0].detail


async def test_12_0_versions_are_each_read_and_written_and_never_cleared(make_pair):
    pair = make_pair(source_version="10.11.11", destination_version="12.0.0", remove=True)
    ids = library(pair)
    d = pair.destination
    primary = ids[("destination", 0)]
    alternate = d.state.add_version(primary, "Movie 0 - 4K")
    set_pos(pair, "destination", alternate, 10 * MIN, last=50)   # progress lives on the version played
    set_pos(pair, "source", ids[("source", 0)], 40 * MIN, last=500)
    plan, _, results = await run_apply(pair)
    row = next(r for r in plan.rows if r.source_item_id == ids[("source", 0)])
    assert set(row.destination_item_ids) == {primary, alternate}
    by_item = {r.destination_item_id: r for r in results}
    assert by_item[alternate].status is Status.APPLIED  # the live re-read found it although /Items hides it
    assert d.state.get_user_data(d.user_id, alternate).position_ticks == ticks(40 * MIN)

    # An explicit 0 on the source never clears a movie that has versions.
    set_pos(pair, "source", ids[("source", 0)], 0, last=900, played=True, play_count=1)
    plan = await plan_rows_of(pair)
    row = next(r for r in plan.rows if primary in r.destination_item_ids or alternate in r.destination_item_ids)
    assert not row.writes and Reason.ALTERNATE_VERSIONS in {v.reason for v in row.versions}


async def plan_rows_of(pair):
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        return await sync.plan()


async def test_a_session_playing_an_alternate_version_blocks_that_write(make_pair):
    pair = make_pair(destination_version="12.0.0")
    ids = library(pair)
    d = pair.destination
    primary = ids[("destination", 0)]
    alternate = d.state.add_version(primary, "Movie 0 - 4K")
    set_pos(pair, "source", ids[("source", 0)], 40 * MIN, last=500)
    d.state.start_session(d.user_id, primary, media_source_id=alternate)  # shows the primary, plays the 4K file
    _, _, results = await run_apply(pair)
    by_item = {r.destination_item_id: r for r in results}
    assert by_item[alternate].reason is Reason.ACTIVE_SESSION


async def test_placeholder_episodes_are_never_written(make_pair):
    pair = make_pair()
    ids = library(pair)
    d = pair.destination
    d.state.users[d.user_id].display_missing_episodes = True
    series = next(i.id for i in d.state.items.values() if i.type == "Series")
    ghost = d.state.add_episode(series, 1, 2, "Not here yet", runtime_ticks=ticks(45 * MIN), virtual=True)
    src_series = next(i.id for i in pair.source.state.items.values() if i.type == "Series")
    real = pair.source.state.add_episode(src_series, 1, 2, "Second", runtime_ticks=ticks(45 * MIN))
    set_pos(pair, "source", real, 20 * MIN, last=100)
    start = d.emulator.request_count
    plan, _, results = await run_apply(pair)
    row = next(r for r in plan.rows if r.source_item_id == real)
    assert row.reason is Reason.UNRESOLVED and ghost not in row.destination_item_ids
    assert writes_seen(d.emulator, start) == []


async def test_a_second_run_on_the_same_pair_refuses_while_the_first_writes(make_pair):
    from cwtui.core.locks import RunLocked

    pair = make_pair()
    ids = library(pair)
    for n in range(2):
        set_pos(pair, "source", ids[("source", n)], (20 + n) * MIN, last=100)
    held, release = asyncio.Event(), asyncio.Event()

    def hold(real):
        async def write(*args, **kwargs):
            held.set()
            await release.wait()
            return await real(*args, **kwargs)
        return write

    async with PairSync(pair.config, pair.pair_name, pair.journal,
                        client_factory=Wrapped(write_user_data=hold)) as first_sync:
        first = first_sync.start_apply(await first_sync.plan())
        running = asyncio.ensure_future(_collect(first))
        await held.wait()
        start = pair.destination.emulator.request_count
        async with PairSync(pair.config, pair.pair_name, pair.journal) as second_sync:
            second = second_sync.start_apply(await second_sync.plan())
            with pytest.raises(RunLocked) as caught:
                await _collect(second)
            undo = await open_undo(pair.config, pair.journal, pair.journal.load(first.run_id))
            with pytest.raises(RunLocked):
                await _collect(undo)
        assert caught.value.exit_code == 2 and "home-to-cabin" in str(caught.value)
        assert writes_seen(pair.destination.emulator, start) == []
        release.set()
        assert [r.status for r in await running] == [Status.APPLIED, Status.APPLIED]
    assert [r.status for r in await _collect(await open_undo(
        pair.config, pair.journal, pair.journal.load(first.run_id)))] == [Status.APPLIED, Status.APPLIED]


async def test_a_copied_data_folder_is_named_and_same_server_false_matches_by_provider_ids(make_pair):
    from cwtui.core.config_model import PairEntry

    pair = make_pair()
    ids = library(pair)
    pair.destination.state.server_id = pair.source.state.server_id  # the data folder was copied
    set_pos(pair, "source", ids[("source", 0)], 20 * MIN, last=100)
    plan = await plan_rows_of(pair)
    assert any("same server id" in n and "same_server = false" in n for n in plan.notices)
    assert [r.reason for r in plan.rows if r.source_item_id == ids[("source", 0)]] == [Reason.UNRESOLVED]

    entry = pair.config.pair(pair.pair_name)
    pair.config_file.save_pair(PairEntry(entry.name, entry.source, entry.destination, entry.progress,
                                         same_server=False))
    assert "same_server = false" in pair.config_file.path.read_text()
    plan = await plan_rows_of(pair)
    assert any("two servers" in n for n in plan.notices)
    assert [r.reason for r in plan.rows if r.source_item_id == ids[("source", 0)]] == [Reason.DESTINATION_MISSING]
