"""Truthful words and numbers in the TUI: the token is checked, errors name the server and the TUI's fix, counts
say what they count, a dry run "would write", the header shows changed settings, the detail explains itself, and
a destination that cannot take writes is flagged when the pair is made."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Select

from cwtui.core.config_model import ServerEntry
from cwtui.core.models import Reason
from cwtui.ui.screens.modals import DetailModal, ErrorModal
from cwtui.ui.screens.pair import PairScreen

from .conftest import CABIN_URL, settle
from .helpers import open_from_home, opened_diff, show_all_rows
from .test_apply import open_apply
from .test_diff import move_to, open_detail

pytestmark = pytest.mark.anyio


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def break_cabin_token(world) -> None:
    entry = world.config.servers["cabin"]
    world.config_file.save_server(ServerEntry("cabin", CABIN_URL, entry.user_id, entry.user_name, "not-a-token"))


async def test_home_checks_the_token_and_names_the_server(make_world):
    world = make_world()
    break_cabin_token(world)
    app = world.app()
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(app, pilot)
        servers = app.screen.query_one("#servers", DataTable)
        cabin = servers.get_cell("cabin", "status")
        assert cabin.plain.startswith("✗ cabin: token rejected") and "log in again" in cabin.plain
        assert "red" in str(cabin.style) and "writes ok" not in cabin.plain
        assert servers.get_cell("home", "status").plain.startswith("✓ Home")


async def test_errors_name_the_server_and_the_tui_fix(make_world):
    world = make_world()
    break_cabin_token(world)
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorModal)
        message = text(app.screen, "#error-text")
        assert "server 'cabin'" in message and "log in again from the home screen" in message
        assert "cwtui login" not in message and "not-a-token" not in message


async def test_counts_say_rows_or_destination_items_and_a_dry_run_would_write(demo_world):
    app = demo_world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        diff = app.screen
        assert text(diff, "#summary").split(":")[0].endswith("rows")
        screen = await open_apply(demo_world, app, pilot)
        rows = len({t.key for t in screen.tasks})
        chosen = [r for r in screen.plan.rows if r.key in screen.only | screen.force]
        items = sum(len(r.destination_item_ids) for r in chosen)
        # some rows have two versions on the destination: each item is written or has its own line
        assert len(chosen) == rows and items > rows and len(screen.tasks) + screen.reported == items
        counts = text(screen, "#counts")
        assert f"{rows} ticked rows shown → {len(screen.tasks)} writes (destination items)" in counts
        if screen.reported:
            assert f"{screen.reported} more item" in counts and "only reported" in counts
        await pilot.press("enter")  # a dry run
        await settle(app, pilot)
        totals, outcome = text(screen, "#totals"), text(screen, "#outcome")
        assert "would write" in totals and "applied" not in totals and "(destination items)" in totals
        assert "would write" in outcome and "applied" not in outcome


async def test_diff_header_shows_every_setting_that_differs_from_the_defaults(make_world):
    world = make_world(remove=True, min_seconds=120, max_percent=80, libraries=("Movies",))
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(app, pilot)
        line = text(app.screen, "#pair-line")
        assert "remove on" in line and "min_seconds 120" in line and "max_percent 80" in line
        assert "libraries Movies" in line and "delta_seconds" not in line


async def test_detail_says_how_it_matched_names_the_conflict_and_explains_symbols(demo_world):
    app = demo_world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(120, 40)) as pilot:
        diff = await opened_diff(app, pilot)
        await show_all_rows(app, pilot)
        rows = diff.table.plan_rows
        matched = next(r for r in rows.values() if r.reason is Reason.SOURCE_AHEAD)
        await open_detail(pilot, diff.table, matched.key)
        body = text(app.screen, "#detail-body")
        assert f"Matched:  {matched.matched_by}" in body and matched.matched_by.startswith("by ")
        assert "Symbols:" in body and "→ write" in body and "! force" in body
        await pilot.press("escape")
        ambiguous = next(r for r in rows.values() if r.reason is Reason.AMBIGUOUS)
        await open_detail(pilot, diff.table, ambiguous.key)
        assert isinstance(app.screen, DetailModal)
        body = text(app.screen, "#detail-body")
        assert "Ambiguous:" in body and "tmdb is 990001, not 20213" in body


async def test_a_destination_too_old_to_write_is_flagged_when_the_pair_is_made(make_world):
    world = make_world(cabin_version="10.8.13", pair=False)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_from_home(app, pilot, "p")
        assert isinstance(screen, PairScreen)
        screen.query_one("#destination", Select).value = "cabin"
        await settle(app, pilot)
        warning = text(screen, "#dest-warning")
        assert "10.8.13" in warning and "cannot take writes" in warning and "dry runs" in warning


async def test_server_text_never_reaches_the_terminal_as_control(make_world):
    """A title holding an OSC 52 clipboard write and a clear-screen is shown as text in the diff, the detail, the
    preview and the results."""
    from .conftest import MIN, guid, ticks

    world = make_world()
    evil = "Evil\x1b]52;c;aGk=\x07 \x1b[2JTitle"
    hid = world.home.add_movie(guid(1, 1), evil, 2001, ticks(100 * MIN), {"Imdb": "tt7777777"},
                               item_id=guid(1, 777))
    world.cabin.add_movie(guid(2, 1), evil, 2001, ticks(100 * MIN), {"Imdb": "tt7777777"}, item_id=guid(2, 777))
    world.home.set_user_data(world.home_user, hid, ticks(30 * MIN))
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        diff = app.screen
        await move_to(pilot, diff.table, hid)
        assert diff.table.get_cell(hid, "title").plain == "Evil Title (2001)"
        await pilot.press("enter")
        await pilot.pause()
        assert "\x1b" not in text(app.screen, "#detail-body") and "\x07" not in app.screen.title_text
        await pilot.press("escape")
        screen = await open_apply(world, app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        titles = [row[3].plain for row in (screen.log_table.get_row_at(i) for i in range(screen.log_table.row_count))]
        assert "Evil Title (2001)" in titles and not any("\x1b" in t for t in titles)
