"""The planner: matches and settings in, one decided row per source item out. Pure: no I/O, no clock.

The decisions themselves live in `rules`; this module puts them in order: source copies of one title collapse to
one, every row is decided, rule 12 gates the writes, and destination copies that share a stored row are written once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from cwtui.core import rules
from cwtui.core.match import Match, MatchStatus
from cwtui.core.models import (
    TO_DESTINATION,
    TO_SOURCE,
    Action,
    Agreed,
    Item,
    PlanRow,
    ProgressSettings,
    Reason,
    ResumeRules,
    UserData,
)

SAME_WITHIN_TICKS = rules.SAME_WITHIN_TICKS
effective_max_percent = rules.effective_max_percent


@dataclass(frozen=True)
class ZeroCandidate:
    """A destination resume row the source's resume list lacks, with its source counterpart if one was found."""

    destination: Item
    source: Item | None


def plan_rows(
    matches: list[Match],
    zeros: list[ZeroCandidate],
    settings: ProgressSettings,
    server_rules: ResumeRules | None,
    *,
    shared_rows: bool = False,
    played: list[Match] | None = None,
    played_on_destination: frozenset[str] = frozenset(),
) -> list[PlanRow]:
    """Decide every row. `server_rules` are the destination's; they only count while respect_server_resume_rules
    is on. `shared_rows` says the destination keeps one stored row per user-data key (Jellyfin 10.8-10.10).
    `played` (setting `played` on) are the source's played items without a position, matched; the destination's
    played list names `played_on_destination`."""
    if not settings.enable:
        return []
    server_rules = server_rules if settings.respect_server_resume_rules else None
    cap = rules.effective_max_percent(settings, server_rules)
    winners = _copy_winners(matches)
    rows = []
    for match in matches:
        winner = winners.get(match.source.id)
        if winner is not None:
            rows.append(rules.superseded_row(match, winner))
        else:
            rows.append(rules.gate(rules.decide_source_row(match, settings, server_rules, cap), settings))
    rows += [rules.gate(row, settings) for row in _zero_rows(zeros, settings)]
    if settings.played and played:
        rows += _played_rows(played, rows, played_on_destination)
    return _write_shared_rows_once(rows) if shared_rows else rows


def _copy_winners(matches: list[Match]) -> dict[str, Item]:
    """Source copies of one title (matches that share a destination item): each loser's id -> the copy that wins.

    Two copies written to one destination item would race, and the older position could win (gotcha 15).
    """
    owner: dict[str, int] = {}       # destination item id -> group
    groups: list[list[Match]] = []
    for match in matches:
        if match.status is not MatchStatus.MATCHED or not match.destinations:
            continue
        hit = sorted({owner[d.id] for d in match.destinations if d.id in owner})
        if not hit:
            groups.append([match])
            index = len(groups) - 1
        else:
            index = hit[0]
            for other in hit[1:]:  # this match joins groups that were apart so far
                groups[index] += groups[other]
                groups[other] = []
            groups[index].append(match)
        for member in groups[index]:
            for d in member.destinations:
                owner[d.id] = index
    losers: dict[str, Item] = {}
    for group in groups:
        if len(group) > 1:
            ranked = sorted(group, key=lambda m: rules.copy_preference(m.source))
            for loser in ranked[1:]:
                losers[loser.source.id] = ranked[0].source
    return losers


def _zero_rows(zeros: list[ZeroCandidate], settings: ProgressSettings) -> list[PlanRow]:
    """Rule 11 rows: one per source counterpart (its destination versions grouped), or per destination item."""
    grouped: dict[str, list[ZeroCandidate]] = {}
    for z in zeros:
        key = z.source.id if rules.explicit_zero(z.source) else z.destination.id
        grouped.setdefault(key, []).append(z)
    return [rules.decide_zero_row(group[0].source, tuple(g.destination for g in group), key, settings)
            for key, group in grouped.items()]


