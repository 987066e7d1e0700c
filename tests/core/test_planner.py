"""Every planner rule and reason, with its boundaries."""

from __future__ import annotations

import pytest

from cwtui.core.match import Match, MatchStatus
from cwtui.core.models import Action, ProgressSettings, Reason, ResumeRules
from cwtui.core.planner import ZeroCandidate, effective_max_percent, plan_rows

from .factories import HOUR, episode, movie

DEFAULTS = ProgressSettings()
RULES = ResumeRules(min_resume_pct=5, max_resume_pct=90, min_resume_duration_seconds=300)


def decide(src, dst=None, *, settings=DEFAULTS, rules=RULES, status=None):
    """Plan one source item against zero, one or several destination items."""
    dests = () if dst is None else (tuple(dst) if isinstance(dst, list) else (dst,))
    status = status or (MatchStatus.MATCHED if dests else MatchStatus.UNRESOLVED)
    rows = plan_rows([Match(src, status, dests, "test")], [], settings, rules)
    assert len(rows) == 1
    return rows[0]


def zero(src, dst, *, settings=ProgressSettings(remove=True)):
    rows = plan_rows([], [ZeroCandidate(dst, src)], settings, RULES)
    assert len(rows) == 1
    return rows[0]


# rule 1 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pos, reason", [(59.999, Reason.BELOW_MIN_SECONDS), (60, Reason.DESTINATION_MISSING)])
def test_rule1_min_seconds_boundary(pos, reason):
    assert decide(movie(pos, runtime_s=600), movie(0)).reason is reason


def test_rule1_zero_turns_the_check_off():
    row = decide(movie(2), movie(0), settings=ProgressSettings(min_seconds=0), rules=None)
    assert (row.action, row.reason) == (Action.UPSERT, Reason.DESTINATION_MISSING)


# rule 2 ---------------------------------------------------------------------------------------------
def test_rule2_short_item_boundary():
    assert decide(movie(120, runtime_s=299), movie(0)).reason is Reason.SHORT_ITEM
    assert decide(movie(120, runtime_s=300), movie(0)).reason is Reason.DESTINATION_MISSING


def test_rule2_below_min_percent_boundary():
    # 5% of 2 h is 360 s exactly: not below
    assert decide(movie(359, runtime_s=2 * HOUR), movie(0)).reason is Reason.BELOW_MIN_PERCENT
    assert decide(movie(360, runtime_s=2 * HOUR), movie(0)).reason is Reason.DESTINATION_MISSING


def test_rule2_off_when_server_rules_are_not_respected():
    settings = ProgressSettings(respect_server_resume_rules=False)
    assert decide(movie(120, runtime_s=200), movie(0), settings=settings).reason is Reason.DESTINATION_MISSING


# rule 3 ---------------------------------------------------------------------------------------------
def test_rule3_effective_max_is_the_lower_of_ours_and_the_servers():
    assert effective_max_percent(DEFAULTS, RULES) == 90
    assert effective_max_percent(ProgressSettings(max_percent=80), RULES) == 80
    assert effective_max_percent(ProgressSettings(respect_server_resume_rules=False), RULES) == 95
    assert effective_max_percent(ProgressSettings(max_percent=0), RULES) == 90
    assert effective_max_percent(ProgressSettings(max_percent=0, respect_server_resume_rules=False), RULES) is None


def test_rule3_exactly_at_the_percent_is_near_complete():
    runtime = 1000
    assert decide(movie(900, runtime_s=runtime), movie(0)).reason is Reason.NEAR_COMPLETE  # 90% = server cap
    assert decide(movie(899, runtime_s=runtime), movie(0)).reason is Reason.DESTINATION_MISSING


def test_rule3_our_cap_without_server_rules():
    settings = ProgressSettings(respect_server_resume_rules=False)
    assert decide(movie(950, runtime_s=1000), movie(0), settings=settings).reason is Reason.NEAR_COMPLETE
    assert decide(movie(949, runtime_s=1000), movie(0), settings=settings).reason is Reason.DESTINATION_MISSING


def test_rule3_max_percent_zero_leaves_only_the_servers_cap():
    settings = ProgressSettings(max_percent=0)
    assert decide(movie(920, runtime_s=1000), movie(0), settings=settings).reason is Reason.NEAR_COMPLETE
    settings = ProgressSettings(max_percent=0, respect_server_resume_rules=False)
    assert decide(movie(990, runtime_s=1000), movie(0), settings=settings).reason is Reason.DESTINATION_MISSING


def test_unknown_runtime_means_unknown_percent():
    row = decide(movie(5000, runtime_s=None), movie(0, runtime_s=None))
    assert row.reason is Reason.DESTINATION_MISSING


