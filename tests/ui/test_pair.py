"""Pair settings: create and edit a pair, inputs validated as typed, the destination's rules and libraries read."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import Checkbox, Input, Select, SelectionList

from cwtui.core.config_model import ServerEntry, UserLink
from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.pair import PairScreen

from .conftest import CABIN_URL, HOME_URL, settle

pytestmark = pytest.mark.anyio


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def name_pair(screen: PairScreen, name: str, source: str, destination: str) -> None:
    """Fill in the form's name and its two servers, as a user picks them."""
    screen.query_one("#name", Input).value = name
    screen.query_one("#source", Select).value = source
    screen.query_one("#destination", Select).value = destination


async def add_pair(app, pilot) -> PairScreen:
    """Open an empty pair form from the home screen."""
    await settle(app, pilot)
    await pilot.press("p")
    await pilot.pause()
    assert isinstance(app.screen, PairScreen)
    return app.screen


async def test_create_a_pair_with_settings_and_a_library(make_world):
    world = make_world(pair=False)
    world.cabin.config["MaxResumePct"] = 85
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await add_pair(app, pilot)
        name_pair(screen, "cabin-from-home", "home", "cabin")
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
        screen = await add_pair(app, pilot)
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
        name_pair(screen, "ok", "home", "cabin")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and "0 or more" in text(screen, "#error")
        assert world.config.pairs == {}


async def edit_pair(app, pilot) -> PairScreen:
    """Open the first pair's settings from the home screen, with everything read."""
    await settle(app, pilot)
    await pilot.press("tab", "e")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, PairScreen)
    return screen


