"""Every sync decision, as pure functions: the plan's rules 1-13 and the live re-check just before a write.

One vocabulary (`Action`, `Reason`) for both, so a reason code means the same thing wherever it is printed, and a
newcomer finds in this one module where any row or result got its reason. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cwtui.core.match import Match, MatchStatus
from cwtui.core.models import (
    TICKS_PER_SECOND,
    TO_DESTINATION,
    TO_SOURCE,
    Action,
    Agreed,
    Item,
    PlanRow,
    ProgressSettings,
    Reason,
    ResumeRules,
    Session,
    Status,
    Target,
    UserData,
    VersionPlan,
    format_ms,
    ticks_to_ms,
)

SAME_WITHIN_TICKS = TICKS_PER_SECOND
"""Positions within 1 s (inclusive) are the same: the plan calls them in sync, the live re-check "already there"."""


# --- small comparisons ----------------------------------------------------------------------------


def later_by_more(a: datetime | None, b: datetime | None, tolerance_s: float) -> bool:
    """Both known and a later than b by more than the tolerance."""
    return a is not None and b is not None and (a - b).total_seconds() > tolerance_s


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"


def same_state(a: UserData, b: UserData) -> bool:
    """Equal as far as undo cares: position (ms), played, play count and last played (to the second)."""
    if a.position_ms != b.position_ms or a.played != b.played or a.play_count != b.play_count:
        return False
    if (a.last_played is None) != (b.last_played is None):
        return False
    return a.last_played is None or abs((a.last_played - b.last_played).total_seconds()) < 1


def changed_since(read: UserData, now: UserData, tolerance_s: float) -> str | None:
    """How `now` differs from an earlier reading of the same item, in words, or None when it has not changed.

    A position moved by more than 1 s, the played flag flipped, or a last-played time later than the reading's by
    more than the tolerance: someone played it (or another tool wrote it) in between.
    """
    if abs(now.position_ticks - read.position_ticks) > SAME_WITHIN_TICKS:
        return f"position {format_ms(read.position_ms)} -> {format_ms(now.position_ms)}"
    if now.played != read.played:
        return "marked played" if now.played else "marked unplayed"
    if now.last_played is not None and (read.last_played is None
                                        or later_by_more(now.last_played, read.last_played, tolerance_s)):
        return f"played at {when(now.last_played)} (was {when(read.last_played)})"
    return None


def reaches(now: UserData, target: Target, *, margin_ticks: int = SAME_WITHIN_TICKS) -> bool:
    """Does `now` hold what `target` writes? Position within the margin; played and last played (to the second)
    where the target sends them."""
    if abs(now.position_ticks - target.position_ticks) > margin_ticks:
        return False
    if target.played is not None and now.played != target.played:
        return False
    if target.last_played is not None:
        return now.last_played is not None and abs((now.last_played - target.last_played).total_seconds()) <= 1
    return True


def verified(now: UserData, target: Target, action: Action) -> bool:
    """The read-back check after a write: the exact millisecond, the played flag, last-played time and play count the
    write sent (a finish, a mark_played, a replay), and for a restore every field of the prior state."""
    if action is Action.RESTORE:
        prior = UserData(target.position_ticks, bool(target.played), target.play_count or 0, target.last_played)
        return same_state(now, prior)
    return (now.position_ms == ticks_to_ms(target.position_ticks) and reaches(now, target, margin_ticks=10_000)
            and (target.play_count is None or now.play_count == target.play_count))


# --- the plan: rules 1-13 ---------------------------------------------------------------------------


def effective_max_percent(settings: ProgressSettings, rules: ResumeRules | None) -> float | None:
    """The lower of our cap and (with server rules on) the destination's MaxResumePct; None means no cap."""
    caps = []
    if settings.max_percent > 0:
        caps.append(float(settings.max_percent))
    if settings.respect_server_resume_rules and rules is not None:
        caps.append(float(rules.max_resume_pct))
    return min(caps) if caps else None


