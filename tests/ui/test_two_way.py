"""Two-way pairs in the TUI (issue 14 §4): directions, the conflict filter and choice, writes on both servers,
the first base recorded by an apply with nothing to write; and the pair form's direction."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.notifications import Notify

from cwtui.core.base import BaseStore
from cwtui.ui.screens.apply import ApplyScreen
from cwtui.ui.screens.diff import DiffScreen
from cwtui.ui.screens.modals import ConflictModal, DetailModal

from .conftest import MIN, settle, ticks
from .test_apply import start_live
from .test_diff import cell, move_to, open_detail, open_diff, titles

pytestmark = pytest.mark.anyio


def key(world, title: str) -> str:
    return world.ids[title][0]


async def show_all(app, pilot, screen) -> None:
    while screen.table.filter_name != "all":
        await pilot.press("f")
    await settle(app, pilot)


async def tick_the_heat_conflict(world, app, pilot) -> tuple[DiffScreen, str]:
    """Open the diff, show every row and press space on Heat, the conflict (the dialog asking who wins opens).

    Returns:
        The diff screen and Heat's row key.
    """
    screen = await open_diff(world, pilot, app)
    await show_all(app, pilot, screen)
    heat = key(world, "Heat (1995)")
    await move_to(pilot, screen.table, heat)
    await pilot.press("space")
    await pilot.pause()
    return screen, heat


async def test_rows_show_their_direction_and_the_header_counts_each_way(two_way_world):
    world = two_way_world
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        table = screen.table
        assert "way" in table.columns_shown
        assert cell(table, key(world, "Arrival (2016)"), "way") == "→ dest"
        assert cell(table, key(world, "Blade Runner (1982)"), "way") == "← source"
        summary = str(screen.query_one("#summary").render())
        assert "→ cabin 1, ← home 1, 1 conflict, 5 no base" in summary
        await show_all(app, pilot, screen)
        assert cell(table, key(world, "Heat (1995)"), "way") == "? pick"
        assert cell(table, key(world, "Coherence (2013)"), "way") == ""


async def test_conflict_filter_keeps_only_conflicts(two_way_world):
    world = two_way_world
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        seen = []
        for _ in range(8):
            await pilot.press("f")
            await settle(app, pilot)
            seen.append(screen.table.filter_name)
            if screen.table.filter_name == "conflicts":
                break
        assert seen[-1] == "conflicts" and "all" in seen
        assert titles(screen.table) == ["Heat (1995)"]
        assert "conflicts: 1" in str(screen.query_one("#summary").render())


async def test_one_way_plans_skip_the_conflict_filter(make_world):
    world = make_world()
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        names = []
        for _ in range(7):
            await pilot.press("f")
            names.append(screen.table.filter_name)
        assert "conflicts" not in names and "way" not in screen.table.columns_shown


async def test_detail_pane_shows_the_base_and_the_way_out_of_no_base(two_way_world):
    world = two_way_world
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        await open_detail(pilot, screen.table, key(world, "Arrival (2016)"))
        body = str(app.screen.query_one("#detail-body").render())
        assert "Agreed (base)" in body and "→ dest: 'cabin' is written from 'home'" in body
        position = next(line for line in body.splitlines() if line.strip().startswith("position"))
        assert position.split()[1:] == ["1:00:00", "40:00", "40:00"]  # source, destination, base
        await pilot.press("escape")
        await show_all(app, pilot, screen)
        await open_detail(pilot, screen.table, key(world, "Coherence (2013)"))
        assert isinstance(app.screen, DetailModal)
        body = str(app.screen.query_one("#detail-body").render())
        assert "Agreed (no base)" in body and "--seed source" in body


async def test_a_conflict_asks_who_wins_and_the_choice_reaches_the_write(two_way_world):
    world = two_way_world
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen, heat = await tick_the_heat_conflict(world, app, pilot)
        assert isinstance(app.screen, ConflictModal)
        await pilot.press("escape")  # cancel: nothing chosen
        await pilot.pause()
        assert heat not in screen.ticked and screen.prefer == {}
        await pilot.press("space")
        await pilot.pause()
        await pilot.press("d")  # the destination (cabin) wins: home is written
        await pilot.pause()
        assert screen.prefer == {heat: "destination"} and heat in screen.ticked
        assert cell(screen.table, heat, "action") == "! destination wins"
        assert cell(screen.table, heat, "way") == "← source"
        await pilot.press("a")
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, ApplyScreen)
        counts = str(panel.query_one("#counts").render())
        assert "3 writes" in counts and "'cabin' (Cabin): 1 and 'home' (Home): 2" in counts
        await start_live(app, pilot, panel)
        await settle(app, pilot)
    home_heat = world.home.get_user_data(world.home_user, world.ids["Heat (1995)"][0])
    assert home_heat.position_ticks == ticks(100 * MIN)  # cabin's position won
    assert world.cabin_data("Heat (1995)").position_ticks == ticks(100 * MIN)  # cabin untouched
    assert world.cabin_data("Arrival (2016)").position_ticks == ticks(60 * MIN)
    home_blade = world.home.get_user_data(world.home_user, world.ids["Blade Runner (1982)"][0])
    assert home_blade.position_ticks == ticks(50 * MIN)


async def test_apply_with_nothing_to_write_records_the_first_base(make_world):
    world = make_world()
    entry = world.config.pair(world.pair_name)
    world.config_file.save_pair(replace(entry, direction="both"))
    world.cabin.set_user_data(world.cabin_user, world.ids["Blade Runner (1982)"][1], ticks(20 * MIN),
                              last_played=world.home.get_user_data(world.home_user, world.ids["Blade Runner (1982)"][0]
                                                                   ).last_played)
    app = world.app()
    notes: list[Notify] = []
    async with app.run_test(size=(100, 30), message_hook=lambda m: notes.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        screen = await open_diff(world, pilot, app)
        assert not screen.plan.writes and not BaseStore(world.state_dir).exists(world.pair_name)
        await pilot.press("a")
        await pilot.pause()
        assert BaseStore(world.state_dir).exists(world.pair_name)
        assert any("recorded as the base" in n.notification.message for n in notes)
        # the base now holds Blade Runner: a change on cabin goes to home
        world.cabin.set_user_data(world.cabin_user, world.ids["Blade Runner (1982)"][1], ticks(70 * MIN),
                                  last_played=None)
        await pilot.press("r")
        await settle(app, pilot)
        row = screen.table.plan_rows[key(world, "Blade Runner (1982)")]
        assert (row.reason.value, row.direction) == ("changed_on_destination", "to_source")


async def test_pair_form_sets_the_direction(make_world):
    from textual.widgets import Select

    from cwtui.ui.screens.pair import PairScreen

    world = make_world()
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(PairScreen(world.config.pair(world.pair_name)))
        await settle(app, pilot)
        form = app.screen
        assert "only the destination is written" in str(form.query_one("#direction-hint").render())
        form.query_one("#direction", Select).value = "both"
        await pilot.pause()
        assert "the base" in str(form.query_one("#direction-hint").render())
        form.action_save()
        await pilot.pause()
    assert world.config.pair(world.pair_name).direction == "both"


async def test_finish_and_mark_played_rows_are_named_counted_and_written(make_world):
    """Issue 13 §4: a ticked finish or mark_played row says what it does (not "! force"), has its own filter, and
    the apply panel counts and previews it as itself."""
    world = make_world(finish=True, played=True)
    alien_home, alien_cabin = world.ids["Alien (1979)"]
    world.home.set_user_data(world.home_user, alien_home, 0, played=True, play_count=2, last_played=None)
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        table = screen.table
        tenet, alien = key(world, "Tenet (2020)"), alien_home
        assert cell(table, tenet, "action") == "✓ finish" and cell(table, alien, "action") == "✓ played"
        while table.filter_name != "finish":
            await pilot.press("f")
        await settle(app, pilot)
        assert sorted(titles(table)) == ["Alien (1979)", "Tenet (2020)"]
        for item in (tenet, alien):  # the detail pane names the deciding rule of these rows too
            await open_detail(pilot, table, item)
            body = str(app.screen.query_one("#detail-body").render())
            assert table.plan_rows[item].rule and table.plan_rows[item].rule in body
            assert table.plan_rows[item].reason.value in body
            await pilot.press("escape")
            await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, ApplyScreen)
        assert "1 finish (played at 0:00), 1 mark played" in str(panel.query_one("#counts").render())
        preview = panel.query_one("#preview")
        words = {preview.get_row_at(i)[4].plain: preview.get_row_at(i)[0].plain for i in range(preview.row_count)}
        assert words == {"Tenet (2020)": "finish", "Alien (1979)": "played"}
        await start_live(app, pilot, panel)
        await settle(app, pilot)
    assert world.cabin_data("Tenet (2020)").played and world.cabin_data("Tenet (2020)").position_ticks == 0
    alien_now = world.cabin.get_user_data(world.cabin_user, alien_cabin)
    assert alien_now.played and alien_now.play_count == 2


async def test_seed_from_the_source_writes_one_way_and_records_the_base(make_world):
    """A no_base pair seeded in the TUI: the apply panel lists the one-way writes to cabin, and after the run the
    base holds them, so the next plan has no no_base rows for the written items."""
    world = make_world()
    entry = world.config.pair(world.pair_name)
    world.config_file.save_pair(replace(entry, direction="both"))
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_diff(world, pilot, app)
        arrival = key(world, "Arrival (2016)")
        assert screen.table.plan_rows[arrival].reason.value == "no_base"
        await pilot.press("S")
        await pilot.pause()
        await pilot.press("enter")  # the first choice: the source is the master
        await settle(app, pilot)
        panel = app.screen
        assert isinstance(panel, ApplyScreen)
        assert {t.server or "cabin" for t in panel.tasks} == {"cabin"}
        assert "to 'cabin' (Cabin)" in str(panel.query_one("#counts").render())
        await start_live(app, pilot, panel)
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen
        assert screen.table.plan_rows[arrival].reason.value == "in_sync"
    assert world.cabin_data("Arrival (2016)").position_ticks == ticks(40 * MIN)
    assert BaseStore(world.state_dir).exists(world.pair_name)


async def test_unticking_a_chosen_conflict_forgets_the_winner(two_way_world):
    world = two_way_world
    app = world.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen, heat = await tick_the_heat_conflict(world, app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert cell(screen.table, heat, "way") == "→ dest"
        await pilot.press("asterisk")  # invert: a chosen conflict is unticked with the forced rows
        await pilot.pause()
        assert heat not in screen.ticked and screen.prefer == {}
        assert cell(screen.table, heat, "way") == "? pick"
