"""The write journal: one JSON Lines file per run; each write's prior state is fsynced before the write is sent.

Typed records in, typed records out: `RunWriter` is the one writer and `read_run` the one reader. A torn last line
(a crash mid-write) is expected and ignored; any other damaged line is kept as a `problem` of its run, and a
damaged file never stops the listing or the undo of any other run.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cwtui.core.errors import JournalError, UsageError
from cwtui.core.models import ItemResult, Target, UserData

KIND_APPLY = "apply"
KIND_DRY_RUN = "dry_run"
KIND_UNDO = "undo"
STEP_UNPLAY = "unplay"
"""The first of a restore's two steps (the unplayed route), journaled once it has landed."""
RUN_ID_MAX = 64


# --- records ------------------------------------------------------------------------------------------


def user_data_to_json(ud: UserData | None) -> dict[str, Any] | None:
    if ud is None:
        return None
    return {"position_ticks": ud.position_ticks, "played": ud.played, "play_count": ud.play_count,
            "last_played": ud.last_played.isoformat() if ud.last_played else None}


def user_data_from_json(data: Any) -> UserData | None:
    if not isinstance(data, dict):
        return None
    last = data.get("last_played")
    return UserData(position_ticks=int(data.get("position_ticks") or 0), played=bool(data.get("played")),
                    play_count=int(data.get("play_count") or 0),
                    last_played=datetime.fromisoformat(last) if last else None)


def target_to_json(t: Target) -> dict[str, Any]:
    out: dict[str, Any] = {"position_ticks": t.position_ticks}
    if t.played is not None:
        out["played"] = t.played
    if t.play_count is not None:
        out["play_count"] = t.play_count
    if t.last_played is not None:
        out["last_played"] = t.last_played.isoformat()
    if t.unplay_first:
        out["unplay_first"] = True
    return out


def target_from_json(data: Any) -> Target:
    data = data if isinstance(data, dict) else {}
    last = data.get("last_played")
    return Target(position_ticks=int(data.get("position_ticks") or 0),
                  played=data.get("played") if isinstance(data.get("played"), bool) else None,
                  play_count=int(data["play_count"]) if data.get("play_count") is not None else None,
                  last_played=datetime.fromisoformat(last) if last else None,
                  unplay_first=bool(data.get("unplay_first")))


@dataclass(frozen=True)
class ResultRecord:
    """What happened to one journaled step (or to an item that was only checked)."""

    seq: int
    key: str
    item_id: str
    action: str
    status: str
    reason: str
    detail: str = ""
    maybe_written: bool = False
    """The write may have reached the server (it landed, or its answer was lost): undo must look at it."""
    before_ms: int | None = None
    after_ms: int | None = None
    after: UserData | None = None
    """The item's state read back after the write, when it was read."""

    @classmethod
    def of(cls, seq: int, result: ItemResult, *, maybe_written: bool, after: UserData | None = None) -> ResultRecord:
        return cls(seq, result.key, result.destination_item_id, result.action.value, result.status.value,
                   result.reason.value, result.detail, maybe_written, result.before_ms, result.after_ms, after)

    def to_json(self) -> dict[str, Any]:
        return {"type": "result", "seq": self.seq, "key": self.key, "item_id": self.item_id, "action": self.action,
                "status": self.status, "reason": self.reason, "detail": self.detail,
                "maybe_written": self.maybe_written, "before_ms": self.before_ms, "after_ms": self.after_ms,
                "after": user_data_to_json(self.after)}

    @classmethod
    def from_json(cls, e: dict[str, Any]) -> ResultRecord:
        return cls(int(e["seq"]), str(e.get("key", "")), str(e.get("item_id", "")), str(e.get("action", "")),
                   str(e["status"]), str(e.get("reason", "")), str(e.get("detail") or ""),
                   bool(e.get("maybe_written")), e.get("before_ms"), e.get("after_ms"),
                   user_data_from_json(e.get("after")))