def base_row(source: Item, destinations: tuple[Item, ...], key: str | None = None, how: str = "") -> PlanRow:
    """A row before any rule: both sides' raw values, decided as unresolved until a rule says otherwise."""
    first = destinations[0] if destinations else None
    return PlanRow(
        key=key or source.id, kind=source.kind, title=source.display_title, action=Action.SKIP,
        reason=Reason.UNRESOLVED, rule="", series=source.series_name, season=source.season, episode=source.episode,
        source_item_id=source.id, destination_item_ids=tuple(d.id for d in destinations),
        source=source.user_data or UserData(), destination=(first.user_data or UserData()) if first else None,
        runtime_ticks=_runtime(source) or (_runtime(first) if first else None),
        source_runtime_ticks=source.runtime_ticks, destination_runtime_ticks=first.runtime_ticks if first else None,
        name=source.name, year=source.production_year, matched_by=how,
    )


def skip_all(row: PlanRow, destinations: tuple[Item, ...], reason: Reason, rule: str) -> PlanRow:
    """The row and every destination item skipped for one reason."""
    versions = tuple(VersionPlan(d.id, d.user_data, Action.SKIP, reason, rule) for d in destinations)
    return replace(row, action=Action.SKIP, reason=reason, rule=rule, versions=versions)


def decide_source_row(match: Match, settings: ProgressSettings, rules: ResumeRules | None,
                      cap: float | None) -> PlanRow:
    """Rules 1-10 for one source item and every destination item it matched."""
    row = base_row(match.source, match.destinations, how=match.how)
    s_ms = row.source_ms or 0
    runtime_ms = ticks_to_ms(row.runtime_ticks) if row.runtime_ticks and row.runtime_ticks > 0 else None
    percent = s_ms * 100 / runtime_ms if runtime_ms else None

    def skip(reason: Reason, rule: str) -> PlanRow:
        return skip_all(row, match.destinations, reason, rule)

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

    # Several destinations are versions of one title: each is decided on its own state; the row writes when any does,
    # and then says what the first version that writes says (else the first version).
    versions = tuple(decide_version(row, d, settings) for d in match.destinations)
    n, chosen = next(((n, v) for n, v in enumerate(versions) if v.writes), (0, versions[0]))
    dest = match.destinations[n]
    several = f" ({len(versions)} versions)" if len(versions) > 1 else ""
    return replace(row, destination=dest.user_data or UserData(), destination_runtime_ticks=dest.runtime_ticks,
                   action=chosen.action, reason=chosen.reason, rule=chosen.rule + several, versions=versions)


def decide_version(row: PlanRow, dest: Item, settings: ProgressSettings) -> VersionPlan:
    """Rules 5-10 against one destination item: that item's own plan."""
    d = dest.user_data or UserData()
    s, dms = row.source_ms or 0, d.position_ms
    tol = settings.timestamp_tolerance_seconds
    s_at, d_at = row.source.last_played, d.last_played

    def out(action: Action, reason: Reason, rule: str) -> VersionPlan:
        return VersionPlan(dest.id, dest.user_data, action, reason, rule)

    if dest.user_data is None:
        return out(Action.SKIP, Reason.READ_FAILED, "rule 5: the destination sent this item without its user data, "
                                                    "so its state is unknown; nothing is written to it")
    if d.played and not settings.replay_watched:
        return out(Action.SKIP, Reason.ALREADY_WATCHED, "rule 5: the destination has it marked played "
                                                        "(replay_watched is off)")
    # The live re-check calls a position within 1 s (inclusive) "already there"; planning such a write would never
    # settle, so the plan uses the same margin where delta_seconds does not already cover it.
    close = abs(row.source.position_ticks - d.position_ticks) <= SAME_WITHIN_TICKS
    if dms == 0 and not close and not later_by_more(d_at, s_at, tol):  # played there later: rule 8 decides
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
    if later_by_more(d_at, s_at, tol):
        return out(Action.SKIP, Reason.DESTINATION_NEWER,
                   f"rule 8: the destination was played later ({when(d_at)} vs {when(s_at)})")
    if s > dms:
        return out(Action.UPSERT, Reason.SOURCE_AHEAD, f"rule 9: source {format_ms(s)} is ahead of "
                                                       f"destination {format_ms(dms)}")
    if s_at is None or d_at is None:
        return out(Action.SKIP, Reason.NO_TIMESTAMPS, f"rule 10: source {format_ms(s)} is behind destination "
                                                      f"{format_ms(dms)} and a last-played time is missing")
    if later_by_more(s_at, d_at, tol):
        return out(Action.UPSERT, Reason.SOURCE_NEWER, f"rule 10: source played later ({when(s_at)} vs "
                                                       f"{when(d_at)}); move back to {format_ms(s)}")
    return out(Action.SKIP, Reason.DESTINATION_NEWER, f"rule 10: source {format_ms(s)} is behind and not played "
                                                      f"more than {tol} s later than the destination")