def _played_rows(played: list[Match], rows: list[PlanRow], on_destination: frozenset[str]) -> list[PlanRow]:
    """Rule 13 rows, after every other row: an item another row already decides (a finish or clear of the same
    source item, a write to the same destination item) is left to that row, so each item gets one write per run;
    of several source copies of one title, the one played last is used."""
    keys = {row.key for row in rows}
    taken = {item_id for row in rows for item_id in row.destination_item_ids}
    fresh = [m for m in played if m.source.id not in keys and not taken & {d.id for d in m.destinations}]
    winners = _copy_winners(fresh)
    out = []
    for match in fresh:
        winner = winners.get(match.source.id)
        row = rules.superseded_row(match, winner) if winner else rules.decide_played_row(match, on_destination)
        if row is not None:
            out.append(row)
    return out


def _write_shared_rows_once(rows: list[PlanRow]) -> list[PlanRow]:
    """10.8-10.10: items with the same first user-data key share one stored row, so only one of them is written
    (the first that needs a write, in plan order); the others are reported as written through it (gotcha 14)."""
    owners: dict[str, str] = {}
    for row in rows:
        for v in row.versions:
            key = v.state.key if v.state else None
            if key and v.writes:
                owners.setdefault(key, v.item_id)
    out = []
    for row in rows:
        versions = tuple(
            rules.shared_row_skip(v, owners[v.state.key], v.state.key)
            if v.writes and v.state and v.state.key in owners and owners[v.state.key] != v.item_id else v
            for v in row.versions)
        if versions != row.versions:
            row = replace(row, versions=versions)
            if not any(v.writes for v in versions):
                first = versions[0]
                row = replace(row, action=first.action, reason=first.reason, rule=first.rule)
        out.append(row)
    return out


# --- two-way pairs ------------------------------------------------------------------------------------


AgreedOf = Callable[[str, str], Agreed | None]
"""(source item id, destination item id) -> what the two last agreed on, for one user pair."""


def two_way_rows(matches: list[Match], zeros: list[ZeroCandidate], settings: ProgressSettings,
                 server_rules: dict[str, ResumeRules | None], agreed_of: AgreedOf, *,
                 shared_rows: dict[str, bool] | None = None) -> list[PlanRow]:
    """Two-way pairs: every item in progress on either side, merged against what the sides last agreed on.

    `server_rules` and `shared_rows` are keyed by direction (the rules of the side written). Once the three-way
    merge picks a direction, the one-way rules decide the write in that direction, so every threshold, the
    near-complete cap and "never clear from absence" hold both ways.
    """
    if not settings.enable:
        return []
    if not settings.respect_server_resume_rules:
        server_rules = {}
    owners = Counter(d.id for m in matches if m.status is MatchStatus.MATCHED for d in m.destinations)
    rows: list[PlanRow] = []
    for m in matches:
        if m.status is not MatchStatus.MATCHED:
            reason = Reason.AMBIGUOUS if m.status is MatchStatus.AMBIGUOUS else Reason.UNRESOLVED
            rows.append(_two_way_skip(rules.base_row(m.source, m.destinations, how=m.how), m.destinations, reason,
                                      f"rule 4: {m.status.value}: {m.how}"))
        elif len(m.destinations) != 1 or owners[m.destinations[0].id] > 1:
            rows.append(_two_way_skip(rules.base_row(m.source, m.destinations, how=m.how), m.destinations,
                                      Reason.AMBIGUOUS, "two-way pairs need exactly one item on each side; here "
                                      f"{len(m.destinations)} destination item(s) and "
                                      f"{max(owners[d.id] for d in m.destinations)} source item(s) share one title"))
        else:
            rows.append(_merge(m.source, m.destinations[0], m.source.id, m.how, settings, server_rules, agreed_of))
    copies = Counter(z.source.id for z in zeros if z.source is not None)
    for z in zeros:
        if z.source is None or z.source.version_ids:
            why = "not found on the source" if z.source is None else "the source item has several versions"
            row = rules.base_row(z.destination, (z.destination,), key=z.destination.id)
            rows.append(_two_way_skip(replace(row, source_item_id=None, source=None), (z.destination,),
                                      Reason.UNRESOLVED, f"two-way: the destination's item is {why}"))
        elif copies[z.source.id] > 1:  # destination copies of one source item: one row, never written
            group = tuple(y.destination for y in zeros if y.source is not None and y.source.id == z.source.id)
            if z.destination is group[0]:
                rows.append(_two_way_skip(rules.base_row(z.source, group), group, Reason.AMBIGUOUS,
                                          "two-way pairs need exactly one item on each side; here "
                                          f"{len(group)} destination items in progress match one source item"))
        else:
            rows.append(_merge(z.source, z.destination, z.source.id, "", settings, server_rules, agreed_of))
    for direction, on in (shared_rows or {}).items():
        if on:
            rows = _shared_once_in(rows, direction)
    return rows


