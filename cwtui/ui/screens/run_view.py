"""RunViewScreen: one journaled run's results (Journal.load), with undo, or an undo started from the runs list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Header, ProgressBar, Static

from cwtui.core.errors import CwtuiError
from cwtui.core.journal import KIND_APPLY, KIND_DRY_RUN, RunRecord
from cwtui.core.models import Action, ItemResult, Reason, Status
from cwtui.ui.errors import explain
from cwtui.ui.screens.modals import ErrorModal
from cwtui.ui.screens.run_panel import RunPanel


def record_results(record: RunRecord) -> list[ItemResult]:
    """The journal's result lines as ItemResults (titles come from the intents, when the item had one)."""
    titles = {i.seq: i.title for i in record.intents}
    out = []
    for entry in record.results:
        try:
            action = Action(entry.action) if entry.action in Action._value2member_map_ else Action.UPSERT
            out.append(ItemResult(
                key=entry.key, title=titles.get(entry.seq, "") or entry.key, action=action,
                status=Status(entry.status), reason=Reason(entry.reason), destination_item_id=entry.item_id,
                before_ms=entry.before_ms, after_ms=entry.after_ms, dry_run=record.kind == KIND_DRY_RUN,
                detail=entry.detail))
        except ValueError:
            continue  # a line from a newer cwtui with a status this one does not know
    return out


class RunViewScreen(RunPanel):
    """Shows the run as the journal has it; `u` undoes it (an apply that wrote), `start_undo` does so at once."""

    def __init__(self, run_id: str, *, start_undo: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.start_undo = start_undo
        self.title = f"Run {run_id}"

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="mode", markup=False)
        yield from self.run_widgets()

    def on_mount(self) -> None:
        try:
            record = self.app.journal.load(self.run_id)
        except CwtuiError as exc:
            self.app.push_screen(ErrorModal(explain(exc, self.app), "Cannot read the run"))
            return
        dst = record.destination
        self.destination_name = dst.get("name", "")
        ended = "incomplete (no end line)" if not record.complete else (
            "cancelled" if record.cancelled else f"ended {record.ended_at[:19].replace('T', ' ')} UTC")
        of = f" of run {record.undo_of}" if record.undo_of else ""
        self.query_one("#mode", Static).update(
            f"{record.kind.replace('_', ' ')}{of} · pair {record.pair} · to '{dst.get('name', '?')}' "
            f"({dst.get('server_name', '?')}, user {dst.get('user_name', '?')}) · started "
            f"{record.started_at[:19].replace('T', ' ')} UTC · {ended}")
        results = record_results(record)
        self._begin(len(results), "Reading", dry_run=record.kind == KIND_DRY_RUN)
        self.log_table.add_results(results)
        self.query_one("#progress", ProgressBar).advance(len(results))
        for result in results:
            self.totals[result.status] = self.totals.get(result.status, 0) + 1
        self._show_totals()
        self.undo_target = record.run_id if record.kind == KIND_APPLY and record.wrote else None
        self._finish(record.run_id, record.kind.replace("_", " "), cancelled=record.cancelled)
        self.log_table.focus()
        if self.start_undo:
            self.run_undo(self.start_undo)
