"""ResultLog: the per-item results of an apply or undo run as a table, added in batches as they stream in."""

from __future__ import annotations

from rich.text import Text

from cwtui.core.models import ItemResult, Status, format_ms
from cwtui.core.text import safe_text
from cwtui.ui.widgets.key_table import KeyTable
from cwtui.ui.widgets.plan_format import user_label

STATUS_LOOK = {
    Status.APPLIED: ("✓ applied", "green"),
    Status.SKIPPED: ("· skipped", "dim"),
    Status.UNRESOLVED: ("? unresolved", "red"),
    Status.FAILED: ("✗ FAILED", "bold red"),
    Status.CANCELLED: ("– cancelled", "yellow"),
}


def status_word(status: Status, dry_run: bool) -> str:
    """How a status reads: a dry run's applied items "would write", never "applied"."""
    return "would write" if dry_run and status is Status.APPLIED else status.value


def status_text(result: ItemResult) -> Text:
    word, style = STATUS_LOOK[result.status]
    if result.dry_run and result.status is Status.APPLIED:
        word = "✓ would write"
    return Text(word, style=style, no_wrap=True)


def result_title(result: ItemResult) -> str:
    """The title, after whose it is in a household run ("bob→robert · Charade")."""
    who = user_label(result.source_user, result.destination_user)
    return f"{who} · {safe_text(result.title)}" if who else safe_text(result.title)


class ResultLog(KeyTable):
    """One row per ItemResult (keyed by row key and destination item), in the order they arrive."""

    COLUMNS = (("Status", "status", 13), ("Reason", "reason", 18), ("Before → after", "change", 17),
               ("Title", "title", 24), ("Detail", "detail", None))
    """Status and reason first, so an 80-column terminal always shows them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.results: list[ItemResult] = []

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

    def reset(self) -> None:
        self.results = []
        self.clear()

    def add_results(self, results: list[ItemResult]) -> None:
        """Add a batch (the caller wraps it in batch_update) and keep the newest row in view."""
        for result in results:
            self.results.append(result)
            change = f"{format_ms(result.before_ms)} → {format_ms(result.after_ms)}"
            self.add_row(status_text(result), Text(result.reason.value), Text(change), Text(result_title(result)),
                         Text(safe_text(result.detail), style="dim"), key=f"{len(self.results)}:{result.key}")
        if results:
            self.move_cursor(row=self.row_count - 1, animate=False)
