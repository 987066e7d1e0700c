"""RunPanel: the part every run screen shares: stream a run's results, count them, cancel, undo, show a result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from cwtui.core.errors import CwtuiError
from cwtui.core.models import ItemResult, Status, format_ms
from cwtui.core.sync import open_undo
from cwtui.ui.errors import explain
from cwtui.ui.screens.modals import ConfirmModal, DetailModal, ErrorModal
from cwtui.ui.widgets.plan_format import user_label
from cwtui.ui.widgets.result_log import ResultLog, status_word
from cwtui.ui.screens.keys_first import AppKeysFirst

FLUSH_ITEMS = 100
FLUSH_SECONDS = 0.1


class Cancellable(Protocol):
    run_id: str | None

    def cancel(self) -> None: ...


class RunPanel(AppKeysFirst, Screen[bool]):
    """A screen with #progress, #totals, #results (ResultLog) and #outcome; subclasses compose them."""

    BINDINGS = [
        Binding("c", "cancel", "Cancel run", tooltip="Stop after the writes in flight; the rest is cancelled "
                "and the journal stays consistent", id="cwtui.run.cancel"),
        Binding("u", "undo", "Undo this run", tooltip="Give every item the run shown changed its previous state",
                id="cwtui.run.undo"),
        Binding("enter", "result_details", "Details", tooltip="The full detail of the selected result",
                id="cwtui.run.details", priority=True),
        Binding("escape,q", "back", "Back", tooltip="Back to the previous screen", id="cwtui.run.back"),
    ]

    applying = reactive(False, bindings=True)
    """True while an apply or undo runs: leaving, starting and the switches are disabled."""
    finished = reactive(False, bindings=True)
    """True once a run was shown to its end: enter then opens a result, it never starts another run."""

    def __init__(self) -> None:
        super().__init__()
        self.run: Cancellable | None = None
        """The run in progress (apply or undo), which `c` cancels."""
        self.shown_run: str | None = None
        """The run whose results are on screen."""
        self.undo_target: str | None = None
        """The run shown, when it is a live apply that wrote: what `u` undoes."""
        self.destination_name = ""
        self.wrote = False
        self.dry_run_shown = False
        self.totals: dict[Status, int] = {}
        self.user_totals: dict[str, dict[Status, int]] = {}
        """Household runs: the totals of each user ("bob→robert"), in the order they first report."""
        self._pending: list[ItemResult] = []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        busy = self.applying
        if action == "back":
            return None if busy else True
        # keys that cannot apply to this screen's state leave the footer (False), so 80 columns keep the rest
        if action == "cancel":
            return True if busy and self.run is not None else False
        if action == "undo":
            return (None if busy else True) if self.undo_target else False
        if action == "result_details":
            return True if self.finished and not busy else False
        return True

    def run_widgets(self) -> ComposeResult:
        """The progress bar, totals, results table and outcome line a subclass places in its compose()."""
        yield ProgressBar(total=1, show_eta=False, id="progress")
        yield Static("", id="totals", markup=False)
        per_user = Static("", id="user-totals", markup=False)
        per_user.display = False
        yield per_user
        yield ResultLog(id="results")
        yield Static("", id="outcome", markup=False)
        yield Footer()

    @property
    def log_table(self) -> ResultLog:
        return self.query_one("#results", ResultLog)

    # --- streaming ------------------------------------------------------------------------------------

    def _begin(self, total: int, what: str, *, dry_run: bool = False) -> None:
        self.totals, self.user_totals = {}, {}
        self.dry_run_shown = dry_run
        self.finished = False
        self.log_table.reset()
        self.log_table.display = True
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(total, 1), progress=0)
        self._show_totals()
        self.query_one("#outcome", Static).update(f"{what}: {total} writes…")

    async def _stream(self, results: AsyncIterator[ItemResult]) -> None:
        """Draw results in batches so 10k items do not mean 10k repaints.

        A chunk's results arrive all at once and then the run waits on the network, so a timer flushes what
        is pending while it waits; a full batch is flushed at once.
        """
        self._pending = []
        timer = self.set_interval(FLUSH_SECONDS, self._flush)
        try:
            async for result in results:
                self._pending.append(result)
                if len(self._pending) >= FLUSH_ITEMS:
                    self._flush()
        finally:
            timer.stop()
            self._flush()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._add(batch)

    def _add(self, batch: list[ItemResult]) -> None:
        """Results into the table, the progress bar and the totals (all and per user)."""
        if not batch:
            return
        with self.app.batch_update():
            self.log_table.add_results(batch)
            self.query_one("#progress", ProgressBar).advance(len(batch))
            for result in batch:
                self.totals[result.status] = self.totals.get(result.status, 0) + 1
                if result.source_user:
                    mine = self.user_totals.setdefault(user_label(result.source_user, result.destination_user), {})
                    mine[result.status] = mine.get(result.status, 0) + 1
            self._show_totals()

    def _totals_text(self) -> str:
        return ", ".join(f"{n} {status_word(s, self.dry_run_shown)}" for s, n in self.totals.items() if n)

    def _show_totals(self) -> None:
        parts = [f"{self.totals.get(s, 0)} {status_word(s, self.dry_run_shown)}" for s in Status]
        self.query_one("#totals", Static).update(" · ".join(parts) + " (destination items)")
        per_user = self.query_one("#user-totals", Static)
        per_user.display = bool(self.user_totals)
        per_user.update(" · ".join(
            f"{who}: " + ", ".join(f"{counts[s]} {status_word(s, self.dry_run_shown)}" for s in Status if counts.get(s))
            for who, counts in self.user_totals.items()))

    def _finish(self, run_id: str | None, what: str, *, cancelled: bool, extra: str = "") -> None:
        self.shown_run = run_id
        self.finished = True
        # the stream kept the newest line in view; once it ends, the first line that did not go as planned matters
        results = self.log_table.results
        first = next((n for n, r in enumerate(results) if r.status is not Status.APPLIED), 0)
        if results:
            self.log_table.move_cursor(row=first, animate=False)
        lines = [f"{what.capitalize()} {run_id or '(not started)'} {'cancelled' if cancelled else 'finished'}: "
                 + (self._totals_text() or "nothing to do") + "."]
        if cancelled:
            left = self.totals.get(Status.CANCELLED, 0)
            lines.append(f"{left} not started (cancelled); the journal records each.")
        if self.dry_run_shown:
            lines.append("Dry run: nothing was written.")
        failed = self.totals.get(Status.FAILED, 0)
        if failed and self.check_action("retry", ()) is True:
            lines.append(f"{failed} failed, see the table; press t to retry them.")
        if extra:
            lines.append(extra)
        if self.undo_target:
            lines.append(f"Press u to undo run {self.undo_target}.")
        lines.append("Enter shows a result in full; escape goes back.")
        self.query_one("#outcome", Static).update(" ".join(lines))

    # --- keys -----------------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event) -> None:
        if event.data_table.id == "results" and self.finished and not self.applying:
            self.action_result_details()

    def action_cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self.query_one("#outcome", Static).update("Cancelling: the writes in flight finish first…")

    def action_result_details(self) -> None:
        table = self.log_table
        if not table.results or not table.row_count:
            return
        result = table.results[min(table.cursor_row, len(table.results) - 1)]
        body = "\n".join([
            f"Status:       {status_word(result.status, result.dry_run)}",
            f"Reason:       {result.reason.value}",
            f"Action:       {result.action.value}",
            f"Before:       {format_ms(result.before_ms)}",
            f"After:        {format_ms(result.after_ms)}",
            f"Destination:  {self.destination_name or '—'}, item {result.destination_item_id}",
            *([f"Users:        {result.source_user} → {result.destination_user}"] if result.source_user else []),
            f"Row key:      {result.key}",
            f"Run:          {self.shown_run or '—'}",
            "", result.detail or "(no detail)"])
        self.app.push_screen(DetailModal(result.title, body))

    def action_undo(self) -> None:
        run_id = self.undo_target
        if not run_id:
            return
        question = (f"Undo run {run_id}? Every item it changed on '{self.destination_name}' gets back the "
                    "state it had before the run. Items played or changed since are left alone.")
        self.app.push_screen(ConfirmModal(question, title="Undo this run?", yes="Undo"),
                             lambda yes: self.run_undo(run_id) if yes else None)

    @work(group="apply", description="Undoing")
    async def run_undo(self, run_id: str) -> None:
        """Undo (or resume undoing) `run_id`; the undo's own results replace the table."""
        self.applying = True
        undo = None
        try:
            record = self.app.journal.load(run_id)
            undo = await open_undo(self.app.load_config(), self.app.journal, record,
                                   client_factory=self.app.client_factory)
            if undo.already_undone_by:
                self.query_one("#outcome", Static).update(
                    f"Run {run_id} was already undone by run {undo.already_undone_by}.")
                self.undo_target = None
                return
            self._begin(len(undo.candidates), "Undoing")
            self.run = undo  # `c` cancels an undo the same way
            await self._stream(undo.results())
        except CwtuiError as exc:
            self.app.push_screen(ErrorModal(explain(exc, self.app, self.destination_name or None), "Undo stopped"))
            return
        finally:
            self.run = None
            if undo is not None:
                await undo.aclose()  # the run closes its own connection when its results end; this covers the rest
            self.applying = False
        self.undo_target = None
        self.wrote = True
        self._finish(undo.run_id, "undo", cancelled=undo.cancelled)
        self.app.run_ended()

    def action_back(self) -> None:
        self.dismiss(self.wrote)
