"""What a re-plan changed, and which of the user's choices carry over to the new plan (pure: no widgets)."""

from __future__ import annotations

from dataclasses import dataclass

from cwtui.core.models import Plan, PlanRow
from cwtui.ui.widgets.plan_format import force_blocker


@dataclass(frozen=True)
class Carried:
    ticked: set[str]
    """The ticks for the new plan: kept choices for rows that still exist, the plan's default for new rows."""
    message: str
    """What changed, in words, for the status line."""


def carry_over(old: Plan, old_ticked: set[str], new: Plan) -> Carried:
    """Keep the ticks (and forced rows) of rows that are still there; say what changed."""
    before: dict[str, PlanRow] = {r.key: r for r in old.rows}
    ticked: set[str] = set()
    new_rows = changed = dropped_force = 0
    for row in new.rows:
        was = before.get(row.key)
        if was is None:
            new_rows += 1
            if row.writes:
                ticked.add(row.key)
            continue
        if (was.action, was.reason) != (row.action, row.reason):
            changed += 1
        if row.key not in old_ticked:
            continue
        if row.writes or force_blocker(row, new) is None:
            ticked.add(row.key)
        else:
            dropped_force += 1
    gone = len(before.keys() - {r.key for r in new.rows})
    parts = [f"{n} {what}" for n, what in ((changed, "changed"), (new_rows, "new"), (gone, "gone")) if n]
    message = "Re-planned: " + (", ".join(parts) if parts else "nothing changed")
    message += "; ticks, filter, search and cursor kept"
    if dropped_force:
        message += f"; {dropped_force} forced row{'s' if dropped_force > 1 else ''} can no longer be forced (unticked)"
    return Carried(ticked, message + ".")
