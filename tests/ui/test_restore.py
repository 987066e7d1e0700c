"""Restore from a snapshot in the TUI: home -> R -> pick a file -> pick the destination -> the plan -> apply, over
real HTTP against emulated servers, with the config file left as it was."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from textual.widgets import DataTable, Input, Select

import cwtui.core.snapshot as snapshot_module
from cwtui.core.models import Action, Status, User
from cwtui.core.snapshot_source import SnapshotSource
from cwtui.core.snapshot_take import snapshot_dir, take
from cwtui.ui.app import CwtuiApp
from cwtui.ui.screens.apply import ApplyScreen
from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.modals import HelpModal
from cwtui.ui.screens.restore import RestoreScreen
from cwtui.ui.screens.runs import RunsScreen
from cwtui.ui.widgets.result_log import ResultLog

from .conftest import MIN, T0, settle, ticks
from .test_apply import start_live

WIDE = (100, 30)
SNAP_NAME = "home-20261120T210000Z.jsonl"


class _Fixed(datetime):
    @classmethod
    def now(cls, tz=None):
        return T0 if tz is None else T0.astimezone(tz)


async def take_snapshot(world, path):
    """What `cwtui snapshot home -o PATH` does (cmd_snapshot -> take), through the world's client factory; the
    header's time is fixed so pictures match."""
    entry = world.config.server("home")
    client = world.client_factory(entry, "tests")
    real, snapshot_module.datetime = snapshot_module.datetime, _Fixed
    try:
        return await take(entry, client, [User(entry.user_id, entry.user_name)], path)
    finally:
        snapshot_module.datetime = real
        await client.aclose()


def snapshot_files(world, damaged: bool = True):
    """A good snapshot of home under the state dir's snapshots/, and (older) a copy cut short."""
    folder = snapshot_dir(world.state_dir)
    good = folder / SNAP_NAME
    with ThreadPoolExecutor(1) as pool:  # its own loop, also when called from a running one
        pool.submit(asyncio.run, take_snapshot(world, good)).result()
    if damaged:
        cut = folder / "home-20261119T210000Z.jsonl"
        cut.write_text("".join(good.read_text().splitlines(keepends=True)[:-1]))
        os.utime(cut, (1_000_000, 1_000_000))
    os.utime(good, (2_000_000, 2_000_000))
    return good


def lose_state(world) -> None:
    """Cabin lost its watch state (a re-created library, a new machine)."""
    for _, cabin_id in world.ids.values():
        if cabin_id:
            world.cabin.set_user_data(world.cabin_user, cabin_id, 0, played=False, play_count=0, last_played=None)


def restore_app(world) -> CwtuiApp:
    """The world's app with the real factory's rule for snapshot entries (a file, not a server)."""
    def factory(entry, device_id):
        return SnapshotSource(entry.snapshot) if entry.snapshot else world.client_factory(entry, device_id)

    app = CwtuiApp(world.config_file, world.journal, client_factory=factory)
    app.animation_level = "none"
    return app


def cells(table: DataTable, key: str) -> list[str]:
    return [getattr(c, "plain", c) for c in table.get_row(key)]


async def open_restore(app, pilot) -> RestoreScreen:
    await settle(app, pilot)
    await pilot.press("R")
    await settle(app, pilot)
    assert isinstance(app.screen, RestoreScreen)
    return app.screen


pytestmark_anyio = pytest.mark.anyio


