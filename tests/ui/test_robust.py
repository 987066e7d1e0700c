"""Leaving screens while their workers run, quitting mid-run, and the log file: nothing crashes, nothing leaks."""

from __future__ import annotations

import pytest

from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.home import HomeScreen

from .conftest import settle

pytestmark = pytest.mark.anyio


async def test_escape_while_planning_against_a_slow_server_does_not_crash(make_world):
    world = make_world()
    world.emulators[1].faults.latency_ms = 300
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(200):
            await pilot.pause()
            if isinstance(app.screen, DiffScreen) and app.screen.planning:
                break
        assert isinstance(app.screen, DiffScreen) and app.screen.planning
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
    assert app.return_code in (0, None)
