"""The journal's one writer and one reader: typed records, torn and damaged lines, listings and undo history."""

from __future__ import annotations

import json

import pytest

from cwtui.core import journal as journal_module
from cwtui.core.errors import JournalError, UsageError
from cwtui.core.journal import STEP_UNPLAY, Intent, Journal, ResultRecord
from cwtui.core.models import Target

from .factories import at, ticks, ud


def _intent(seq: int, item: str = "a" * 32) -> Intent:
    return Intent(seq, f"k{seq}", f"Title {seq}", item, "upsert", ud(10, last=0), Target(ticks(600), last_played=at(5)))


def _result(seq: int, status="applied", reason="written", maybe=True, item="a" * 32) -> ResultRecord:
    return ResultRecord(seq, f"k{seq}", item, "upsert", status, reason, "", maybe, 10_000, 600_000, ud(600, last=5))


def test_records_round_trip_typed(tmp_path):
    j = Journal(tmp_path)
    w = j.start("apply", "p", {"name": "cabin"})
    w.intents([_intent(0), _intent(1, "b" * 32)])
    w.step(1, STEP_UNPLAY)
    w.results([_result(0)])
    w.close({"applied": 1})
    record = j.load(w.run_id)
    assert record.complete and record.problems == []
    first, second = record.intents
    assert first.prior == ud(10, last=0) and first.target == Target(ticks(600), last_played=at(5))
    assert first.outcome == _result(0)
    assert second.outcome is None and second.steps_done == (STEP_UNPLAY,) and second.may_have_landed
    assert record.wrote


def test_a_torn_last_line_is_expected_and_silent(tmp_path):
    j = Journal(tmp_path)
    w = j.start("apply", "p", {})
    w.intents([_intent(0)])
    w.abandon()
    with w.path.open("a") as f:
        f.write('{"type":"result","seq":0,"ke')  # the crash came mid-line
    record = j.load(w.run_id)
    assert record.problems == [] and not record.complete
    assert record.intents[0].outcome is None and record.intents[0].may_have_landed


def test_a_damaged_line_in_the_middle_is_reported_with_what_it_affects(tmp_path):
    j = Journal(tmp_path)
    w = j.start("apply", "p", {})
    w.intents([_intent(0)])
    w.results([_result(0)])
    w.close({"applied": 1})
    lines = w.path.read_text().splitlines()
    lines.insert(2, "{garbage")
    w.path.write_text("\n".join(lines) + "\n")
    record = j.load(w.run_id)
    assert len(record.problems) == 1 and "line 3" in record.problems[0] and "undo" in record.problems[0]
    assert record.intents[0].outcome is not None  # what could be read still counts


def test_an_empty_or_foreign_file_never_blocks_listing_or_other_runs(tmp_path):
    j = Journal(tmp_path)
    good = j.start("apply", "p", {"name": "cabin"})
    good.intents([_intent(0)])
    good.close({"applied": 1})
    (j.directory / "20200101T000000Z-empty0.jsonl").write_text("")
    (j.directory / "20200101T000001Z-junk00.jsonl").write_text("not json\n")
    listed = {s.run_id: s for s in j.list_runs()}
    assert listed["20200101T000000Z-empty0"].problem and listed["20200101T000001Z-junk00"].problem
    assert listed[good.run_id].problem is None and listed[good.run_id].wrote
    assert [r.run_id for r in j.runs()] == [good.run_id]
    assert j.latest_written().run_id == good.run_id
    with pytest.raises(JournalError, match="no run header"):
        j.load("20200101T000000Z-empty0")


def test_listing_reads_only_first_and_last_lines_of_finished_runs(tmp_path, monkeypatch):
    j = Journal(tmp_path)
    for _ in range(3):
        w = j.start("apply", "p", {})
        w.intents([_intent(n) for n in range(50)])
        w.close({"applied": 50})
    unfinished = j.start("apply", "p", {})
    unfinished.intents([_intent(0)])
    unfinished.abandon()
    read_whole = []
    real = journal_module.read_run
    monkeypatch.setattr(journal_module, "read_run", lambda path: read_whole.append(path.stem) or real(path))
    listed = j.list_runs()
    assert len(listed) == 4 and read_whole == [unfinished.run_id]  # only the run without an end line
    assert all(s.wrote for s in listed)


def test_a_run_id_too_long_or_with_path_characters_is_refused_before_the_file_system(tmp_path):
    j = Journal(tmp_path)
    for bad in ("x" * 300, "../etc", "a/b", ".hidden", ""):
        with pytest.raises(UsageError) as caught:
            j.load(bad)
        assert caught.value.exit_code == 2 and len(str(caught.value)) < 200


def test_undo_history_replays_undos_and_undos_of_undos_in_order(tmp_path):
    j = Journal(tmp_path)
    run = j.start("apply", "p", {})
    run.intents([_intent(0), _intent(1, "b" * 32), _intent(2, "c" * 32)])
    run.close({"applied": 3})

    undo = j.start("undo", "p", {}, undo_of=run.run_id)
    undo.intents([_intent(0), _intent(2, "c" * 32)])
    undo.step(2, STEP_UNPLAY)
    undo.results([_result(0), _result(1, "skipped", "changed_since_run", False, "b" * 32),
                  _result(2, "failed", "write_failed", True, "c" * 32)])
    undo.close({})
    history = j.undo_history(run.run_id)
    assert history.settled == {0: undo.run_id} and history.last_undo == undo.run_id
    assert set(history.left_alone) == {1} and history.half_done == {2}

    redo = j.start("undo", "p", {}, undo_of=undo.run_id)
    redo.results([_result(0)])
    redo.close({})
    history = j.undo_history(run.run_id)
    assert 0 not in history.settled and history.redone == {0: redo.run_id}


def test_files_of_this_version_stay_readable(tmp_path):
    """A run file exactly as the previous release wrote it (no format change since) reads and undoes."""
    j = Journal(tmp_path)
    j.directory.mkdir(parents=True)
    lines = [
        {"type": "run", "run_id": "20261120T200000Z-abcdef", "kind": "apply", "pair": "p",
         "destination": {"name": "cabin"}, "undo_of": None, "started_at": "2026-11-20T20:00:00+00:00"},
        {"type": "intent", "seq": 0, "key": "k", "title": "T", "item_id": "a" * 32, "action": "upsert",
         "prior": {"position_ticks": 0, "played": True, "play_count": 2, "last_played": None},
         "target": {"position_ticks": 6000000000, "last_played": "2026-11-20T20:00:05+00:00",
                    "unplay_first": True, "played": False, "play_count": 2}},
        {"type": "result", "seq": 0, "key": "k", "item_id": "a" * 32, "action": "upsert", "status": "applied",
         "reason": "written", "detail": "", "maybe_written": True, "before_ms": 0, "after_ms": 600000,
         "after": None},
        {"type": "end", "summary": {"applied": 1}, "cancelled": False, "ended_at": "2026-11-20T20:00:06+00:00"},
    ]
    (j.directory / "20261120T200000Z-abcdef.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    record = j.load("20261120T200000Z-abcdef")
    intent = record.intents[0]
    assert intent.target.unplay_first and intent.target.played is False and intent.prior.played
    assert record.wrote and j.list_runs()[0].wrote
