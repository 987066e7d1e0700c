"""Undo a journaled run: a `restore` step per write that may have reached the server. The engine does the rest."""

from __future__ import annotations


from collections.abc import AsyncIterator, Iterable

from cwtui.core.base import BaseStore
from cwtui.core.dto import norm_id
from cwtui.core.engine import Run, Step
from cwtui.core.errors import UsageError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.journal import KIND_UNDO, Intent, Journal, RunRecord, UndoHistory
from cwtui.core.models import Action, ItemResult, Status, Target, UserData


def _run_left(intent: Intent, history: UndoHistory) -> tuple[UserData, ...]:
    """The states the item may be in if nothing else touched it since: what the read-back saw after the write, what
    the write meant to leave (its answer may have been lost), and the empty state a half-done restore leaves."""
    states: list[UserData] = []
    if intent.outcome is not None and intent.outcome.after is not None:
        states.append(intent.outcome.after)
    t, p = intent.target, intent.prior
    states.append(UserData(position_ticks=t.position_ticks, played=p.played if t.played is None else t.played,
                           play_count=p.play_count if t.play_count is None else t.play_count,
                           last_played=t.last_played or p.last_played))
    if intent.seq in history.half_done or t.unplay_first:
        states.append(UserData())
    return tuple(states)


def _of_users(record: RunRecord, users: Iterable[str] | None) -> set[str] | None:
    """`--user`: the user ids (either side) of these source users (by name or id) of a household run."""
    wanted = [u.casefold() for u in users or ()]
    if not wanted:
        return None
    mapped = record.destination.get("users") or []
    if not mapped:
        raise UsageError(f"run {record.run_id} is not a household run, so --user does not apply to it")
    chosen: set[str] = set()
    for name in wanted:
        hit = [m for m in mapped if name == str(m["source"].get("name", "")).casefold()
               or norm_id(name) == norm_id(str(m["source"].get("id", "")))]
        if not hit:
            have = ", ".join(str(m["source"].get("name")) for m in mapped)
            raise UsageError(f"--user {name}: run {record.run_id} has no such source user (have: {have})")
        chosen.update(str(m[side].get("id")) for m in hit for side in ("source", "destination"))
    return chosen


class UndoRun(Run):
    """Restores the items of `record`. Items changed since the run are left alone unless `force`."""

    def __init__(self, record: RunRecord, client: JellyfinClient, journal: Journal, *, force: bool = False,
                 concurrency: int = 4, owns_client: bool = False, users: Iterable[str] | None = None,
                 **kwargs) -> None:
        self.record = record
        self.force = force
        self.history = journal.undo_history(record.run_id)
        self.users = _of_users(record, users)
        open_ = [i for i in record.intents if i.may_have_landed and i.seq not in self.history.settled]
        self.candidates: list[Intent] = [i for i in open_ if self.users is None or i.user_id in self.users]
        """Writes that may have reached the server and that no earlier undo has settled (of the chosen users)."""
        self.others_left = len(open_) - len(self.candidates)
        """With `users`: the writes of the run's other users still to restore."""
        left = self.history.left_alone
        self.already_undone_by = (self.history.last_undo if self.history.last_undo and not force and all(
            i.seq in left and i.seq not in self.history.half_done for i in self.candidates) else None)
        """Set when earlier undos restored everything they could: what remains changed since the run."""
        self.left_alone: list[tuple[Intent, str]] = [(i, left[i.seq]) for i in self.candidates if i.seq in left]
        """Items an earlier undo left alone because they changed since the run, with why."""
        self.needs_unplay: list[Intent] = [i for i in self.candidates if i.prior.last_played is None]
        """Items whose prior state has no last-played time: restoring them takes the unplayed route first (the only
        way to clear that time), which also raises a "toggle played" event plugins such as Trakt see."""
        steps = [] if self.already_undone_by else [self._step(n, i) for n, i in enumerate(self.candidates)]
        super().__init__(KIND_UNDO, record.pair, record.destination, client, journal, steps,
                         user_id=str(record.destination.get("user_id") or client.user_id or ""),
                         concurrency=concurrency, undo_of=record.run_id, owns_client=owns_client, **kwargs)

    async def results(self) -> AsyncIterator[ItemResult]:
        """The engine's results; afterwards the pair's agreed state goes back to what it was before the run, except
        for the items left as they are (changed since, or not restored)."""
        self._kept: set[str] = set()
        self._done: set[str] = set()
        async for result in super().results():
            (self._done if result.status is Status.APPLIED else self._kept).add(result.destination_item_id)
            yield result

    def _finished(self) -> None:
        kept, done = self._kept, self._done

        def keep(key: str) -> bool:
            src_user, dst_user, *items = key.split(":")
            return any(i in kept for i in items) or (self.users is not None and dst_user not in self.users)

        BaseStore(self.journal.directory.parent).restore(
            self.record.pair, self.record.run_id, keep, restored=lambda key: any(i in done for i in key.split(":")[2:]))

    def _step(self, _: int, intent: Intent) -> Step:
        redone = self.history.redone.get(intent.seq)
        return Step(seq=intent.seq, key=intent.key, title=intent.title, item_id=intent.item_id, action=Action.RESTORE,
                    target=Target.restoring(intent.prior),
                    expected=_run_left(intent, self.history), forced=self.force,
                    note=f"written again by run {redone} (an undo of an undo)" if redone else "",
                    name=intent.name, year=intent.year, user_id=intent.user_id, source_user=intent.source_user,
                    destination_user=intent.destination_user, server=intent.server)
