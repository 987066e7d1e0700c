"""What you see is what gets written: visible rows only, a preview of every write, explicit live runs, no surprise
second run, `u` about the run shown, forcing only what can be written, re-plans that keep the user's choices."""

from __future__ import annotations

import pytest
from textual.notifications import Notify

from cwtui.core.models import Action, ItemKind, Reason, UserData
from cwtui.ui.screens.modals import ConfirmModal
from cwtui.ui.widgets.plan_format import force_blocker
from cwtui.ui.widgets.result_log import ResultLog
from cwtui.ui.widgets.write_preview import WritePreview

from .conftest import MIN, settle, ticks
from .helpers import opened_diff, show_all_rows
from .test_apply import live_run_failing_arrival, open_apply, start_live
from .test_diff import cell, key_of, move_to

pytestmark = pytest.mark.anyio


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def search_for(pilot, app, words: str) -> None:
    await pilot.press("slash", *words, "enter")
    await settle(app, pilot)


async def test_apply_takes_only_the_ticked_rows_that_are_shown(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        diff = app.screen
        assert len(diff.ticked) == 4  # Arrival, Blade Runner, Brackets, The Expanse
        await search_for(pilot, app, "r")  # Arrival, Blade Runner, [bold]Brackets[/bold]
        assert diff.table.shown_count == 3
        assert "(1 hidden)" in text(diff, "#summary")
        screen = await open_apply(world, app, pilot)
        assert screen.only == {key_of(world, t) for t in ("Arrival (2016)", "Blade Runner (1982)",
                                                          "[bold]Brackets[/bold] (2020)")}
        counts = text(screen, "#counts")
        assert "4 ticked, 1 of them hidden by the search" in counts and "not included" in counts
        await start_live(app, pilot, screen)
        await settle(app, pilot)
        got = {r.title for r in screen.query_one(ResultLog).results}
        assert "The Expanse S01E02 The Big Empty" not in got and len(got) == 3
        episode = world.ids["The Expanse S01E02 The Big Empty"][1]
        assert world.cabin.get_user_data(world.cabin_user, episode) is None or \
            world.cabin.get_user_data(world.cabin_user, episode).position_ticks == 0


async def test_the_panel_lists_every_write_before_it_starts(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        preview = screen.query_one("#preview", WritePreview)
        assert preview.display and preview.row_count == len(screen.tasks) == 4
        arrival = world.ids["Arrival (2016)"]
        line = [c.plain for c in preview.get_row(str(next(t.seq for t in screen.tasks if t.row.key == arrival[0])))]
        assert line[0] == "set" and line[1] == "10:00 → 40:00" and line[4] == "Arrival (2016)"
        assert line[2] == arrival[1][:8] and line[3] == "cabin"
        assert world.journal.run_ids() == []  # nothing ran yet


async def test_the_panel_opens_in_dry_run_then_in_the_mode_last_chosen(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        assert screen.dry_run and "DRY RUN" in text(screen, "#mode")
        await pilot.press("d", "escape")
        await settle(app, pilot)
        screen = await open_apply(world, app, pilot)
        assert not screen.dry_run and "LIVE RUN" in text(screen, "#mode")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)  # live: asks, naming server and user
        question = text(app.screen, "#question")
        assert "'cabin'" in question and "server Cabin" in question and "user alice" in question
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and world.journal.run_ids() == []


async def test_enter_after_a_finished_run_opens_a_result_and_never_runs_again(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_apply(world, app, pilot)
        await pilot.press("enter")  # a dry run
        await settle(app, pilot)
        assert len(world.journal.run_ids()) == 1
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(world.journal.run_ids()) == 1
        detail = text(app.screen, "#detail-body")
        assert "would write" in detail and "Row key" in detail
        await pilot.press("escape", "enter", "enter")
        await settle(app, pilot)
        assert len(world.journal.run_ids()) == 1 and screen.check_action("start", ()) is False


async def test_u_refers_to_the_run_shown(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, _ = await live_run_failing_arrival(world, app, pilot)
        first = screen.shown_run
        assert screen.undo_target == first and f"undo run {first}" in text(screen, "#outcome")
        await pilot.press("t")  # the retry is a new run: u now means it
        await settle(app, pilot)
        assert screen.shown_run != first and screen.undo_target == screen.shown_run
        assert f"undo run {screen.shown_run}" in text(screen, "#outcome")


async def test_a_retry_names_the_items_already_in_place(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, arrival_cabin = await live_run_failing_arrival(world, app, pilot)
        assert screen.failed_keys == {key_of(world, "Arrival (2016)")}
        # the write landed after all (another client, or a lost answer): the retry finds it in place
        world.cabin.set_user_data(world.cabin_user, arrival_cabin, ticks(40 * MIN), last_played=None)
        await pilot.press("t")
        await settle(app, pilot)
        outcome = text(screen, "#outcome")
        assert "Already in place" in outcome and "Arrival (2016)" in outcome


def _row(reason: Reason, source_min: float = 30, dest_min: float | None = 30) -> object:
    from cwtui.core.models import PlanRow

    return PlanRow("k", ItemKind.MOVIE, "T", Action.SKIP, reason, "", destination_item_ids=("d",),
                   source=UserData(ticks(source_min * MIN)),
                   destination=None if dest_min is None else UserData(ticks(dest_min * MIN)))


def test_force_is_refused_where_it_could_write_nothing():
    assert "change nothing" in force_blocker(_row(Reason.IN_SYNC), None)
    assert "replay_watched is off" in force_blocker(_row(Reason.ALREADY_WATCHED), None)
    assert force_blocker(_row(Reason.BELOW_MIN_SECONDS), None) is None


async def test_forcing_a_row_that_moves_backwards_asks_first(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    notes: list[Notify] = []
    async with app.run_test(size=(100, 30), message_hook=lambda m: notes.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        await settle(app, pilot)
        diff = app.screen
        await show_all_rows(app, pilot)
        heat = key_of(world, "Heat (1995)")  # the destination is at 80:00, the source at 50:00
        await move_to(pilot, diff.table, heat)
        await pilot.press("space")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        question = text(app.screen, "#question")
        assert "backwards" in question and "1:20:00" in question and "50:00" in question
        await pilot.press("n")
        await pilot.pause()
        assert heat not in diff.ticked
        alien = key_of(world, "Alien (1979)")  # below min_seconds: nothing to override, no question
        await move_to(pilot, diff.table, alien)
        await pilot.press("space")
        await pilot.pause()
        assert app.screen is diff and alien in diff.ticked


async def test_replanning_keeps_ticks_forced_rows_filter_search_and_cursor(make_world):
    world = make_world()
    app = world.app(open_pair="home-to-cabin")
    async with app.run_test(size=(100, 30)) as pilot:
        diff = await opened_diff(app, pilot)
        await show_all_rows(app, pilot)  # all rows
        arrival, alien = key_of(world, "Arrival (2016)"), key_of(world, "Alien (1979)")
        await move_to(pilot, diff.table, arrival)
        await pilot.press("space")  # untick a planned write
        await move_to(pilot, diff.table, alien)
        await pilot.press("space")  # force a skipped row
        await search_for(pilot, app, "al")  # Alien, Arrival (…al), Heat? no: Alien and Arrival
        await move_to(pilot, diff.table, alien)
        # something changes on the destination meanwhile: Blade Runner gets its position there
        blade = world.ids["Blade Runner (1982)"][1]
        world.cabin.set_user_data(world.cabin_user, blade, ticks(20 * MIN), last_played=None)
        await pilot.press("r")
        await settle(app, pilot)
        assert arrival not in diff.ticked and alien in diff.ticked
        assert cell(diff.table, alien, "action") == "! force"
        assert diff.table.filter_name == "all" and diff.table.search == "al"
        assert diff.table.current_key() == alien
        status = text(diff, "#status")
        assert "Re-planned: 1 changed" in status and "kept" in status
