"""Form look shared by the login and pair screens, and toggles whose state shows without colour."""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Checkbox, Input, RadioButton, SelectionList


def compact_form(screen: Screen) -> None:
    """One line per field, so a whole form fits 80x24; no blinking cursor, so snapshots are stable."""
    for field in screen.query(Input):
        field.cursor_blink = False
    for widget in screen.query("Input, Select, Checkbox, RadioSet, Button, SelectionList"):
        widget.compact = True


class MarkedCheckbox(Checkbox):
    """Textual draws an X in every checkbox and tells on from off by colour only: off shows a blank here."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button


class MarkedRadioButton(RadioButton):
    """As MarkedCheckbox: the chosen button has a dot, the others none (not a dimmer dot)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "\u25cf" if self.value else " "
        return super()._button


class MarkedSelectionList(SelectionList):
    """A SelectionList whose unticked entries show an empty box, so they never look ticked without colour."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        index = self.scroll_offset.y + y
        if index >= self.option_count or self.get_option_at_index(index).value in self._selected:
            return strip
        segments = list(strip)
        if len(segments) > 1 and segments[1].text == "X":
            segments[1] = segments[1]._replace(text=" ")
        return Strip(segments, strip.cell_length)
