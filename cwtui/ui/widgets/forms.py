"""Form look shared by the login and pair screens."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Input


def compact_form(screen: Screen) -> None:
    """One line per field, so a whole form fits 80x24; no blinking cursor, so snapshots are stable."""
    for field in screen.query(Input):
        field.cursor_blink = False
    for widget in screen.query("Input, Select, Checkbox, RadioSet, Button, SelectionList"):
        widget.compact = True
