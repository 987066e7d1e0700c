"""KeyTable: a row-cursor DataTable that also answers the keys people already know (j/k, g/G, Home/End)."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class KeyTable(DataTable):
    """DataTable binds Home/End to the leftmost/rightmost column; with a row cursor they mean first/last row."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="cwtui.table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="cwtui.table.up"),
        Binding("g,home", "scroll_top", "First row", show=False, id="cwtui.table.top"),
        Binding("G,end", "scroll_bottom", "Last row", show=False, id="cwtui.table.bottom"),
    ]
