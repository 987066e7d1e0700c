"""RunsScreen: every run in the journal, newest first: open one's results, undo it, or resume an undo."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from cwtui.core.errors import CwtuiError
from cwtui.core.journal import KIND_APPLY, KIND_DRY_RUN, KIND_UNDO, RunSummary
from cwtui.ui.screens.modals import ConfirmModal
from cwtui.ui.widgets.key_table import KeyTable
from cwtui.ui.screens.keys_first import AppKeysFirst


def run_state(run: RunSummary) -> str:
    """The words for a run's state: damaged, incomplete, cancelled, undone by …"""
    if run.problem:
        return f"damaged: {run.problem}"
    parts = []
    if not run.complete:
        parts.append("incomplete (stopped before its end line)")
    elif run.cancelled:
        parts.append("cancelled")
    if run.undo_of:
        parts.append(f"undo of {run.undo_of}")
    if run.undone_by:
        parts.append("undone by " + ", ".join(run.undone_by))
    if run.kind == KIND_APPLY and run.wrote is False:
        parts.append("wrote nothing")
    return "; ".join(parts) or "finished"


def run_counts(run: RunSummary) -> str:
    dry = run.kind == KIND_DRY_RUN
    counts = ", ".join(f"{n} {'would write' if dry and status == 'applied' else status}"
                       for status, n in (run.summary or {}).items() if n)
    return counts or ("—" if run.summary is None else "nothing to do")


def undo_target(run: RunSummary) -> str | None:
    """What `u` undoes for this row: an apply that may have written, or (resuming) the run a stopped undo undid."""
    if run.problem:
        return None
    if run.kind == KIND_APPLY and run.wrote is not False:
        return run.run_id
    if run.kind == KIND_UNDO and run.undo_of and (run.cancelled or not run.complete):
        return run.undo_of
    return None


class RunsScreen(AppKeysFirst, Screen[None]):
    """Read with Journal.list_runs (first and last line of each file), so a long history opens at once."""

    TITLE = "Runs"
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Show the run's results (and undo it from there)",
                id="cwtui.runs.open"),
        Binding("u", "undo", "Undo / resume", tooltip="Undo the selected apply run, or resume a cancelled or "
                "incomplete undo", id="cwtui.runs.undo"),
        Binding("r", "reload", "Reload", tooltip="Read the journal again", id="cwtui.runs.reload"),
        Binding("escape,q", "back", "Back", tooltip="Back to the previous screen", id="cwtui.runs.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, RunSummary] = {}

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="runs-hint", classes="hint", markup=False)
        yield KeyTable(id="runs", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", KeyTable)
        for label, key, width in (("Started (UTC)", "started", 16), ("Pair", "pair", 14), ("Kind", "kind", 7),
                                  ("Counts", "counts", 24), ("State", "state", 40), ("Run", "run", 26)):
            table.add_column(label, key=key, width=width)
        self.action_reload()
        table.focus()

    def action_reload(self) -> None:
        table = self.query_one("#runs", KeyTable)
        table.clear()
        try:
            runs = list(reversed(self.app.journal.list_runs()))
        except CwtuiError as exc:
            runs = []
            self.notify(str(exc), title="Journal", severity="error", markup=False)
        self.runs = {r.run_id: r for r in runs}
        for run in runs:
            when = run.started_at[:16].replace("T", " ") or "?"
            kind = run.kind.replace("_", " ")
            style = "red" if run.problem or not run.complete else ("yellow" if run.cancelled else "")
            table.add_row(Text(when), Text(run.pair), Text(kind), Text(run_counts(run)),
                          Text(run_state(run), style=style), Text(run.run_id), key=run.run_id)
        self.query_one("#runs-hint", Static).update(
            f"{len(runs)} runs, newest first. Enter opens one; u undoes an apply or resumes a stopped undo."
            if runs else "No runs yet: apply a pair's diff (a dry run counts too).")
        self.refresh_bindings()

    def _selected(self) -> RunSummary | None:
        table = self.query_one("#runs", KeyTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.runs.get(key or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "undo"):
            run = self._selected() if self.is_mounted else None
            if run is None or run.problem:
                return None
            if action == "undo" and undo_target(run) is None:
                return None
        return True

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self, start_undo: str | None = None) -> None:
        from cwtui.ui.screens.run_view import RunViewScreen

        run = self._selected()
        if run is not None and not run.problem:
            self.app.push_screen(RunViewScreen(run.run_id, start_undo=start_undo), lambda _: self.action_reload())

    def action_undo(self) -> None:
        run = self._selected()
        target = undo_target(run) if run else None
        if run is None or target is None:
            return
        if target == run.run_id:
            question = (f"Undo run {target} ({run.pair})? Every item it changed gets back the state it had before "
                        "the run. Items played or changed since are left alone.")
        else:
            question = (f"Resume undoing run {target}? Undo run {run.run_id} stopped before its end; the items it "
                        "already restored are skipped.")
        self.app.push_screen(ConfirmModal(question, title="Undo a run?", yes="Undo"),
                             lambda yes: self.action_open(target) if yes else None)

    def action_back(self) -> None:
        self.dismiss(None)
