"""Command palette entries: each screen's own key actions, offered by name and calling the same action_* methods."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen


def screen_commands(screen: Screen) -> Iterable[SystemCommand]:
    """One SystemCommand per described binding of `screen` whose action is enabled right now."""
    seen: set[str] = set()
    for binding in type(screen).BINDINGS:
        if not isinstance(binding, Binding) or not binding.description or binding.action in seen:
            continue
        name = binding.action.split("(")[0]
        if screen.check_action(name, ()) is not True:
            continue
        seen.add(binding.action)
        yield SystemCommand(binding.description, binding.tooltip or binding.description,
                            partial(screen.call_later, screen.run_action, binding.action))