@dataclass
class Intent:
    """A write about to happen: enough to undo it exactly, whatever happened to the answer."""

    seq: int
    key: str
    title: str
    item_id: str
    action: str
    prior: UserData
    target: Target
    outcome: ResultRecord | None = None
    """The result of this write, or None when it never came (crash, dropped connection, killed process)."""
    steps_done: tuple[str, ...] = ()
    """Steps of a two-step restore that landed (STEP_UNPLAY) before the outcome."""
    name: str = ""
    """The item's exact Jellyfin Name (files from before this field have only `title`)."""
    year: int | None = None
    user_id: str = ""
    """Household runs: the destination user whose data was written (empty: the run's user)."""
    source_user: str = ""
    destination_user: str = ""
    server: str = ""
    """Two-way runs: the server entry written when it is not the run's destination."""

    @property
    def may_have_landed(self) -> bool:
        return self.outcome is None or self.outcome.maybe_written or bool(self.steps_done)

    def to_json(self) -> dict[str, Any]:
        return {"type": "intent", "seq": self.seq, "key": self.key, "title": self.title, "item_id": self.item_id,
                "action": self.action, "prior": user_data_to_json(self.prior), "target": target_to_json(self.target),
                "name": self.name, "year": self.year,
                **({"user_id": self.user_id, "source_user": self.source_user,
                    "destination_user": self.destination_user} if self.user_id else {}),
                **({"server": self.server} if self.server else {})}

    @classmethod
    def from_json(cls, e: dict[str, Any]) -> Intent:
        return cls(int(e["seq"]), str(e["key"]), str(e.get("title", "")), str(e["item_id"]), str(e["action"]),
                   user_data_from_json(e.get("prior")) or UserData(), target_from_json(e.get("target")),
                   name=str(e.get("name") or ""), year=e.get("year") if isinstance(e.get("year"), int) else None,
                   user_id=str(e.get("user_id") or ""), source_user=str(e.get("source_user") or ""),
                   destination_user=str(e.get("destination_user") or ""), server=str(e.get("server") or ""))


