"""ApplyScreen: what a run will do, the DRY RUN switch, the run streamed item by item, then undo or retry."""

from __future__ import annotations

from collections.abc import AsyncIterator

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static

from cwtui.core.apply import ApplyRun, select_tasks
from cwtui.core.errors import CwtuiError, DestinationTooOld
from cwtui.core.models import Action, ItemResult, Plan, Status
from cwtui.core.sync import PairSync, find_run, open_undo
from cwtui.core.undo import UndoRun
from cwtui.ui.screens.modals import ConfirmModal, ErrorModal
from cwtui.ui.widgets.result_log import ResultLog

FLUSH_ITEMS = 100
FLUSH_SECONDS = 0.1


class ApplyScreen(Screen[bool]):
    """Runs live on this screen; escape is disabled while one runs, so leaving cannot cancel it halfway."""

    BINDINGS = [
        Binding("enter", "start", "Start", tooltip="Start the run (a dry run when DRY RUN is on)",
                id="cwtui.apply.start", priority=True),
        Binding("d", "toggle_dry_run", "Dry run on/off", tooltip="Switch DRY RUN on or off",
                id="cwtui.apply.dry_run"),
        Binding("c", "cancel", "Cancel run", tooltip="Stop after the writes in flight; the rest is cancelled",
                id="cwtui.apply.cancel"),
        Binding("u", "undo", "Undo this run", tooltip="Give every item the run changed its previous state",
                id="cwtui.apply.undo"),
        Binding("t", "retry", "Retry failed", tooltip="Re-plan and apply just the items that failed",
                id="cwtui.apply.retry"),
        Binding("escape", "back", "Back", tooltip="Back to the diff", id="cwtui.apply.back"),
    ]

    applying = reactive(False, bindings=True)
    """True while an apply or undo runs: escape, start and the switches are disabled."""
    dry_run = reactive(False, bindings=True)

    def __init__(self, plan: Plan, sync: PairSync, *, only: set[str], force: set[str]) -> None:
        super().__init__()
        self.plan, self.sync = plan, sync
        self.only, self.force = set(only), set(force)
        self.title = f"Apply: {plan.pair}"
        self.too_old = not plan.destination.writable
        self.run: ApplyRun | UndoRun | None = None
        """The run in progress (apply or undo), which `c` cancels."""
        self.undo_target: str | None = None
        """The last live run that wrote something: what `u` undoes."""
        self.failed_keys: set[str] = set()
        self.wrote = False
        self.totals: dict[Status, int] = {}
        self._pending: list[ItemResult] = []
        self.set_reactive(ApplyScreen.dry_run, self.too_old)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="mode", markup=False)
        yield Static("", id="counts", markup=False)
        yield ProgressBar(total=1, show_eta=False, id="progress")
        yield Static("", id="totals", markup=False)
        yield ResultLog(id="results")
        yield Static("Press enter to start.", id="outcome", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._show_mode()
        self._show_counts()
        self._show_totals()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        busy = self.applying
        if action in ("back", "start"):
            return None if busy else True
        if action == "toggle_dry_run":
            return None if busy or self.too_old else True
        if action == "cancel":
            return True if busy and self.run is not None else None
        if action == "undo":
            return True if not busy and self.undo_target else None
        if action == "retry":
            return True if not busy and self.failed_keys and not self.too_old else None
        return True

    # --- what it will do ------------------------------------------------------------------------------

    def watch_dry_run(self) -> None:
        if self.is_mounted:
            self._show_mode()

    def _show_mode(self) -> None:
        mode = self.query_one("#mode", Static)
        dst = self.plan.destination
        mode.set_class(self.dry_run, "dry-run")
        mode.set_class(not self.dry_run, "live")
        if self.too_old:
            mode.update(f"DRY RUN ONLY: {DestinationTooOld(dst.server_name, dst.version)}. "
                        "A dry run still checks every item live and reports what would happen.")
        elif self.dry_run:
            mode.update("DRY RUN: nothing will be written; every item is checked live and reported as it would "
                        "be. Press d to switch to a live run.")
        else:
            mode.update(f"LIVE RUN: writes go to '{dst.name}' ({dst.server_name}, user {dst.user_name}). "
                        "Press d for a dry run first.")

    def _show_counts(self) -> None:
        try:
            tasks = [t for t in select_tasks(self.plan, self.only, self.force) if t.writes]
        except CwtuiError as exc:
            self.query_one("#counts", Static).update(str(exc))
            return
        upserts = sum(1 for t in tasks if t.action is Action.UPSERT and not t.forced)
        clears = sum(1 for t in tasks if t.action is Action.CLEAR)
        forced = sum(1 for t in tasks if t.forced)
        self.query_one("#counts", Static).update(
            f"{len(tasks)} writes to '{self.plan.destination.name}': {upserts} set a resume position, "
            f"{clears} clear one, {forced} forced. Each is re-checked live first (playing now, played since, "
            "already there).")

    def _show_totals(self) -> None:
        parts = [f"{self.totals.get(s, 0)} {s.value}" for s in Status]
        self.query_one("#totals", Static).update(" · ".join(parts))

    # --- runs -----------------------------------------------------------------------------------------

    def action_toggle_dry_run(self) -> None:
        self.dry_run = not self.dry_run

    def action_start(self) -> None:
        try:
            run = self.sync.start_apply(self.plan, only=self.only, force=self.force, dry_run=self.dry_run)
        except CwtuiError as exc:
            self.app.push_screen(ErrorModal(str(exc), "Cannot start the run"))
            return
        self.run_apply(run)

    @work(group="apply", description="Applying")
    async def run_apply(self, run: ApplyRun) -> None:
        await self._apply(run)

    async def _apply(self, run: ApplyRun) -> None:
        self.run = run
        self.applying = True
        self._begin(len(run.steps), "Dry run" if run.dry_run else "Applying")
        try:
            await self._stream(run.results())
        except CwtuiError as exc:
            self.app.push_screen(ErrorModal(str(exc), "The run stopped"))
        finally:
            self.run = None
            self.applying = False
        log = self.query_one("#results", ResultLog)
        self.failed_keys = {r.key for r in log.results if r.status is Status.FAILED}
        # An interrupted run may have written without saying so: offer undo, which checks for itself.
        wrote = bool(run.run_id) and not run.dry_run and (run.wrote or run.cancelled)
        if wrote:
            self.undo_target = run.run_id
            self.wrote = True
        self._finish(run.run_id, "dry run" if run.dry_run else "run", cancelled=run.cancelled)

    def _begin(self, total: int, what: str) -> None:
        self.totals = {}
        self.query_one("#results", ResultLog).reset()
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(total, 1), progress=0)
        self._show_totals()
        self.query_one("#outcome", Static).update(f"{what}: {total} items…")

    async def _stream(self, results: AsyncIterator[ItemResult]) -> None:
        """Draw results in batches so 10k items do not mean 10k repaints.

        A chunk's results arrive all at once and then the run waits on the network, so a timer flushes what
        is pending while it waits; a full batch is flushed at once.
        """
        self._pending: list[ItemResult] = []
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
        if not batch:
            return
        with self.app.batch_update():
            self.query_one("#results", ResultLog).add_results(batch)
            self.query_one("#progress", ProgressBar).advance(len(batch))
            for result in batch:
                self.totals[result.status] = self.totals.get(result.status, 0) + 1
            self._show_totals()

    def _finish(self, run_id: str | None, what: str, *, cancelled: bool) -> None:
        failed = self.totals.get(Status.FAILED, 0)
        lines = [f"{what.capitalize()} {run_id or '(not started)'} {'cancelled' if cancelled else 'finished'}: "
                 + ", ".join(f"{n} {s.value}" for s, n in self.totals.items() if n) + "."]
        if what == "dry run":
            lines.append("Dry run: nothing was written.")
        if failed:
            lines.append(f"{failed} failed, see the table; press t to retry them.")
        if self.undo_target and what == "run":
            lines.append("Press u to undo this run.")
        self.query_one("#outcome", Static).update(" ".join(lines))

    def action_cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self.query_one("#outcome", Static).update("Cancelling: the writes in flight finish first…")

    def action_undo(self) -> None:
        run_id = self.undo_target
        if not run_id:
            return
        question = (f"Undo run {run_id}? Every item it changed on '{self.plan.destination.name}' gets back the "
                    "state it had before the run. Items played or changed since are left alone.")
        self.app.push_screen(ConfirmModal(question, title="Undo this run?", yes="Undo"),
                             lambda yes: self.run_undo(run_id) if yes else None)

    @work(group="apply", description="Undoing")
    async def run_undo(self, run_id: str) -> None:
        self.applying = True
        undo = None
        try:
            record = find_run(self.app.journal, run_id)
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
            self.app.push_screen(ErrorModal(str(exc), "Undo stopped"))
            return
        finally:
            self.run = None
            if undo is not None:
                await undo.client.aclose()
            self.applying = False
        self.undo_target = None
        self.failed_keys = set()
        self.wrote = True
        self._finish(undo.run_id, "undo", cancelled=undo.cancelled)

    def action_retry(self) -> None:
        self.retry_failed(set(self.failed_keys))

    @work(group="apply", description="Retrying")
    async def retry_failed(self, keys: set[str]) -> None:
        """Re-plan (the failures may have changed things), then apply just those rows again."""
        self.applying = True
        try:
            self.query_one("#outcome", Static).update("Re-planning before the retry…")
            plan = await self.sync.plan()
            rows = {row.key: row for row in plan.rows}
            self.plan = plan
            self.only = {k for k in keys if k in rows and rows[k].writes}
            self.force = {k for k in keys & self.force if k in rows and rows[k].forceable}
            run = self.sync.start_apply(plan, only=self.only, force=self.force, dry_run=self.dry_run)
        except CwtuiError as exc:
            self.applying = False
            self.app.push_screen(ErrorModal(str(exc), "Cannot retry"))
            return
        self._show_counts()
        await self._apply(run)

    def action_back(self) -> None:
        self.dismiss(self.wrote)