async def test_edit_keeps_values_and_renames(make_world):
    world = make_world(delta_seconds=45, libraries=("Movies",))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await edit_pair(app, pilot)
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
        await edit_pair(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        progress = next(iter(world.config.pairs.values())).progress
        assert (progress.finish, progress.played) == (True, True)


def household_world(make_world, **kw):
    """home: alice (admin), bob, carol; cabin: alice (admin), bob, robert. The pair is edited by hand first: a
    comment, `same_server = false` and `direction = "both"`, which the screen does not edit and must keep."""
    world = make_world(**kw)
    for name in ("bob", "carol"):
        world.home.add_user(name, password="pw")
    world.cabin.add_user("robert", password="pw")
    path = world.config_file.path
    text_ = path.read_text()
    head = "[pairs.home-to-cabin]\n"
    assert head in text_
    path.write_text(text_.replace(head, head + "# the family's pair: keep this comment\nsame_server = false\n"
                                                "direction = \"both\"\n"))
    return world


async def open_editor(app, pilot):
    screen = await edit_pair(app, pilot)
    screen.query_one("#users-mode", Select).value = "list"
    await settle(app, pilot)
    return screen


async def test_user_map_editor_suggests_partners_by_name_and_saves_ids_and_names(make_world):
    world = household_world(make_world)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_editor(app, pilot)
        labels = [str(label.render()) for label in screen.query(".user-row Label")]
        assert labels == ["alice", "bob", "carol"]
        picks = [screen.query_one(f"#user-{n}", Select) for n in range(3)]
        cabin = {u.name: u.id for u in world.cabin.users.values()}
        home = {u.name: u.id for u in world.home.users.values()}
        # suggested by name (any case); carol has no partner
        assert [p.value for p in picks] == [cabin["alice"], cabin["bob"], Select.NULL]
        assert "alice (same name)" in [str(o[0]) for o in picks[0]._options]
        assert text(screen, "#users-msg") == ""  # both tokens are administrators': no warning
        picks[1].value = cabin["robert"]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
    pair = world.config.pairs["home-to-cabin"]
    assert [(l.source, l.destination, l.source_id, l.destination_id) for l in pair.users] == [
        ("alice", "alice", home["alice"], cabin["alice"]), ("bob", "robert", home["bob"], cabin["robert"])]
    assert (pair.same_server, pair.direction) == (False, "both")  # kept: the screen does not edit them
    saved = world.config_file.path.read_text()
    assert "# the family's pair: keep this comment" in saved


async def test_saving_without_touching_the_map_keeps_it_and_same_server(make_world):
    """The old screen rebuilt the PairEntry from its fields and so dropped `same_server` and `users` on save."""
    world = household_world(make_world)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await edit_pair(app, pilot)
        screen.query_one("#users-mode", Select).value = "by-name"
        await settle(app, pilot)
        assert "alice → alice, bob → bob, carol → (no one)" in text(screen, "#users-preview")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert world.config.pairs["home-to-cabin"].users == "by-name"
        await pilot.press("e")
        await settle(app, pilot)
        assert app.screen.query_one("#users-mode", Select).value == "by-name"
        app.screen.query_one("#delta_seconds", Input).value = "45"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    pair = world.config.pairs["home-to-cabin"]
    assert (pair.users, pair.same_server, pair.direction, pair.progress.delta_seconds) == ("by-name", False, "both",
                                                                                          45)


async def test_a_token_that_cannot_act_for_others_is_said_in_one_line(make_world):
    world = household_world(make_world)
    for name, url, state in (("home", HOME_URL, world.home), ("cabin", CABIN_URL, world.cabin)):
        bob = state.user_by_name("bob")
        world.config_file.save_server(ServerEntry(name, url, bob.id, "bob",
                                                  state.issue_token(bob.id, device_id="cwtui-ui-tests")))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_editor(app, pilot)
        lines = text(screen, "#users-msg").splitlines()
        assert [line.split(" can act only for ")[0] for line in lines] == ["'home'", "'cabin'"]
        assert all("bob (not an administrator; an API key acts for anyone)" in line for line in lines)
        tokens = [entry.token for entry in world.config_file.load().servers.values()]
        assert not any(token in line for token in tokens for line in lines)
        screen.query_one("#users-mode", Select).value = "none"
        await pilot.pause()
        assert not screen.query_one("#users-msg").display  # no map: each entry acts for its own user


async def test_an_explicit_list_is_reloaded_into_the_editor(make_world):
    """A list written by hand: names in any case, or ids (a dashed upper-case GUID too), as the core reads them."""
    world = household_world(make_world)
    pair = world.config.pairs["home-to-cabin"]
    bob = world.home.user_by_name("bob").id
    dashed = "-".join((bob[:8], bob[8:12], bob[12:16], bob[16:20], bob[20:])).upper()
    world.config_file.save_pair(replace(pair, users=(UserLink("carol", "ROBERT"), UserLink(dashed, "Alice"))))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_editor(app, pilot)
        assert screen.query_one("#users-mode", Select).value == "list"
        cabin = {u.name: u.id for u in world.cabin.users.values()}
        assert [screen.query_one(f"#user-{n}", Select).value for n in range(3)] == [Select.NULL, cabin["alice"],
                                                                                    cabin["robert"]]


async def test_one_server_shares_between_users_with_a_list_only(make_world):
    """One entry on both sides is the "share with family" case: a list is needed, and no user is offered to
    themselves; by name (everyone with themselves) and no map are refused."""
    world = household_world(make_world)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await add_pair(app, pilot)
        name_pair(screen, "share", "home", "home")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "needs a list of users" in text(screen, "#error")
        screen.query_one("#users-mode", Select).value = "by-name"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "every user with themselves" in text(screen, "#error")
        screen.query_one("#users-mode", Select).value = "list"
        await settle(app, pilot)
        home = {u.name: u.id for u in world.home.users.values()}
        alice = screen.query_one("#user-0", Select)
        assert home["alice"] not in [value for _, value in alice._options]  # not offered to herself
        assert alice.value == Select.NULL  # and not suggested
        alice.value = home["carol"]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
    pair = world.config.pairs["share"]
    assert (pair.source, pair.destination) == ("home", "home")
    assert [(l.source, l.destination) for l in pair.users] == [("alice", "carol")]


async def test_users_that_cannot_be_read_are_said_and_a_saved_list_is_kept(make_world):
    world = household_world(make_world)
    pair = world.config.pairs["home-to-cabin"]
    links = (UserLink("bob", "robert"),)
    world.config_file.save_pair(replace(pair, users=links))
    world.config_file.save_server(replace(world.config.servers["cabin"], token="rejected-token"))
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_editor(app, pilot)
        message = text(screen, "#users-msg")
        assert message.startswith("'cabin': the users cannot be read: ") and "\n" not in message
        assert "rejected-token" not in message
        assert not screen.query(".user-row")  # no rows to pick from
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    assert world.config.pairs["home-to-cabin"].users == links  # kept as saved, not dropped