@dataclass
class RunRecord:
    """A run as read back from its file."""

    run_id: str
    kind: str
    pair: str
    destination: dict[str, Any]
    started_at: str
    undo_of: str | None = None
    ended_at: str | None = None
    summary: dict[str, int] | None = None
    cancelled: bool = False
    intents: list[Intent] = field(default_factory=list)
    results: list[ResultRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Damaged lines (other than a torn last line), each with what it affects."""

    @property
    def wrote(self) -> bool:
        """True when at least one write may have reached the server."""
        return any(i.may_have_landed for i in self.intents)

    @property
    def complete(self) -> bool:
        return self.ended_at is not None


@dataclass(frozen=True)
class RunSummary:
    """One run as `runs`, `pairs` and the home screen list it: read from the file's first and last lines only."""

    run_id: str
    kind: str
    pair: str
    started_at: str
    destination: dict[str, Any] = field(default_factory=dict)
    undo_of: str | None = None
    ended_at: str | None = None
    summary: dict[str, int] | None = None
    cancelled: bool = False
    wrote: bool | None = None
    """Whether a write may have reached the server (None when unknown: the file is damaged)."""
    undone_by: tuple[str, ...] = ()
    """Undo runs of this run, oldest first."""
    problem: str | None = None
    """Why the file could not be read (damaged or empty); the other fields are then best effort."""
    snapshot: str | None = None
    """The snapshot of the destination taken before the run's first write (`apply --snapshot-first`)."""
    snapshot_source: str | None = None
    """The same of the source, when the run writes there too (two-way)."""

    @property
    def complete(self) -> bool:
        return self.ended_at is not None


@dataclass
class UndoHistory:
    """What earlier undo runs did to one run's writes, replayed in time order."""

    settled: dict[int, str] = field(default_factory=dict)
    """seq -> the undo run that restored it (or found it already restored)."""
    left_alone: dict[int, str] = field(default_factory=dict)
    """seq -> detail, for writes the last undo left alone because they changed since the run."""
    redone: dict[int, str] = field(default_factory=dict)
    """seq -> the run (an undo of an undo) that wrote the run's state again after it was restored."""
    half_done: set[int] = field(default_factory=set)
    """seqs whose restore stopped after its first step (the unplayed route): the next undo finishes them."""
    last_undo: str | None = None


def new_run_id() -> str:
    """Sortable by time, unique enough for one user's runs."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


# --- the folder ----------------------------------------------------------------------------------------


class Journal:
    """The journal folder: `<state dir>/runs/<run_id>.jsonl`."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = Path(state_dir) / "runs"

    def path_of(self, run_id: str) -> Path:
        if (not run_id or len(run_id) > RUN_ID_MAX or run_id.startswith(".")
                or any(c in run_id for c in "/\\\0")):
            raise UsageError(f"not a run id: {run_id[:RUN_ID_MAX]!r}{'…' if len(run_id) > RUN_ID_MAX else ''}",
                             hint="`cwtui runs` lists them")
        return self.directory / f"{run_id}.jsonl"

    def start(self, kind: str, pair: str, destination: dict[str, Any], *, undo_of: str | None = None,
              run_id: str | None = None, extra: dict[str, Any] | None = None) -> RunWriter:
        """A new run file. `run_id` when the caller made it already (a snapshot named after it); `extra` adds keys
        to the header (`snapshot`, `snapshot_source`: the files taken before the first write)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise JournalError(f"cannot create the journal folder {self.directory}: {exc.strerror}") from exc
        run_id = run_id or new_run_id()
        return RunWriter(self.path_of(run_id), run_id, {
            "type": "run", "run_id": run_id, "kind": kind, "pair": pair, "destination": destination,
            "undo_of": undo_of, "started_at": datetime.now(timezone.utc).isoformat(), **(extra or {}),
        })

    def run_ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.jsonl"))

    def load(self, run_id: str) -> RunRecord:
        path = self.path_of(run_id)
        if not path.is_file():
            raise UsageError(f"no run {run_id} in {self.directory}", hint="`cwtui runs` lists them")
        return read_run(path)

    def runs(self) -> list[RunRecord]:
        """Every run read whole, skipping files that cannot be read (list_runs reports those)."""
        out = []
        for run_id in self.run_ids():
            try:
                out.append(self.load(run_id))
            except JournalError:
                continue
        return out

    def list_runs(self) -> list[RunSummary]:
        """Every run, oldest first, from each file's first and last lines; a damaged file is listed, not raised."""
        summaries = sorted((_summarise(self.directory / f"{run_id}.jsonl", run_id) for run_id in self.run_ids()),
                           key=lambda s: (s.started_at, s.run_id))  # ids share a second; start times do not
        undos: dict[str, list[str]] = {}
        for s in summaries:
            if s.kind == KIND_UNDO and s.undo_of:
                undos.setdefault(s.undo_of, []).append(s.run_id)
        return [replace(s, undone_by=tuple(undos.get(s.run_id, ()))) for s in summaries]

    def undo_history(self, run_id: str) -> UndoHistory:
        """Replay the undos of `run_id`, and the undos of those undos, in time order (depth 1 restores the run's
        prior states, depth 2 writes the run's states again, and so on)."""
        children: dict[str, list[RunSummary]] = {}
        for s in self.list_runs():
            if s.kind == KIND_UNDO and s.undo_of:
                children.setdefault(s.undo_of, []).append(s)
        events: list[tuple[str, int, RunRecord]] = []  # (started_at, depth, record)
        stack = [(run_id, 0)]
        while stack:
            parent, depth = stack.pop()
            for child in children.get(parent, []):
                try:
                    events.append((child.started_at, depth + 1, self.load(child.run_id)))
                except JournalError:
                    continue
                stack.append((child.run_id, depth + 1))
        history = UndoHistory()
        for _, depth, record in sorted(events, key=lambda e: e[0]):
            for intent in record.intents:
                if STEP_UNPLAY in intent.steps_done and (intent.outcome is None or intent.outcome.status != "applied"):
                    history.half_done.add(intent.seq)
            for result in record.results:
                done = result.status == "applied" or result.reason == "progress_unchanged"
                if depth % 2 == 1:
                    if done:
                        history.settled[result.seq] = record.run_id
                        history.redone.pop(result.seq, None)
                        history.left_alone.pop(result.seq, None)
                        history.half_done.discard(result.seq)
                        history.last_undo = record.run_id
                    elif result.reason == "changed_since_run":
                        history.left_alone[result.seq] = result.detail
                elif result.status == "applied":
                    history.settled.pop(result.seq, None)
                    history.redone[result.seq] = record.run_id
        return history

    def latest_written(self) -> RunRecord | None:
        """The newest apply run that wrote something (never a dry run or an undo)."""
        for summary in reversed(self.list_runs()):
            if summary.kind == KIND_APPLY and summary.wrote:
                return self.load(summary.run_id)
        return None


# --- writing -------------------------------------------------------------------------------------------


class RunWriter:
    """Appends to one run file; every intent is on disk (flushed and fsynced) before its write is sent."""

    def __init__(self, path: Path, run_id: str, header: dict[str, Any]) -> None:
        self.path = path
        self.run_id = run_id
        self.wrote = False
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._file = os.fdopen(fd, "a", encoding="utf-8")
        except OSError as exc:
            raise JournalError(f"cannot write the journal {path}: {exc.strerror}") from exc
        self._append([header], sync=True)

    def _append(self, entries: list[dict[str, Any]], *, sync: bool) -> None:
        try:
            self._file.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
        except (OSError, ValueError) as exc:
            raise JournalError(f"cannot write the journal {self.path}: {exc}") from exc

    def intents(self, intents: list[Intent]) -> None:
        """Record writes about to be sent. Raises JournalError, in which case none of them may be sent."""
        if intents:
            self.wrote = True
            self._append([i.to_json() for i in intents], sync=True)

    def step(self, seq: int, step: str) -> None:
        """A first step of a two-step write has landed (so the item is changed even if the second step fails).

        Flushed to the OS at once (a killed process loses nothing) and fsynced with the chunk's results, not one by
        one: a step lost to a power cut only makes the next undo ask for --force on that item."""
        self._append([{"type": "step", "seq": seq, "step": step}], sync=False)

    def results(self, results: list[ResultRecord], *, sync: bool = False) -> None:
        """Append results; `sync` also fsyncs everything appended so far (a chunk's end)."""
        if results or sync:
            self._append([r.to_json() for r in results], sync=sync)

    def close(self, summary: dict[str, int], *, cancelled: bool = False) -> None:
        """The end line; `wrote` (an intent was journaled, so a write may have been sent) spares listings a full read."""
        self._append([{"type": "end", "summary": summary, "cancelled": cancelled, "wrote": self.wrote,
                       "ended_at": datetime.now(timezone.utc).isoformat()}], sync=True)
        self._file.close()

    def abandon(self) -> None:
        """Close without an end line (the run stays visibly incomplete)."""
        try:
            self._file.close()
        except OSError:
            pass


# --- reading -------------------------------------------------------------------------------------------


def read_run(path: Path) -> RunRecord:
    """The whole run. Raises JournalError only when the file has no readable header (empty, or not ours)."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path}: {exc.strerror}") from exc
    if lines and lines[-1] == b"":
        lines.pop()
    record: RunRecord | None = None
    intents: dict[int, Intent] = {}
    steps: dict[int, list[str]] = {}
    problems: list[str] = []
    for number, raw in enumerate(lines, 1):
        try:
            entry = json.loads(raw)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
            kind = entry.get("type")
            if kind == "run":
                record = RunRecord(run_id=str(entry["run_id"]), kind=str(entry["kind"]), pair=str(entry.get("pair", "")),
                                   destination=entry.get("destination") or {}, started_at=str(entry["started_at"]),
                                   undo_of=entry.get("undo_of"))
            elif record is None:
                raise ValueError("comes before the run header")
            elif kind == "intent":
                intent = Intent.from_json(entry)
                intents[intent.seq] = intent
            elif kind == "step":
                steps.setdefault(int(entry["seq"]), []).append(str(entry["step"]))
            elif kind == "result":
                result = ResultRecord.from_json(entry)
                record.results.append(result)
                if result.seq in intents:
                    intents[result.seq].outcome = result
            elif kind == "end":
                record.ended_at = entry.get("ended_at")
                record.summary = entry.get("summary")
                record.cancelled = bool(entry.get("cancelled"))
        except (ValueError, KeyError, TypeError):
            if number == len(lines):
                continue  # a torn last line after a crash: everything before it still counts
            problems.append(f"line {number} is damaged and was skipped: if it held a write's intent, that item "
                            "cannot be undone from this journal; if it held a result, undo checks that item live")
    if record is None:
        raise JournalError(f"{path} is empty or damaged: it has no run header", hint="it is listed, but cannot be "
                           "undone; other runs are not affected")
    for seq, done in steps.items():
        if seq in intents:
            intents[seq].steps_done = tuple(done)
    record.intents = sorted(intents.values(), key=lambda i: i.seq)
    record.problems = problems
    return record


TAIL_BYTES = 8192


def _summarise(path: Path, run_id: str) -> RunSummary:
    """Header from the first line, end record from the last; a run without an end line is read whole."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read().splitlines()
    except OSError as exc:
        return RunSummary(run_id, "?", "?", "", problem=f"cannot read {path}: {exc.strerror}")
    try:
        head = json.loads(first)
        if not isinstance(head, dict) or head.get("type") != "run":
            raise ValueError("no run header")
    except ValueError:
        return RunSummary(run_id, "?", "?", "", problem=f"{path.name} is empty or damaged: it has no run header")
    end = None
    for line in reversed(tail):
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a torn last line
        if isinstance(entry, dict) and entry.get("type") == "end":
            end = entry
        break
    base = RunSummary(run_id=run_id, kind=str(head.get("kind")), pair=str(head.get("pair", "")),
                      started_at=str(head.get("started_at", "")), destination=head.get("destination") or {},
                      undo_of=head.get("undo_of"),
                      snapshot=head["snapshot"] if isinstance(head.get("snapshot"), str) else None,
                      snapshot_source=head["snapshot_source"] if isinstance(head.get("snapshot_source"), str)
                      else None)
    if end is not None and "wrote" in end:
        return replace(base, ended_at=end.get("ended_at"), summary=end.get("summary"),
                       cancelled=bool(end.get("cancelled")), wrote=bool(end["wrote"]))
    try:
        record = read_run(path)
    except JournalError as exc:
        return replace(base, problem=exc.message)
    problem = f"{len(record.problems)} damaged lines" if record.problems else None
    return replace(base, ended_at=record.ended_at, summary=record.summary, cancelled=record.cancelled,
                   wrote=record.wrote, problem=problem)
