"""Apply a plan: turn the chosen rows into engine steps, one per destination item. The engine does the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping

from cwtui.core import rules
from cwtui.core import base
from cwtui.core.engine import Run, Step
from cwtui.core.errors import DestinationTooOld, UsageError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.journal import KIND_APPLY, KIND_DRY_RUN, Journal
from cwtui.core.models import (
    TO_SOURCE,
    Action,
    ItemResult,
    Plan,
    PlanRow,
    Reason,
    Status,
    Target,
    UserData,
    VersionPlan,
)

WriteTask = Step  # the name the front ends knew


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
            hint = ("the same item of several users: add --user NAME, or type the key with its user part "
                    "(`cwtui plan PAIR --all --json` shows full keys)" if len(hits) > 1 and plan.users
                    else "`cwtui plan PAIR --all` lists keys")
            raise UsageError(f"key {typed!r} {why} of plan {plan.pair}", hint=hint)
        out.add(hits[0])
    return out


def select_tasks(plan: Plan, only: Iterable[str] | None = None, force: Iterable[str] = (),
                 prefer: Mapping[str, str] | None = None) -> list[Step]:
    """The steps of a run: every destination item of the planned rows (all, or only the chosen ones) and of the
    forced skipped rows. Items a row does not write (another version decided otherwise, a shared stored row) get a
    step that only reports why, so every destination item has its line. `prefer` (two-way) settles conflicts:
    typed key -> "source" or "destination", the side that wins."""
    only_keys = None if only is None else resolve_keys(plan, only)
    force_keys = resolve_keys(plan, force)
    rows = _preferred(plan, prefer or {})
    if only_keys is not None:
        only_keys |= {r.key for r, old in zip(rows, plan.rows) if r is not old}
    by_key = {row.key: row for row in rows}
    for key in sorted((only_keys or set()) - force_keys):
        row = by_key[key]
        if not row.writes:
            hint = (f"`--force {key[:8]}` writes it anyway" if row.forceable else _not_forceable(row))
            raise UsageError(f"row {key[:8]} ({row.title}) is skipped by the plan: {row.reason.value} ({row.rule}); "
                             "nothing was written", hint=hint)
    steps: list[Step] = []
    for row in rows:
        forced = row.key in force_keys and not row.writes
        if forced and not row.forceable:
            raise UsageError(f"row {row.key} ({row.title}) cannot be forced: {row.reason.value}",
                             hint=_not_forceable(row))
        if not forced and not (row.writes and (only_keys is None or row.key in only_keys or row.key in force_keys)):
            continue
        for version in _versions(row):
            steps.append(_step(len(steps), row, version, forced, plan))
    return steps


def _not_forceable(row: PlanRow) -> str:
    """Why a skipped row cannot be forced, and the way out."""
    if row.two_way and not row.direction and row.reason not in (Reason.UNRESOLVED, Reason.AMBIGUOUS):
        return ("a two-way row with no direction is settled by `--prefer source|destination KEY` (a conflict) or, "
                "with no agreed state, by `--seed source|destination`")
    return "it has no destination item to write to (or no position to copy), so it cannot be forced"


def _preferred(plan: Plan, prefer: Mapping[str, str]) -> list[PlanRow]:
    """The plan's rows with each chosen conflict replaced by its way out in the chosen direction."""
    chosen: dict[str, str] = {}
    for typed, side in prefer.items():
        for key in resolve_keys(plan, [typed]):
            chosen[key] = side
    rows = []
    for row in plan.rows:
        side = chosen.get(row.key)
        if side is None:
            rows.append(row)
            continue
        if not row.choices:
            raise UsageError(f"row {row.key[:8]} ({row.title}) is not a conflict ({row.reason.value}); --prefer "
                             "settles two-way conflicts only")
        pick = row.choices[0] if side == "source" else row.choices[1]
        if not pick.writes:
            raise UsageError(f"row {row.key[:8]} ({row.title}): with the {side} winning, nothing is written: "
                             f"{pick.reason.value} ({pick.rule}); nothing was written")
        rows.append(pick)
    return rows


def _versions(row: PlanRow) -> tuple[VersionPlan, ...]:
    if row.versions:
        return row.versions
    # Rows built by hand (tests, old callers) carry ids only: every item gets the row's action.
    return tuple(VersionPlan(i, row.destination, row.action, row.reason, row.rule) for i in row.destination_item_ids)


