"""Pair settings: create and edit a pair, inputs validated as typed, the destination's rules and libraries read."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox, Input, Select, SelectionList

from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.pair import PairScreen

from .conftest import settle

pytestmark = pytest.mark.anyio


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_create_a_pair_with_settings_and_a_library(make_world):
    world = make_world(pair=False)
    world.cabin.config["MaxResumePct"] = 85
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PairScreen)
        screen.query_one("#name", Input).value = "cabin-from-home"
        screen.query_one("#source", Select).value = "home"
        screen.query_one("#destination", Select).value = "cabin"
        await settle(app, pilot)
        assert "MaxResumePct: 85%" in text(screen, "#rules") and "effective cap: 85%" in text(screen, "#rules")
        screen.query_one("#max_percent", Input).value = "80"
        await pilot.pause()
        assert "effective cap: 80%" in text(screen, "#rules")
        libraries = screen.query_one("#libraries", SelectionList)
        assert [libraries.get_option_at_index(i).value for i in range(libraries.option_count)] == ["Movies", "Shows"]
        libraries.select("Shows")
        screen.query_one("#remove", Checkbox).value = True
        screen.query_one("#min_seconds", Input).value = "120"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        pair = world.config.pairs["cabin-from-home"]
        assert (pair.source, pair.destination) == ("home", "cabin")
        p = pair.progress
        assert (p.remove, p.min_seconds, p.max_percent, p.libraries) == (True, 120, 80.0, ("Shows",))


async def test_inputs_validate_as_you_type_and_block_saving(make_world):
    world = make_world(pair=False)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#min_seconds", Input).value = "-5"
        screen.query_one("#max_percent", Input).value = "140"
        await pilot.pause()
        assert "0 or more" in text(screen, "#min_seconds-msg")
        assert "0 to 100" in text(screen, "#max_percent-msg")
        screen.query_one("#name", Input).value = "bad name!"
        await pilot.pause()
        assert "letters, digits" in text(screen, "#name-msg")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and "Name" in text(screen, "#error")
        screen.query_one("#name", Input).value = "ok"
        screen.query_one("#source", Select).value = "home"
        screen.query_one("#destination", Select).value = "cabin"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and "0 or more" in text(screen, "#error")
        assert world.config.pairs == {}


async def test_edit_keeps_values_and_renames(make_world):
    world = make_world(delta_seconds=45, libraries=("Movies",))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("tab", "e")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, PairScreen)
        assert screen.query_one("#delta_seconds", Input).value == "45"
        assert screen.query_one("#source", Select).value == "home"
        assert screen.query_one("#libraries", SelectionList).selected == ["Movies"]
        screen.query_one("#name", Input).value = "renamed"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert set(world.config.pairs) == {"renamed"}
        assert world.config.pairs["renamed"].progress.delta_seconds == 45


async def test_edit_keeps_settings_the_form_does_not_show(make_world):
    world = make_world(finish=True, played=True)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("tab", "e")
        await settle(app, pilot)
        assert isinstance(app.screen, PairScreen)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        progress = next(iter(world.config.pairs.values())).progress
        assert (progress.finish, progress.played) == (True, True)
