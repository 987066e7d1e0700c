"""The household (issue 12) in the TUI: the diff's user column, user filter and per-user totals; the apply panel's
per-user totals and result lines; against the demo's `family` pair (alice -> alice, bob -> robert, API-key entries)."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from cwtui.ui.screens.apply import ApplyScreen
from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.modals import ConfirmModal, DetailModal, HelpModal
from cwtui.ui.widgets.plan_table import PlanTable
from cwtui.ui.widgets.result_log import ResultLog

from .conftest import settle
from .test_keys import screen_lines

pytestmark = pytest.mark.anyio


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


@asynccontextmanager
async def family_diff(world, size=(100, 30)):
    """The app on the `family` pair's diff, planned and settled."""
    app = world.app(open_pair="family")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        yield app, pilot


def users_shown(table: PlanTable) -> set[str]:
    return {table.plan_rows[k].source_user for k in table.visible_keys()}


async def test_diff_names_the_user_of_each_row_and_totals_per_user(household_world):
    async with family_diff(household_world, (100, 30)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        table = screen.query_one("#plan", PlanTable)
        assert "user" in table.columns_shown
        users = [str(table.get_cell_at((n, table.columns_shown.index("user")))) for n in range(table.row_count)]
        assert set(users) == {"alice", "bob→robert"}
        assert text(screen, "#users") == ("Users: alice → alice: 9 write, 0 clear, 13 skip · "
                                          "bob → robert: 3 write, 0 clear, 1 skip")
        assert "2 users" in text(screen, "#pair-line")


async def test_u_cycles_through_the_users_and_back_to_all(household_world):
    async with family_diff(household_world, (100, 30)) as (app, pilot):
        screen = app.screen
        table = screen.query_one("#plan", PlanTable)
        assert users_shown(table) == {"alice", "bob"}
        assert "u User" in screen_lines(app)[-1]
        await pilot.press("u")
        assert users_shown(table) == {"alice"} and table.row_count == 9
        assert "user alice" in text(screen, "#summary")
        await pilot.press("u")
        assert users_shown(table) == {"bob"} and table.row_count == 3
        assert "user bob" in text(screen, "#summary")
        await pilot.press("u")
        assert users_shown(table) == {"alice", "bob"} and table.row_count == 12
        assert "user " not in text(screen, "#summary")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        assert "Show one user's rows" in text(app.screen, "#help-keys")


async def test_a_plan_of_one_user_has_no_user_column_or_key(demo_world):
    app = demo_world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert "user" not in screen.query_one("#plan", PlanTable).columns_shown
        assert "u User" not in screen_lines(app)[-1]
        assert not screen.query_one("#users").display
        await pilot.press("u")
        assert "user " not in text(screen, "#summary")


async def test_the_detail_pane_names_both_users(household_world):
    async with family_diff(household_world, (100, 30)) as (app, pilot):
        await pilot.press("u", "u", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailModal)
        assert "Users:    bob on home-key → robert on cabin-key" in app.screen.body


async def test_80_columns_put_the_user_before_the_title(household_world):
    async with family_diff(household_world, (80, 24)) as (app, pilot):
        table = app.screen.query_one("#plan", PlanTable)
        assert "user_title" in table.columns_shown and "user" not in table.columns_shown
        assert any(line.lstrip().startswith("bob→robert · ") for line in screen_lines(app))


async def test_apply_panel_counts_writes_per_user_and_the_run_streams_each_users_results(household_world):
    async with family_diff(household_world, (100, 30)) as (app, pilot):
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ApplyScreen)
        assert "Writes per user: alice 9, bob→robert 3." in text(screen, "#counts")
        await pilot.press("d", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "2 users: alice, robert?" in app.screen.question
        await pilot.press("y")
        await settle(app, pilot)
        assert text(screen, "#user-totals") == "alice: 8 applied, 3 skipped · bob→robert: 3 applied"
        log = screen.query_one("#results", ResultLog)
        titles = [str(log.get_cell_at((n, 3))) for n in range(log.row_count)]
        assert titles[-1].startswith("bob→robert · Sherlock Holmes")
        assert sum(t.startswith("alice · ") for t in titles) == 11


async def test_home_checks_an_api_key_entry_by_its_key_not_by_a_user_it_does_not_have(household_world):
    """The old check asked for the entry's own user, which an API-key entry has none of: every key looked broken."""
    from dataclasses import replace

    config = household_world.config
    household_world.config_file.save_server(replace(config.servers["cabin-key"], token="not-a-key"))
    app = household_world.app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        servers = app.screen.query_one("#servers")
        assert [str(servers.get_cell(name, "status")) for name in ("home-key", "cabin-key")] == [
            "✓ Home 10.11.11, writes ok", "✗ cabin-key: token rejected; press enter here to log in again"]
        lines = screen_lines(app)
        assert "(API key)" in next(line for line in lines if line.lstrip().startswith("home-key"))
        pairs = {line.split()[0]: line for line in lines if line.lstrip().startswith(("family", "share"))}
        assert "home-key → cabin-key (2 users)" in pairs["family"]
        assert "home-key → home-key (1 user)" in pairs["share"]


async def test_a_household_run_read_back_from_the_journal_names_each_lines_users(household_world, fixed_run_id):
    from cwtui.ui.screens.run_view import RunViewScreen

    async with family_diff(household_world) as (app, pilot):
        for key in ("a", "d", "enter", "y", "escape", "escape", "h", "enter"):
            await pilot.press(key)
            await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, RunViewScreen)
        log = screen.query_one("#results", ResultLog)
        titles = [str(log.get_cell_at((n, 3))) for n in range(log.row_count)]
        assert len(titles) == 14
        assert sum(t.startswith("bob→robert · ") for t in titles) == 3
        assert sum(t.startswith("alice · ") for t in titles) == 11  # the active_session skip too (no intent)
        assert text(screen, "#user-totals") == "alice: 8 applied, 3 skipped · bob→robert: 3 applied"
        assert "(Cabin, 2 users)" in text(screen, "#mode")
