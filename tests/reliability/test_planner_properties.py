"""Property tests of the planner: generated worlds (matches, zero candidates, settings, rules) against its promises.

A "world" is a handful of titles, each with an optional source item and 0-3 destination versions. Matches and zero
candidates are built from it the way `index_pair` does (source resume list = position > 0; destination rows nobody
matched become zero candidates). The writes that would really happen are the real `select_tasks` filtered by the
real live re-check of `ApplyRun` (with no sessions), so the properties cover the whole path from plan to write.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwtui.core import rules
from cwtui.core.apply import ApplyRun, select_tasks
from cwtui.core.match import Match, MatchStatus
from cwtui.core.models import (
    TICKS_PER_SECOND,
    Action,
    Item,
    ItemKind,
    Plan,
    ProgressSettings,
    ResumeRules,
    SideInfo,
    UserData,
)
from cwtui.core.planner import ZeroCandidate, effective_max_percent, plan_rows

T0 = datetime(2026, 11, 20, 20, 0, tzinfo=timezone.utc)
EXAMPLES = 400
_ids = itertools.count(1)


def _id() -> str:
    return f"{next(_ids):032x}"


# --- strategies ------------------------------------------------------------------------------------

seconds = st.one_of(st.sampled_from([0, 1, 29, 30, 31, 59, 60, 61, 300, 600]), st.integers(0, 3 * 3600))
when = st.one_of(st.none(), st.sampled_from([-61, -31, -30, -29, -1, 0, 1, 29, 30, 31, 61]).map(
    lambda s: T0 + timedelta(seconds=s)), st.integers(-10**6, 10**6).map(lambda s: T0 + timedelta(seconds=s)))
runtime = st.one_of(st.none(), st.just(0), st.integers(30, 4 * 3600).map(lambda s: s * TICKS_PER_SECOND))


@st.composite
def user_data(draw, *, position=None):
    pos = draw(seconds) if position is None else position
    sub = draw(st.integers(0, TICKS_PER_SECOND - 1)) if draw(st.booleans()) else 0
    played = draw(st.booleans())
    return UserData(position_ticks=pos * TICKS_PER_SECOND + (sub if pos else 0), played=played,
                    play_count=draw(st.integers(0, 3)) if played else draw(st.sampled_from([0, 0, 1])),
                    last_played=draw(when))


@st.composite
def titles(draw):
    """(source item or None, destination versions, forced match status or None)."""
    kind = draw(st.sampled_from(list(ItemKind)))
    source = None
    if draw(st.integers(0, 9)) > 0:
        source = Item(_id(), kind, "S", draw(runtime), user_data=draw(st.one_of(st.none(), user_data())))
    versions = []
    for _ in range(draw(st.integers(0, 3))):
        ud = draw(st.one_of(st.none(), user_data()))
        if source is not None and source.user_data and ud and draw(st.integers(0, 3)) == 0:
            ud = replace(ud, position_ticks=source.user_data.position_ticks)  # exact ties happen
        versions.append(Item(_id(), kind, "D", draw(runtime), user_data=ud))
    status = draw(st.sampled_from([None, None, None, MatchStatus.UNRESOLVED, MatchStatus.AMBIGUOUS]))
    return source, versions, status


progress_settings = st.builds(
    ProgressSettings, enable=st.just(True), add=st.booleans(), remove=st.booleans(),
    min_seconds=st.sampled_from([0, 1, 30, 60, 300]), delta_seconds=st.sampled_from([0, 1, 30, 120]),
    max_percent=st.sampled_from([0, 50, 90, 95, 100]),
    timestamp_tolerance_seconds=st.sampled_from([0, 1, 30, 600]),
    respect_server_resume_rules=st.booleans(), replay_watched=st.booleans())
resume_rules = st.one_of(st.none(), st.builds(
    ResumeRules, min_resume_pct=st.sampled_from([0, 5, 20]), max_resume_pct=st.sampled_from([50, 90, 100]),
    min_resume_duration_seconds=st.sampled_from([0, 300, 3600])))


@dataclass
class World:
    titles: list
    settings: ProgressSettings
    rules: ResumeRules | None


worlds = st.builds(World, st.lists(titles(), min_size=1, max_size=8), progress_settings, resume_rules)


# --- the model of index_pair and apply --------------------------------------------------------------


def _pos(item: Item | None) -> int:
    return (item.user_data or UserData()).position_ticks if item is not None else 0


def index(world: World) -> tuple[list[Match], list[ZeroCandidate]]:
    matches, zeros = [], []
    for source, versions, status in world.titles:
        in_resume = source is not None and _pos(source) > 0
        if in_resume:
            if versions and status is None:
                matches.append(Match(source, MatchStatus.MATCHED, tuple(versions), "by imdb"))
            else:
                matches.append(Match(source, status or MatchStatus.UNRESOLVED, (), "nothing"))
            continue  # an unmatched resume source drops its destination rows (index_pair does the same)
        counterpart = source if source is not None else None
        zeros += [ZeroCandidate(v, counterpart) for v in versions if _pos(v) > 0]
    return matches, zeros


def _plan(world: World, rows) -> Plan:
    side = SideInfo("d", "D", "10.11.11", "alice", "u" * 32, "s" * 32, True)
    return Plan("p", side, side, world.settings, effective_max_percent(world.settings, world.rules) or 0,
                world.rules, tuple(rows))


def real_writes(world: World, rows) -> list[tuple]:
    """(task, live user data) for every write apply would send: select_tasks, then the live re-check."""
    plan = _plan(world, rows)
    run = ApplyRun(plan, client=None, journal=None, tasks=select_tasks(plan))  # type: ignore[arg-type]
    items = {v.id: v for _, versions, _ in world.titles for v in versions}
    out = []
    for t in run.tasks:
        live = items[t.item_id]
        if rules.live_verdict(action=t.action, target=t.target, expected=t.expected, now=live, sessions=[],
                              user_id=run.user_id, item_id=t.item_id, tolerance_s=run.tolerance) is None:
            out.append((t, live.user_data or UserData()))
    return out


def simulate(world: World, writes) -> World:
    """The destination after the writes: upsert -> source position and last-played (replay unplays); clear -> 0."""
    new_ud: dict[str, UserData] = {}
    for t, before in writes:
        if t.action is Action.CLEAR:
            new_ud[t.item_id] = replace(before, position_ticks=0)
        else:
            last = t.source_last_played or before.last_played
            new_ud[t.item_id] = UserData(t.target_ticks, False if before.played else before.played,
                                         before.play_count, last)
    titles = [(s, [replace(v, user_data=new_ud.get(v.id, v.user_data)) for v in versions], status)
              for s, versions, status in world.titles]
    return replace(world, titles=titles)


def plan_of(world: World):
    matches, zeros = index(world)
    return plan_rows(matches, zeros, world.settings, world.rules)


def _percent(position_ticks: int, runtime_ticks: int | None) -> float | None:
    return position_ticks * 100 / runtime_ticks if runtime_ticks and runtime_ticks > 0 else None


# --- properties --------------------------------------------------------------------------------------

common = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(worlds)
def test_clears_only_on_an_explicit_zero_and_never_against_a_newer_destination(world):
    rows = plan_of(world)
    sources = {s.id: s for s, _, _ in world.titles if s is not None}
    for t, live in real_writes(world, rows):
        if t.action is not Action.CLEAR:
            continue
        source = sources.get(t.row.source_item_id or "")
        assert source is not None, "cleared with no source item"
        ud = source.user_data
        assert ud is not None and ud.position_ticks == 0 and (ud.played or ud.last_played is not None)
        assert world.settings.remove
        if live.last_played and ud.last_played:
            assert (live.last_played - ud.last_played).total_seconds() <= world.settings.timestamp_tolerance_seconds
        assert not (live.last_played and ud.last_played is None), "cleared a played destination on no evidence"


@common
@given(worlds)
def test_upserts_stay_under_the_cap_and_over_min_seconds(world):
    rows = plan_of(world)
    cap = effective_max_percent(world.settings, world.rules if world.settings.respect_server_resume_rules else None)
    for row in rows:
        if row.action is not Action.UPSERT:
            continue
        assert world.settings.add
        assert row.source.position_ticks >= world.settings.min_seconds * TICKS_PER_SECOND
        percent = _percent(row.source.position_ticks, row.runtime_ticks)
        if cap is not None and percent is not None:
            assert percent < cap


@common
@given(worlds)
def test_no_backwards_write_without_a_newer_source_play(world):
    """Every write that lowers a live position has a source last-played later than the item's by > tolerance."""
    rows = plan_of(world)
    tol = world.settings.timestamp_tolerance_seconds
    for t, live in real_writes(world, rows):
        if t.action is Action.CLEAR or t.target_ticks >= live.position_ticks:
            continue
        s_at, d_at = t.source_last_played, live.last_played
        assert s_at is not None and d_at is not None, f"moved back with a missing timestamp: {t.row.rule}"
        assert (s_at - d_at).total_seconds() > tol, t.row.rule


@common
@given(worlds)
def test_planning_again_after_the_writes_plans_nothing(world):
    rows = plan_of(world)
    after = simulate(world, real_writes(world, rows))
    again = [row for row in plan_of(after) if row.action is not Action.SKIP]
    assert again == []


@common
@given(worlds)
def test_every_matched_or_destination_row_is_planned_once(world):
    """Nothing is silently dropped: one row per resume source, one per destination-only title."""
    matches, zeros = index(world)
    rows = plan_rows(matches, zeros, world.settings, world.rules)
    keys = [row.key for row in rows]
    assert len(keys) == len(set(keys))
    assert {m.source.id for m in matches} <= set(keys)
    assert all(row.rule for row in rows)