def reversed_row(row: PlanRow) -> PlanRow:
    """A one-way row planned from the destination to the source (`--seed destination`), in the pair's orientation:
    its `versions` are the source items it writes, and the destination's state is the one copied."""
    return replace(row, source_item_id=row.destination_item_ids[0] if len(row.destination_item_ids) == 1 else None,
                   destination_item_ids=(row.source_item_id,) if row.source_item_id else (),
                   source=row.destination, destination=row.source,
                   source_runtime_ticks=row.destination_runtime_ticks, destination_runtime_ticks=row.source_runtime_ticks,
                   direction=TO_SOURCE, rule=f"seeded from the destination: {row.rule}")


def _two_way_skip(row: PlanRow, destinations: tuple[Item, ...], reason: Reason, rule: str) -> PlanRow:
    return replace(rules.skip_all(row, destinations, reason, rule), two_way=True)


def _merge(source: Item, destination: Item, key: str, how: str, settings: ProgressSettings,
           server_rules: dict[str, ResumeRules | None], agreed_of: AgreedOf) -> PlanRow:
    agreed = agreed_of(source.id, destination.id)
    s, d = source.user_data or UserData(), destination.user_data or UserData()
    direction, reason, why = rules.three_way(s, d, agreed, settings.timestamp_tolerance_seconds)
    row = replace(rules.base_row(source, (destination,), key=key, how=how), two_way=True, agreed=agreed)
    if direction is None:
        skipped = rules.skip_all(row, (destination,), reason, why)
        if reason is not Reason.CONFLICT:
            return skipped
        choices = tuple(_directional(row, source, destination, way, reason, f"{why}; chosen: the {side} wins",
                                     settings, server_rules)
                        for way, side in ((TO_DESTINATION, "source"), (TO_SOURCE, "destination")))
        return replace(skipped, choices=choices)
    return _directional(row, source, destination, direction, reason, why, settings, server_rules)


def _directional(row: PlanRow, source: Item, destination: Item, direction: str, reason: Reason, why: str,
                 settings: ProgressSettings, server_rules: dict[str, ResumeRules | None]) -> PlanRow:
    """The write in one direction, decided by the one-way rules with the winning side as the source."""
    winner, loser = (source, destination) if direction == TO_DESTINATION else (destination, source)
    was = row.agreed and (row.agreed.source if direction == TO_DESTINATION else row.agreed.destination)
    one = rules.decide_direction(winner, loser, settings, server_rules.get(direction), was or None)
    way = "source -> destination" if direction == TO_DESTINATION else "destination -> source"
    version = one.versions[0]
    if one.writes:
        rule = f"{why}; {way}: {one.rule}"
        version = replace(version, reason=reason, rule=rule)
        return replace(row, action=one.action, reason=reason, rule=rule, versions=(version,), direction=direction)
    return replace(row, action=Action.SKIP, reason=one.reason, rule=f"{why}, but {way}: {one.rule}",
                   versions=(version,), direction=direction)


def _shared_once_in(rows: list[PlanRow], direction: str) -> list[PlanRow]:
    """Shared stored rows (10.8-10.10) are counted per side: the rows written to one side are deduplicated apart."""
    at = [i for i, r in enumerate(rows) if r.direction == direction and r.writes]
    out = list(rows)
    for i, row in zip(at, _write_shared_rows_once([rows[i] for i in at])):
        out[i] = row
    return out