@pytestmark_anyio
async def test_restore_a_snapshot_into_a_server_from_the_home_screen(make_world):
    world = make_world()
    good = snapshot_files(world)
    before = world.config_file.path.read_text()
    lose_state(world)
    app = restore_app(world)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_restore(app, pilot)
        files = screen.query_one("#files", DataTable)
        assert [k.value for k in files.rows] == [str(good), str(good.with_name("home-20261119T210000Z.jsonl"))]
        assert cells(files, str(good)) == [SNAP_NAME, "Home", "alice", "2026-11-20 20:00", "9"]
        files.focus()
        await pilot.press("enter")  # the newest file, at the cursor
        await settle(app, pilot)
        assert screen.chosen is not None and screen.chosen.path == good
        assert str(screen.query_one("#path", Input).value) == str(good)
        select = screen.query_one("#destination", Select)
        assert [str(o[0]) for o in select._options[1:]] == ["home (alice)", "cabin (alice)"]
        select.value = "cabin"
        await settle(app, pilot)
        assert "alice (in the file) → alice on 'cabin'" in str(screen.query_one("#map").render())
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen) and diff.plan is not None
        plan = diff.plan
        assert plan.destination.name == "cabin" and plan.settings.played and plan.settings.add
        writes = {r.title: r.action for r in plan.rows if r.writes}
        assert writes == {"Arrival (2016)": Action.UPSERT, "Blade Runner (1982)": Action.UPSERT,
                          "Heat (1995)": Action.UPSERT, "[bold]Brackets[/bold] (2020)": Action.UPSERT,
                          "The Expanse S01E02 The Big Empty": Action.UPSERT,
                          "Tenet (2020)": Action.MARK_PLAYED}
        await pilot.press("a")
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, ApplyScreen)
        await start_live(app, pilot, panel)
        await settle(app, pilot)
        results = {r.title: r.status for r in panel.query_one("#results", ResultLog).results}
        assert set(results) == set(writes) and set(results.values()) == {Status.APPLIED}
        run_id = panel.undo_target
        assert run_id is not None

    assert world.cabin_data("Arrival (2016)").position_ticks == ticks(40 * MIN)
    assert world.cabin_data("Heat (1995)").position_ticks == ticks(50 * MIN)
    tenet = world.cabin_data("Tenet (2020)")
    assert tenet.played and tenet.play_count == 1
    assert world.config_file.path.read_text() == before  # nothing saved to the config
    record = world.journal.load(run_id)
    assert record.destination["name"] == "cabin"  # the real entry: undo finds it in the config

    app = restore_app(world)  # undo it from the runs list, as for any run
    async with app.run_test(size=WIDE) as pilot:
        await settle(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
    assert world.cabin_data("Arrival (2016)").position_ticks == 0
    assert not world.cabin_data("Tenet (2020)").played


@pytestmark_anyio
async def test_a_damaged_file_is_listed_with_its_error_and_cannot_be_picked(make_world):
    world = make_world()
    good = snapshot_files(world)
    cut = good.with_name("home-20261119T210000Z.jsonl")
    app = restore_app(world)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_restore(app, pilot)
        files = screen.query_one("#files", DataTable)
        row = cells(files, str(cut))
        assert row[0] == cut.name and row[4] == "✗ line 10: cut short: no end line a…"
        files.focus()
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert screen.chosen is None
        assert "cannot be used: line 10: cut short" in str(screen.query_one("#file").render())
        screen.query_one("#destination", Select).value = "cabin"
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert isinstance(app.screen, RestoreScreen)  # no plan from a damaged file
        # a typed path is checked the same way
        path = screen.query_one("#path", Input)
        path.value = str(world.state_dir / "nothing.jsonl")
        path.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.chosen is None and "cannot be read" in str(screen.query_one("#file").render())
        path.value = str(good)
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.chosen is not None and screen.chosen.path == good
        path.value = str(cut)  # edited but not checked yet: not the chosen file any more
        await pilot.pause()
        assert screen.chosen is None and "Press enter" in str(screen.query_one("#file").render())


def test_restore_file_picker(snap_compare, make_world):
    """The snapshots folder, newest first: a good file (server, users, time, items) and a damaged one (its error)."""
    world = make_world()
    snapshot_files(world)

    async def run_before(pilot) -> None:
        await pilot.press("R")
        await settle(pilot.app, pilot)

    assert snap_compare(restore_app(world), terminal_size=WIDE, run_before=run_before)


def test_restore_plan(snap_compare, make_world, monkeypatch):
    """The restore's plan: the usual diff over the in-memory pair (played marks come back too)."""
    world = make_world()
    snapshot_files(world, damaged=False)
    lose_state(world)
    monkeypatch.chdir(world.state_dir)  # a typed relative path: no random temp folder in the picture

    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("R")
        await settle(pilot.app, pilot)
        screen = pilot.app.screen
        screen.query_one("#destination", Select).value = "cabin"
        screen.query_one("#path", Input).value = f"snapshots/{SNAP_NAME}"
        screen.query_one("#path", Input).focus()
        await pilot.press("enter")
        await settle(pilot.app, pilot)
        await pilot.press("ctrl+r")
        await settle(pilot.app, pilot)

    assert snap_compare(restore_app(world), terminal_size=WIDE, run_before=run_before)


@pytestmark_anyio
async def test_a_household_file_restores_users_by_name_and_says_who_pairs(household_world):
    """A file of several users: the pair gets users = "by-name", and the screen names each pairing first."""
    world = household_world
    entry = world.config.server("home-key")
    client = world.client_factory(entry, "tests")
    path = snapshot_dir(world.state_dir) / "house.jsonl"
    try:
        written = await take(entry, client, await client.users(), path)
    finally:
        await client.aclose()
    assert len(written.users) > 1
    before = world.config_file.path.read_text()
    app = restore_app(world)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_restore(app, pilot)
        files = screen.query_one("#files", DataTable)
        assert cells(files, str(path))[2] == ", ".join(u.name for u in written.users)
        files.focus()
        await pilot.press("enter")
        screen.query_one("#destination", Select).value = "cabin-key"
        await settle(app, pilot)
        shown = str(screen.query_one("#map").render())
        assert shown.startswith("Users by name: alice → alice.")
        assert "no destination user is called bob, carol" in shown
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen) and diff.plan is not None
        assert [(u.source.name, u.destination.name) for u in diff.plan.users] == [("alice", "alice")]
        assert diff.plan.destination.name == "cabin-key"
    assert world.config_file.path.read_text() == before


@pytestmark_anyio
async def test_the_home_footer_and_help_name_the_restore_key(make_world):
    world = make_world()
    app = restore_app(world)
    async with app.run_test(size=(130, 30)) as pilot:
        await settle(app, pilot)
        shown = [(key.key_display, key.description) for key in app.screen.query("FooterKey")]
        assert ("R", "Restore") in shown  # 130 columns: the footer has room for it after Recheck
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        assert ("R", "Restore a server's watch state from a snapshot file (plan first; nothing is saved to the "
                     "config)") in app.screen.keys
