"""The one run loop that every write goes through: apply and undo differ only in the steps they hand it.

Per chunk: live check (one /Sessions read and one batched re-read, fetched while the previous chunk is writing) ->
intents fsynced to the journal -> concurrent writes -> batched read-back, verified against both what the server shows
and what it stores -> outcomes journaled. Results stream in step order, a chunk at a time. The decisions come from
`rules`; this module only runs them, so apply and undo get the same guarantees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cwtui.core import rules
from cwtui.core.errors import CwtuiError, JournalError, ServerError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.locks import pair_lock
from cwtui.core.journal import STEP_UNPLAY, Intent, Journal, ResultRecord, RunWriter, new_run_id
from cwtui.core.models import (
    Action,
    Item,
    ItemResult,
    PlanRow,
    Reason,
    Session,
    Status,
    Target,
    UserData,
    format_ms,
)

log = logging.getLogger(__name__)

CANCEL_GRACE_SECONDS = 5.0
"""After a cancel, writes already in flight get this long to answer; then they count as "may have been written"."""
READ_BACK_AT_ONCE = 8


@dataclass(frozen=True)
class Step:
    """One destination item in a run: a write to check and send, or (with `report`) a line decided beforehand."""

    seq: int
    key: str
    title: str
    item_id: str
    action: Action
    target: Target
    expected: tuple[UserData, ...] = ()
    """The states the item may be in for the write to go ahead (the plan's reading, or what a run left)."""
    forced: bool = False
    note: str = ""
    """Prefixed to every detail of this step ("forced (near_complete)", "re-done by run X")."""
    report: rules.Verdict | None = None
    """Decided before the run (a copy skipped at plan time): reported as is, never written."""
    name: str = ""
    year: int | None = None
    row: PlanRow | None = field(default=None, compare=False, repr=False)
    """The plan row an apply step comes from (None for a restore)."""
    user_id: str = ""
    """The user whose data this step writes (empty: the run's user)."""
    server: str = ""
    """The server entry this step writes to (two-way runs write to both); empty: the run's destination."""
    source_user: str = ""
    destination_user: str = ""
    """Household runs: the users by name, for the result lines."""

    @property
    def writes(self) -> bool:
        return self.report is None

    @property
    def target_ticks(self) -> int:
        return self.target.position_ticks

    @property
    def source_last_played(self) -> datetime | None:
        return self.target.last_played


class _NotSent:
    """A write the cancel stopped before it was sent."""


class _InFlight(Exception):
    """A write still unanswered when the cancel's grace ran out: it may have landed."""


Outcome = None | CwtuiError | _NotSent | _InFlight
Where = tuple[str, str]
"""(server entry name or "" for the run's destination, user id)."""


class Run:
    """One run over `steps` against one destination. Iterate `results()` once; `cancel()` works from anywhere.

    The run owns its cancellation and, when `owns_client`, its connection (closed when the results end), so the
    front ends only show what it yields and read its `summary`, `run_id`, `wrote` and `cancelled`.
    """

    def __init__(self, kind: str, pair: str, destination: dict[str, Any], client: JellyfinClient, journal: Journal,
                 steps: list[Step], *, user_id: str, dry_run: bool = False, concurrency: int = 4,
                 tolerance_seconds: float = 30, chunk_size: int | None = None, undo_of: str | None = None,
                 owns_client: bool = False, cancel_grace: float = CANCEL_GRACE_SECONDS,
                 clients: dict[str, JellyfinClient] | None = None,
                 lock: Callable[[], AbstractContextManager[Any]] | None = None,
                 before_writes: Callable[[str], Awaitable[dict[str, Any]]] | None = None) -> None:
        self.kind = kind
        self.pair = pair
        self.destination = destination
        self.client = client
        self.journal = journal
        self.steps = steps
        self.user_id = user_id
        self.dry_run = dry_run
        self.concurrency = max(1, concurrency)
        self.tolerance = tolerance_seconds
        self.chunk_size = chunk_size or max(32, self.concurrency * 16)
        self.undo_of = undo_of
        self.owns_client = owns_client
        self.lock = lock or (nullcontext if dry_run else
                             (lambda: pair_lock(journal.directory.parent, pair)))  # one writing run per pair
        self.cancel_grace = cancel_grace
        self.before_writes = before_writes
        """Awaited with the run id before the journal starts (never for a dry run or a run with no writes); what it
        returns joins the journal header. It raising stops the run before the journal and any write."""
        self.run_id: str | None = None
        self.counts: dict[str, int] = {s.value: 0 for s in Status}
        self.cancelled = False
        self.wrote = False
        """True once a write may have reached the server (an intent was journaled)."""
        self._cancel = asyncio.Event()
        self.clients: dict[str, JellyfinClient] = dict(clients or {})
        """Other servers a run writes to, by entry name (a two-way run's source)."""
        self._views: dict[Where, JellyfinClient] = {}

    def _where(self, step: Step) -> Where:
        """Which server and user a step writes: household runs write for several users, two-way runs to both."""
        return step.server, step.user_id or self.user_id

    def _client(self, where: Where) -> JellyfinClient:
        """The run's connection to that server, acting for that user."""
        server, user_id = where
        base = self.clients[server] if server else self.client
        if not user_id or user_id == base.user_id:
            return base
        if where not in self._views:
            self._views[where] = base.for_user(user_id)
        return self._views[where]

    @property
    def tasks(self) -> list[Step]:
        """The steps that would write."""
        return [s for s in self.steps if s.writes]

    @property
    def summary(self) -> dict[str, int]:
        return dict(self.counts)

    def cancel(self) -> None:
        """Stop new writes at once; writes in flight get a short grace, then count as "may have been written"."""
        self._cancel.set()

    async def aclose(self) -> None:
        if self.owns_client:
            await asyncio.gather(self.client.aclose(), *(c.aclose() for c in self.clients.values()),
                                 return_exceptions=True)

    # --- the loop --------------------------------------------------------------------------------------

    async def results(self) -> AsyncIterator[ItemResult]:
        try:
            with self.lock():
                named: dict[str, Any] = {}  # a run with a snapshot first names itself (the file bears its id)
                if self.before_writes is not None and not self.dry_run and self.tasks:
                    run_id = new_run_id()
                    named = {"run_id": run_id, "extra": await self.before_writes(run_id)}
                writer = self.journal.start(self.kind, self.pair, self.destination, undo_of=self.undo_of, **named)
                self.run_id = writer.run_id
                async for result in self._run(writer):
                    yield result
                self._finished()
        finally:
            await self.aclose()

    def _finished(self) -> None:
        """Called after the last result, still under the pair's lock (apply and undo update the pair's base here:
        a second process's run must not interleave with that save either). Not called after a crash."""

    async def _run(self, writer: RunWriter) -> AsyncIterator[ItemResult]:
        chunks = [self.steps[i:i + self.chunk_size] for i in range(0, len(self.steps), self.chunk_size)]
        ahead: asyncio.Task | None = None
        try:
            self._begin()
            ahead = self._prefetch(chunks[0]) if chunks else None
            for index, chunk in enumerate(chunks):
                if self._cancel.is_set():
                    results = self._not_started(chunk, writer)
                else:
                    live = await ahead
                    ahead = self._prefetch(chunks[index + 1]) if index + 1 < len(chunks) else None
                    results = await self._chunk(chunk, live, writer)
                for result in results:
                    self.counts[result.status.value] += 1
                    if result.status is Status.FAILED:
                        log.warning("run %s: %s %s failed: %s %s", self.run_id, result.key,
                                    result.destination_item_id, result.reason.value, result.detail)
                    yield result
        except JournalError as exc:  # a full or failing disk: stop before any unjournaled write, say what to do
            self.cancelled = True
            writer.abandon()
            sent = sum(self.counts[s] for s in (Status.APPLIED.value, Status.FAILED.value))
            raise JournalError(f"{exc.message}; the run stopped there, after {sent} results",
                               hint=f"free some space, then `cwtui undo {self.run_id}` restores what it wrote"
                               if writer.wrote else "nothing was written") from None
        except BaseException:
            self.cancelled = True
            writer.abandon()
            raise
        finally:
            self.wrote = writer.wrote
            if ahead is not None and not ahead.done():
                ahead.cancel()
        self.cancelled = self._cancel.is_set()
        writer.close(self.summary, cancelled=self.cancelled)
        log.info("run %s (%s) of %s finished%s: %s", self.run_id, self.kind, self.pair,
                 " (cancelled)" if self.cancelled else "", self.summary)

    def _begin(self) -> None:
        """Called once the run has its id, before any write (apply records what the pair's base may lose)."""

    def _prefetch(self, chunk: list[Step]) -> asyncio.Task:
        """Start the live read of a chunk (sessions and items together) so it overlaps the previous chunk's writes."""
        return asyncio.ensure_future(self._live(chunk))

    async def _live(self, chunk: list[Step]) -> tuple[dict[str, list[Session] | None], dict[tuple, Item | ServerError]]:
        """Each server's sessions (one read) and each writing step's item as its user sees it, keyed by
        (server, user id, item id); a (server, user id) whose read failed maps to the error instead, so one user
        the server no longer knows (deleted since the run) fails only that user's steps."""
        by_where: dict[Where, list[str]] = {}
        for s in chunk:
            if s.writes:
                by_where.setdefault(self._where(s), []).append(s.item_id)
        if not by_where:
            return {}, {}
        servers = list(dict.fromkeys(server for server, _ in by_where))
        outcomes = await asyncio.gather(*(self._client((server, "")).sessions() for server in servers), *(
            self._items_of(where, ids) for where, ids in by_where.items()), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, ServerError):
                raise outcome
        sessions = {server: None if isinstance(o, ServerError) else o for server, o in zip(servers, outcomes)}
        items: dict[tuple, Item | ServerError] = {}
        for where, read in zip(by_where, outcomes[len(servers):]):
            items.update({where: read} if isinstance(read, ServerError) else read)
        return sessions, items

    async def _items_of(self, where: Where, ids: list[str]) -> dict[tuple, Item]:
        client = self._client(where)
        live = {i.id: i for i in await client.items_by_ids(ids)}
        # A batched read leaves out 12.0 alternate versions: read those one by one (a 404 means gone).
        for item_id in (i for i in ids if i not in live):
            try:
                live[item_id] = await client.item(item_id)
            except ServerError:
                continue
        return {(*where, k): v for k, v in live.items()}

    def _not_started(self, chunk: list[Step], writer: RunWriter) -> list[ItemResult]:
        results = [self._result(s, Status.CANCELLED, Reason.CANCELLED, "cancelled before it started")
                   if s.writes else self._reported(s) for s in chunk]
        writer.results([ResultRecord.of(s.seq, r, maybe_written=False) for s, r in zip(chunk, results)])
        return results

    async def _chunk(self, chunk: list[Step], live: tuple, writer: RunWriter) -> list[ItemResult]:
        sessions, items = live
        decided: dict[int, ItemResult] = {}
        go: list[tuple[Step, UserData, Target]] = []
        for step in chunk:
            if not step.writes:
                decided[step.seq] = self._reported(step)
            elif isinstance(items.get(self._where(step)), ServerError):
                decided[step.seq] = self._result(step, Status.FAILED, Reason.READ_FAILED,
                                                 f"live re-read failed: {items[self._where(step)]}")
            else:
                where = self._where(step)
                now = items.get((*where, step.item_id))
                verdict = rules.live_verdict(
                    action=step.action, target=step.target, expected=step.expected, now=now,
                    sessions=sessions.get(step.server), user_id=where[1], item_id=step.item_id,
                    tolerance_s=self.tolerance,
                    force=step.forced and step.action is Action.RESTORE)
                before = now.user_data if now else None
                if verdict is not None:
                    decided[step.seq] = self._result(step, verdict.status, verdict.reason, verdict.detail,
                                                     before=before)
                else:
                    go.append((step, before or UserData(), self._final_target(step, before or UserData())))
        if self.dry_run:
            for step, before, target in go:
                decided[step.seq] = self._result(step, Status.APPLIED, Reason.WRITTEN,
                                                 f"dry run: would write {_describe(target)}"
                                                 if target.played else
                                                 f"dry run: would write {format_ms(target.position_ticks // 10_000)}",
                                                 before=before)
        elif go and self._cancel.is_set():
            for step, before, _ in go:
                decided[step.seq] = self._result(step, Status.CANCELLED, Reason.CANCELLED,
                                                 "cancelled before it started", before=before)
        elif go:
            writer.results([ResultRecord.of(s.seq, decided[s.seq], maybe_written=False)
                            for s in chunk if s.seq in decided])
            # Journal first: if this raises, nothing in the chunk is written.
            writer.intents([Intent(s.seq, s.key, s.title, s.item_id, s.action.value, before, target,
                                   name=s.name, year=s.year, user_id=s.user_id, source_user=s.source_user,
                                   destination_user=s.destination_user, server=s.server)
                            for s, before, target in go])
            decided.update(await self._write_and_verify(go, writer))
            writer.results([], sync=True)
            return [decided[s.seq] for s in chunk]
        writer.results([ResultRecord.of(s.seq, decided[s.seq], maybe_written=False) for s in chunk])
        return [decided[s.seq] for s in chunk]

    @staticmethod
    def _final_target(step: Step, now: UserData) -> Target:
        """The write as the live state wants it: a replay of a played item clears Played in the same POST and keeps
        its play count; a finish keeps the live play count (at least 1); a restore takes the unplayed route only
        when a last-played time must go away."""
        target = step.target
        if step.action is Action.UPSERT and now.played and target.played is None:
            return replace(target, played=False, play_count=now.play_count)
        if step.action is Action.FINISH:
            return replace(target, play_count=max(now.play_count, 1))
        if step.action is Action.RESTORE:
            return target.against(now)
        return target

    # --- writes and the read-back ---------------------------------------------------------------------

    async def _write_and_verify(self, go: list[tuple[Step, UserData, Target]],
                                writer: RunWriter) -> dict[int, ItemResult]:
        outcomes, first_steps = await self._write_all(go, writer)
        landed = [(s, t) for s, _, t in go
                  if outcomes[s.seq] is None or _may_have_landed(outcomes[s.seq]) or s.seq in first_steps]
        shown, stored = await self._read_back([(*self._where(s), s.item_id) for s, _ in landed])
        decided: dict[int, ItemResult] = {}
        for step, before, target in go:
            outcome = outcomes[step.seq]
            now = shown.get((*self._where(step), step.item_id))
            if isinstance(outcome, _NotSent):
                result = self._result(step, Status.CANCELLED, Reason.CANCELLED, "cancelled before it was sent",
                                      before=before)
                writer.results([ResultRecord.of(step.seq, result, maybe_written=False)])
                decided[step.seq] = result
                continue
            maybe = outcome is None or _may_have_landed(outcome) or step.seq in first_steps
            result = self._verdict(step, before, target, outcome, now, stored, step.seq in first_steps)
            writer.results([ResultRecord.of(step.seq, result, maybe_written=maybe, after=now if maybe else None)])
            decided[step.seq] = result
        return decided

    def _verdict(self, step: Step, before: UserData, target: Target, outcome: Outcome, now: UserData | None,
                 stored: dict[tuple, bool] | None, first_step_landed: bool) -> ItemResult:
        """The result of one sent write, from its answer and what the read-back shows and stores."""
        if outcome is not None:
            why = "no answer before the cancel's deadline" if isinstance(outcome, _InFlight) else str(outcome)
            if not _may_have_landed(outcome):
                left = ("; its first step (the unplayed route) had landed, so the item is cleared for now: "
                        f"still to restore: {_describe(target)}; the next undo finishes it"
                        if first_step_landed else "")
                return self._result(step, Status.FAILED, Reason.WRITE_FAILED, f"write refused: {why}{left}",
                                    before=before, after=now)
            if now is not None and rules.verified(now, target, step.action):
                return self._result(step, Status.APPLIED, self._done_reason(step),
                                    f"the answer was lost ({why}), but the read-back shows the write landed",
                                    before=before, after=now)
            return self._result(step, Status.FAILED, Reason.WRITE_FAILED,
                                f"write failed (it may have reached the server; undo restores it): {why}",
                                before=before, after=now)
        if now is None:
            return self._result(step, Status.FAILED, Reason.VERIFY_MISMATCH,
                                "written, but it could not be read back to verify", before=before)
        if not rules.verified(now, target, step.action):
            return self._result(step, Status.FAILED, Reason.VERIFY_MISMATCH,
                                f"read back {format_ms(now.position_ms)}", before=before, after=now)
        if stored is not None and _stored_disagrees((*self._where(step), step.item_id), target, stored):
            return self._result(step, Status.FAILED, Reason.VERIFY_MISMATCH, SHADOWED, before=before, after=now)
        return self._result(step, Status.APPLIED, self._done_reason(step), "", before=before, after=now)

    @staticmethod
    def _done_reason(step: Step) -> Reason:
        return Reason.RESTORED if step.action is Action.RESTORE else Reason.WRITTEN

    async def _write_all(self, go: list[tuple[Step, UserData, Target]],
                         writer: RunWriter) -> tuple[dict[int, Outcome], set[int]]:
        """Send the writes, `concurrency` at a time. A cancel stops the ones not sent yet at once and gives the ones
        in flight CANCEL_GRACE_SECONDS; a write whose first step (the unplayed route) landed is in `first_steps`."""
        gate = asyncio.Semaphore(self.concurrency)
        outcomes: dict[int, Outcome] = {}
        first_steps: set[int] = set()
        sent: set[int] = set()

        async def one(step: Step, target: Target) -> None:
            async with gate:
                if self._cancel.is_set():
                    outcomes[step.seq] = _NotSent()
                    return
                sent.add(step.seq)
                try:
                    await self._send(step, target, writer, first_steps)
                    outcomes[step.seq] = None
                except CwtuiError as exc:
                    outcomes[step.seq] = exc

        tasks = [asyncio.ensure_future(one(s, t)) for s, _, t in go]
        cancelled = asyncio.ensure_future(self._cancel.wait())
        try:
            while not cancelled.done() and not all(t.done() for t in tasks):
                await asyncio.wait([*(t for t in tasks if not t.done()), cancelled],
                                   return_when=asyncio.FIRST_COMPLETED)
            pending = [t for t in tasks if not t.done()]
            if pending:
                _, late = await asyncio.wait(pending, timeout=self.cancel_grace)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
        except asyncio.CancelledError:
            self._cancel.set()  # the caller went away: nothing new is sent; writes in flight finish on their own
            raise
        finally:
            cancelled.cancel()
        for step, _, _ in go:
            outcomes.setdefault(step.seq, _InFlight() if step.seq in sent else _NotSent())
        return outcomes, first_steps

    async def _send(self, step: Step, target: Target, writer: RunWriter, first_steps: set[int]) -> None:
        """One UserData POST; a restore that must clear a last-played time takes the unplayed route first and
        journals that step, so a failure after it is finished by the next undo."""
        client = self._client(self._where(step))
        if target.unplay_first:
            await client.mark_unplayed(step.item_id)
            first_steps.add(step.seq)
            writer.step(step.seq, STEP_UNPLAY)
        await client.write_user_data(step.item_id, position_ticks=target.position_ticks, played=target.played,
                                          play_count=target.play_count, last_played=target.last_played)

    async def _read_back(self, keys: list[tuple[str, str, str]]) -> tuple[dict[tuple, UserData], dict[tuple, bool]]:
        """What the server shows for each (server, user, item) and which of them its stored rows call resumable."""
        by_where: dict[Where, list[str]] = {}
        for server, uid, item_id in keys:
            by_where.setdefault((server, uid), []).append(item_id)
        shown: dict[tuple, UserData] = {}
        stored: dict[tuple, bool] = {}  # only the items the stored rows could speak for
        for where, (one_shown, one_stored) in zip(by_where, await asyncio.gather(
                *(self._read_back_one(where, ids) for where, ids in by_where.items()))):
            shown.update({(*where, k): v for k, v in one_shown.items()})
            stored.update({(*where, k): v for k, v in (one_stored or {}).items()})
        return shown, stored

    async def _read_back_one(self, where: Where, ids: list[str]) -> tuple[dict[str, UserData], dict[str, bool] | None]:
        """What the server shows for each item (its DTOs, from its cache) and which of them its stored rows call
        resumable (filters=IsResumable is answered from the database: gotcha 17). Items a batched read that worked
        leaves out (12.0 alternate versions) are read one by one; a batched read that failed verifies nothing."""
        client = self._client(where)
        if not ids:
            return {}, None
        shown_items, stored_items = await asyncio.gather(
            client.items_by_ids(ids), client.items_by_ids(ids, resumable_only=True),
            return_exceptions=True)
        shown = {} if isinstance(shown_items, BaseException) else {
            i.id: i.user_data for i in shown_items if i.user_data is not None}
        # What the stored rows say of each item the batched read found (items read one by one are not in /Items).
        stored = None if isinstance(stored_items, BaseException) else {
            item_id: item_id in {i.id for i in stored_items} for item_id in shown}
        missing = [] if isinstance(shown_items, BaseException) else [i for i in ids if i not in shown]
        if missing:
            gate = asyncio.Semaphore(READ_BACK_AT_ONCE)

            async def one(item_id: str) -> None:
                async with gate:
                    try:
                        shown[item_id] = await client.user_data(item_id)
                    except CwtuiError:
                        pass

            await asyncio.gather(*(one(i) for i in missing))
        return shown, stored

    # --- results ---------------------------------------------------------------------------------------

    def _reported(self, step: Step) -> ItemResult:
        assert step.report is not None
        return self._result(step, step.report.status, step.report.reason, step.report.detail)

    def _result(self, step: Step, status: Status, reason: Reason, detail: str, *,
                before: UserData | None = None, after: UserData | None = None) -> ItemResult:
        if step.note:
            detail = f"{step.note}; {detail}" if detail else step.note
        after_ms = after.position_ms if after else (
            step.target.position_ticks // 10_000 if status is Status.APPLIED else None)
        return ItemResult(key=step.key, title=step.title, action=step.action, status=status, reason=reason,
                          destination_item_id=step.item_id, before_ms=before.position_ms if before else None,
                          after_ms=after_ms, dry_run=self.dry_run, detail=detail, name=step.name, year=step.year,
                          source_user=step.source_user, destination_user=step.destination_user,
                          direction=step.row.direction if step.row is not None and step.writes else "",
                          after=after)


SHADOWED = ("the server shows the write, but its stored rows disagree: an older stored row for this item (kept under "
            "a key the item had before it was re-identified: Jellyfin issue 15795, 10.11) shadows it, and the old "
            "value may come back after a server restart. Check the item in Jellyfin after a restart; refreshing or "
            "re-adding the item in Jellyfin clears such rows")


def _stored_disagrees(key: tuple, target: Target, stored: dict[tuple, bool]) -> bool:
    """A position > 0 must be resumable in the stored rows, a 0 must not (items the rows cannot speak for pass)."""
    return key in stored and stored[key] != (target.position_ticks > 0)


def _describe(target: Target) -> str:
    parts = [f"position {format_ms(target.position_ticks // 10_000)}"]
    if target.played:
        parts.append("played")
    if target.play_count:
        parts.append(f"play count {target.play_count}")
    return ", ".join(parts)


def _may_have_landed(outcome: Outcome) -> bool:
    if isinstance(outcome, _InFlight):
        return True
    if isinstance(outcome, ServerError):
        return rules.may_have_landed(outcome.status)
    return False
