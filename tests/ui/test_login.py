"""Logging in to an emulated server from the TUI: password, API key, Quick Connect, and the failures in place."""

from __future__ import annotations

import cwtui.core.login as core_login

import pytest
from textual.widgets import Input, Select

from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.login import LoginScreen

from .conftest import CABIN_URL, settle

pytestmark = pytest.mark.anyio


async def open_login(app, pilot, name: str = "cabin2", url: str = CABIN_URL) -> LoginScreen:
    await settle(app, pilot)
    await pilot.press("s")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, LoginScreen)
    screen.query_one("#name", Input).value = name
    screen.query_one("#url", Input).value = url
    screen.probe()
    await settle(app, pilot)
    return screen


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_password_login_saves_the_token_and_not_the_password(make_world):
    world = make_world(pair=False)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_login(app, pilot)
        assert "Cabin · Jellyfin 10.11.11 · accepts position writes" in text(screen, "#server-info")
        screen.query_one("#user", Input).value = "bob"
        screen.query_one("#password", Input).value = "bobpw"
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        entry = world.config.servers["cabin2"]
        assert entry.user_name == "bob" and entry.url == CABIN_URL and entry.token
        assert entry.token in world.cabin.tokens and world.cabin.tokens[entry.token].user_id == entry.user_id
        assert "bobpw" not in world.config_file.path.read_text()
        # The core login flow: one DeviceId for this server and user, sent with the login and kept in the entry.
        assert entry.device_id and entry.device_id != world.config.device_id
        assert world.cabin.tokens[entry.token].device_id == entry.device_id


async def test_wrong_password_shows_in_place_and_saves_nothing(make_world):
    world = make_world(pair=False)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_login(app, pilot)
        screen.query_one("#user", Input).value = "bob"
        screen.query_one("#password", Input).value = "nope"
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is screen
        assert "Login failed: wrong user name or password" in text(screen, "#error")
        assert "cabin2" not in world.config.servers
        assert world.cabin.user_by_name("bob").invalid_attempts == 1  # one attempt, never retried


async def test_wrong_address_shows_in_place(make_world):
    world = make_world(pair=False)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_login(app, pilot, url="http://127.0.0.1:9")
        assert text(screen, "#server-info").startswith("✗ ")
        screen.query_one("#url", Input).value = "ftp://cabin.test"
        screen.probe()
        await settle(app, pilot)
        assert "must start with http:// or https://" in text(screen, "#server-info")


async def test_api_key_login_picks_the_user(make_world):
    world = make_world(pair=False)
    key = world.cabin.add_api_key("cwtui")
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_login(app, pilot)
        screen.query_one("#m-apikey").value = True
        await pilot.pause()
        screen.query_one("#apikey", Input).value = key
        screen.query_one("#apikey", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        select = screen.query_one("#as-user", Select)
        options = [str(label) for label, _ in select._options if _ is not Select.NULL]
        assert any(o.startswith("alice") for o in options) and "bob" in options
        select.value = world.cabin.user_by_name("bob").id
        await pilot.click("#login-apikey")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        entry = world.config.servers["cabin2"]
        assert entry.token == key and entry.user_name == "bob"


async def test_quick_connect_shows_the_code_and_logs_in_once_authorized(make_world, monkeypatch):
    monkeypatch.setattr(core_login, "POLL_SECONDS", 0.05)
    world = make_world(pair=False)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_login(app, pilot)
        screen.query_one("#m-qc").value = True
        await pilot.pause()
        await pilot.click("#qc-start")
        code = ""
        for _ in range(100):
            await pilot.pause(0.02)
            if "Code: " in text(screen, "#qc-code"):
                code = text(screen, "#qc-code").split("Code: ")[1].split()[0]
                break
        assert len(code) == 6 and code.isdigit()
        assert "left" in text(screen, "#qc-countdown") and "9:5" in text(screen, "#qc-countdown")
        assert world.cabin.quick_connect_authorize(code, world.cabin.user_by_name("bob").id)
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert world.config.servers["cabin2"].user_name == "bob"


async def test_quick_connect_can_be_cancelled(make_world, monkeypatch):
    monkeypatch.setattr(core_login, "POLL_SECONDS", 0.05)
    world = make_world(pair=False)
    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_login(app, pilot)
        screen.query_one("#m-qc").value = True
        await pilot.pause()
        await pilot.click("#qc-start")
        for _ in range(100):
            await pilot.pause(0.02)
            if "Code: " in text(screen, "#qc-code"):
                break
        await pilot.click("#qc-cancel")
        await settle(app, pilot)
        assert "cancelled" in text(screen, "#qc-countdown") and text(screen, "#qc-code") == ""
        assert "cabin2" not in world.config.servers
