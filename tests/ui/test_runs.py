"""The runs screen: every run with pair, time, kind, counts and state; open, undo, resume a stopped undo."""

from __future__ import annotations

import pytest

from cwtui.core.journal import KIND_UNDO
from cwtui.core.models import Status
from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.modals import ConfirmModal
from cwtui.ui.screens.run_view import RunViewScreen
from cwtui.ui.screens.runs import RunsScreen
from cwtui.ui.widgets.key_table import KeyTable
from cwtui.ui.widgets.result_log import ResultLog

from .conftest import MIN, settle, ticks
from .test_apply import HeldWrites, open_apply, start_live

pytestmark = pytest.mark.anyio


def runs_rows(screen: RunsScreen) -> dict[str, list[str]]:
    table = screen.query_one("#runs", KeyTable)
    return {str(key.value): [c.plain for c in table.get_row(key)] for key in table.rows}


async def make_runs(world, app, pilot) -> tuple[str, str]:
    """A dry run, then a live run; back on the home screen. Returns (dry run id, live run id)."""
    screen = await open_apply(world, app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    dry = screen.shown_run
    await pilot.press("escape")
    await settle(app, pilot)
    screen = await open_apply(world, app, pilot)
    await start_live(app, pilot, screen)
    await settle(app, pilot)
    live = screen.shown_run
    await pilot.press("escape")
    await settle(app, pilot)
    await pilot.press("escape")
    await settle(app, pilot)
    assert isinstance(app.screen, HomeScreen)
    return dry, live


async def test_runs_screen_lists_every_run_and_undoes_one(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(120, 30)) as pilot:
        dry, live = await make_runs(world, app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        rows = runs_rows(runs)
        assert list(rows) == [live, dry]  # newest first
        assert rows[live][1:4] == ["home-to-cabin", "apply", "4 applied"] and rows[live][4] == "finished"
        assert rows[dry][2] == "dry run" and rows[dry][3] == "4 would write"
        assert runs.check_action("undo", ()) is True
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(app, pilot)
        view = app.screen
        assert isinstance(view, RunViewScreen)
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(10 * MIN)
        assert {r.status for r in view.query_one(ResultLog).results} == {Status.APPLIED}
        await pilot.press("escape")
        await settle(app, pilot)
        rows = runs_rows(runs)
        undo = next(k for k, row in rows.items() if row[2] == "undo")
        assert f"undone by {undo}" in rows[live][4] and f"undo of {live}" in rows[undo][4]


async def test_a_run_opens_to_its_results_from_the_journal(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(120, 30)) as pilot:
        dry, live = await make_runs(world, app, pilot)
        runs_command = next(c for c in app.get_system_commands(app.screen) if c.title == "Runs")
        runs_command.callback()  # the command palette's "Runs"
        await settle(app, pilot)
        await pilot.press("j", "enter")  # the dry run
        await settle(app, pilot)
        view = app.screen
        assert isinstance(view, RunViewScreen) and view.run_id == dry
        results = view.query_one(ResultLog).results
        assert {r.title for r in results} >= {"Arrival (2016)", "Blade Runner (1982)"} or len(results) == 4
        assert "would write" in str(view.query_one("#totals").render())
        assert view.check_action("undo", ()) is False  # a dry run wrote nothing: nothing to undo


async def test_a_cancelled_undo_can_be_resumed(make_world):
    world = make_world(extras=100)
    hold = HeldWrites(world, free=104 + 16)  # the apply's 104 writes and 16 restores go; the next restore waits
    app = world.app(open_pair="home-to-cabin")
    app.client_factory = hold
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        await start_live(app, pilot, screen)
        await settle(app, pilot)
        live = screen.shown_run
        await pilot.press("u", "y")
        for _ in range(20_000):  # bounded; on the event, not on time
            if hold.held.is_set() and screen.applying:
                break
            await pilot.pause()
        await pilot.press("c")
        hold.release.set()
        await settle(app, pilot)
        undo = next(s for s in world.journal.list_runs() if s.kind == KIND_UNDO)
        assert undo.cancelled and undo.undo_of == live
        restored = sum(1 for r in screen.query_one(ResultLog).results if r.status is Status.APPLIED)
        assert 0 < restored < 104
        app.show_runs()
        await settle(app, pilot)
        runs = app.screen
        rows = runs_rows(runs)
        assert "cancelled" in rows[undo.run_id][4]
        table = runs.query_one("#runs", KeyTable)
        table.move_cursor(row=table.get_row_index(undo.run_id))
        await pilot.pause()
        await pilot.press("u")
        await pilot.pause()
        assert "Resume undoing run" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await settle(app, pilot)
        view = app.screen
        assert isinstance(view, RunViewScreen)
        got = view.query_one(ResultLog).results
        assert len(got) == 104 - restored and {r.status for r in got} == {Status.APPLIED}
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(10 * MIN)