def _step(seq: int, row: PlanRow, version: VersionPlan, forced: bool, plan: Plan) -> Step:
    common = dict(seq=seq, key=row.key, title=row.title, item_id=version.item_id, name=row.name, year=row.year, row=row,
                  user_id=row.destination_user_id, source_user=row.source_user, destination_user=row.destination_user)
    if row.direction == TO_SOURCE:  # a two-way row written to the source server, for the source user
        common.update(server=plan.source.name, user_id=row.source_user_id or plan.source.user_id)
    winner = row.winner
    source_at = winner.last_played if winner else None
    if forced and version.reason is not Reason.SHARED_ROW:
        action = Action.UPSERT
    elif version.writes:
        action = version.action
    else:
        return Step(**common, action=Action.SKIP, target=Target(0),
                    report=rules.Verdict(Status.SKIPPED, version.reason, version.rule))
    target = (Target(0) if action is Action.CLEAR else _played_target(action, winner, version) or
              Target(winner.position_ticks if winner else 0, played=rules.played_to_send(row, plan.two_way),
                     last_played=source_at))
    return Step(**common, action=action, target=target, expected=(version.state or UserData(),), forced=forced,
                note=f"forced ({row.reason.value})" if forced else "")


def _played_target(action: Action, winner: UserData | None, version: VersionPlan) -> Target | None:
    """A finish keeps the written item's play count (at least 1; the engine re-reads it live), a mark_played copies
    the winner's (the source's); both carry its last-played time (left out when it has none). None otherwise."""
    source = winner or UserData()
    if action is Action.FINISH:
        return Target(0, played=True, play_count=max((version.state or UserData()).play_count, 1),
                      last_played=source.last_played)
    if action is Action.MARK_PLAYED:
        return Target(0, played=True, play_count=source.play_count, last_played=source.last_played)
    if action is Action.MARK_UNPLAYED:  # by the POST: the unplayed route would also wipe the count and the date
        return Target(0, played=False)
    return None


class ApplyRun(Run):
    """One apply (or dry run) of a plan's chosen rows against its destination."""

    def __init__(self, plan: Plan, client: JellyfinClient, journal: Journal, tasks: list[Step], *,
                 dry_run: bool = False, concurrency: int = 4, chunk_size: int | None = None,
                 source_client: JellyfinClient | None = None, **kwargs) -> None:
        to_source = any(t.server for t in tasks if t.writes)
        if not dry_run:
            # A two-way pair writes nothing unless both sides can take writes (an apply must never stop half-way
            # because one side refuses); a one-way run needs only the side it writes.
            for side in ((plan.destination, plan.source) if plan.two_way or to_source else (plan.destination,)):
                if not side.writable:
                    if side.why_not_writable and "user" in side.why_not_writable:
                        raise UsageError(f"cannot write to '{side.name}': {side.why_not_writable}"
                                         + ("; a two-way pair writes to both sides" if plan.two_way else ""))
                    raise DestinationTooOld(side.server_name, side.version)
        self.plan = plan
        destination = {"name": plan.destination.name, "server_id": plan.destination.server_id,
                       "server_name": plan.destination.server_name, "user_id": plan.destination.user_id,
                       "user_name": plan.destination.user_name}
        if plan.users:
            destination["users"] = [{"source": {"id": u.source.id, "name": u.source.name},
                                     "destination": {"id": u.destination.id, "name": u.destination.name}}
                                    for u in plan.users]
        if plan.two_way or to_source:
            destination["source"] = {"name": plan.source.name, "server_id": plan.source.server_id,
                                     "server_name": plan.source.server_name, "user_id": plan.source.user_id}
        super().__init__(KIND_DRY_RUN if dry_run else KIND_APPLY, plan.pair, destination, client, journal, tasks,
                         user_id=plan.destination.user_id, dry_run=dry_run, concurrency=concurrency,
                         tolerance_seconds=plan.settings.timestamp_tolerance_seconds, chunk_size=chunk_size,
                         clients={plan.source.name: source_client} if source_client is not None else None, **kwargs)

    def _begin(self) -> None:
        if not self.dry_run and self.run_id:
            base.begin(self.journal.directory.parent, self.plan, self.run_id,
                       (t.row for t in self.tasks if t.row is not None))

    async def results(self) -> AsyncIterator[ItemResult]:
        """The engine's results; afterwards, what the two sides now agree on is recorded (the pair's base)."""
        self._seen: dict[str, ItemResult] = {}
        async for result in super().results():
            self._seen[result.key] = result
            yield result

    def _finished(self) -> None:
        if not self.dry_run and self.run_id:  # not after a crash: the old base stays
            base.record(self.journal.directory.parent, self.plan, self.run_id, self._seen)
