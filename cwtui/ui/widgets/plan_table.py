"""PlanTable: the diff table of one plan, with ticks, filters, search and sort, filled in chunks to stay responsive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from textual.widgets import DataTable

from cwtui.core.models import Action, PlanRow, Reason
from cwtui.ui.widgets.key_table import KeyTable
from cwtui.ui.widgets.plan_format import UNRESOLVED_REASONS, cells_for, user_label

FIRST_CHUNK = 200
"""Rows added at once: enough for any screen; the rest follow a chunk per refresh so keys stay responsive."""
CHUNK = 500

FILTERS: dict[str, tuple[str, Callable[[PlanRow], bool]]] = {
    "changes": ("will change", lambda r: r.action is not Action.SKIP),
    "skipped": ("skipped", lambda r: r.action is Action.SKIP and r.reason not in UNRESOLVED_REASONS),
    "near": ("near-complete", lambda r: r.reason is Reason.NEAR_COMPLETE),
    "unresolved": ("unresolved", lambda r: r.reason in UNRESOLVED_REASONS),
    "all": ("all", lambda r: True),
}
FILTER_ORDER = tuple(FILTERS)
REASON_FILTER = "reason:"
"""A filter name that starts with this keeps the rows of one reason (the picker, `F`)."""


def filter_label(name: str) -> str:
    """The words for a filter in the summary line."""
    if name.startswith(REASON_FILTER):
        return f"reason {name[len(REASON_FILTER):]}"
    return FILTERS[name][0]


def filter_keeps(name: str) -> Callable[[PlanRow], bool]:
    if name.startswith(REASON_FILTER):
        reason = name[len(REASON_FILTER):]
        return lambda r: r.reason.value == reason
    return FILTERS[name][1]

COLUMN_LABELS = {
    "tick": "✓", "title": "Title", "source": "Source", "destination": "Destination", "diff": "Diff",
    "src_played": "Source played", "dst_played": "Dest. played", "action": "Will do", "reason": "Reason",
    "reason_short": "Reason", "user": "User", "user_title": "User · Title",
}
COLUMN_WIDTHS = {"tick": 1, "source": 13, "destination": 13, "diff": 9, "src_played": 16, "dst_played": 16,
                 "action": 14, "reason": 19, "reason_short": 12}
LAYOUTS = (  # (least width, columns): what does not fit is in the detail pane (enter)
    (170, ("tick", "title", "source", "destination", "diff", "src_played", "dst_played", "action", "reason")),
    (130, ("tick", "title", "source", "destination", "diff", "action", "reason")),
    (96, ("tick", "title", "source", "destination", "action", "reason")),
    # at 80 columns the tick is dropped (the Will do word says ticked or "- off") so a short reason still fits
    (0, ("title", "source", "destination", "action", "reason_short")),
)
TITLES = ("title", "user_title")
"""The columns that take the width left over."""
SORTABLE = ("user", "user_title", "title", "source", "destination", "diff", "src_played", "dst_played", "action", "reason", "reason_short",
            "tick")
"""What `o` cycles through (the columns not shown are skipped)."""


USER_COLUMN_LEAST = 96
"""Below this width a household plan names the user in the title cell instead of a column of its own."""


def columns_for(width: int, *, users: bool = False) -> tuple[str, ...]:
    """The columns that fit `width`; with `users` (a plan of several users) the user too."""
    cols = next(cols for least, cols in LAYOUTS if width >= least)
    if not users:
        return cols
    if width < USER_COLUMN_LEAST:
        return tuple("user_title" if c == "title" else c for c in cols)
    at = cols.index("title")
    return cols[:at] + ("user",) + cols[at:]


class PlanTable(KeyTable):
    """One row per PlanRow, keyed by PlanRow.key. The screen owns what is ticked; this draws it."""

    @dataclass
    class ViewChanged(Message):
        """The set or order of visible rows changed (filter, search, sort or a new plan)."""

        shown: int
        total: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.plan_rows: dict[str, PlanRow] = {}
        self.ticked: set[str] = set()
        self.filter_name = "changes"
        self.search = ""
        self.user = ""
        """Show only this source user's rows (household plans); "" shows every user."""
        self.multi_user = False
        """More than one user is in the plan: the rows name their user."""
        self.sort_column = "title"
        self.sort_reverse = False
        self.columns_shown: tuple[str, ...] = ()
        self.filling = False
        """True while later chunks are still being added."""
        self.shown_count = 0
        """Rows that pass the filter and search (some may still be on their way in)."""
        self._generation = 0
        self._width = 0

    # --- content --------------------------------------------------------------------------------------

    def load(self, rows: tuple[PlanRow, ...], ticked: set[str], filter_name: str, *, multi_user: bool = False) -> None:
        self.plan_rows = {row.key: row for row in rows}
        self.ticked = ticked
        self.filter_name = filter_name
        self.multi_user = multi_user
        if not multi_user:
            self.user = ""
        self.rebuild()

    def _shown(self) -> Callable[[PlanRow], bool]:
        """Whether a row passes the filter, the search and the user filter."""
        keep = filter_keeps(self.filter_name)
        needle, user = self.search.casefold(), self.user
        return lambda r: keep(r) and (not needle or needle in r.title.casefold()) and (not user or
                                                                                       r.source_user == user)

    def visible_rows(self) -> list[PlanRow]:
        shown = self._shown()
        rows = [r for r in self.plan_rows.values() if shown(r)]
        column = self.sort_column
        rows.sort(key=lambda r: cells_for(r, r.key in self.ticked, (column,))[0].sort_value, reverse=self.sort_reverse)
        return rows

    def rebuild(self) -> None:
        """Clear and refill with the visible rows: the first chunk now, the rest a chunk per refresh."""
        self._generation += 1
        generation = self._generation
        keep_key = self.current_key()
        columns = columns_for(self._available_width(), users=self.multi_user)
        if columns != self.columns_shown:
            self.clear(columns=True)
            self._add_columns(columns)
        else:
            self.clear()
        rows = self.visible_rows()
        self.shown_count = len(rows)
        self._add(rows[:FIRST_CHUNK])
        self.filling = len(rows) > FIRST_CHUNK
        if self.filling:
            self.call_after_refresh(self._add_more, generation, rows[FIRST_CHUNK:])
        if keep_key is not None and keep_key in self.rows:
            self.move_cursor(row=self.get_row_index(keep_key), animate=False)
        self.post_message(self.ViewChanged(len(rows), len(self.plan_rows)))

    def visible_keys(self) -> set[str]:
        """Keys of every row the filter and search let through (loaded into the table yet or not)."""
        shown = self._shown()
        return {k for k, r in self.plan_rows.items() if shown(r)}

    def position_text(self) -> str:
        """The row counter: cursor row / rows shown ("12 / 548")."""
        if not self.shown_count:
            return "0 / 0"
        return f"{min(self.cursor_row + 1, self.shown_count)} / {self.shown_count}"

    def _add_more(self, generation: int, rest: list[PlanRow]) -> None:
        if generation != self._generation:
            return  # a newer rebuild took over
        with self.app.batch_update():
            self._add(rest[:CHUNK])
        if len(rest) > CHUNK:
            self.call_after_refresh(self._add_more, generation, rest[CHUNK:])
        else:
            self.filling = False

    def _add(self, rows: list[PlanRow]) -> None:
        cols = self.columns_shown
        for row in rows:
            self.add_row(*cells_for(row, row.key in self.ticked, cols), key=row.key)

    def _add_columns(self, columns: tuple[str, ...]) -> None:
        self.columns_shown = columns
        widths = {**COLUMN_WIDTHS, "user": min(20, max([4] + [len(user_label(r.source_user, r.destination_user)) for r in self.plan_rows.values()]))}
        fixed = sum(widths[c] for c in columns if c not in TITLES)
        # two cells of padding per column, the row cursor's margin and a vertical scrollbar
        title = max(16, self._available_width() - fixed - 2 * len(columns) - 3)
        for key in columns:
            label = COLUMN_LABELS[key]
            self.add_column(label, width=title if key in TITLES else widths[key], key=key)

    def _available_width(self) -> int:
        width = self.size.width or self.app.size.width
        self._width = width
        return width

    def on_resize(self) -> None:
        if self.plan_rows and self.size.width != self._width:
            self.rebuild()  # the title column takes the width that is left

    # --- single rows ----------------------------------------------------------------------------------

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor can point past the end while rows are being replaced
            return None

    def redraw_row(self, key: str) -> None:
        """Re-render one row's cells after its tick changed."""
        if key not in self.rows:
            return
        row = self.plan_rows[key]
        for column, value in zip(self.columns_shown, cells_for(row, key in self.ticked, self.columns_shown)):
            self.update_cell(key, column, value)

    # --- sort -----------------------------------------------------------------------------------------

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort the visible rows by `column`; the same column again flips the order."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        if self.filling or column not in self.columns_shown:
            self.rebuild()
            return
        keep_key = self.current_key()
        self.sort(column, key=lambda value: value.sort_value, reverse=reverse)
        if keep_key is not None and keep_key in self.rows:
            self.move_cursor(row=self.get_row_index(keep_key), animate=False)
        self.post_message(self.ViewChanged(self.row_count, len(self.plan_rows)))

    def next_sort_column(self) -> str:
        order = [c for c in SORTABLE if c in self.columns_shown]
        index = order.index(self.sort_column) if self.sort_column in order else -1
        return order[(index + 1) % len(order)]

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))
