"""Snapshots of every screen and its main states, from fixed data (the demo set behind fixed addresses).

Update after a deliberate change: `pytest tests/ui/test_snapshots.py --snapshot-update`, after reviewing
snapshot_report.html.
"""

from __future__ import annotations

from textual.widgets import Input

from cwtui.core.config_model import ServerEntry

from .conftest import settle

WIDE = (100, 30)
SMALL = (80, 24)


def press_then_settle(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot.app, pilot)
    return run_before


def test_home_empty(snap_compare, make_world):
    """No servers yet: the hints say what to press."""
    world = make_world(servers=False)
    assert snap_compare(world.app(), terminal_size=WIDE, run_before=press_then_settle())


def test_home_with_servers(snap_compare, demo_world):
    """Two reachable servers (versions shown) and one that does not answer with TLS checks off."""
    demo_world.config_file.save_server(ServerEntry("attic", "https://gone.test:8920", "u1", "bob", "t",
                                                   insecure=True))
    assert snap_compare(demo_world.app(), terminal_size=WIDE, run_before=press_then_settle())


def test_login_wrong_password(snap_compare, demo_world):
    """The error shows in place; nothing is saved."""
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#name", Input).value = "cabin-bob"
        screen.query_one("#url", Input).value = "http://cabin.test:8096"
        screen.query_one("#user", Input).value = "demo"
        screen.query_one("#password", Input).value = "wrong"
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
    assert snap_compare(demo_world.app(), terminal_size=WIDE, run_before=run_before)


def test_pair_settings(snap_compare, demo_world):
    """Editing the demo pair: the destination's MaxResumePct and the effective cap, the source's libraries."""
    assert snap_compare(demo_world.app(), terminal_size=WIDE, run_before=press_then_settle("tab", "e"))


def test_diff_default_view(snap_compare, demo_world):
    """The plan opens on the rows that will change."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle())


def test_diff_all_rows_small_terminal(snap_compare, demo_world):
    """Every row kind (write, clear, skip, unresolved, ambiguous) at 80x24: fewer columns, a short reason kept."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=SMALL,
                        run_before=press_then_settle("f", "f", "f", "f"))


def test_diff_all_rows_wide(snap_compare, demo_world):
    """At 170 columns the last-played times and reasons show too."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=(170, 40),
                        run_before=press_then_settle("f", "f", "f", "f"))


def test_diff_filtered_near_complete(snap_compare, demo_world):
    """The near-complete filter."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle("f", "f"))


def test_diff_search(snap_compare, demo_world):
    """Searching by title as you type."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle("f", "f", "f", "f", "slash", "t", "h", "e"))


def test_detail_pane(snap_compare, demo_world):
    """Both sides' raw values and the rule for the selected row."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle("enter"))


def test_apply_finished(snap_compare, demo_world, fixed_run_id):
    """A live run (switched on with d, confirmed with y) streamed to the end: the summary, run id and undo."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle("a", "d", "enter", "y"))


def test_apply_live_confirmation(snap_compare, demo_world):
    """A live run asks first, naming the destination server and user."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle("a", "d", "enter"))


def test_apply_panel_dry_run(snap_compare, demo_world):
    """The preview at 80x24: every write listed before it starts, in DRY RUN (how the panel opens)."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=SMALL,
                        run_before=press_then_settle("a"))


def test_apply_dry_run_finished_small(snap_compare, demo_world, fixed_run_id):
    """A finished dry run at 80x24 keeps status and reason; its lines say "would write"."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=SMALL,
                        run_before=press_then_settle("a", "enter"))


def test_runs_screen(snap_compare, demo_world, fixed_run_id, fixed_clock):
    """The runs screen after a dry run, a live run and its undo: kinds, counts, "undone by"."""
    keys = ("a", "enter", "escape", "a", "d", "enter", "y", "u", "y", "escape", "escape", "h")
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=(120, 30),
                        run_before=press_then_settle(*keys))


def test_pair_focus_visible(snap_compare, demo_world):
    """Focus on a checkbox shows as a mark in the left column; unticked boxes are empty, not a dim X."""
    assert snap_compare(demo_world.app(), terminal_size=WIDE,
                        run_before=press_then_settle("tab", "e", "tab", "tab", "tab", "tab"))


def test_reason_picker(snap_compare, demo_world):
    """F: pick any reason to filter by, with its row count."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle("F"))


def test_help(snap_compare, demo_world):
    """The help modal lists the diff table's keys."""
    assert snap_compare(demo_world.app(open_pair="home-to-cabin"), terminal_size=WIDE,
                        run_before=press_then_settle("question_mark"))


# --- the household (issue 12): the demo's `family` pair, alice -> alice and bob -> robert ---------------------


def test_pair_user_map_editor(snap_compare, household_world):
    """The user-map editor of `family`: both servers' users side by side, partners suggested by name, bob -> robert
    picked by hand, carol not synced; API-key entries say so."""
    async def run_before(pilot) -> None:
        await press_then_settle("tab", "j", "e")(pilot)
        pilot.app.screen.query_one("#user-2").focus()
        await settle(pilot.app, pilot)
    assert snap_compare(household_world.app(), terminal_size=WIDE, run_before=run_before)


def test_diff_household(snap_compare, household_world):
    """A household plan: a user column (bob→robert where the names differ) and totals per user in the header."""
    assert snap_compare(household_world.app(open_pair="family"), terminal_size=WIDE, run_before=press_then_settle())


def test_diff_household_user_filter_small(snap_compare, household_world):
    """u twice: only bob's rows; at 80x24 the user leads the title cell and the summary names the user shown."""
    assert snap_compare(household_world.app(open_pair="family"), terminal_size=SMALL,
                        run_before=press_then_settle("u", "u"))


def test_apply_household_finished(snap_compare, household_world, fixed_run_id):
    """A live household run streamed to the end: totals per user, each result line led by its user."""
    assert snap_compare(household_world.app(open_pair="family"), terminal_size=WIDE,
                        run_before=press_then_settle("a", "d", "enter", "y"))
