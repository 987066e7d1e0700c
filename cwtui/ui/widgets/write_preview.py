"""WritePreview: every write a run will make, listed before it starts (item, version, before -> after, where)."""

from __future__ import annotations

from rich.text import Text

from cwtui.core.engine import Step
from cwtui.core.models import Action, format_ms
from cwtui.core.text import safe_text
from cwtui.ui.widgets.key_table import KeyTable
from cwtui.ui.widgets.plan_format import user_label


def preview_change(task: Step) -> str:
    """Before -> after, the before as the plan read this very item (the live check compares against it)."""
    before = format_ms(task.expected[0].position_ms) if task.expected else "?"
    after = "0:00" if task.action is Action.CLEAR else format_ms(task.target_ticks // 10_000)
    return f"{before} → {after}"


class WritePreview(KeyTable):
    """One line per destination item the run will write, in the order the run writes them."""

    COLUMNS = (("Write", "write", 5), ("Before → after", "change", 17), ("Version", "version", 12),
               ("To", "to", 8), ("Title", "title", None))
    """The title goes last and takes the width that is left, so 80 columns show every other column whole."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")

    def on_mount(self) -> None:
        fixed = sum(width or 0 for _, _, width in self.COLUMNS)
        # two cells of padding per column, the row cursor's margin and a vertical scrollbar
        title = max(16, (self.size.width or self.app.size.width) - fixed - 2 * len(self.COLUMNS) - 3)
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width or title)

    def show(self, tasks: list[Step], destination: str) -> None:
        self.clear()
        for task in tasks:
            word = "clear" if task.action is Action.CLEAR else ("force" if task.forced else "set")
            ids = task.row.destination_item_ids if task.row is not None else (task.item_id,)
            index = ids.index(task.item_id) + 1 if task.item_id in ids else 1
            version = task.item_id[:8] + (f" {index}/{len(ids)}" if len(ids) > 1 else "")
            who = user_label(task.source_user, task.destination_user)
            title = f"{who} · {safe_text(task.title)}" if who else safe_text(task.title)
            self.add_row(Text(word), Text(preview_change(task)), Text(version), Text(destination), Text(title),
                         key=str(task.seq))