def test_percent_uses_the_destination_runtime_when_the_source_has_none():
    assert decide(movie(950, runtime_s=None), movie(0, runtime_s=1000)).reason is Reason.NEAR_COMPLETE


# rule 4 ---------------------------------------------------------------------------------------------
def test_rule4_unresolved_and_ambiguous():
    assert decide(movie(600)).reason is Reason.UNRESOLVED
    row = decide(movie(600), status=MatchStatus.AMBIGUOUS)
    assert (row.action, row.reason) == (Action.SKIP, Reason.AMBIGUOUS)


def test_near_complete_wins_over_unresolved():
    assert decide(movie(6900)).reason is Reason.NEAR_COMPLETE


# rule 5 ---------------------------------------------------------------------------------------------
def test_rule5_already_watched_unless_replay():
    assert decide(movie(600), movie(0, played=True)).reason is Reason.ALREADY_WATCHED
    row = decide(movie(600), movie(0, played=True), settings=ProgressSettings(replay_watched=True))
    assert (row.action, row.reason) == (Action.UPSERT, Reason.DESTINATION_MISSING)


# rule 6 / 7 -----------------------------------------------------------------------------------------
def test_a_destination_read_without_user_data_is_unknown_not_empty():
    # Issue 8: a read that lacks UserData is unknown, not empty: planning a write on it could overwrite real state.
    row = decide(movie(600), movie(None))
    assert (row.action, row.reason) == (Action.SKIP, Reason.READ_FAILED)


def test_rule7_in_sync_compares_whole_milliseconds():
    assert decide(movie(600.0001), movie(600.0009)).reason is Reason.IN_SYNC


def test_rule7_delta_boundary_exact():
    # |s - d| == 30 s exactly is NOT within delta (delta_seconds is "write when delta >= delta_seconds")
    assert decide(movie(630, last=10), movie(600, last=0)).reason is Reason.SOURCE_AHEAD
    assert decide(movie(629.999, last=10), movie(600, last=0)).reason is Reason.WITHIN_DELTA


def test_rule7_delta_zero_turns_the_check_off():
    row = decide(movie(602, last=10), movie(600, last=0), settings=ProgressSettings(delta_seconds=0))
    assert row.reason is Reason.SOURCE_AHEAD


def test_within_one_second_inclusive_is_in_sync_like_apply_sees_it():
    settings = ProgressSettings(delta_seconds=0)
    assert decide(movie(601, last=10), movie(600, last=0), settings=settings).reason is Reason.IN_SYNC
    assert decide(movie(601.001, last=10), movie(600, last=0), settings=settings).reason is Reason.SOURCE_AHEAD
    # with the default delta the spec's reason stands
    assert decide(movie(600.5, last=10), movie(600, last=0)).reason is Reason.WITHIN_DELTA


# rule 8 ---------------------------------------------------------------------------------------------
def test_rule8_destination_newer_beyond_tolerance_even_when_source_is_ahead():
    assert decide(movie(1200, last=0), movie(600, last=31)).reason is Reason.DESTINATION_NEWER
    assert decide(movie(1200, last=0), movie(600, last=30)).reason is Reason.SOURCE_AHEAD  # exactly at tolerance


def test_rule8_tolerance_zero():
    settings = ProgressSettings(timestamp_tolerance_seconds=0)
    assert decide(movie(1200, last=0), movie(600, last=1), settings=settings).reason is Reason.DESTINATION_NEWER
    assert decide(movie(1200, last=0), movie(600, last=0), settings=settings).reason is Reason.SOURCE_AHEAD


def test_rule8_missing_time_falls_through():
    assert decide(movie(1200, last=None), movie(600, last=500)).reason is Reason.SOURCE_AHEAD


# rule 9 / 10 ----------------------------------------------------------------------------------------
def test_rule9_source_ahead_is_an_upsert():
    row = decide(movie(1200, last=100), movie(600, last=0))
    assert (row.action, row.reason) == (Action.UPSERT, Reason.SOURCE_AHEAD)


def test_rule10_backwards_only_with_a_newer_source():
    assert decide(movie(600, last=31), movie(1200, last=0)).reason is Reason.SOURCE_NEWER
    assert decide(movie(600, last=30), movie(1200, last=0)).reason is Reason.DESTINATION_NEWER
    assert decide(movie(600, last=0), movie(1200, last=0)).reason is Reason.DESTINATION_NEWER  # equal times
    assert decide(movie(600, last=None), movie(1200, last=0)).reason is Reason.NO_TIMESTAMPS
    assert decide(movie(600, last=100), movie(1200, last=None)).reason is Reason.NO_TIMESTAMPS


