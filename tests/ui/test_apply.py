"""The apply panel against emulated servers: live and dry runs streamed, cancel, undo, retry, a 10.8 destination."""

from __future__ import annotations

import asyncio

import pytest

from cwtui.core.models import Status
from cwtui.ui.screens.apply import ApplyScreen
from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.modals import ConfirmModal
from cwtui.ui.widgets.result_log import ResultLog

from .conftest import MIN, settle, ticks
from .helpers import show_all_rows

pytestmark = pytest.mark.anyio


async def open_apply(world, app, pilot) -> ApplyScreen:
    await settle(app, pilot)
    assert isinstance(app.screen, DiffScreen)
    await pilot.press("a")
    await pilot.pause()
    assert isinstance(app.screen, ApplyScreen)
    return app.screen


async def live_run_failing_arrival(world, app, pilot) -> tuple[ApplyScreen, str]:
    """Open the panel, make the destination refuse Arrival's write (HTTP 500) and run live to the end.

    Returns:
        The panel and Arrival's item id on the destination.
    """
    screen = await open_apply(world, app, pilot)
    arrival_cabin = world.ids["Arrival (2016)"][1]
    world.emulators[1].faults.fail_matching(f"/UserItems/{arrival_cabin}/UserData", 500, method="POST")
    await start_live(app, pilot, screen)
    await settle(app, pilot)
    return screen, arrival_cabin


async def start_live(app, pilot, screen: ApplyScreen) -> None:
    """Switch to a live run and confirm it (the panel opens in dry run, and a live run asks first)."""
    if screen.dry_run:
        await pilot.press("d")
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmModal)
    await pilot.press("y")


def statuses(screen: ApplyScreen) -> dict[str, Status]:
    return {r.title: r.status for r in screen.query_one("#results", ResultLog).results}


