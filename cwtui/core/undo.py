"""Undo a journaled run: give every item it may have changed back its exact prior state, journaling as it goes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from cwtui.core.errors import CwtuiError, ServerError, ServerUnreachable
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.journal import (
    KIND_UNDO,
    Intent,
    Journal,
    RunRecord,
    result_entry,
    user_data_from_json,
    user_data_to_json,
)
from cwtui.core.models import Action, ItemResult, Reason, Status, UserData

CHUNK = 50


def same_state(a: UserData, b: UserData) -> bool:
    """Equal as far as undo cares: position (ms), played, play count and last played (to the second)."""
    if a.position_ms != b.position_ms or a.played != b.played or a.play_count != b.play_count:
        return False
    if (a.last_played is None) != (b.last_played is None):
        return False
    return a.last_played is None or abs((a.last_played - b.last_played).total_seconds()) < 1


def _as_run_left_it(intent: Intent, now: UserData) -> bool:
    """Does the item still hold what the run wrote? (Then restoring it loses nothing newer.)"""
    after = user_data_from_json((intent.outcome or {}).get("after"))
    if after is not None:
        return same_state(after, now)
    target = intent.target
    if target.get("unplay_first") and same_state(now, UserData()):
        return True  # a replay write stopped after its unplay step
    if now.position_ticks // 10_000 != int(target.get("position_ticks", 0)) // 10_000:
        return False
    if "played" in target and now.played != target["played"]:
        return False
    return True


class UndoRun:
    """Restores the items of `record`. Items changed since the run are left alone unless `force`."""

    def __init__(self, record: RunRecord, client: JellyfinClient, journal: Journal, *, force: bool = False) -> None:
        self.record = record
        self.client = client
        self.journal = journal
        self.force = force
        self.run_id: str | None = None
        self._settled, last_undo = journal.undone_seqs(record.run_id)
        self.already_undone_by = last_undo if last_undo and not self.candidates else None
        """Set when earlier undo runs already restored everything this run may have written."""
        self.counts: dict[str, int] = {s.value: 0 for s in Status}
        self._cancelled = False

    def cancel(self) -> None:
        """The item being restored finishes; the rest are reported `cancelled`."""
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def candidates(self) -> list[Intent]:
        """Writes that may have reached the server: applied, failed after sending, or whose answer was lost."""
        return [i for i in self.record.intents
                if (i.outcome is None or i.outcome.get("maybe_written")) and i.seq not in self._settled]

    @property
    def summary(self) -> dict[str, int]:
        return dict(self.counts)

    async def results(self) -> AsyncIterator[ItemResult]:
        if self.already_undone_by:
            return
        writer = self.journal.start(KIND_UNDO, self.record.pair, self.record.destination, undo_of=self.record.run_id)
        self.run_id = writer.run_id
        try:
            todo = self.candidates
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start:start + CHUNK]
                try:
                    live = {i.id: i.user_data or UserData()
                            for i in await self.client.items_by_ids([c.item_id for c in chunk])}
                except ServerError as exc:
                    for c in chunk:
                        result = self._result(c, Status.FAILED, Reason.READ_FAILED, f"could not read it: {exc}")
                        writer.results([result_entry(c.seq, result, action="restore", maybe_written=False)])
                        yield self._count(result)
                    continue
                for c in chunk:
                    if self._cancelled:
                        result = self._result(c, Status.CANCELLED, Reason.CANCELLED, "undo cancelled")
                        writer.results([result_entry(c.seq, result, action="restore", maybe_written=False)])
                    else:
                        result = await self._one(c, live.get(c.item_id), writer)
                    yield self._count(result)
        except BaseException:
            writer.abandon()
            raise
        writer.close(self.summary, cancelled=self._cancelled)

    async def _one(self, c: Intent, now: UserData | None, writer) -> ItemResult:
        if now is None:
            result = self._result(c, Status.UNRESOLVED, Reason.UNRESOLVED, "the item is gone")
        elif same_state(now, c.prior):
            result = self._result(c, Status.SKIPPED, Reason.PROGRESS_UNCHANGED, "already in its prior state", now)
        elif not self.force and not _as_run_left_it(c, now):
            result = self._result(c, Status.SKIPPED, Reason.CHANGED_SINCE_RUN,
                                  "changed since the run; left alone (--force restores it anyway)", now)
        else:
            writer.intents([Intent(c.seq, c.key, c.title, c.item_id, "restore", now, user_data_to_json(c.prior))])
            try:
                await self._restore(c.item_id, c.prior, now)
                back = await self.client.user_data(c.item_id)
            except CwtuiError as exc:
                result = self._result(c, Status.FAILED, Reason.WRITE_FAILED, f"restore failed: {exc}", now)
                maybe = isinstance(exc, ServerUnreachable)
                writer.results([result_entry(c.seq, result, action="restore", maybe_written=maybe)])
                return result
            ok = same_state(back, c.prior)
            result = self._result(c, Status.APPLIED if ok else Status.FAILED,
                                  Reason.RESTORED if ok else Reason.VERIFY_MISMATCH, "", now, back)
            writer.results([result_entry(c.seq, result, action="restore", maybe_written=True, after=back)], sync=True)
            return result
        writer.results([result_entry(c.seq, result, action="restore", maybe_written=False)])
        return result

    async def _restore(self, item_id: str, prior: UserData, now: UserData) -> None:
        """An empty last-played time cannot be written (the server ignores a null), so unplay first, then the rest."""
        if prior.last_played is None and now.last_played is not None:
            await self.client.mark_unplayed(item_id)
            fields = {}
            if prior.position_ticks:
                fields["position_ticks"] = prior.position_ticks
            if prior.played:
                fields["played"] = True
            if prior.play_count:
                fields["play_count"] = prior.play_count
            if fields:
                await self.client.write_user_data(item_id, **fields)
            return
        await self.client.write_user_data(item_id, position_ticks=prior.position_ticks, played=prior.played,
                                          play_count=prior.play_count, last_played=prior.last_played)

    def _count(self, result: ItemResult) -> ItemResult:
        self.counts[result.status.value] += 1
        return result

    def _result(self, c: Intent, status: Status, reason: Reason, detail: str,
                before: UserData | None = None, after: UserData | None = None) -> ItemResult:
        return ItemResult(key=c.key, title=c.title, action=Action.UPSERT, status=status, reason=reason,
                          destination_item_id=c.item_id, before_ms=before.position_ms if before else None,
                          after_ms=after.position_ms if after else None, detail=detail)
