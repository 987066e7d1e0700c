"""The write journal: one JSON Lines file per run, each write's prior state flushed to disk before the write."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cwtui.core.errors import JournalError
from cwtui.core.models import ItemResult, UserData

KIND_APPLY = "apply"
KIND_DRY_RUN = "dry_run"
KIND_UNDO = "undo"


def user_data_to_json(ud: UserData | None) -> dict[str, Any] | None:
    if ud is None:
        return None
    return {
        "position_ticks": ud.position_ticks,
        "played": ud.played,
        "play_count": ud.play_count,
        "last_played": ud.last_played.isoformat() if ud.last_played else None,
    }


def user_data_from_json(data: dict[str, Any] | None) -> UserData | None:
    if data is None:
        return None
    last = data.get("last_played")
    return UserData(
        position_ticks=int(data.get("position_ticks") or 0),
        played=bool(data.get("played")),
        play_count=int(data.get("play_count") or 0),
        last_played=datetime.fromisoformat(last) if last else None,
    )


def result_entry(seq: int, result: ItemResult, *, maybe_written: bool, after: UserData | None = None,
                 action: str | None = None) -> dict[str, Any]:
    """The journal line for one result; `maybe_written` says whether the write may have reached the server."""
    return {"seq": seq, "key": result.key, "item_id": result.destination_item_id,
            "action": action or result.action.value, "status": result.status.value, "reason": result.reason.value,
            "detail": result.detail, "maybe_written": maybe_written, "before_ms": result.before_ms,
            "after_ms": result.after_ms, "after": user_data_to_json(after)}


@dataclass
class Intent:
    """A write about to happen: enough to undo it exactly, whatever happened to the answer."""

    seq: int
    key: str
    title: str
    item_id: str
    action: str
    prior: UserData
    target: dict[str, Any]
    outcome: dict[str, Any] | None = None
    """The result line for this write, or None when the answer was lost (crash, dropped connection)."""


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
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def wrote(self) -> bool:
        """True when at least one write may have reached the server."""
        return any(i.outcome is None or i.outcome.get("maybe_written") for i in self.intents)

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
    """Whether a write may have reached the server; None when the file had to be read whole to know and was not."""
    undone_by: tuple[str, ...] = ()
    """Undo runs of this run, oldest first."""
    problem: str | None = None
    """Why the file could not be read (damaged or empty); the other fields are then best effort."""

    @property
    def complete(self) -> bool:
        return self.ended_at is not None


def new_run_id() -> str:
    """Sortable by time, unique enough for one user's runs."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class Journal:
    """The journal folder: `<state dir>/runs/<run_id>.jsonl`."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = Path(state_dir) / "runs"

    def path_of(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise JournalError(f"not a run id: {run_id!r}")
        return self.directory / f"{run_id}.jsonl"

    def start(self, kind: str, pair: str, destination: dict[str, Any], *, undo_of: str | None = None) -> RunWriter:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise JournalError(f"cannot create the journal folder {self.directory}: {exc.strerror}") from exc
        run_id = new_run_id()
        return RunWriter(self.path_of(run_id), run_id, {
            "type": "run", "run_id": run_id, "kind": kind, "pair": pair, "destination": destination,
            "undo_of": undo_of, "started_at": datetime.now(timezone.utc).isoformat(),
        })

    def run_ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.jsonl"))

    def load(self, run_id: str) -> RunRecord:
        path = self.path_of(run_id)
        if not path.is_file():
            raise JournalError(f"no run {run_id} in {self.directory}", hint="`cwtui runs` lists them")
        return _read_run(path)

    def runs(self) -> list[RunRecord]:
        return [self.load(run_id) for run_id in self.run_ids()]

    def list_runs(self) -> list[RunSummary]:
        """Every run, oldest first, from each file's first and last lines; a damaged file is listed, not raised."""
        summaries = [_summarise(self.directory / f"{run_id}.jsonl", run_id) for run_id in self.run_ids()]
        undos: dict[str, list[str]] = {}
        for s in summaries:
            if s.kind == KIND_UNDO and s.undo_of:
                undos.setdefault(s.undo_of, []).append(s.run_id)
        return [replace(s, undone_by=tuple(undos.get(s.run_id, ()))) for s in summaries]

    def undone_seqs(self, run_id: str) -> tuple[set[int], str | None]:
        """Writes of run_id that an undo already settled (restored, or found in their prior state), and the last
        undo run that settled any."""
        settled: set[int] = set()
        last = None
        for record in self.runs():
            if record.kind != KIND_UNDO or record.undo_of != run_id:
                continue
            for result in record.results:
                if result.get("status") == "applied" or result.get("reason") == "progress_unchanged":
                    settled.add(result["seq"])
                    last = record.run_id
        return settled, last

    def latest_written(self) -> RunRecord | None:
        """The newest apply run that wrote something (never a dry run or an undo)."""
        for record in reversed(self.runs()):
            if record.kind == KIND_APPLY and record.wrote:
                return record
        return None


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
            self._append([{
                "type": "intent", "seq": i.seq, "key": i.key, "title": i.title, "item_id": i.item_id,
                "action": i.action, "prior": user_data_to_json(i.prior), "target": i.target,
            } for i in intents], sync=True)

    def results(self, results: list[dict[str, Any]], *, sync: bool = False) -> None:
        self._append([{"type": "result", **r} for r in results], sync=sync)

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


def _read_run(path: Path) -> RunRecord:
    record: RunRecord | None = None
    intents: dict[int, Intent] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                # A torn last line after a crash: everything before it still counts.
                continue
            kind = entry.get("type")
            if kind == "run":
                record = RunRecord(run_id=entry["run_id"], kind=entry["kind"], pair=entry.get("pair", ""),
                                   destination=entry.get("destination") or {}, started_at=entry["started_at"],
                                   undo_of=entry.get("undo_of"))
            elif record is None:
                raise JournalError(f"{path}: line {number} comes before the run header")
            elif kind == "intent":
                intents[entry["seq"]] = Intent(entry["seq"], entry["key"], entry.get("title", ""),
                                               entry["item_id"], entry["action"],
                                               user_data_from_json(entry["prior"]) or UserData(), entry["target"])
            elif kind == "result":
                record.results.append(entry)
                if entry.get("seq") in intents:
                    intents[entry["seq"]].outcome = entry
            elif kind == "end":
                record.ended_at = entry.get("ended_at")
                record.summary = entry.get("summary")
                record.cancelled = bool(entry.get("cancelled"))
    if record is None:
        raise JournalError(f"{path} is not a cwtui run file")
    record.intents = sorted(intents.values(), key=lambda i: i.seq)
    return record


TAIL_BYTES = 8192


def _summarise(path: Path, run_id: str) -> RunSummary:
    """Header from the first line, end record from the last; an incomplete run is read whole to learn if it wrote."""
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
        if head.get("type") != "run":
            raise ValueError("no run header")
    except (ValueError, AttributeError):
        return RunSummary(run_id, "?", "?", "", problem=f"{path} is empty or damaged: no run header")
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
                      undo_of=head.get("undo_of"))
    if end is not None and "wrote" in end:
        return replace(base, ended_at=end.get("ended_at"), summary=end.get("summary"),
                       cancelled=bool(end.get("cancelled")), wrote=bool(end["wrote"]))
    try:
        record = _read_run(path)
    except JournalError as exc:
        return replace(base, problem=exc.message)
    return replace(base, ended_at=record.ended_at, summary=record.summary, cancelled=record.cancelled,
                   wrote=record.wrote)
