"""ApplyScreen: every write listed before it starts, the DRY RUN switch, the run streamed, then undo or retry."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Header, Static

from cwtui.core.apply import ApplyRun, select_tasks
from cwtui.core.engine import Step
from cwtui.core.errors import CwtuiError, DestinationTooOld
from cwtui.core.models import Action, Plan, Reason, Status
from cwtui.core.sync import PairSync
from cwtui.ui.errors import explain
from cwtui.core.text import safe_text
from cwtui.ui.screens.modals import ConfirmModal, ErrorModal
from cwtui.ui.screens.run_panel import RunPanel
from cwtui.ui.widgets.plan_format import user_label
from cwtui.ui.widgets.write_preview import WritePreview


class ApplyScreen(RunPanel):
    """Runs live on this screen; leaving is disabled while one runs, so leaving cannot cancel it halfway."""

    BINDINGS = [
        Binding("enter", "start", "Start", tooltip="Start the run (a dry run when DRY RUN is on; a live run asks "
                "first)", id="cwtui.apply.start", priority=True),
        # enter is declared here again: a subclass's binding of a key replaces the base class's ones for that key
        Binding("enter", "result_details", "Details", tooltip="The full detail of the selected result",
                id="cwtui.apply.details", priority=True),
        Binding("d", "toggle_dry_run", "Dry run on/off", tooltip="Switch DRY RUN on or off",
                id="cwtui.apply.dry_run"),
        Binding("t", "retry", "Retry failed", tooltip="Re-plan and apply just the items that failed",
                id="cwtui.apply.retry"),
    ]

    dry_run = reactive(True, bindings=True)

    def __init__(self, plan: Plan, sync: PairSync, *, only: set[str], force: set[str], hidden: int = 0,
                 hidden_by: str = "the filter") -> None:
        super().__init__()
        self.plan, self.sync = plan, sync
        self.only, self.force = set(only), set(force)
        self.hidden, self.hidden_by = hidden, hidden_by
        self.title = f"Apply: {plan.pair}"
        self.too_old = not plan.destination.writable
        self.destination_name = plan.destination.name
        self.failed_keys: set[str] = set()
        self.tasks: list[Step] = []
        """The writes the run will make (steps that only report a decision made at plan time are left out)."""
        self.reported = 0
        """Destination items of the chosen rows that the plan already decided not to write (they get a line)."""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="mode", markup=False)
        yield Static("", id="counts", markup=False)
        yield WritePreview(id="preview")
        yield from self.run_widgets()

    def on_mount(self) -> None:
        self.set_reactive(ApplyScreen.dry_run, self.too_old or self.app.apply_dry_run)
        self.log_table.display = False
        self.query_one("#progress").display = False
        self.query_one("#totals").display = False
        self._show_counts()  # first: the mode line names the users of the writes it lists
        self._show_mode()
        self.query_one("#preview", WritePreview).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        busy = self.applying
        if action == "start":
            return False if self.finished or busy else True
        if action == "toggle_dry_run":
            return False if self.finished else (None if busy or self.too_old else True)
        if action == "retry":
            return (None if busy else True) if self.finished and self.failed_keys and not self.too_old else False
        return super().check_action(action, parameters)

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
            why = dst.why_not_writable or str(DestinationTooOld(dst.server_name, dst.version))
            mode.update(safe_text(f"DRY RUN ONLY: {why}. A dry run still checks every item live and reports what "
                                  "would happen."))
        elif self.dry_run:
            mode.update("DRY RUN: nothing will be written; every item is checked live and reported as it would "
                        "be. Press d to switch to a live run.")
        else:
            mode.update(safe_text(f"LIVE RUN: writes go to '{dst.name}' ({dst.server_name}, {self._whom()}); "
                                  "enter asks once more. Press d for a dry run."))

    def _users(self) -> list[tuple[str, str]]:
        """The (source, destination) users the chosen writes belong to, in plan order (household plans)."""
        chosen = {(t.source_user, t.destination_user) for t in self.tasks}
        return [(u.source.name, u.destination.name) for u in self.plan.users
                if (u.source.name, u.destination.name) in chosen]

    def _whom(self) -> str:
        """Whose data the run writes: "user alice", or "2 users: alice, robert" for a household run."""
        if not self.plan.users:
            return f"user {self.plan.destination.user_name}"
        users = self._users()
        return f"{len(users)} user{'' if len(users) == 1 else 's'}: {', '.join(d for _, d in users)}"

    def _show_counts(self) -> None:
        try:
            steps = select_tasks(self.plan, self.only, self.force)
        except CwtuiError as exc:
            self.query_one("#counts", Static).update(explain(exc, self.app))
            return
        self.tasks = tasks = [t for t in steps if t.writes]
        self.reported = len(steps) - len(tasks)
        rows = len({t.key for t in tasks})
        upserts = sum(1 for t in tasks if t.action is Action.UPSERT and not t.forced)
        clears = sum(1 for t in tasks if t.action is Action.CLEAR)
        forced = sum(1 for t in tasks if t.forced)
        text = (f"{rows} ticked rows shown → {len(tasks)} writes (destination items) to "
                f"'{self.plan.destination.name}': {upserts} set a position, {clears} clear one, {forced} forced. "
                "Each is re-checked live first.")
        if self.plan.users:
            per_user = [f"{user_label(s, d)} {sum(1 for t in tasks if (t.source_user, t.destination_user) == (s, d))}"
                        for s, d in self._users()]
            text += f" Writes per user: {', '.join(per_user)}."
        if self.reported:
            one = self.reported == 1
            text += (f" {self.reported} more item{'' if one else 's'} of these rows {'is' if one else 'are'} only "
                     f"reported (the plan decided not to write {'it' if one else 'them'}).")
        if self.hidden:
            text += (f" {rows + self.hidden} ticked, {self.hidden} of them hidden by {self.hidden_by}: "
                     "not included.")
        self.query_one("#counts", Static).update(text)
        self.query_one("#preview", WritePreview).show(tasks, self.plan.destination.name)
        self.query_one("#outcome", Static).update("Every write is listed above. Press enter to start.")

    # --- runs -----------------------------------------------------------------------------------------

    def action_toggle_dry_run(self) -> None:
        self.dry_run = not self.dry_run
        self.app.apply_dry_run = self.dry_run

    def action_start(self) -> None:
        if self.dry_run:
            self._start()
            return
        dst = self.plan.destination
        question = (f"Write {len(self.tasks)} changes to '{dst.name}': server {dst.server_name} "
                    f"(Jellyfin {dst.version}), {self._whom()}?\n\nEach write is journaled first, so the "
                    "run can be undone with u.")
        self.app.push_screen(ConfirmModal(question, title="Start a live run?", yes="Write"),
                             lambda yes: self._start() if yes else None)

    def _start(self) -> None:
        if self.finished or self.applying:
            return
        try:
            run = self.sync.start_apply(self.plan, only=self.only, force=self.force, dry_run=self.dry_run)
        except CwtuiError as exc:
            self.app.push_screen(ErrorModal(explain(exc, self.app), "Cannot start the run"))
            return
        self.run_apply(run)

    @work(group="apply", description="Applying")
    async def run_apply(self, run: ApplyRun) -> None:
        await self._apply(run)

    async def _apply(self, run: ApplyRun, extra: str = "") -> None:
        self.run = run
        self.applying = True
        self.query_one("#preview").display = False
        self.query_one("#progress").display = True
        self.query_one("#totals").display = True
        self._begin(len(run.steps), "Dry run" if run.dry_run else "Applying", dry_run=run.dry_run)
        try:
            await self._stream(run.results())
        except CwtuiError as exc:
            self.app.push_screen(ErrorModal(explain(exc, self.app, self.destination_name), "The run stopped"))
        finally:
            self.run = None
            self.applying = False
        log = self.log_table
        self.failed_keys = {r.key for r in log.results if r.status is Status.FAILED}
        in_place = sorted({r.title for r in log.results if r.reason is Reason.PROGRESS_UNCHANGED})
        if in_place:
            extra = f"{extra} Already in place at the live check: {', '.join(in_place)}.".strip()
        # An interrupted run may have written without saying so: offer undo, which checks for itself.
        wrote = bool(run.run_id) and not run.dry_run and (run.wrote or run.cancelled)
        self.undo_target = run.run_id if wrote else None  # `u` always means the run on screen
        self.wrote = self.wrote or wrote
        self._finish(run.run_id, "dry run" if run.dry_run else "run", cancelled=run.cancelled, extra=extra)
        self.app.run_ended()

    def action_retry(self) -> None:
        self.retry_failed(set(self.failed_keys))

    @work(group="apply", description="Retrying")
    async def retry_failed(self, keys: set[str]) -> None:
        """Re-plan (the failures may have changed things), then apply just those rows again.

        A write that failed may have landed anyway: those rows no longer write in the new plan, and are named.
        """
        self.applying = True
        try:
            self.query_one("#outcome", Static).update("Re-planning before the retry…")
            plan = await self.sync.plan()
            rows = {row.key: row for row in plan.rows}
            retry = {k for k in keys if k in rows and rows[k].writes}
            force = {k for k in keys & self.force if k in rows and rows[k].forceable}
            settled = sorted(rows[k].title + ("" if rows[k].reason is Reason.IN_SYNC else f" ({rows[k].reason})")
                             for k in keys - retry - force if k in rows)
            extra = f"Already in place after the failure: {', '.join(settled)}." if settled else ""
            if not retry and not force:
                self.failed_keys = set()
                self.query_one("#outcome", Static).update(
                    f"Nothing left to retry. {extra or 'The failed items are no longer in the plan.'}")
                self.applying = False
                return
            self.plan, self.only, self.force = plan, retry, force
            run = self.sync.start_apply(plan, only=retry, force=force, dry_run=self.dry_run)
        except CwtuiError as exc:
            self.applying = False
            self.app.push_screen(ErrorModal(explain(exc, self.app), "Cannot retry"))
            return
        self._show_counts()
        await self._apply(run, extra)