CLEAR_RULE = "rule 11: the source played it and is at 0: clear the destination's position"


def finished_later(source: UserData, d_at: datetime | None, tolerance_s: float) -> bool:
    """Issue 13 §1: a source at 0 that is marked played, with a last-played time later than the destination's by more
    than the tolerance (or the destination has none). Within the tolerance, or with no source time, it is a clear."""
    s_at = source.last_played
    return (source.played and source.position_ticks == 0 and s_at is not None
            and (d_at is None or later_by_more(s_at, d_at, tolerance_s)))


def decide_zero_row(source: Item | None, destinations: tuple[Item, ...], key: str,
                    settings: ProgressSettings) -> PlanRow:
    """Rule 11: destination resume rows the source's resume list lacks. Only an explicit 0 clears (or, finished on
    the source later, finishes); absence never. `gate` applies the switches."""
    tol = settings.timestamp_tolerance_seconds
    first = destinations[0]
    if not explicit_zero(source):
        row = replace(base_row(first, destinations, key=key),
                      source_item_id=source.id if source else None, source=source.user_data if source else None,
                      source_runtime_ticks=source.runtime_ticks if source else None)
        why = "not found on the source" if source is None else "the source never played it"
        if source is not None and (source.user_data or UserData()).position_ticks > 0:
            why = "the source has a position but outside this pair's resume list"
        if source is not None and source.version_ids:
            why = ("the source item has several versions and its user data is the server's merged view, "
                   "not evidence of an explicit 0")
        return skip_all(row, destinations, Reason.ABSENT_ON_SOURCE,
                        f"rule 11: {why}; progress never clears from absence")
    row = base_row(source, destinations, key=key)
    s_at = row.source.last_played
    versions = []
    for dest in destinations:
        d_at = (dest.user_data or UserData()).last_played
        if dest.version_ids:
            versions.append(VersionPlan(dest.id, dest.user_data, Action.SKIP, Reason.ALTERNATE_VERSIONS,
                                        "rule 11: the item has alternate versions (Jellyfin 12.0); clearing one is "
                                        "refused until that is proven safe"))
        elif (dest.user_data or UserData()).position_ticks <= SAME_WITHIN_TICKS:
            versions.append(VersionPlan(dest.id, dest.user_data, Action.SKIP, Reason.IN_SYNC,
                                        "rule 11: the destination is within 1 s of 0 already, which the live "
                                        "re-check counts as cleared"))
        elif later_by_more(d_at, s_at, tol):
            versions.append(VersionPlan(dest.id, dest.user_data, Action.SKIP, Reason.DESTINATION_NEWER,
                                        f"rule 11: the destination was played later ({when(d_at)} vs {when(s_at)})"))
        elif d_at is not None and s_at is None:
            versions.append(VersionPlan(dest.id, dest.user_data, Action.SKIP, Reason.NO_TIMESTAMPS,
                                        "rule 11: the destination has a last-played time and the source has none"))
        elif finished_later(row.source, d_at, tol):
            versions.append(VersionPlan(dest.id, dest.user_data, Action.FINISH, Reason.FINISHED_ON_SOURCE,
                                        f"rule 11: the source finished it (played, at 0, last played {when(s_at)}; "
                                        f"here {when(d_at)}): mark it played at 0 here too"))
        else:
            versions.append(VersionPlan(dest.id, dest.user_data, Action.CLEAR, Reason.EXPLICIT_ZERO, CLEAR_RULE))
    chosen = next((v for v in versions if v.writes), versions[0])
    return replace(row, action=chosen.action, reason=chosen.reason, rule=chosen.rule, versions=tuple(versions),
                   destination=chosen.state or UserData())


def gate(row: PlanRow, settings: ProgressSettings) -> PlanRow:
    """Rule 12: switches that are off turn writes into skips, keeping the rule that wanted the write. With `finish`
    off a finish is decided as today: a clear when `remove` is on, else `finish_disabled` (the switch that helps)."""
    head = _gated(VersionPlan("", row.destination, row.action, row.reason, row.rule), settings)
    versions = tuple(_gated(v, settings) for v in row.versions)
    if (head.action, head.reason) == (row.action, row.reason):
        unchanged = all(a is b for a, b in zip(versions, row.versions))  # _gated returns what it leaves alone
        return row if unchanged else replace(row, versions=versions)
    live = next((v for v in versions if v.writes), None)
    chosen = head if live is None else live
    return replace(row, action=chosen.action, reason=chosen.reason, rule=chosen.rule, versions=versions,
                   destination=row.destination if live is None or live.state is None else live.state)