# versions -------------------------------------------------------------------------------------------
def test_versions_the_row_writes_when_any_version_needs_it():
    a, b = movie(600, last=0), movie(0)
    row = decide(movie(600, last=10), [a, b])
    assert (row.action, row.reason) == (Action.UPSERT, Reason.DESTINATION_MISSING)
    assert row.destination_item_ids == (a.id, b.id)


def test_versions_all_in_sync_skip():
    row = decide(movie(600), [movie(600), movie(600)])
    assert (row.action, row.reason) == (Action.SKIP, Reason.IN_SYNC)


# episodes and season 0 ------------------------------------------------------------------------------
def test_season_zero_episode_plans_like_any_other():
    row = decide(episode("Show", 0, 1, 600), episode("Show", 0, 1, 0))
    assert (row.action, row.season, row.episode) == (Action.UPSERT, 0, 1)
    assert "S00E01" in row.title


# rule 11 --------------------------------------------------------------------------------------------
def test_rule11_explicit_zero_clears():
    row = zero(movie(0, played=True, last=100), movie(600, last=0))
    assert (row.action, row.reason) == (Action.CLEAR, Reason.EXPLICIT_ZERO)


def test_rule11_last_played_alone_counts_as_played():
    assert zero(movie(0, last=100), movie(600, last=0)).reason is Reason.EXPLICIT_ZERO


def test_rule11_never_clears_from_absence():
    assert zero(None, movie(600)).reason is Reason.ABSENT_ON_SOURCE
    assert zero(movie(0, last=None), movie(600)).reason is Reason.ABSENT_ON_SOURCE  # never played
    assert zero(movie(None), movie(600)).reason is Reason.ABSENT_ON_SOURCE
    assert zero(movie(0, last=None), movie(600)).action is Action.SKIP


def test_rule11_destination_newer_and_no_timestamps():
    assert zero(movie(0, played=True, last=0), movie(600, last=31)).reason is Reason.DESTINATION_NEWER
    assert zero(movie(0, played=True, last=0), movie(600, last=30)).reason is Reason.EXPLICIT_ZERO
    assert zero(movie(0, played=True, last=None), movie(600, last=0)).reason is Reason.NO_TIMESTAMPS
    assert zero(movie(0, played=True, last=None), movie(600, last=None)).reason is Reason.EXPLICIT_ZERO


def test_rule11_versions_are_one_row():
    src = movie(0, played=True, last=100)
    rows = plan_rows([], [ZeroCandidate(movie(600, last=0), src), ZeroCandidate(movie(700, last=0), src)],
                     ProgressSettings(remove=True), RULES)
    assert len(rows) == 1 and len(rows[0].destination_item_ids) == 2


# rule 12 --------------------------------------------------------------------------------------------
def test_rule12_add_and_remove_switches():
    row = decide(movie(600), movie(0), settings=ProgressSettings(add=False))
    assert (row.action, row.reason) == (Action.SKIP, Reason.ADD_DISABLED)
    row = zero(movie(0, played=True, last=20), movie(600, last=0), settings=ProgressSettings(remove=False))
    assert (row.action, row.reason) == (Action.SKIP, Reason.REMOVE_DISABLED)  # within the tolerance: a clear
    row = zero(movie(0, played=True, last=100), movie(600, last=0), settings=ProgressSettings(remove=False))
    assert (row.action, row.reason) == (Action.SKIP, Reason.FINISH_DISABLED)  # finished later: `finish` would help


def test_rule12_enable_off_plans_nothing():
    assert plan_rows([Match(movie(600), MatchStatus.MATCHED, (movie(0),))], [],
                     ProgressSettings(enable=False), RULES) == []


def test_every_row_says_which_rule_decided_it():
    row = decide(movie(1200, last=100), movie(600, last=0))
    assert row.rule.startswith("rule 9")


def test_rule11_a_destination_within_one_second_of_zero_is_already_cleared():
    # Found by hypothesis: a clear of a 1 s position is "already there" for the live re-check, so planning it
    # would plan it again after every run.
    source = movie(0, last=100)
    settings = ProgressSettings(remove=True)
    near = movie(1, last=0)
    rows = plan_rows([], [ZeroCandidate(near, source)], settings, None)
    assert (rows[0].action, rows[0].reason) == (Action.SKIP, Reason.IN_SYNC)
    rows = plan_rows([], [ZeroCandidate(movie(1.001, last=0), source)], settings, None)
    assert rows[0].action is Action.CLEAR
