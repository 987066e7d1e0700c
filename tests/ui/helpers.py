"""Steps many UI tests share (open a screen, show every row), so each test reads as what it checks."""

from __future__ import annotations

from cwtui.ui.screens.diff import DiffScreen

from .conftest import settle


async def open_from_home(app, pilot, key: str):
    """Wait for the home screen, press `key` on it and wait until the screen it opens has settled.

    Returns:
        The screen now on top (the caller checks which one it is).
    """
    await settle(app, pilot)
    await pilot.press(key)
    await settle(app, pilot)
    return app.screen


async def opened_diff(app, pilot) -> DiffScreen:
    """Wait for the diff of an app started with `open_pair=` and return it."""
    await settle(app, pilot)
    diff = app.screen
    assert isinstance(diff, DiffScreen)
    return diff


async def show_all_rows(app, pilot) -> None:
    """Cycle the diff filter four times, from the default `changes` view to `all`, and wait for the table."""
    for _ in range(4):
        await pilot.press("f")
    await settle(app, pilot)
