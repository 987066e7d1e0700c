"""The words a row's cells use for each action and reason (plain data in, text out)."""

from __future__ import annotations

from cwtui.core.models import TO_SOURCE, Action, ItemKind, PlanRow, Reason
from cwtui.ui.widgets.plan_format import SHORT_REASONS, cells_for, verdict


def row(action: Action, reason: Reason, **kw) -> PlanRow:
    return PlanRow("k", ItemKind.MOVIE, "T", action, reason, "rule", destination_item_ids=("d",), **kw)


def test_every_writing_action_says_what_it_does_when_ticked_and_off_when_not():
    words = {a: verdict(row(a, Reason.CHANGED_ON_SOURCE), True)[0] for a in
             (Action.UPSERT, Action.CLEAR, Action.FINISH, Action.MARK_PLAYED, Action.MARK_UNPLAYED)}
    assert words == {Action.UPSERT: "→ write", Action.CLEAR: "✗ clear", Action.FINISH: "✓ finish",
                     Action.MARK_PLAYED: "✓ played", Action.MARK_UNPLAYED: "○ unplayed"}
    assert verdict(row(Action.FINISH, Reason.FINISHED_ON_SOURCE), False)[0] == "- off"


def test_every_plan_reason_has_a_short_form_that_fits_the_narrow_column():
    live = {Reason.ACTIVE_SESSION, Reason.SESSION_CHECK_FAILED, Reason.TARGET_NEWER, Reason.PROGRESS_UNCHANGED,
            Reason.VERIFY_MISMATCH, Reason.WRITE_FAILED, Reason.READ_FAILED, Reason.CANCELLED, Reason.WRITTEN,
            Reason.RESTORED, Reason.CHANGED_SINCE_RUN, Reason.UNRESOLVED, Reason.AMBIGUOUS, Reason.FORCED}
    assert set(Reason) - live - set(SHORT_REASONS) == set()
    assert max(len(text) for text in SHORT_REASONS.values()) <= 12


def test_a_chosen_conflict_shows_the_winner_and_its_way():
    conflict = row(Action.SKIP, Reason.CONFLICT, two_way=True)
    action, way = cells_for(conflict, True, ("action", "way"), prefer="destination")
    assert (action.plain, way.plain) == ("! destination wins", "← source")
    assert cells_for(row(Action.UPSERT, Reason.CHANGED_ON_DESTINATION, two_way=True, direction=TO_SOURCE), True,
                     ("way",))[0].plain == "← source"