def _gated(v: VersionPlan, settings: ProgressSettings) -> VersionPlan:
    if v.action is Action.FINISH and not settings.finish:
        if settings.remove:
            return replace(v, action=Action.CLEAR, reason=Reason.EXPLICIT_ZERO, rule=CLEAR_RULE)
        return replace(v, action=Action.SKIP, reason=Reason.FINISH_DISABLED,
                       rule=f"rule 12: finish is off (would finish: {v.rule})")
    if v.action is Action.UPSERT and not settings.add:
        return replace(v, action=Action.SKIP, reason=Reason.ADD_DISABLED,
                       rule=f"rule 12: add is off (would upsert: {v.rule})")
    if v.action in (Action.CLEAR, Action.MARK_UNPLAYED) and not settings.remove:
        return replace(v, action=Action.SKIP, reason=Reason.REMOVE_DISABLED,
                       rule=f"rule 12: remove is off (would {'clear' if v.action is Action.CLEAR else 'unmark'}: "
                            f"{v.rule})")
    return v


def decide_played_row(match: Match, played_on_destination: frozenset[str] = frozenset()) -> PlanRow | None:
    """Rule 13 (setting `played`): a source item marked played, with no position, against its destination items.

    `played_on_destination` holds the ids the destination's played list names (its stored rows). None when a
    destination item is in progress: its resume row is decided by rules 6-11, never here.
    """
    row = base_row(match.source, match.destinations, how=match.how)
    if match.status is not MatchStatus.MATCHED:
        reason = Reason.AMBIGUOUS if match.status is MatchStatus.AMBIGUOUS else Reason.UNRESOLVED
        return skip_all(row, match.destinations, reason, f"rule 13: {match.status.value}: {match.how}")
    if any((d.user_data or UserData()).position_ticks > 0 for d in match.destinations):
        return None
    s = row.source
    versions = []
    for dest in match.destinations:
        if dest.user_data is None:
            versions.append(VersionPlan(dest.id, None, Action.SKIP, Reason.READ_FAILED,
                                        "rule 13: the destination sent this item without its user data, so its "
                                        "state is unknown; nothing is written to it"))
        elif dest.user_data.played or dest.id in played_on_destination:
            versions.append(VersionPlan(dest.id, dest.user_data, Action.SKIP, Reason.ALREADY_WATCHED,
                                        "rule 13: the destination has it marked played already"))
        else:
            versions.append(VersionPlan(dest.id, dest.user_data, Action.MARK_PLAYED, Reason.PLAYED_ON_SOURCE,
                                        f"rule 13: the source has it marked played (play count {s.play_count}, "
                                        f"last played {when(s.last_played)}) and the destination has neither played "
                                        "nor started it: mark it played"))
    chosen = next((v for v in versions if v.writes), versions[0])
    return replace(row, action=chosen.action, reason=chosen.reason, rule=chosen.rule, versions=tuple(versions),
                   destination=chosen.state or UserData())


def copy_preference(item: Item) -> tuple:
    """Sort key among source copies of one title: played most recently first; on equal or missing times, the one
    further along."""
    ud = item.user_data or UserData()
    stamp = ud.last_played.timestamp() if ud.last_played else float("-inf")
    return (-stamp, -ud.position_ticks)


def superseded_row(match: Match, winner: Item) -> PlanRow:
    """A source copy that lost to `winner`: skipped, naming the copy that is synced instead."""
    row = base_row(match.source, match.destinations, how=match.how)
    ud = winner.user_data or UserData()
    rule = (f"another copy on the source, {winner.display_title} (item {winner.id[:8]}, at "
            f"{format_ms(ud.position_ms)}, played {when(ud.last_played)}), was played more recently or is further "
            "along: one destination item gets one write per run, from that copy")
    return skip_all(row, match.destinations, Reason.SUPERSEDED_BY_COPY, rule)


def shared_row_skip(version: VersionPlan, owner_id: str, key: str) -> VersionPlan:
    """10.8-10.10: a destination copy that shares its stored row with `owner_id`, which is written instead."""
    return replace(version, action=Action.SKIP, reason=Reason.SHARED_ROW,
                   rule=f"shares one stored row (user-data key {key}) with item {owner_id}, which is written; "
                        "the server keeps one position for both")


