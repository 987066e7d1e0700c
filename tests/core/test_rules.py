"""rules.py at its boundaries: the live re-check, the comparisons it rests on, and what counts as "may have landed"."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cwtui.core import rules
from cwtui.core.match import Match, MatchStatus
from cwtui.core.models import Action, Item, ItemKind, ProgressSettings, Reason, Session, Status, Target, UserData
from cwtui.core.planner import ZeroCandidate, plan_rows

from .factories import at, movie, ticks, ud

USER = "u" * 32


def item(state: UserData | None, item_id: str = "i" * 32) -> Item:
    return Item(id=item_id, kind=ItemKind.MOVIE, name="M", user_data=state)


def verdict(now: Item | None, *, action=Action.UPSERT, target=None, expected=None, sessions=(), force=False,
            tolerance=30):
    return rules.live_verdict(action=action, target=target or Target(ticks(600), last_played=at(100)),
                              expected=(ud(0, last=None),) if expected is None else expected, now=now,
                              sessions=None if sessions is None else list(sessions), user_id=USER,
                              item_id="i" * 32, tolerance_s=tolerance, force=force)


# --- the live re-check, in its documented order ----------------------------------------------------------


def test_unreadable_sessions_skip_everything_first():
    v = verdict(None, sessions=None)
    assert (v.status, v.reason) == (Status.SKIPPED, Reason.SESSION_CHECK_FAILED)


def test_playing_is_matched_by_the_item_shown_or_the_version_played():
    shown = Session("s", USER, now_playing_item_id="i" * 32)
    version = Session("s", USER, now_playing_item_id="p" * 32, media_source_id="i" * 32)  # 12.0 alternate
    other_user = Session("s", "o" * 32, now_playing_item_id="i" * 32)
    guest = Session("s", "o" * 32, now_playing_item_id="i" * 32, additional_user_ids=(USER,))
    for session in (shown, version, guest):
        assert verdict(item(ud(0, last=None)), sessions=[session]).reason is Reason.ACTIVE_SESSION
    assert verdict(item(ud(0, last=None)), sessions=[other_user]) is None


def test_gone_and_unknown_are_not_written():
    assert verdict(None).reason is Reason.UNRESOLVED
    v = verdict(item(None))
    assert (v.status, v.reason) == (Status.SKIPPED, Reason.READ_FAILED) and "unknown" in v.detail


@pytest.mark.parametrize("live_s, same", [(600, True), (601, True), (599, True), (601.0001, False), (598.9, False)])
def test_already_there_within_one_second_inclusive(live_s, same):
    v = verdict(item(ud(live_s, last=100)), expected=(ud(live_s, last=100),))
    assert (v is not None and v.reason is Reason.PROGRESS_UNCHANGED) is same


def test_a_replay_is_not_already_there_while_still_marked_played():
    target = Target(ticks(600), played=False, last_played=at(100))
    now = item(ud(600, played=True, last=100))
    assert verdict(now, target=target, expected=(ud(600, played=True, last=100),)) is None


def test_changed_since_the_plan_means_changed_against_the_plans_own_reading():
    read = ud(300, last=0)
    assert verdict(item(ud(300, last=0)), expected=(read,)) is None
    moved = verdict(item(ud(420, last=0)), expected=(read,))
    assert moved.reason is Reason.TARGET_NEWER and "since the plan" in moved.detail
    assert verdict(item(ud(300, last=31)), expected=(read,)).reason is Reason.TARGET_NEWER
    assert verdict(item(ud(300, last=30)), expected=(read,)) is None  # within the tolerance
    assert verdict(item(ud(300, played=True, last=0)), expected=(read,)).reason is Reason.TARGET_NEWER


def test_a_forced_apply_still_refuses_a_destination_changed_since_the_plan():
    # Force overrides the plan's rules, never a change nobody has seen: the reason stays true.
    v = verdict(item(ud(420, last=0)), expected=(ud(300, last=0),), force=False)
    assert v.reason is Reason.TARGET_NEWER


def test_a_newer_destination_that_has_not_changed_since_the_plan_is_written_when_forced():
    # The plan saw the destination played later (rule 8); the user forced the row; nothing moved since.
    read = ud(300, last=5000)
    assert verdict(item(read), expected=(read,)) is None


def test_restore_compares_exactly_and_accepts_any_state_the_run_left():
    prior = ud(100, played=False, count=2, last=0)
    target = Target.restoring(prior)
    left = (ud(600, count=2, last=100), UserData())
    done = verdict(item(prior), action=Action.RESTORE, target=target, expected=left)
    assert done.reason is Reason.PROGRESS_UNCHANGED
    assert verdict(item(ud(600, count=2, last=100)), action=Action.RESTORE, target=target, expected=left) is None
    assert verdict(item(UserData()), action=Action.RESTORE, target=target, expected=left) is None
    changed = verdict(item(ud(900, count=3, last=900)), action=Action.RESTORE, target=target, expected=left)
    assert changed.reason is Reason.CHANGED_SINCE_RUN
    assert verdict(item(ud(900, count=3, last=900)), action=Action.RESTORE, target=target, expected=left,
                   force=True) is None


# --- the pieces ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, landed", [(None, True), (200, True), (500, True), (502, True), (504, True),
                                            (400, False), (401, False), (403, False), (404, False)])
def test_only_a_4xx_proves_a_write_was_refused(status, landed):
    assert rules.may_have_landed(status) is landed


def test_verified_is_exact_to_the_millisecond_and_a_restore_checks_every_field():
    target = Target(ticks(600), last_played=at(100))
    assert rules.verified(ud(600, last=100), target, Action.UPSERT)
    assert not rules.verified(ud(600.001, last=100), target, Action.UPSERT)
    assert not rules.verified(ud(600, last=200), target, Action.UPSERT)
    prior = ud(100, count=2, last=None)
    assert rules.verified(prior, Target.restoring(prior), Action.RESTORE)
    assert not rules.verified(replace(prior, play_count=3), Target.restoring(prior), Action.RESTORE)
    assert not rules.verified(replace(prior, last_played=at(1)), Target.restoring(prior), Action.RESTORE)


def test_restoring_takes_the_unplayed_route_only_to_clear_a_last_played_time():
    assert Target.restoring(ud(0, last=None), ud(600, last=100)).unplay_first
    assert not Target.restoring(ud(0, last=None), ud(0, last=None)).unplay_first
    assert not Target.restoring(ud(100, last=5), ud(600, last=100)).unplay_first


def test_source_copies_prefer_the_newest_play_then_the_furthest_position():
    old_far, new_near = movie(5000, last=0), movie(100, last=10)
    assert sorted([old_far, new_near], key=rules.copy_preference)[0] is new_near
    same_a, same_b = movie(100, last=10), movie(200, last=10)
    assert sorted([same_a, same_b], key=rules.copy_preference)[0] is same_b
    never_a, never_b = movie(100, last=None), movie(300, last=None)
    assert sorted([never_a, never_b], key=rules.copy_preference)[0] is never_b


def test_a_12_0_item_with_versions_is_never_an_explicit_zero():
    played_at_zero = movie(0, played=True, last=10)
    assert rules.explicit_zero(played_at_zero)
    assert not rules.explicit_zero(replace(played_at_zero, version_ids=("a" * 32, "b" * 32)))


# --- two-way: the three-way merge ------------------------------------------------------------------------

def _agreed(s_pos, d_pos=None, played=False):
    from cwtui.core.models import Agreed
    return Agreed(ud(s_pos, played=played), ud(s_pos if d_pos is None else d_pos, played=played))


@pytest.mark.parametrize("s, d, agreed, want", [
    (ud(600, last=10), ud(600.5, last=99), None, (None, "in_sync")),          # agree: no base needed
    (ud(600, last=10), ud(900, last=99), None, (None, "no_base")),
    (ud(600, last=10), ud(900, last=99), _agreed(600, 900), (None, "unchanged")),
    (ud(1200, last=500), ud(600, last=10), _agreed(600), ("to_destination", "changed_on_source")),
    (ud(600, last=10), ud(1200, last=500), _agreed(600), ("to_source", "changed_on_destination")),
    (ud(600, played=True, last=500), ud(600, last=10), _agreed(600), ("to_destination", "changed_on_source")),
    (ud(1200, last=531), ud(900, last=500), _agreed(600), ("to_destination", "newer_on_source")),
    (ud(1200, last=500), ud(900, last=531), _agreed(600), ("to_source", "newer_on_destination")),
    (ud(1200, last=530), ud(900, last=500), _agreed(600), (None, "conflict")),          # exactly the tolerance
    (ud(1200, last=None), ud(900, last=500), _agreed(600), (None, "conflict")),         # a time is missing
])
def test_three_way(s, d, agreed, want):
    direction, reason, rule = rules.three_way(s, d, agreed, 30)
    assert (direction, reason.value) == want
    assert rule.startswith("two-way")


# --- issue 13: finish (rule 11) and played (rule 13) --------------------------------------------------------

def zero_row(src, dst, **settings):
    rows = plan_rows([], [ZeroCandidate(dst, src)], ProgressSettings(**settings), None)
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("source_last, finishes", [(131, True), (130.001, True), (130, False), (100, False)])
def test_finish_needs_the_source_played_later_by_more_than_the_tolerance(source_last, finishes):
    # destination last played at 100 s, tolerance 30 s: "later by more than" means strictly more than 30 s
    row = zero_row(movie(0, played=True, count=2, last=source_last), movie(600, last=100), finish=True, remove=True)
    expected = (Action.FINISH, Reason.FINISHED_ON_SOURCE) if finishes else (Action.CLEAR, Reason.EXPLICIT_ZERO)
    assert (row.action, row.reason) == expected


def test_finish_when_the_destination_never_played_it_and_not_without_a_source_time():
    row = zero_row(movie(0, played=True, last=5), movie(600, last=None), finish=True)
    assert (row.action, row.reason) == (Action.FINISH, Reason.FINISHED_ON_SOURCE)
    # played on the source but no last-played time: today's explicit-zero rule (a clear, here switched off)
    row = zero_row(movie(0, played=True, last=None), movie(600, last=None), finish=True)
    assert (row.action, row.reason) == (Action.SKIP, Reason.REMOVE_DISABLED)
    # not marked played, only a last-played time: an explicit zero, never a finish
    row = zero_row(movie(0, played=False, last=500), movie(600, last=0), finish=True, remove=True)
    assert (row.action, row.reason) == (Action.CLEAR, Reason.EXPLICIT_ZERO)


@pytest.mark.parametrize("finish, remove, expected", [
    (True, True, (Action.FINISH, Reason.FINISHED_ON_SOURCE)),
    (True, False, (Action.FINISH, Reason.FINISHED_ON_SOURCE)),
    (False, True, (Action.CLEAR, Reason.EXPLICIT_ZERO)),
    (False, False, (Action.SKIP, Reason.FINISH_DISABLED)),
])
def test_finish_and_clear_precedence(finish, remove, expected):
    row = zero_row(movie(0, played=True, last=500), movie(600, last=0), finish=finish, remove=remove)
    assert (row.action, row.reason) == expected
    assert [(v.action, v.reason) for v in row.versions] == [expected]
    if expected[1] is Reason.FINISH_DISABLED:
        assert row.rule.startswith("rule 12: finish is off (would finish: rule 11: the source finished it")


def test_finish_keeps_alternate_versions_and_a_near_zero_destination_as_for_clears():
    src = movie(0, played=True, last=500)
    alt = replace(movie(600, last=0), version_ids=("a" * 32, "b" * 32))
    assert zero_row(src, alt, finish=True).reason is Reason.ALTERNATE_VERSIONS
    assert zero_row(src, movie(0.5, last=0), finish=True).reason is Reason.IN_SYNC


def test_finish_on_one_version_does_not_let_a_switched_off_clear_through():
    # two destination versions: one finished later than it was played there, one within the tolerance (a clear)
    src = movie(0, played=True, last=500)
    rows = plan_rows([], [ZeroCandidate(movie(600, last=0), src), ZeroCandidate(movie(700, last=480), src)],
                     ProgressSettings(finish=True, remove=False), None)
    assert [(v.action, v.reason) for v in rows[0].versions] == [(Action.FINISH, Reason.FINISHED_ON_SOURCE),
                                                               (Action.SKIP, Reason.REMOVE_DISABLED)]
    assert rows[0].action is Action.FINISH


def test_a_rewatch_goes_by_the_position_rules_not_finish():
    # played on the source AND at a position: a resume item, decided by rules 6-10 whatever its Played flag
    rows = plan_rows([Match(movie(1800, played=True, last=500), MatchStatus.MATCHED, (movie(600, last=0),), "t")],
                     [], ProgressSettings(finish=True), None)
    assert (rows[0].action, rows[0].reason) == (Action.UPSERT, Reason.SOURCE_AHEAD)


def played_rows(src, dsts, status=MatchStatus.MATCHED, on_destination=frozenset(), **settings):
    return plan_rows([], [], ProgressSettings(**{"played": True, **settings}), None,
                     played=[Match(src, status, tuple(dsts), "t")], played_on_destination=on_destination)


def test_played_marks_an_item_neither_played_nor_started_on_the_destination():
    [row] = played_rows(movie(0, played=True, count=3, last=500), [movie(0, last=None)])
    assert (row.action, row.reason) == (Action.MARK_PLAYED, Reason.PLAYED_ON_SOURCE)
    assert "play count 3" in row.rule


def test_played_skips_what_the_destination_played_or_has_in_progress():
    [row] = played_rows(movie(0, played=True, last=500), [movie(0, played=True, count=1, last=0)])
    assert (row.action, row.reason) == (Action.SKIP, Reason.ALREADY_WATCHED)
    listed = movie(0, last=None)  # its DTO says unplayed, the destination's played list (stored rows) says played
    [row] = played_rows(movie(0, played=True, last=500), [listed], on_destination=frozenset({listed.id}))
    assert row.reason is Reason.ALREADY_WATCHED
    assert played_rows(movie(0, played=True, last=500), [movie(600, last=0)]) == []  # rules 6-11 decide it
    [row] = played_rows(movie(0, played=True, last=500), [], status=MatchStatus.UNRESOLVED)
    assert row.reason is Reason.UNRESOLVED


def test_played_off_plans_no_played_rows():
    assert played_rows(movie(0, played=True, last=500), [movie(0, last=None)], played=False) == []


def test_played_leaves_an_item_to_the_row_that_already_decides_it_and_takes_one_source_copy():
    src = movie(0, played=True, last=500)
    dst = movie(600, last=0)
    rows = plan_rows([], [ZeroCandidate(dst, src)], ProgressSettings(played=True, finish=True), None,
                     played=[Match(src, MatchStatus.MATCHED, (dst,), "t")])
    assert [r.action for r in rows] == [Action.FINISH]  # one row, one write
    target = movie(0, last=None)
    old, new = movie(0, played=True, last=100), movie(0, played=True, last=900)
    rows = plan_rows([], [], ProgressSettings(played=True), None,
                     played=[Match(old, MatchStatus.MATCHED, (target,), "t"),
                             Match(new, MatchStatus.MATCHED, (target,), "t")])
    assert {r.source_item_id: r.reason for r in rows} == {old.id: Reason.SUPERSEDED_BY_COPY,
                                                         new.id: Reason.PLAYED_ON_SOURCE}


def test_verified_checks_the_played_flag_and_play_count_a_finish_sends():
    target = Target(0, played=True, play_count=2, last_played=at(500))
    assert rules.verified(ud(0, played=True, count=2, last=500), target, Action.FINISH)
    assert not rules.verified(ud(0, played=True, count=3, last=500), target, Action.FINISH)
    assert not rules.verified(ud(0, played=False, count=2, last=500), target, Action.FINISH)
    assert not rules.verified(ud(0, played=True, count=2, last=None), target, Action.FINISH)


def test_a_finish_is_skipped_live_when_playing_or_changed_since_the_plan():
    target = Target(0, played=True, play_count=1, last_played=at(500))
    read = ud(600, last=0)
    playing = verdict(item(read), action=Action.FINISH, target=target, expected=(read,),
                      sessions=[Session("s", USER, now_playing_item_id="i" * 32)])
    assert playing.reason is Reason.ACTIVE_SESSION
    marked = verdict(item(ud(600, played=True, count=1, last=0)), action=Action.FINISH, target=target,
                     expected=(read,))
    assert marked.reason is Reason.TARGET_NEWER and "marked played" in marked.detail
    done = verdict(item(ud(0, played=True, count=1, last=500)), action=Action.FINISH, target=target, expected=(read,))
    assert done.reason is Reason.PROGRESS_UNCHANGED
    assert verdict(item(read), action=Action.FINISH, target=target, expected=(read,)) is None


def test_finish_writes_a_row_shared_by_two_copies_once_on_10_10():
    src = movie(0, played=True, last=500)
    a, b = (replace(d, user_data=replace(d.user_data, key="tt1")) for d in (movie(600, last=0), movie(600, last=0)))
    rows = plan_rows([], [ZeroCandidate(a, src), ZeroCandidate(b, src)], ProgressSettings(finish=True), None,
                     shared_rows=True)
    assert [(v.action, v.reason) for v in rows[0].versions] == [(Action.FINISH, Reason.FINISHED_ON_SOURCE),
                                                               (Action.SKIP, Reason.SHARED_ROW)]
