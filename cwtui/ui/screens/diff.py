"""DiffScreen: one pair's plan as a table: what will change, what is skipped and why; ticks choose what to apply."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, LoadingIndicator, Static

from cwtui.core.config_model import Config
from cwtui.core.errors import CwtuiError
from cwtui.core.models import TO_DESTINATION, TO_SOURCE, Action, Plan, PlanRow, ProgressSettings, Reason, format_ms
from cwtui.core.sync import PairSync
from cwtui.core.text import safe_text
from cwtui.ui.errors import explain
from cwtui.ui.screens.modals import ConfirmModal, ConflictModal, DetailModal, ErrorModal, PickModal
from cwtui.ui.widgets.plan_changes import carry_over
from cwtui.ui.widgets.plan_format import describe_row, force_blocker, force_risk, percent, when_text
from cwtui.ui.widgets.plan_table import (COLUMN_LABELS, FILTER_ORDER, OPTIONAL_FILTERS, REASON_FILTER, PlanTable,
                                         filter_keeps, filter_label)
from cwtui.ui.screens.keys_first import AppKeysFirst

NEEDS_PLAN = ("apply", "next_filter", "pick_reason", "next_sort", "reverse_sort", "toggle", "details", "search",
              "tick_all", "tick_none", "tick_invert")


class DiffScreen(AppKeysFirst, Screen[bool]):
    """Plans in a worker (progress in the status line), then shows every row; the apply panel opens on top."""

    BINDINGS = [
        Binding("a", "apply", "Apply", tooltip="Open the apply panel with the ticked rows that are shown",
                id="cwtui.diff.apply"),
        Binding("r", "replan", "Re-plan", tooltip="Read both servers again and re-plan (ticks, filter, search and "
                "cursor are kept)", id="cwtui.diff.replan"),
        Binding("slash", "search", "Search", key_display="/", tooltip="Filter rows by title as you type",
                id="cwtui.diff.search"),
        Binding("f", "next_filter", "Filter", tooltip="Next filter (changes, skipped, …, all; finish, conflicts if "
                "any)", id="cwtui.diff.filter"),
        Binding("F", "pick_reason", "Reason filter", tooltip="Pick a reason and show only its rows",
                id="cwtui.diff.reason"),
        Binding("S", "seed", "Seed", show=False, tooltip="Two-way: pick the master side once; a one-way run from "
                "it records the base", id="cwtui.diff.seed"),
        Binding("u", "next_user", "User", tooltip="Show one user's rows (household pairs): each user in turn, "
                "then all", id="cwtui.diff.user"),
        Binding("o", "next_sort", "Sort", tooltip="Sort by the next column (press again to cycle)",
                id="cwtui.diff.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, tooltip="Reverse the sort order",
                id="cwtui.diff.reverse"),
        Binding("space", "toggle", "Tick", tooltip="Tick or untick (forces a skipped row; asks who wins a "
                "conflict)",
                id="cwtui.diff.toggle"),
        Binding("plus", "tick_all", "Tick shown", key_display="+", show=False,
                tooltip="Tick every shown row that will change", id="cwtui.diff.tick_all"),
        Binding("minus", "tick_none", "Untick shown", key_display="-", show=False,
                tooltip="Untick every shown row (forced ones too)", id="cwtui.diff.tick_none"),
        Binding("asterisk", "tick_invert", "Invert ticks", key_display="*", show=False,
                tooltip="Invert the ticks of the shown rows that will change; forced rows are unticked",
                id="cwtui.diff.tick_invert"),
        Binding("enter", "details", "Details", tooltip="Both sides' raw values and the rule that decided the row",
                id="cwtui.diff.details"),
        Binding("escape", "back", "Back", tooltip="Clear the search, or go back to the pairs",
                id="cwtui.diff.back"),
        Binding("q", "leave", "Back", show=False, tooltip="Go back to the pairs", id="cwtui.diff.leave"),
    ]

    planning = reactive(False, bindings=True)
    """True while a plan is being made; the keys that need a plan are greyed out."""

    def __init__(self, pair_name: str, *, load_config: Callable[[], Config] | None = None) -> None:
        super().__init__()
        self.pair_name = pair_name
        self.load_config = load_config
        """Where each plan gets its config: the app's (the file on disk) unless given (a restore's in-memory one)."""
        self.title = f"Diff: {pair_name}"
        self.plan: Plan | None = None
        self.sync: PairSync | None = None
        self.ticked: set[str] = set()
        self.prefer: dict[str, str] = {}
        """Two-way conflicts the user settled: row key -> the side that wins ("source" or "destination")."""
        self.wrote = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="pair-line", markup=False)
        yield Static("", id="users", markup=False)
        yield Static("", id="notices", markup=False)
        with Horizontal(id="status-bar"):
            yield LoadingIndicator(id="loading")
            yield Static("", id="status", markup=False)
            yield Static("", id="counter", markup=False)
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
        self.query_one("#users").display = False
        self.table.focus()
        self.run_plan()

    async def on_unmount(self) -> None:
        if self.sync is not None:
            await self.sync.aclose()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_user":  # only a plan of several users has the key (the footer stays short otherwise)
            return False if self.plan is None or len(self.plan.users) < 2 else (None if self.planning else True)
        if action == "seed":  # only a two-way pair can be seeded
            return False if self.plan is None or not self.plan.two_way else (None if self.planning else True)
        if action in NEEDS_PLAN or action == "replan":
            return None if self.planning or self.plan is None and action != "replan" else True
        return True

    # --- planning -------------------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        self._status(message + "…")

    def _status(self, message: str) -> None:
        try:
            self.query_one("#status", Static).update(message)
        except NoMatches:
            pass  # the screen was left while a worker still reported progress

    @work(exclusive=True, group="plan", description="Planning")
    async def run_plan(self) -> None:
        """Open both servers fresh (settings may have changed) and plan; errors open ErrorModal.

        The user may leave the screen at any moment (its workers are then cancelled), so nothing after an
        await may assume the widgets are still there.
        """
        self.planning = True
        self.query_one("#loading").display = True
        plan = None
        try:
            if self.sync is not None:
                await self.sync.aclose()
                self.sync = None
            config = (self.load_config or self.app.load_config)()
            self.sync = PairSync(config, self.pair_name, self.app.journal, client_factory=self.app.client_factory)
            plan = await self.sync.plan(progress=self._say)
        except CwtuiError as exc:
            text = explain(exc, self.app)
            self._status(f"Planning failed: {text}")
            if self.is_attached:
                self.app.push_screen(ErrorModal(text, f"Cannot plan pair '{self.pair_name}'"))
        finally:
            self.planning = False
            if self.is_attached:
                self.query_one("#loading").display = False
        if plan is not None and self.is_attached:
            self.show_plan(plan)

    def show_plan(self, plan: Plan) -> None:
        old = self.plan
        self.plan = plan
        if old is None:
            self.ticked = {row.key for row in plan.rows if row.writes}
            message = f"Plan ready: {len(plan.rows)} rows."
            filter_name = "changes" if plan.writes else "all"
        else:
            carried = carry_over(old, self.ticked, plan)
            self.ticked, message = carried.ticked, carried.message
            filter_name = self.table.filter_name
        conflicts = {row.key for row in plan.rows if row.choices}
        self.prefer = {k: side for k, side in self.prefer.items() if k in conflicts}  # a choice outlives a re-plan
        self.ticked -= conflicts - set(self.prefer)
        src, dst = plan.source, plan.destination
        many = f"{len(plan.users)} user{'s' if len(plan.users) != 1 else ''}" if plan.users else ""
        self.query_one("#pair-line", Static).update(safe_text(
            f"{src.name} ({src.server_name} {src.version}, {many or src.user_name}) → "
            f"{dst.name} ({dst.server_name} {dst.version}, {many or dst.user_name}) · {settings_line(plan)}"))
        users = self.query_one("#users", Static)
        users.update(safe_text(users_line(plan)))
        users.display = bool(plan.users)
        notices = self.query_one("#notices", Static)
        notices.update("\n".join(f"⚠ {safe_text(n)}" for n in plan.notices))
        notices.display = bool(plan.notices)
        self._status(message)
        if self.table.user not in {u.source.name for u in plan.users}:
            self.table.user = ""  # that user left the map
        self.table.load(plan.rows, self.ticked, filter_name, multi_user=len(plan.users) > 1, two_way=plan.two_way,
                        prefer=self.prefer)
        if not self.query_one("#search", Input).has_focus:
            self.table.focus()

    # --- the summary line -----------------------------------------------------------------------------

    @on(PlanTable.ViewChanged)
    def _view_changed(self) -> None:
        self.update_summary()

    @on(DataTable.RowHighlighted, "#plan")
    def _cursor_moved(self) -> None:
        self.query_one("#counter", Static).update(self.table.position_text())

    def update_summary(self) -> None:
        if self.plan is None:
            return
        counts = {a: 0 for a in Action}
        for row in self.plan.rows:
            counts[row.action] += 1
        ticked_writes, forced = self._selection()
        ticked_writes |= set(self.prefer) & self.ticked
        forced -= set(self.prefer)
        shown = self.table.visible_keys()
        hidden = len((ticked_writes | forced) - shown)
        table = self.table
        arrow = "↓" if table.sort_reverse else "↑"
        search = f" · search “{table.search}”" if table.search else ""
        search += f" · user {table.user}" if table.user else ""
        hidden_text = f" ({hidden} hidden)" if hidden else ""
        forced_text = f"+{len(forced)} forced" if forced else ""
        finished = (f"{counts[Action.FINISH]} finish, " if counts[Action.FINISH] else "") + (
            f"{counts[Action.MARK_PLAYED]} played, " if counts[Action.MARK_PLAYED] else "") + (
            f"{counts[Action.MARK_UNPLAYED]} unplayed, " if counts[Action.MARK_UNPLAYED] else "")
        self.query_one("#summary", Static).update(
            f"{len(self.plan.rows)} rows: {counts[Action.UPSERT]} write, {counts[Action.CLEAR]} clear, {finished}"
            f"{counts[Action.SKIP]} skip{ways_text(self.plan)} · ticked {len(ticked_writes)}{forced_text}{hidden_text} · "
            f"{filter_label(table.filter_name)}: {table.shown_count}"
            f"{search} · sort {COLUMN_LABELS[table.sort_column]} {arrow}")
        self.query_one("#counter", Static).update(table.position_text())

    def _selection(self) -> tuple[set[str], set[str]]:
        """(ticked planned writes, ticked skipped rows to force); ticked conflicts are in neither (see prefer)."""
        rows = self.table.plan_rows
        writes = {k for k in self.ticked if k in rows and rows[k].writes}
        return writes, {k for k in self.ticked if k in rows} - writes - set(self.prefer)

    # --- actions --------------------------------------------------------------------------------------

    def action_replan(self) -> None:
        self.run_plan()

    def action_next_filter(self) -> None:
        table = self.table
        rows = table.plan_rows.values()
        order = [name for name in FILTER_ORDER
                 if name not in OPTIONAL_FILTERS or name == table.filter_name or any(map(filter_keeps(name), rows))]
        current = table.filter_name if table.filter_name in order else order[-1]
        table.filter_name = order[(order.index(current) + 1) % len(order)]
        table.rebuild()

    def action_next_user(self) -> None:
        assert self.plan is not None
        names = [""] + [u.source.name for u in self.plan.users]
        table = self.table
        table.user = names[(names.index(table.user) + 1) % len(names)] if table.user in names else ""
        table.rebuild()

    def action_pick_reason(self) -> None:
        assert self.plan is not None
        counts: dict[str, int] = {}
        for row in self.plan.rows:
            counts[row.reason.value] = counts.get(row.reason.value, 0) + 1
        choices = [(f"{reason}  ({n} row{'s' if n > 1 else ''})", reason) for reason, n in sorted(counts.items())]

        def chosen(reason: str | None) -> None:
            if reason:
                self.table.filter_name = REASON_FILTER + reason
                self.table.rebuild()

        self.app.push_screen(PickModal("Show only the rows with this reason", choices), chosen)

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
        if search.display or self.table.search:
            search.value = ""  # Input.Changed clears the filter
            search.display = False
            self.table.search = ""
            self.table.rebuild()
            self.table.focus()
            return
        self.action_leave()

    def action_leave(self) -> None:
        self.workers.cancel_group(self, "plan")
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
            self.app.push_screen(DetailModal(row.title, describe_row(row, row.key in self.ticked, self.plan,
                                                                     self.prefer.get(row.key, ""))))

    def action_toggle(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.key in self.ticked:
            self.prefer.pop(row.key, None)
            self._set_tick(row, False)
        elif row.choices:
            self._ask_winner(row)
        elif row.writes:
            self._set_tick(row, True)
        elif (blocker := force_blocker(row, self.plan)) is not None:
            self.notify(f"Cannot force “{safe_text(row.title)}”: {blocker}.", title="Not forceable",
                        severity="warning", markup=False)
        elif (question := self._force_question(row)) is not None:
            self.app.push_screen(ConfirmModal(question, title="Force this row?", yes="Force it"),
                                 lambda yes: self._set_tick(row, True) if yes else None)
        else:
            self._set_tick(row, True)

    def _ask_winner(self, row: PlanRow) -> None:
        """A conflict: the user picks the side that wins; the answer is shown on the row and passed as `prefer`."""
        assert self.plan is not None
        src, dst = self.plan.source.name, self.plan.destination.name
        s, d = row.source, row.destination
        question = (f"“{row.title}” changed on both sides since they last agreed:\n"
                    f"  {src}: {format_ms(s.position_ms if s else None)}{' played' if s and s.played else ''}, "
                    f"last played {when_text(s.last_played if s else None)}\n"
                    f"  {dst}: {format_ms(d.position_ms if d else None)}{' played' if d and d.played else ''}, "
                    f"last played {when_text(d.last_played if d else None)}\n\n"
                    f"If {src} wins, '{dst}' is written; if {dst} wins, '{src}' is written.")

        def chosen(side: str | None) -> None:
            if side is None:
                return
            pick = row.choices[0] if side == "source" else row.choices[1]
            if not pick.writes:
                self.notify(f"With the {side} winning, nothing is written: {pick.reason.value}.", title="Conflict",
                            severity="warning", markup=False)
                return
            self.prefer[row.key] = side
            self._set_tick(row, True)

        self.app.push_screen(ConflictModal(question, source=src, destination=dst), chosen)

    def _force_question(self, row: PlanRow) -> str | None:
        """The question to ask before forcing `row`, or None when forcing it overrides nothing."""
        assert self.plan is not None
        dst = self.plan.destination.name
        if row.reason is Reason.NEAR_COMPLETE:
            pct = percent(row.source_ms, row.duration_ms)
            where = f"{pct}%" if pct is not None else format_ms(row.source_ms)
            return (f"“{row.title}” is {where} through on the source, past the cap of "
                    f"{self.plan.effective_max_percent:g}%, so the plan skipped it as nearly finished.\n\n"
                    f"Forcing it will put a resume point at {where} ({format_ms(row.source_ms)}) on "
                    f"'{dst}'; Continue Watching there will show it.")
        risk = force_risk(row)
        if risk is None:
            return None
        return (f"“{row.title}”: {risk}.\n\nForcing it writes the source position {format_ms(row.source_ms)} "
                f"to '{dst}' anyway.")

    def _set_tick(self, row: PlanRow, ticked: bool) -> None:
        (self.ticked.add if ticked else self.ticked.discard)(row.key)
        self.table.redraw_row(row.key)
        self.update_summary()

    def _retick(self, keys: set[str], ticked: bool) -> None:
        (self.ticked.update if ticked else self.ticked.difference_update)(keys)
        if not ticked:  # an unticked conflict forgets its winner: ticking it again asks again
            for key in keys:
                self.prefer.pop(key, None)
        for key in keys:
            self.table.redraw_row(key)
        self.update_summary()

    def action_tick_all(self) -> None:
        rows = self.table.plan_rows
        self._retick({k for k in self.table.visible_keys() if rows[k].writes}, True)

    def action_tick_none(self) -> None:
        self._retick(self.table.visible_keys() & self.ticked, False)

    def action_tick_invert(self) -> None:
        rows = self.table.plan_rows
        shown = self.table.visible_keys()
        flip_on = {k for k in shown if rows[k].writes and k not in self.ticked}
        self._retick(shown & self.ticked, False)
        self._retick(flip_on, True)

    def action_apply(self) -> None:
        from cwtui.ui.screens.apply import ApplyScreen

        if self.plan is None or self.sync is None:
            return
        writes, force = self._selection()
        shown = self.table.visible_keys()
        prefer = {k: side for k, side in self.prefer.items() if k in self.ticked}
        hidden = len((writes | force | set(prefer)) - shown)
        only, force = writes & shown, force & shown
        prefer = {k: side for k, side in prefer.items() if k in shown}
        if not only and not force and not prefer:
            if not self.plan.writes:
                self._settle()
                return
            more = f" ({hidden} ticked rows are hidden by the filter or search)" if hidden else ""
            self.notify(f"Nothing ticked is shown: tick rows with space first{more}.", title="Apply",
                        severity="warning", markup=False)
            return
        self.app.push_screen(ApplyScreen(self.plan, self.sync, only=only, force=force, prefer=prefer, hidden=hidden,
                                         hidden_by=self._hidden_by()), self._after_apply)

    def action_seed(self) -> None:
        assert self.plan is not None
        src, dst = self.plan.source.name, self.plan.destination.name
        choices = [(f"{src} (source) is the master: '{dst}' is written from it", "source"),
                   (f"{dst} (destination) is the master: '{src}' is written from it", "destination")]
        self.app.push_screen(PickModal("Seed the base: one one-way run from the side you pick", choices),
                             lambda side: self.seed_plan(side) if side else None)

    @work(exclusive=True, group="plan", description="Planning a seed")
    async def seed_plan(self, side: str) -> None:
        """Plan one-way from `side` (`--seed`), then show it in the apply panel: every write listed with its server,
        dry run first, a live run confirmed with the counts. Nothing to write: the base is recorded at once."""
        assert self.sync is not None
        self.planning = True
        try:
            plan = await self.sync.plan(progress=self._say, seed=side)
        except CwtuiError as exc:
            if self.is_attached:
                self.app.push_screen(ErrorModal(explain(exc, self.app), f"Cannot seed pair '{self.pair_name}'"))
            return
        finally:
            self.planning = False
        if not self.is_attached:
            return
        self._status(f"Seed plan from the {side}: {len(plan.writes)} writes.")
        if not plan.writes:
            self.plan = plan
            self._settle()
            self.run_plan()
            return
        from cwtui.ui.screens.apply import ApplyScreen

        self.app.push_screen(ApplyScreen(plan, self.sync, only={r.key for r in plan.writes}, force=set()),
                             self._after_apply)

    def _settle(self) -> None:
        """Nothing to write: still record the items whose sides agree (a two-way pair's first base), as the CLI's
        apply does."""
        assert self.plan is not None and self.sync is not None
        try:
            self.sync.settle(self.plan)
        except (CwtuiError, OSError) as exc:
            self.app.push_screen(ErrorModal(explain(exc, self.app) if isinstance(exc, CwtuiError) else str(exc),
                                            "Cannot record the agreed state"))
            return
        agree = sum(1 for row in self.plan.rows if row.reason is Reason.IN_SYNC)
        self.notify(f"Nothing to write. {agree} item{'' if agree == 1 else 's'} already agree on both sides"
                    + (" and are recorded as the base of this two-way pair." if self.plan.two_way else "."),
                    title="Apply", markup=False)

    def _hidden_by(self) -> str:
        table = self.table
        parts = []
        if table.search:
            parts.append("the search")
        if table.filter_name != "all":
            parts.append(f"the filter ({filter_label(table.filter_name)})")
        if table.user:
            parts.append(f"the user filter ({table.user})")
        return " and ".join(parts) or "the filter"

    def _after_apply(self, wrote: bool | None) -> None:
        if wrote:
            self.wrote = True
        self.run_plan()  # show what the servers hold now; ticks, filter, search and cursor are kept


def settings_line(plan: Plan) -> str:
    """Every progress setting that differs from the defaults, the cap and the server rules, for the header."""
    defaults = ProgressSettings()
    changed = []
    for name in ProgressSettings.__dataclass_fields__:
        value, default = getattr(plan.settings, name), getattr(defaults, name)
        if value != default:
            shown = ", ".join(value) if isinstance(value, tuple) else (
                ("on" if value else "off") if isinstance(value, bool) else f"{value:g}")
            changed.append(f"{name} {shown}")
    cap = f"{plan.effective_max_percent:g}%" if plan.effective_max_percent else "none"
    rules = f"dest. MaxResumePct {plan.rules.max_resume_pct:g}%" if plan.rules else "server rules off"
    settings = "settings: " + ("; ".join(changed) if changed else "defaults")
    return f"cap {cap}, {rules} · {settings}"


def ways_text(plan: Plan) -> str:
    """A two-way plan's totals per direction for the summary line: " · → dest 2, ← source 1, 1 conflict"."""
    if not plan.two_way:
        return ""
    ways = plan.summary()["by_direction"]
    conflicts = sum(1 for r in plan.rows if r.reason is Reason.CONFLICT)
    no_base = sum(1 for r in plan.rows if r.reason is Reason.NO_BASE)
    return (f" · → {plan.destination.name} {ways[TO_DESTINATION]}, ← {plan.source.name} {ways[TO_SOURCE]}, "
            f"{conflicts} conflict{'' if conflicts == 1 else 's'}, {no_base} no base")


def users_line(plan: Plan) -> str:
    """Totals per mapped user for the header: "alice → alice: 3 write, 1 clear, 2 skip · bob → robert: …"."""
    parts = []
    for pair in plan.users:
        counts = {a: 0 for a in Action}
        for row in plan.rows:
            if row.source_user == pair.source.name:
                counts[row.action] += 1
        parts.append(f"{pair.source.name} → {pair.destination.name}: {counts[Action.UPSERT]} write, "
                     f"{counts[Action.CLEAR]} clear, {counts[Action.SKIP]} skip")
    return "Users: " + " · ".join(parts)