def explicit_zero(source: Item | None) -> bool:
    """Found at position 0 *and* played by the source user (marked played or a last-played time). A 12.0 item with
    several versions shows a merged view, which is never taken as an explicit 0."""
    if source is None or source.user_data is None or source.version_ids:
        return False
    ud = source.user_data
    return ud.position_ticks == 0 and (ud.played or ud.last_played is not None)


def _runtime(item: Item) -> int | None:
    return item.runtime_ticks if item.runtime_ticks and item.runtime_ticks > 0 else None


# --- the live re-check, just before a write -----------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Why a step is not written after all: a result status, a reason and a sentence."""

    status: Status
    reason: Reason
    detail: str


def live_verdict(*, action: Action, target: Target, expected: tuple[UserData, ...], now: Item | None,
                 sessions: list[Session] | None, user_id: str, item_id: str, tolerance_s: float,
                 force: bool = False) -> Verdict | None:
    """Decide one write from the item's live state; None means write it.

    `expected` holds the states the item may be in for the write to go ahead: for apply, the plan's own reading of
    this item; for a restore, what the run left (or meant to leave). In order: playback cannot be ruled out, it is
    being played, it is gone, its state is unknown, it already holds the target, it changed since that reading.
    """
    undo = action is Action.RESTORE
    if sessions is None:
        return Verdict(Status.SKIPPED, Reason.SESSION_CHECK_FAILED,
                       "could not read /Sessions, so playback cannot be ruled out")
    if any(s.is_playing(user_id, item_id) for s in sessions):
        return Verdict(Status.SKIPPED, Reason.ACTIVE_SESSION,
                       "being played right now" + ("; a later undo restores it" if undo else ""))
    if now is None:
        return Verdict(Status.UNRESOLVED, Reason.UNRESOLVED, "the destination item is gone")
    if now.user_data is None:
        return Verdict(Status.SKIPPED, Reason.READ_FAILED,
                       "the server sent this item without its user data, so its state is unknown; left alone")
    d = now.user_data
    if verified(d, target, action) if undo else reaches(d, target):
        return Verdict(Status.SKIPPED, Reason.PROGRESS_UNCHANGED,
                       "already in its prior state" if undo else "already there")
    if force or not expected:
        return None
    changes = [changed_since(e, d, tolerance_s) for e in expected]
    if all(changes):
        if undo:
            return Verdict(Status.SKIPPED, Reason.CHANGED_SINCE_RUN,
                           f"changed since the run ({changes[0]}); left alone (--force restores it anyway)")
        return Verdict(Status.SKIPPED, Reason.TARGET_NEWER,
                       f"changed on the destination since the plan ({changes[0]}); plan again to decide it")
    return None


def may_have_landed(status: int | None) -> bool:
    """After a failed write: only a 4xx proves the server refused it. A 5xx (a proxy's 502/504 included), an HTML
    page, a timeout or a dropped connection may hide a write that landed, so it is treated as landed."""
    return not (status is not None and 400 <= status < 500)


# --- two-way pairs: the three-way merge ------------------------------------------------------------


def agree(a: UserData, b: UserData) -> bool:
    """Two states that say the same: positions within 1 s and the same played mark. Last-played times decide who
    is newer, never whether the sides agree."""
    return abs(a.position_ticks - b.position_ticks) <= SAME_WITHIN_TICKS and a.played == b.played


