"""Leaving screens while their workers run, quitting mid-run, and the log file: nothing crashes, nothing leaks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cwtui.ui.app import CwtuiApp, run_tui
from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.modals import ConfirmModal
from cwtui.ui.widgets.result_log import ResultLog

from .conftest import settle
from .test_apply import HeldWrites, open_apply, start_live

pytestmark = pytest.mark.anyio


async def wait_until(pilot, condition, what: str, rounds: int = 20_000) -> None:
    """Let the app run until `condition()` holds: bounded, and on the condition, never on a time."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never happened: {what}")


async def leave_while_planning(app, pilot, key: str) -> None:
    """Press `key` on the diff while its plan is still being made, then wait until the app has settled."""
    await wait_until(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.planning, "planning")
    await pilot.press(key)
    await settle(app, pilot)


@pytest.mark.parametrize("attempt", range(5))
async def test_escape_while_planning_against_a_slow_server_does_not_crash(make_world, attempt):
    world = make_world()
    world.emulators[1].faults.latency_ms = 100 + 40 * attempt  # leave at a different stage of the plan each time
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await leave_while_planning(app, pilot, "escape")
        assert isinstance(app.screen, HomeScreen)
        world.emulators[1].faults.latency_ms = 0
        await pilot.press("tab", "enter")  # and the pair still opens and plans afterwards
        await settle(app, pilot)
        assert isinstance(app.screen, DiffScreen) and app.screen.plan is not None


async def test_escape_while_a_request_hangs_does_not_crash(make_world):
    world = make_world()
    world.emulators[1].faults.hang_next(count=5, seconds=2)
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await leave_while_planning(app, pilot, "q")
        assert isinstance(app.screen, HomeScreen)


async def test_ctrl_q_during_a_live_apply_asks_and_explains_cancel(make_world):
    world = make_world(extras=100)
    hold = HeldWrites(world, free=64)  # the first chunk (64) writes; then writes wait, so the run is surely going
    app = world.app(open_pair="home-to-cabin")
    app.client_factory = hold
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        await start_live(app, pilot, screen)
        await wait_until(pilot, lambda: hold.held.is_set() and screen.query_one(ResultLog).results, "a held write")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        question = str(app.screen.query_one("#question").render())
        assert "c on the run screen" in question and "journal stays consistent" in question
        await pilot.press("n")  # keep running: nothing changes
        await pilot.pause()
        assert app.screen is screen and screen.applying and app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")  # cancel cleanly and quit once the writes in flight finish
        hold.release.set()
        await wait_until(pilot, lambda: not app.is_running, "the app to quit after the run stopped")
    record = world.journal.load(screen.shown_run or world.journal.run_ids()[-1])
    assert record.complete and record.cancelled  # the journal has its end line: consistent


async def test_ctrl_q_with_no_run_going_quits_at_once(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


def test_the_tui_writes_the_cli_log(make_world, monkeypatch, tmp_path):
    """run_tui (what `cwtui` with no command runs) sets up cwtui.log in the state dir; plans and errors land there."""
    world = make_world()
    state = tmp_path / "tui-state"
    monkeypatch.setenv("CWTUI_STATE_DIR", str(state))

    def headless_run(app: CwtuiApp) -> None:
        async def drive() -> None:
            app.client_factory = world.client_factory  # the emulators instead of the real network
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(app, pilot)
                await pilot.press("tab", "enter")
                await settle(app, pilot)
                assert isinstance(app.screen, DiffScreen) and app.screen.plan is not None

        asyncio.run(drive())

    monkeypatch.setattr(CwtuiApp, "run", headless_run)
    try:
        run_tui(world.config_file.path)
    finally:
        for handler in logging.getLogger("cwtui").handlers:
            handler.flush()
    text = (state / "cwtui.log").read_text()
    assert "tui started" in text and "plan home-to-cabin" in text and "tui ended" in text
    token = world.config.servers["cabin"].token
    assert token not in text


@pytest.mark.parametrize("keys", [("e",), ("enter",)], ids=["pair-settings", "login-again"])
async def test_leaving_a_form_while_it_reads_a_slow_server_does_not_crash(make_world, keys):
    """The pair form reads rules and libraries, the login form probes the address: escape mid-read is safe."""
    world = make_world()
    for emulator in world.emulators:
        emulator.faults.latency_ms = 150
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(*keys)  # e: the selected pair's settings; enter on the servers table: log in again
        await wait_until(pilot, lambda: not isinstance(app.screen, HomeScreen), "the form")  # its reads start on mount
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
