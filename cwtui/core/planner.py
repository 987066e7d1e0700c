"""The planner: matches and settings in, one decided row per item out. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cwtui.core.match import Match, MatchStatus
from cwtui.core.models import (
    TICKS_PER_SECOND,
    Action,
    Item,
    PlanRow,
    ProgressSettings,
    Reason,
    ResumeRules,
    UserData,
    format_ms,
    ticks_to_ms,
)

SAME_WITHIN_TICKS = TICKS_PER_SECOND
"""Positions within 1 s (inclusive) are in sync: the margin apply's live re-check calls "already there"."""


@dataclass(frozen=True)
class ZeroCandidate:
    """A destination resume row the source's resume list lacks, with its source counterpart if one was found."""

    destination: Item
    source: Item | None


def effective_max_percent(settings: ProgressSettings, rules: ResumeRules | None) -> float | None:
    """The lower of our cap and (with server rules on) the destination's MaxResumePct; None means no cap."""
    caps = []
    if settings.max_percent > 0:
        caps.append(float(settings.max_percent))
    if settings.respect_server_resume_rules and rules is not None:
        caps.append(float(rules.max_resume_pct))
    return min(caps) if caps else None


def plan_rows(
    matches: list[Match],
    zeros: list[ZeroCandidate],
    settings: ProgressSettings,
    rules: ResumeRules | None,
) -> list[PlanRow]:
    """Decide every row. `rules` are the destination's; they only count while respect_server_resume_rules is on."""
    if not settings.enable:
        return []
    rules = rules if settings.respect_server_resume_rules else None
    cap = effective_max_percent(settings, rules)
    rows = [_gate(_decide_source_row(m, settings, rules, cap), settings) for m in matches]
    rows += [_gate(row, settings) for row in _zero_rows(zeros, settings)]
    return rows


def _gate(row: PlanRow, settings: ProgressSettings) -> PlanRow:
    """Rule 12: add/remove switched off turn writes into skips, keeping the rule that wanted the write."""
    if row.action is Action.UPSERT and not settings.add:
        return replace(row, action=Action.SKIP, reason=Reason.ADD_DISABLED,
                       rule=f"rule 12: add is off (would upsert: {row.rule})")
    if row.action is Action.CLEAR and not settings.remove:
        return replace(row, action=Action.SKIP, reason=Reason.REMOVE_DISABLED,
                       rule=f"rule 12: remove is off (would clear: {row.rule})")
    return row


def _base_row(source: Item, destinations: tuple[Item, ...], key: str | None = None, how: str = "") -> PlanRow:
    first = destinations[0] if destinations else None
    return PlanRow(
        key=key or source.id,
        kind=source.kind,
        title=source.display_title,
        action=Action.SKIP,
        reason=Reason.UNRESOLVED,
        rule="",
        series=source.series_name,
        season=source.season,
        episode=source.episode,
        source_item_id=source.id,
        destination_item_ids=tuple(d.id for d in destinations),
        source=source.user_data or UserData(),
        destination=(first.user_data or UserData()) if first else None,
        runtime_ticks=_runtime(source) or (_runtime(first) if first else None),
        source_runtime_ticks=source.runtime_ticks,
        destination_runtime_ticks=first.runtime_ticks if first else None,
        name=source.name,
        year=source.production_year,
        matched_by=how,
    )


def _decide_source_row(match: Match, settings: ProgressSettings, rules: ResumeRules | None,
                       cap: float | None) -> PlanRow:
    row = _base_row(match.source, match.destinations, how=match.how)
    s_ms = row.source_ms or 0
    runtime_ms = ticks_to_ms(row.runtime_ticks) if row.runtime_ticks and row.runtime_ticks > 0 else None
    percent = s_ms * 100 / runtime_ms if runtime_ms else None

    def skip(reason: Reason, rule: str) -> PlanRow:
        return replace(row, action=Action.SKIP, reason=reason, rule=rule)

    if s_ms < settings.min_seconds * 1000:
        return skip(Reason.BELOW_MIN_SECONDS,
                    f"rule 1: source position {format_ms(s_ms)} is under min_seconds ({settings.min_seconds} s)")
    if rules is not None and runtime_ms is not None:
        if runtime_ms < rules.min_resume_duration_seconds * 1000:
            return skip(Reason.SHORT_ITEM, f"rule 2: runtime {format_ms(runtime_ms)} is under the destination's "
                                           f"MinResumeDurationSeconds ({rules.min_resume_duration_seconds} s)")
        if percent < rules.min_resume_pct:
            return skip(Reason.BELOW_MIN_PERCENT, f"rule 2: {percent:.1f}% is under the destination's "
                                                  f"MinResumePct ({rules.min_resume_pct:g}%)")
    if cap is not None and percent is not None and percent >= cap:
        return skip(Reason.NEAR_COMPLETE, f"rule 3: {percent:.1f}% is at or over the effective max ({cap:g}%)")
    if match.status is not MatchStatus.MATCHED:
        reason = Reason.AMBIGUOUS if match.status is MatchStatus.AMBIGUOUS else Reason.UNRESOLVED
        return skip(reason, f"rule 4: {match.status.value}: {match.how}")

    # Several destinations are versions of one title: the row writes when any version needs it.
    decided = [_decide_version(row, d, settings) for d in match.destinations]
    for candidate in decided:
        if candidate.action is Action.UPSERT:
            return candidate
    return decided[0]