async def test_live_apply_streams_results_and_writes_the_destination(make_world):
    world = make_world(remove=True)
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        assert "DRY RUN" in str(screen.query_one("#mode").render())  # it opens in dry run
        await pilot.press("d")
        assert "LIVE RUN" in str(screen.query_one("#mode").render())
        assert "5 writes" in str(screen.query_one("#counts").render())
        await pilot.press("enter")
        await pilot.pause()
        question = str(app.screen.query_one("#question").render())
        assert "'cabin'" in question and "Cabin" in question and "alice" in question
        await pilot.press("y")
        await settle(app, pilot)
        assert statuses(screen) == {
            "Arrival (2016)": Status.APPLIED, "Blade Runner (1982)": Status.APPLIED, "Tenet (2020)": Status.APPLIED,
            "[bold]Brackets[/bold] (2020)": Status.APPLIED, "The Expanse S01E02 The Big Empty": Status.APPLIED}
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(40 * MIN)
        assert world.cabin_data("Tenet (2020)").position_ticks == 0
        log = screen.query_one("#results", ResultLog)
        assert log.get_row_at(0)[0].plain == "✓ applied"
        assert str(screen.query_one("#totals").render()).startswith("5 applied")
        outcome = str(screen.query_one("#outcome").render())
        assert "finished" in outcome and "press u" in outcome.lower()
        assert screen.undo_target is not None and screen.check_action("undo", ()) is True
        await pilot.press("escape")
        await settle(app, pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        assert diff.plan is not None and not diff.plan.writes  # re-planned: everything is in sync now


async def test_dry_run_writes_nothing(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        assert screen.dry_run and "DRY RUN" in str(screen.query_one("#mode").render())
        await pilot.press("enter")
        await settle(app, pilot)
        assert set(statuses(screen).values()) == {Status.APPLIED}
        assert screen.query_one("#results", ResultLog).get_row_at(0)[0].plain == "✓ would write"
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(10 * MIN)
        assert screen.undo_target is None and screen.check_action("undo", ()) is False
        assert "nothing was written" in str(screen.query_one("#outcome").render())


async def test_only_ticked_rows_and_forced_rows_are_applied(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        diff = app.screen
        table = diff.table
        arrival = world.ids["Arrival (2016)"][0]
        table.move_cursor(row=table.get_row_index(arrival), animate=False)
        await pilot.press("space")
        await show_all_rows(app, pilot)
        alien = world.ids["Alien (1979)"][0]  # below min_seconds: forceable
        table.move_cursor(row=table.get_row_index(alien), animate=False)
        await pilot.press("space")
        screen = await open_apply(world, app, pilot)
        assert "1 forced" in str(screen.query_one("#counts").render())
        await start_live(app, pilot, screen)
        await settle(app, pilot)
        got = statuses(screen)
        assert "Arrival (2016)" not in got and got["Alien (1979)"] is Status.APPLIED
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(10 * MIN)
        assert world.cabin_data("Alien (1979)").position_ticks == ticks(0.5 * MIN)


class HeldWrites:
    """Wraps the destination client: writes after the first `free` ones wait until `release` is set, so a test can
    act mid-run on an event (a write is being held) instead of on time."""

    def __init__(self, world, free: int) -> None:
        self.world, self.free, self.count = world, free, 0
        self.release = asyncio.Event()
        self.held = asyncio.Event()

    def __call__(self, entry, device_id):
        client = self.world.client_factory(entry, device_id)
        if entry.name != "cabin":
            return client
        real = client.write_user_data

        async def write(*args, **kwargs):
            self.count += 1
            if self.count > self.free:
                self.held.set()
                await self.release.wait()
            return await real(*args, **kwargs)

        client.write_user_data = write
        return client


async def test_escape_is_disabled_while_applying_and_cancel_stops_the_rest(make_world):
    world = make_world(extras=100)
    hold = HeldWrites(world, free=64)  # the first chunk (64 at concurrency 4) writes; the second is held
    app = world.app(open_pair="home-to-cabin")
    app.client_factory = hold
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        await start_live(app, pilot, screen)
        log = screen.query_one("#results", ResultLog)
        for _ in range(10_000):  # bounded; each turn yields to the app until a write is held mid-run
            if hold.held.is_set() and log.results:
                break
            await pilot.pause()
        assert screen.applying and log.results
        assert screen.check_action("back", ()) is None
        await pilot.press("escape")
        assert app.screen is screen  # escape did nothing while applying
        await pilot.press("c")
        hold.release.set()  # the writes in flight answer; nothing else is sent
        await settle(app, pilot)
        got = [r.status for r in log.results]
        assert len(got) == 104  # 100 extras + 4 planned writes of the fixed library
        assert Status.APPLIED in got and Status.CANCELLED in got
        assert got.index(Status.CANCELLED) > got.index(Status.APPLIED)
        assert "cancelled" in str(screen.query_one("#outcome").render())
        extra_cancelled = [r for r in log.results if r.status is Status.CANCELLED]
        first = extra_cancelled[0]
        assert world.cabin.get_user_data(world.cabin_user, first.destination_item_id).position_ticks == 0
        assert not screen.applying and screen.check_action("back", ()) is True


async def test_undo_restores_the_destination(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        await start_live(app, pilot, screen)
        await settle(app, pilot)
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(40 * MIN)
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(10 * MIN)
        assert world.cabin_data("Blade Runner (1982)").position_ticks == 0
        assert set(statuses(screen).values()) == {Status.APPLIED}
        assert "Undo" in str(screen.query_one("#outcome").render())
        assert screen.undo_target is None


async def test_failed_item_can_be_retried(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, _ = await live_run_failing_arrival(world, app, pilot)
        assert statuses(screen)["Arrival (2016)"] is Status.FAILED
        assert "press t" in str(screen.query_one("#outcome").render())
        await pilot.press("t")
        await settle(app, pilot)
        assert statuses(screen) == {"Arrival (2016)": Status.APPLIED}
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(40 * MIN)


async def test_old_destination_allows_only_a_dry_run(make_world):
    world = make_world(cabin_version="10.8.13")
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        mode = str(screen.query_one("#mode").render())
        assert "DRY RUN ONLY" in mode and "10.8.13" in mode and "10.9" in mode
        assert screen.dry_run and screen.check_action("toggle_dry_run", ()) is None
        await pilot.press("d")
        assert screen.dry_run
        await pilot.press("enter")
        await settle(app, pilot)
        assert statuses(screen) and all(r.dry_run for r in screen.query_one("#results", ResultLog).results)
        assert world.cabin_data("Arrival (2016)").position_ticks == ticks(10 * MIN)
