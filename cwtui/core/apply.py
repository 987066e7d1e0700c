"""Apply a plan: re-check each destination item live, journal its prior state, write, read back. One result per write.

Work goes in chunks: per chunk one /Sessions read and one batched read of the items (the live re-check), the
intents fsynced to the journal, the writes (bounded concurrency), then one batched read-back to verify. Results are
streamed in plan order, a chunk at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime

from cwtui.core.errors import CwtuiError, DestinationTooOld, ServerError, ServerUnreachable, UsageError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.journal import KIND_APPLY, KIND_DRY_RUN, Intent, Journal, RunWriter, result_entry
from cwtui.core.models import (
    Action,
    Item,
    ItemResult,
    Plan,
    PlanRow,
    Reason,
    Session,
    Status,
    UserData,
    format_ms,
)
from cwtui.core.planner import SAME_WITHIN_TICKS

log = logging.getLogger(__name__)

UNCHANGED_WITHIN_TICKS = SAME_WITHIN_TICKS
"""Live positions within 1 s (inclusive) of the target count as already there (the planner uses the same margin,
so a plan never asks for a write that apply would call unchanged)."""


@dataclass(frozen=True)
class WriteTask:
    """One planned write to one destination item."""

    seq: int
    row: PlanRow
    item_id: str
    action: Action
    forced: bool = False

    @property
    def target_ticks(self) -> int:
        return 0 if self.action is Action.CLEAR else (self.row.source.position_ticks if self.row.source else 0)

    @property
    def source_last_played(self) -> datetime | None:
        return self.row.source.last_played if self.row.source else None


def resolve_keys(plan: Plan, keys: Iterable[str]) -> set[str]:
    """Full row keys from what the user typed: a full key or a unique prefix of one (at least 6 characters)."""
    out = set()
    all_keys = [row.key for row in plan.rows]
    for typed in keys:
        typed = typed.strip().lower().replace("-", "")
        if typed in all_keys:
            out.add(typed)
            continue
        hits = [k for k in all_keys if len(typed) >= 6 and k.startswith(typed)]
        if len(hits) != 1:
            why = "matches no row" if not hits else f"matches {len(hits)} rows"
            raise UsageError(f"key {typed!r} {why} of plan {plan.pair}", hint="`cwtui plan PAIR --all` lists keys")
        out.add(hits[0])
    return out


def select_tasks(plan: Plan, only: Iterable[str] | None = None, force: Iterable[str] = ()) -> list[WriteTask]:
    """The writes to run: planned rows (all, or only the chosen ones) plus forced skipped rows.

    A forced row is an upsert of the source position; rows with nowhere to go (unresolved, ambiguous) refuse.
    """
    only_keys = None if only is None else resolve_keys(plan, only)
    force_keys = resolve_keys(plan, force)
    tasks: list[WriteTask] = []
    for row in plan.rows:
        forced = row.key in force_keys
        if forced and not row.writes:
            if not row.forceable:
                raise UsageError(f"row {row.key} ({row.title}) cannot be forced: {row.reason.value}",
                                 hint="unresolved and ambiguous rows have no destination item to write to")
            action = Action.UPSERT
        elif row.writes and (only_keys is None or row.key in only_keys or forced):
            action = row.action
        else:
            continue
        for item_id in row.destination_item_ids:
            tasks.append(WriteTask(len(tasks), row, item_id, action, forced and not row.writes))
    return tasks


class ApplyRun:
    """One apply (or dry run). Iterate `results()` once; `cancel()` stops it safely from anywhere."""

    def __init__(self, plan: Plan, client: JellyfinClient, journal: Journal, tasks: list[WriteTask], *,
                 dry_run: bool = False, concurrency: int = 4, tolerance_seconds: int | None = None,
                 replay_watched: bool | None = None, chunk_size: int | None = None) -> None:
        if not dry_run and not plan.destination.writable:
            raise DestinationTooOld(plan.destination.server_name, plan.destination.version)
        self.plan = plan
        self.client = client
        self.journal = journal
        self.tasks = tasks
        self.dry_run = dry_run
        self.concurrency = max(1, concurrency)
        self.tolerance = plan.settings.timestamp_tolerance_seconds if tolerance_seconds is None else tolerance_seconds
        self.replay = plan.settings.replay_watched if replay_watched is None else replay_watched
        self.chunk_size = chunk_size or max(16, self.concurrency * 8)
        self.user_id = plan.destination.user_id
        self.run_id: str | None = None
        self.counts: dict[str, int] = {s.value: 0 for s in Status}
        self.cancelled = False
        self._unplayed: set[int] = set()
        """Replay writes whose first step (mark unplayed) landed: changed even if the position write failed."""
        self._cancel = asyncio.Event()

    def cancel(self) -> None:
        """In-flight writes finish; everything not started is reported `cancelled`."""
        self._cancel.set()

    @property
    def summary(self) -> dict[str, int]:
        return dict(self.counts)

    async def results(self) -> AsyncIterator[ItemResult]:
        writer = self.journal.start(KIND_DRY_RUN if self.dry_run else KIND_APPLY, self.plan.pair, {
            "name": self.plan.destination.name, "server_id": self.plan.destination.server_id,
            "server_name": self.plan.destination.server_name, "user_id": self.user_id,
            "user_name": self.plan.destination.user_name,
        })
        self.run_id = writer.run_id
        try:
            for start in range(0, len(self.tasks), self.chunk_size):
                chunk = self.tasks[start:start + self.chunk_size]
                if self._cancel.is_set():
                    results = [self._result(t, Status.CANCELLED, Reason.CANCELLED, "cancelled before it started")
                               for t in chunk]
                    writer.results([result_entry(t.seq, r, maybe_written=False) for r, t in zip(results, chunk)])
                else:
                    results = await self._run_chunk(chunk, writer)
                for result in results:
                    self.counts[result.status.value] += 1
                    if result.status is Status.FAILED:
                        log.warning("run %s: %s %s failed: %s %s", self.run_id, result.key, result.destination_item_id,
                                    result.reason.value, result.detail)
                    yield result
        except BaseException:
            self.cancelled = True
            writer.abandon()
            raise
        self.cancelled = self._cancel.is_set()
        writer.close(self.summary, cancelled=self.cancelled)
        log.info("run %s (%s) of %s finished%s: %s", self.run_id, "dry run" if self.dry_run else "apply",
                 self.plan.pair, " (cancelled)" if self.cancelled else "", self.summary)

    # --- one chunk ---------------------------------------------------------------------------------

    async def _run_chunk(self, chunk: list[WriteTask], writer: RunWriter) -> list[ItemResult]:
        decided: dict[int, ItemResult] = {}
        sessions: list[Session] | None
        try:
            sessions = await self.client.sessions()
        except ServerError:
            sessions = None
        try:
            live = {item.id: item for item in await self.client.items_by_ids([t.item_id for t in chunk])}
        except ServerError as exc:
            for t in chunk:
                decided[t.seq] = self._result(t, Status.FAILED, Reason.READ_FAILED, f"live re-read failed: {exc}")
            writer.results([result_entry(t.seq, decided[t.seq], maybe_written=False) for t in chunk])
            return [decided[t.seq] for t in chunk]

        to_write: list[tuple[WriteTask, UserData]] = []
        for t in chunk:
            verdict = self._live_check(t, sessions, live.get(t.item_id))
            if verdict is not None:
                decided[t.seq] = verdict
            else:
                to_write.append((t, live[t.item_id].user_data or UserData()))

        if self.dry_run:
            for t, before in to_write:
                decided[t.seq] = self._result(t, Status.APPLIED, Reason.WRITTEN,
                                              f"dry run: would write {format_ms(t.target_ticks // 10_000)}",
                                              before=before)
            writer.results([result_entry(t.seq, decided[t.seq], maybe_written=False) for t in chunk])
            return [decided[t.seq] for t in chunk]

        skipped = [t for t in chunk if t.seq in decided]
        writer.results([result_entry(t.seq, decided[t.seq], maybe_written=False) for t in skipped])
        if to_write and self._cancel.is_set():
            for t, _ in to_write:
                decided[t.seq] = self._result(t, Status.CANCELLED, Reason.CANCELLED, "cancelled before it started")
            writer.results([result_entry(t.seq, decided[t.seq], maybe_written=False) for t, _ in to_write])
            return [decided[t.seq] for t in chunk]

        # Journal first: if this raises, nothing in the chunk is written.
        writer.intents([Intent(t.seq, t.row.key, t.row.title, t.item_id, t.action.value, before,
                               self._target(t, before)) for t, before in to_write])
        outcomes = await self._write_all(to_write)
        written = [t for t, _ in to_write if outcomes[t.seq] is None]
        after = await self._read_back(written)
        for t, before in to_write:
            error = outcomes[t.seq]
            if error is not None:
                # A lost answer may hide a landed write; a replay's unplay step has landed for sure.
                maybe = isinstance(error, ServerUnreachable) or t.seq in self._unplayed
                decided[t.seq] = self._result(
                    t, Status.FAILED, Reason.WRITE_FAILED,
                    f"write failed{' (it may have reached the server)' if maybe else ''}: {error}", before=before)
                writer.results([result_entry(t.seq, decided[t.seq], maybe_written=maybe)])
                continue
            now = after.get(t.item_id)
            ok = now is not None and self._matches_target(t, before, now)
            decided[t.seq] = self._result(
                t, Status.APPLIED if ok else Status.FAILED, Reason.WRITTEN if ok else Reason.VERIFY_MISMATCH,
                "" if ok else f"read back {format_ms(now.position_ms) if now else 'nothing'}", before=before, after=now)
            writer.results([result_entry(t.seq, decided[t.seq], maybe_written=True, after=now)])
        writer.results([], sync=True)
        return [decided[t.seq] for t in chunk]

    def _live_check(self, t: WriteTask, sessions: list[Session] | None, item: Item | None) -> ItemResult | None:
        """The live decision, in the documented order; None means go ahead and write."""
        if sessions is None:
            return self._result(t, Status.SKIPPED, Reason.SESSION_CHECK_FAILED,
                                "could not read /Sessions, so playback cannot be ruled out")
        if any(s.is_playing(self.user_id, t.item_id) for s in sessions):
            return self._result(t, Status.SKIPPED, Reason.ACTIVE_SESSION, "being played right now")
        if item is None:
            return self._result(t, Status.UNRESOLVED, Reason.UNRESOLVED, "the destination item is gone")
        d = item.user_data or UserData()
        s_at = t.source_last_played
        if s_at and d.last_played and (d.last_played - s_at).total_seconds() > self.tolerance:
            return self._result(t, Status.SKIPPED, Reason.TARGET_NEWER,
                                "played on the destination since the plan", before=d)
        if t.action is Action.UPSERT and d.played and not self.replay:
            return self._result(t, Status.SKIPPED, Reason.ALREADY_WATCHED, "marked played", before=d)
        if abs(d.position_ticks - t.target_ticks) <= UNCHANGED_WITHIN_TICKS:
            return self._result(t, Status.SKIPPED, Reason.PROGRESS_UNCHANGED, "already there", before=d)
        if not t.forced:
            # A row writes every version once any one needs it, but the plan decided against one version only:
            # each version that would move back must pass rules 10/11 on its own timestamps.
            if t.action is Action.CLEAR and d.last_played and s_at is None:
                return self._result(t, Status.SKIPPED, Reason.NO_TIMESTAMPS,
                                    "this version was played and the source has no last-played time", before=d)
            if t.action is Action.UPSERT and t.target_ticks < d.position_ticks and not (
                    s_at and d.last_played and (s_at - d.last_played).total_seconds() > self.tolerance):
                return self._result(t, Status.SKIPPED, Reason.DESTINATION_NEWER,
                                    "this version is further along and the source was not played later", before=d)
        return None

    def _target(self, t: WriteTask, before: UserData) -> dict:
        if t.action is Action.CLEAR:
            return {"position_ticks": 0}
        target = {"position_ticks": t.target_ticks}
        if t.source_last_played:
            target["last_played"] = t.source_last_played.isoformat()
        if before.played:  # replay: mark unplayed first, then give back the play count
            target.update(unplay_first=True, played=False, play_count=before.play_count)
        return target

    async def _write_all(self, to_write: list[tuple[WriteTask, UserData]]) -> dict[int, CwtuiError | None]:
        gate = asyncio.Semaphore(self.concurrency)
        outcomes: dict[int, CwtuiError | None] = {}

        async def one(t: WriteTask, before: UserData) -> None:
            async with gate:
                try:
                    await self._write(t, before)
                    outcomes[t.seq] = None
                except CwtuiError as exc:
                    outcomes[t.seq] = exc

        # Shielded: a cancelled caller still lets in-flight writes finish, so the journal tells the truth.
        await asyncio.shield(asyncio.gather(*(one(t, b) for t, b in to_write)))
        return outcomes

    async def _write(self, t: WriteTask, before: UserData) -> None:
        if t.action is Action.CLEAR:
            await self.client.write_user_data(t.item_id, position_ticks=0)
            return
        if before.played:
            await self.client.mark_unplayed(t.item_id)
            self._unplayed.add(t.seq)
            await self.client.write_user_data(t.item_id, position_ticks=t.target_ticks,
                                              last_played=t.source_last_played, play_count=before.play_count)
            return
        await self.client.write_user_data(t.item_id, position_ticks=t.target_ticks, last_played=t.source_last_played)

    async def _read_back(self, tasks: list[WriteTask]) -> dict[str, UserData]:
        if not tasks:
            return {}
        try:
            items = await self.client.items_by_ids([t.item_id for t in tasks])
        except ServerError:
            return {}
        return {item.id: item.user_data or UserData() for item in items}

    def _matches_target(self, t: WriteTask, before: UserData, now: UserData) -> bool:
        if now.position_ticks // 10_000 != t.target_ticks // 10_000:
            return False
        if t.action is Action.UPSERT and before.played and now.played:
            return False
        if t.action is Action.UPSERT and t.source_last_played and now.last_played:
            return abs((now.last_played - t.source_last_played).total_seconds()) <= 1
        return True

    # --- result helpers ------------------------------------------------------------------------------

    def _result(self, t: WriteTask, status: Status, reason: Reason, detail: str, *,
                before: UserData | None = None, after: UserData | None = None) -> ItemResult:
        if t.forced:
            detail = f"forced ({t.row.reason.value}); {detail}"
        return ItemResult(
            key=t.row.key, title=t.row.title, action=t.action, status=status, reason=reason,
            destination_item_id=t.item_id,
            before_ms=before.position_ms if before else None,
            after_ms=after.position_ms if after else (t.target_ticks // 10_000 if status is Status.APPLIED else None),
            dry_run=self.dry_run, detail=detail,
        )
