"""The home screen: servers checked live, pairs with their last run, opening and deleting, help and palette."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from cwtui.core.config_model import ServerEntry
from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.modals import ConfirmModal, ErrorModal, HelpModal

from .conftest import settle

pytestmark = pytest.mark.anyio


def row(table: DataTable, key: str) -> list[str]:
    return [c.plain for c in table.get_row(key)]


async def test_servers_are_checked_and_pairs_listed(make_world):
    world = make_world()
    world.config_file.save_server(ServerEntry("gone", "https://gone.test:1", "u", "bob", "tok", insecure=True))
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        servers = app.screen.query_one("#servers", DataTable)
        assert row(servers, "home")[:3] == ["home", "http://home.test:8096", "alice"]
        assert row(servers, "home")[3] == "✓ Home 10.11.11, writes ok"
        assert row(servers, "gone")[3].startswith("✗ ")
        assert row(servers, "gone")[4] == "TLS OFF"
        pairs = app.screen.query_one("#pairs", DataTable)
        assert row(pairs, "home-to-cabin") == ["home-to-cabin", "home → cabin", "on", "never"]


async def test_empty_config_shows_hints_and_add_pair_needs_two_servers(make_world):
    world = make_world(servers=False)
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.screen.query_one("#no-servers").display
        assert not app.screen.query_one("#servers").display
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_last_run_shows_after_an_apply_and_delete_asks_first(make_world, fixed_run_id):
    world = make_world()
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DiffScreen)
        await pilot.press("a", "d", "enter", "y")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        pairs = app.screen.query_one("#pairs", DataTable)
        assert "apply: 4 applied" in row(pairs, "home-to-cabin")[3]
        # a server used by a pair cannot go; the pair can, after a confirm
        app.screen.query_one("#servers", DataTable).focus()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ErrorModal)
        assert "used by pair home-to-cabin" in str(app.screen.query_one("#error-text").render())
        await pilot.press("escape")
        pairs.focus()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("escape")  # no
        await pilot.pause()
        assert "home-to-cabin" in world.config.pairs
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert "home-to-cabin" not in world.config.pairs


async def test_help_lists_the_screen_keys_and_palette_offers_actions(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        text = str(app.screen.query_one("#help-keys").render())
        for key, words in (("a", "apply panel"), ("f", "Next filter"), ("/", "by title"), ("space", "Tick")):
            assert any(line.strip().startswith(key) and words in line for line in text.splitlines()), (key, text)
        await pilot.press("escape")
        await pilot.pause()
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        titles = [c.title for c in app.get_system_commands(diff)]
        assert "Apply" in titles and "Re-plan" in titles and "Filter" in titles
        command = next(c for c in app.get_system_commands(diff) if c.title == "Filter")
        command.callback()
        await settle(app, pilot)
        assert diff.table.filter_name == "skipped"