def _decide_version(row: PlanRow, dest: Item, settings: ProgressSettings) -> PlanRow:
    d = dest.user_data or UserData()
    row = replace(row, destination=d, destination_runtime_ticks=dest.runtime_ticks)
    s, dms = row.source_ms or 0, d.position_ms
    tol = settings.timestamp_tolerance_seconds
    s_at, d_at = row.source.last_played, d.last_played
    versions = f" ({len(row.destination_item_ids)} versions)" if len(row.destination_item_ids) > 1 else ""

    def out(action: Action, reason: Reason, rule: str) -> PlanRow:
        return replace(row, action=action, reason=reason, rule=rule + versions)

    if d.played and not settings.replay_watched:
        return out(Action.SKIP, Reason.ALREADY_WATCHED, "rule 5: the destination has it marked played "
                                                        "(replay_watched is off)")
    # Apply's live re-check calls a position within 1 s (inclusive) "already there"; planning such a write
    # would never settle, so the planner uses the same margin where delta_seconds does not already cover it.
    close = abs(row.source.position_ticks - d.position_ticks) <= SAME_WITHIN_TICKS
    if dms == 0 and not close and not _later_by_more(d_at, s_at, tol):  # played there later: rule 8 decides
        return out(Action.UPSERT, Reason.DESTINATION_MISSING,
                   f"rule 6: the destination has no position; write {format_ms(s)}")
    if s == dms:
        return out(Action.SKIP, Reason.IN_SYNC, f"rule 7: both at {format_ms(s)}")
    if abs(s - dms) < settings.delta_seconds * 1000:
        return out(Action.SKIP, Reason.WITHIN_DELTA, f"rule 7: {format_ms(s)} vs {format_ms(dms)} differ by less "
                                                     f"than delta_seconds ({settings.delta_seconds} s)")
    if close:
        return out(Action.SKIP, Reason.IN_SYNC, f"rule 7: {format_ms(s)} vs {format_ms(dms)} are within 1 s, "
                                                "which apply counts as unchanged")
    if _later_by_more(d_at, s_at, tol):
        return out(Action.SKIP, Reason.DESTINATION_NEWER,
                   f"rule 8: the destination was played later ({_when(d_at)} vs {_when(s_at)})")
    if s > dms:
        return out(Action.UPSERT, Reason.SOURCE_AHEAD, f"rule 9: source {format_ms(s)} is ahead of "
                                                       f"destination {format_ms(dms)}")
    if s_at is None or d_at is None:
        return out(Action.SKIP, Reason.NO_TIMESTAMPS, f"rule 10: source {format_ms(s)} is behind destination "
                                                      f"{format_ms(dms)} and a last-played time is missing")
    if _later_by_more(s_at, d_at, tol):
        return out(Action.UPSERT, Reason.SOURCE_NEWER, f"rule 10: source played later ({_when(s_at)} vs "
                                                       f"{_when(d_at)}); move back to {format_ms(s)}")
    return out(Action.SKIP, Reason.DESTINATION_NEWER, f"rule 10: source {format_ms(s)} is behind and not played "
                                                      f"more than {tol} s later than the destination")


def _zero_rows(zeros: list[ZeroCandidate], settings: ProgressSettings) -> list[PlanRow]:
    """Rule 11: destination resume rows the source lacks. One row per source counterpart (versions grouped)."""
    grouped: dict[str, list[ZeroCandidate]] = {}
    for z in zeros:
        key = z.source.id if _explicit_zero(z.source) else z.destination.id
        grouped.setdefault(key, []).append(z)
    rows = []
    tol = settings.timestamp_tolerance_seconds
    for key, group in grouped.items():
        z = group[0]
        dests = tuple(g.destination for g in group)
        if not _explicit_zero(z.source):
            row = _base_row(z.destination, dests, key=key)
            row = replace(row, source_item_id=z.source.id if z.source else None,
                          source=z.source.user_data if z.source else None,
                          source_runtime_ticks=z.source.runtime_ticks if z.source else None)
            why = "not found on the source" if z.source is None else "the source never played it"
            if z.source is not None and (z.source.user_data or UserData()).position_ticks > 0:
                why = "the source has a position but outside this pair's resume list"
            rows.append(replace(row, reason=Reason.ABSENT_ON_SOURCE,
                                rule=f"rule 11: {why}; progress never clears from absence"))
            continue
        row = _base_row(z.source, dests, key=key)
        s_at, d_at = row.source.last_played, row.destination.last_played
        if _later_by_more(d_at, s_at, tol):
            rows.append(replace(row, reason=Reason.DESTINATION_NEWER,
                                rule=f"rule 11: the destination was played later ({_when(d_at)} vs {_when(s_at)})"))
        elif d_at is not None and s_at is None:
            rows.append(replace(row, reason=Reason.NO_TIMESTAMPS,
                                rule="rule 11: the destination has a last-played time and the source has none"))
        else:
            rows.append(replace(row, action=Action.CLEAR, reason=Reason.EXPLICIT_ZERO,
                                rule="rule 11: the source played it and is at 0: clear the destination's position"))
    return rows


def _runtime(item: Item) -> int | None:
    return item.runtime_ticks if item.runtime_ticks and item.runtime_ticks > 0 else None


def _explicit_zero(source: Item | None) -> bool:
    """Found at position 0 *and* played by the source user (marked played or a last-played time)."""
    if source is None or source.user_data is None:
        return False
    ud = source.user_data
    return ud.position_ticks == 0 and (ud.played or ud.last_played is not None)


def _later_by_more(a: datetime | None, b: datetime | None, tolerance_s: int) -> bool:
    """Both known and a later than b by more than the tolerance."""
    return a is not None and b is not None and (a - b).total_seconds() > tolerance_s


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"