def three_way(source: UserData, destination: UserData, agreed: Agreed | None,
              tolerance_s: float) -> tuple[str | None, Reason, str]:
    """Which way a two-way item goes (TO_DESTINATION, TO_SOURCE or None), why, and the rule in words.

    Each side is compared with what it held when the two last agreed: only one changed -> it wins; both changed ->
    the later last-played time wins by more than the tolerance, else the user decides. No agreed state -> nothing
    is written (a new server's fresh times must never beat the good one).
    """
    if agree(source, destination):
        return None, Reason.IN_SYNC, "two-way: both sides agree (positions within 1 s, same played mark)"
    if agreed is None:
        return None, Reason.NO_BASE, ("two-way: the sides differ and no agreed state is recorded for this item, so "
                                      "neither is trusted; `cwtui apply PAIR --seed source|destination` picks the "
                                      "side that wins once")
    s_moved, d_moved = not agree(source, agreed.source), not agree(destination, agreed.destination)
    s_at, d_at = source.last_played, destination.last_played
    if not s_moved and not d_moved:
        return None, Reason.UNCHANGED, "two-way: neither side changed since they last agreed"
    if s_moved and not d_moved:
        return TO_DESTINATION, Reason.CHANGED_ON_SOURCE, (
            f"two-way: only the source changed since they agreed ({_moved(agreed.source, source)})")
    if d_moved and not s_moved:
        return TO_SOURCE, Reason.CHANGED_ON_DESTINATION, (
            f"two-way: only the destination changed since they agreed ({_moved(agreed.destination, destination)})")
    if later_by_more(s_at, d_at, tolerance_s):
        return TO_DESTINATION, Reason.NEWER_ON_SOURCE, (
            f"two-way: both changed; the source was played later ({when(s_at)} vs {when(d_at)})")
    if later_by_more(d_at, s_at, tolerance_s):
        return TO_SOURCE, Reason.NEWER_ON_DESTINATION, (
            f"two-way: both changed; the destination was played later ({when(d_at)} vs {when(s_at)})")
    why = ("one side has no last-played time" if s_at is None or d_at is None
           else f"their last-played times are within {tolerance_s:g} s")
    return None, Reason.CONFLICT, (f"two-way: both sides changed since they agreed and {why}: pick the side that "
                                   "wins (--prefer source|destination KEY, or tick it in the TUI)")


def decide_direction(winner: Item, loser: Item, settings: ProgressSettings, server_rules: ResumeRules | None,
                     winner_was: UserData | None = None) -> PlanRow:
    """A two-way write in the direction the merge picked: the one-way rules with the winner as the source (every
    threshold, the near-complete cap, "never clear from absence", add/remove), except "who is newer" (rules 8, 10
    and 11), which the merge has just decided. The row is in winner -> loser orientation.

    `winner_was` (the winner's agreed state) tells an unwatch from absence: an item the agreed state has played,
    now unplayed at 0 on the winner, was marked unplayed there; the loser follows (`remove` on)."""
    w = winner.user_data or UserData()
    if winner_was is not None and winner_was.played and not w.played and w.position_ticks == 0:
        row = base_row(winner, (loser,))
        if not (loser.user_data or UserData()).played:
            return skip_all(row, (loser,), Reason.IN_SYNC, "two-way: marked unplayed on both sides")
        rule = "two-way: marked unplayed since the sides agreed; mark the other side unplayed too (position 0)"
        version = VersionPlan(loser.id, loser.user_data, Action.MARK_UNPLAYED, Reason.MARKED_UNPLAYED, rule)
        return gate(replace(row, action=Action.MARK_UNPLAYED, reason=Reason.MARKED_UNPLAYED, rule=rule,
                            versions=(version,)), settings)
    if w.position_ticks > 0:
        one = decide_source_row(Match(winner, MatchStatus.MATCHED, (loser,)), settings, server_rules,
                                effective_max_percent(settings, server_rules))
    else:
        one = decide_zero_row(winner, (loser,), winner.id, settings)
    if one.reason in (Reason.DESTINATION_NEWER, Reason.NO_TIMESTAMPS):
        action = Action.UPSERT if (winner.user_data or UserData()).position_ticks > 0 else Action.CLEAR
        rule = f"{one.rule}; the merge against the agreed state decides which side is newer"
        one = replace(one, action=action, rule=rule,
                      versions=tuple(replace(v, action=action, rule=rule) for v in one.versions))
    return gate(one, settings)


def played_to_send(row: PlanRow, two_way_pair: bool) -> bool | None:
    """A position write of a two-way pair (a seed included) also carries the winner's Played mark when it is set (a
    12.0 rewatch keeps Played beside a position): the sides agree only with the same mark, and without it the next
    plan sees both sides changed (a conflict, an echo) or, after a seed, no base. None (not sent) otherwise; the
    engine clears Played for a replay on its own."""
    winner = row.winner
    return True if (two_way_pair or row.two_way) and winner is not None and winner.played else None


def _moved(was: UserData, now: UserData) -> str:
    words = f"{format_ms(was.position_ms)} -> {format_ms(now.position_ms)}"
    if was.played != now.played:
        words += ", marked played" if now.played else ", marked unplayed"
    return words
