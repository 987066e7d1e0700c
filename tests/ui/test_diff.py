"""The diff table against two emulated servers: default view, filters, search, sort, ticks, forcing, details."""

from __future__ import annotations

import pytest
from textual.notifications import Notify

from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.modals import ConfirmModal, DetailModal
from cwtui.ui.widgets.plan_table import PlanTable

from .conftest import settle
from .helpers import show_all_rows

pytestmark = pytest.mark.anyio


def titles(table: PlanTable) -> list[str]:
    return [table.get_row_at(i)[table.columns_shown.index("title")].plain for i in range(table.row_count)]


def cell(table: PlanTable, key: str, column: str) -> str:
    return table.get_cell(key, column).plain


def key_of(world, title: str) -> str:
    return world.ids[title][0]


async def open_diff(world, pilot, app) -> DiffScreen:
    await settle(app, pilot)
    await pilot.press("tab", "enter")  # servers table, then the pairs table has focus; enter opens the pair
    await settle(app, pilot)
    assert isinstance(app.screen, DiffScreen)
    return app.screen


async def test_opens_on_rows_that_change_then_filters_cycle(make_world):
    world = make_world(remove=True)
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        table = screen.table
        assert table.filter_name == "changes"
        assert sorted(titles(table)) == sorted(["Arrival (2016)", "Blade Runner (1982)", "Tenet (2020)",
                                                "[bold]Brackets[/bold] (2020)", "The Expanse S01E02 The Big Empty"])
        assert cell(table, key_of(world, "Arrival (2016)"), "action") == "→ write"
        assert cell(table, key_of(world, "Tenet (2020)"), "action") == "✗ clear"
        assert cell(table, key_of(world, "Arrival (2016)"), "tick") == "☑"
        seen = {}
        for _ in range(4):
            await pilot.press("f")
            await settle(app, pilot)
            seen[table.filter_name] = sorted(titles(table))
        assert seen["skipped"] == ["Alien (1979)", "Coherence (2013)", "Heat (1995)"]
        assert seen["near"] == ["Coherence (2013)"]
        assert seen["unresolved"] == ["Dune (2021)"]
        assert len(seen["all"]) == 9
        assert cell(table, key_of(world, "Dune (2021)"), "action") == "? unresolved"
        assert cell(table, key_of(world, "Heat (1995)"), "tick") == "☐"


async def test_search_filters_as_you_type_and_escape_clears(make_world):
    world = make_world()
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        await pilot.press("slash", "e", "x", "p")
        await settle(app, pilot)
        assert titles(screen.table) == ["The Expanse S01E02 The Big Empty"]
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen.table.search == "" and screen.table.row_count == 4
        assert isinstance(app.screen, DiffScreen)  # escape closed the search, not the screen
        await pilot.press("slash", "b", "r", "a", "c", "enter")  # a title with markup characters in it
        await settle(app, pilot)
        assert titles(screen.table) == ["[bold]Brackets[/bold] (2020)"]
        assert screen.focused is screen.table


async def test_sort_by_keyboard_cycles_columns_and_orders_rows(make_world):
    world = make_world()
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        table = screen.table
        assert table.sort_column == "title"
        await pilot.press("o")  # title -> source
        await settle(app, pilot)
        assert table.sort_column == "source"
        positions = [table.plan_rows[table.coordinate_to_cell_key((i, 0)).row_key.value].source_ms
                     for i in range(table.row_count)]
        assert positions == sorted(positions) and len(set(positions)) > 1
        await pilot.press("O")
        await settle(app, pilot)
        reversed_positions = [table.plan_rows[table.coordinate_to_cell_key((i, 0)).row_key.value].source_ms
                              for i in range(table.row_count)]
        assert reversed_positions == sorted(positions, reverse=True)


async def move_to(pilot, table: PlanTable, key: str) -> None:
    table.move_cursor(row=table.get_row_index(key), animate=False)
    await pilot.pause()


async def open_detail(pilot, table: PlanTable, key: str) -> None:
    """Put the cursor on `key` and press enter: its detail dialog opens."""
    await move_to(pilot, table, key)
    await pilot.press("enter")
    await pilot.pause()


async def test_untick_force_and_near_complete_confirm(make_world):
    world = make_world()
    app = world.app()
    notes: list[Notify] = []
    async with app.run_test(size=(100, 30), message_hook=lambda m: notes.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        screen = await open_diff(world, pilot, app)
        table = screen.table
        arrival = key_of(world, "Arrival (2016)")
        await move_to(pilot, table, arrival)
        await pilot.press("space")
        assert arrival not in screen.ticked and cell(table, arrival, "tick") == "☐"
        assert cell(table, arrival, "action") == "- off"
        await show_all_rows(app, pilot)
        assert table.filter_name == "all"
        # a skipped row that may be forced, but would move the destination back: it asks first
        heat = key_of(world, "Heat (1995)")
        await move_to(pilot, table, heat)
        await pilot.press("space")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "backwards" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await pilot.pause()
        assert heat in screen.ticked and cell(table, heat, "action") == "! force"
        # an unresolved row cannot be forced: it says why
        dune = key_of(world, "Dune (2021)")
        await move_to(pilot, table, dune)
        await pilot.press("space")
        assert dune not in screen.ticked
        assert any("Cannot force" in n.notification.message and "nowhere to write" in n.notification.message
                   for n in notes)
        # near complete asks first; "no" leaves it alone, "yes" forces it
        coherence = key_of(world, "Coherence (2013)")
        await move_to(pilot, table, coherence)
        await pilot.press("space")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        question = str(app.screen.query_one("#question").render())
        assert "97%" in question and "Continue Watching" in question
        await pilot.press("escape")
        await pilot.pause()
        assert coherence not in screen.ticked
        await pilot.press("space")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert coherence in screen.ticked and cell(table, coherence, "action") == "! force"
        only, force = screen._selection()
        assert force == {heat, coherence} and arrival not in only and len(only) == 3


async def test_detail_pane_shows_both_sides_and_the_rule(make_world):
    world = make_world()
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        await open_detail(pilot, screen.table, key_of(world, "Arrival (2016)"))
        assert isinstance(app.screen, DetailModal)
        body = str(app.screen.query_one("#detail-body").render())
        home_id, cabin_id = world.ids["Arrival (2016)"]
        assert home_id in body and cabin_id in body
        assert "40:00" in body and "10:00" in body and "rule" in body.lower()
        assert screen.table.plan_rows[home_id].rule in body
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_narrow_terminal_uses_fewer_columns(make_world):
    world = make_world()
    app = world.app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_diff(world, pilot, app)
        assert screen.table.columns_shown == ("title", "source", "destination", "action", "reason_short")
    app = world.app()
    async with app.run_test(size=(170, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        assert "src_played" in screen.table.columns_shown and "reason" in screen.table.columns_shown


async def test_notices_and_too_old_destination(make_world):
    world = make_world(cabin_version="10.8.13")
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        notices = str(screen.query_one("#notices").render())
        assert "10.8.13" in notices and "cannot take position writes" in notices
