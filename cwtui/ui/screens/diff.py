"""DiffScreen: one pair's plan as a table: what will change, what is skipped and why; ticks choose what to apply."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, LoadingIndicator, Static

from cwtui.core.errors import CwtuiError
from cwtui.core.models import Action, Plan, PlanRow, Reason, format_ms
from cwtui.core.sync import PairSync
from cwtui.core.text import safe_text
from cwtui.ui.screens.modals import ConfirmModal, DetailModal, ErrorModal
from cwtui.ui.widgets.plan_format import describe_row, percent, why_not_forceable
from cwtui.ui.widgets.plan_table import COLUMN_LABELS, FILTER_ORDER, FILTERS, PlanTable


class DiffScreen(Screen[bool]):
    """Plans in a worker (progress in the status line), then shows every row; the apply panel opens on top."""

    BINDINGS = [
        Binding("a", "apply", "Apply", tooltip="Open the apply panel with the ticked rows", id="cwtui.diff.apply"),
        Binding("r", "replan", "Re-plan", tooltip="Read both servers again and re-plan", id="cwtui.diff.replan"),
        Binding("slash", "search", "Search", key_display="/", tooltip="Filter rows by title as you type",
                id="cwtui.diff.search"),
        Binding("f", "next_filter", "Filter", tooltip="Next filter: will change, skipped, near-complete, "
                "unresolved, all", id="cwtui.diff.filter"),
        Binding("o", "next_sort", "Sort", tooltip="Sort by the next column (press again to cycle)",
                id="cwtui.diff.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, tooltip="Reverse the sort order",
                id="cwtui.diff.reverse"),
        Binding("space", "toggle", "Tick", tooltip="Tick or untick the row (ticking a skipped row forces it)",
                id="cwtui.diff.toggle"),
        Binding("enter", "details", "Details", tooltip="Both sides' raw values and the rule that decided the row",
                id="cwtui.diff.details"),
        Binding("escape", "back", "Back", tooltip="Close the search, or go back to the pairs",
                id="cwtui.diff.back"),
    ]

    planning = reactive(False, bindings=True)
    """True while a plan is being made; the keys that need a plan are greyed out."""

    def __init__(self, pair_name: str) -> None:
        super().__init__()
        self.pair_name = pair_name
        self.title = f"Diff: {pair_name}"
        self.plan: Plan | None = None
        self.sync: PairSync | None = None
        self.ticked: set[str] = set()
        self.wrote = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="pair-line", markup=False)
        yield Static("", id="notices", markup=False)
        with Horizontal(id="status-bar"):
            yield LoadingIndicator(id="loading")
            yield Static("", id="status", markup=False)
        yield Static("", id="summary", markup=False)
        yield Input(placeholder="search titles (enter keeps it, escape clears it)", id="search")
        yield PlanTable(id="plan")
        yield Footer()

    @property
    def table(self) -> PlanTable:
        return self.query_one("#plan", PlanTable)

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one("#notices").display = False
        self.table.focus()
        self.run_plan()

    async def on_unmount(self) -> None:
        if self.sync is not None:
            await self.sync.aclose()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("apply", "replan", "next_filter", "next_sort", "reverse_sort", "toggle", "details", "search"):
            return None if self.planning or self.plan is None and action != "replan" else True
        return True

    # --- planning -------------------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        self.query_one("#status", Static).update(message + "…")

    @work(exclusive=True, group="plan", description="Planning")
    async def run_plan(self) -> None:
        """Open both servers fresh (settings may have changed) and plan; errors open ErrorModal."""
        self.planning = True
        self.query_one("#loading").display = True
        try:
            if self.sync is not None:
                await self.sync.aclose()
                self.sync = None
            config = self.app.load_config()
            self.sync = PairSync(config, self.pair_name, self.app.journal, client_factory=self.app.client_factory)
            plan = await self.sync.plan(progress=self._say)
        except CwtuiError as exc:
            self.query_one("#status", Static).update(safe_text(f"Planning failed: {exc}"))
            self.app.push_screen(ErrorModal(str(exc), f"Cannot plan pair '{self.pair_name}'"))
            return
        finally:
            self.planning = False
            self.query_one("#loading").display = False
        self.show_plan(plan)

    def show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.ticked = {row.key for row in plan.rows if row.writes}
        src, dst = plan.source, plan.destination
        cap = f"{plan.effective_max_percent:g}%" if plan.effective_max_percent else "none"
        rules = f"dest. MaxResumePct {plan.rules.max_resume_pct:g}%" if plan.rules else "server rules off"
        self.query_one("#pair-line", Static).update(safe_text(
            f"{src.name} ({src.server_name} {src.version}, {src.user_name}) → "
            f"{dst.name} ({dst.server_name} {dst.version}, {dst.user_name}) · cap {cap}, {rules}"))
        notices = self.query_one("#notices", Static)
        notices.update("\n".join(f"⚠ {safe_text(n)}" for n in plan.notices))
        notices.display = bool(plan.notices)
        self.query_one("#status", Static).update(f"Plan ready: {len(plan.rows)} rows.")
        self.table.load(plan.rows, self.ticked, "changes" if plan.writes else "all")
        self.table.focus()

    # --- the summary line -----------------------------------------------------------------------------

    @on(PlanTable.ViewChanged)
    def _view_changed(self) -> None:
        self.update_summary()

    def update_summary(self) -> None:
        if self.plan is None:
            return
        counts = {a: 0 for a in Action}
        for row in self.plan.rows:
            counts[row.action] += 1
        ticked_writes, forced = self._selection()
        table = self.table
        arrow = "↓" if table.sort_reverse else "↑"
        search = f" · search “{table.search}”" if table.search else ""
        self.query_one("#summary", Static).update(
            f"{len(self.plan.rows)} rows: {counts[Action.UPSERT]} write, {counts[Action.CLEAR]} clear, "
            f"{counts[Action.SKIP]} skip · ticked {len(ticked_writes)}+{len(forced)} forced · "
            f"{FILTERS[table.filter_name][0]}: {table.shown_count}"
            f"{search} · sort {COLUMN_LABELS[table.sort_column]} {arrow}")

    def _selection(self) -> tuple[set[str], set[str]]:
        """(ticked planned writes, ticked skipped rows to force)."""
        assert self.plan is not None
        rows = self.table.plan_rows
        writes = {k for k in self.ticked if rows[k].writes}
        return writes, self.ticked - writes

    # --- actions --------------------------------------------------------------------------------------

    def action_replan(self) -> None:
        self.run_plan()

    def action_next_filter(self) -> None:
        table = self.table
        table.filter_name = FILTER_ORDER[(FILTER_ORDER.index(table.filter_name) + 1) % len(FILTER_ORDER)]
        table.rebuild()

    def action_next_sort(self) -> None:
        self.table.sort_by(self.table.next_sort_column(), reverse=False)

    def action_reverse_sort(self) -> None:
        self.table.sort_by(self.table.sort_column, reverse=not self.table.sort_reverse)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.table.search = event.value.strip()
        self.table.rebuild()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one("#search", Input).display = False
        self.table.focus()

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.display:
            search.value = ""  # Input.Changed clears the filter
            search.display = False
            self.table.search = ""
            self.table.rebuild()
            self.table.focus()
            return
        self.dismiss(self.wrote)

    @on(PlanTable.RowSelected)
    def _row_chosen(self) -> None:
        self.action_details()

    def _current(self) -> PlanRow | None:
        key = self.table.current_key()
        return None if key is None else self.table.plan_rows.get(key)

    def action_details(self) -> None:
        row = self._current()
        if row is not None:
            self.app.push_screen(DetailModal(row.title, describe_row(row, row.key in self.ticked, self.plan)))

    def action_toggle(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.key in self.ticked:
            self._set_tick(row, False)
        elif row.writes:
            self._set_tick(row, True)
        elif not row.forceable:
            self.notify(f"Cannot force “{safe_text(row.title)}”: {why_not_forceable(row)}.", title="Not forceable",
                        severity="warning", markup=False)
        elif row.reason is Reason.NEAR_COMPLETE:
            self.app.push_screen(ConfirmModal(self._near_complete_question(row), title="Force a near-complete item?",
                                              yes="Force it"),
                                 lambda yes: self._set_tick(row, True) if yes else None)
        else:
            self._set_tick(row, True)

    def _near_complete_question(self, row: PlanRow) -> str:
        assert self.plan is not None
        pct = percent(row.source_ms, row.duration_ms)
        where = f"{pct}%" if pct is not None else format_ms(row.source_ms)
        return (f"“{row.title}” is {where} through on the source, past the cap of "
                f"{self.plan.effective_max_percent:g}%, so the plan skipped it as nearly finished.\n\n"
                f"Forcing it will put a resume point at {where} ({format_ms(row.source_ms)}) on "
                f"'{self.plan.destination.name}'; Continue Watching there will show it.")

    def _set_tick(self, row: PlanRow, ticked: bool) -> None:
        (self.ticked.add if ticked else self.ticked.discard)(row.key)
        self.table.redraw_row(row.key)
        self.update_summary()

    def action_apply(self) -> None:
        from cwtui.ui.screens.apply import ApplyScreen

        if self.plan is None or self.sync is None:
            return
        only, force = self._selection()
        if not only and not force:
            self.notify("Nothing is ticked: tick rows with space first.", title="Apply", severity="warning")
            return
        self.app.push_screen(ApplyScreen(self.plan, self.sync, only=only, force=force), self._after_apply)

    def _after_apply(self, wrote: bool | None) -> None:
        if wrote:
            self.wrote = True
            self.run_plan()  # show what the servers hold now
