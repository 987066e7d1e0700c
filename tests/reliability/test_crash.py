"""The last resort: no exception reaches Textual's crash screen, which prints local variables (tokens, typed
passwords, the parsed config). A crash shows one sentence, logs a traceback without locals or secrets, and exits
non-zero. Crashes are forced in a login, a plan and a config save; screen (stderr) and log are grepped."""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest
import textual.message_pump
import textual.worker
from textual.app import App
from textual.widgets import Input

from cwtui.core.config import ConfigFile
from cwtui.core.errors import EXIT_CRASH
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.log import setup_logging
from cwtui.ui.app import CwtuiApp
from cwtui.ui.screens.login import LoginScreen
from tests.ui.conftest import CABIN_URL, make_world, settle  # noqa: F401 - make_world is a fixture

pytestmark = pytest.mark.anyio
PASSWORD = "typed-Pa55w0rd-NEVER-SHOWN"


def test_the_private_textual_hook_is_still_where_we_hook_it():
    """Textual 8.2.8: every unhandled error goes through App._handle_exception, whose default (_fatal_error)
    prints a traceback with locals. If this fails after an upgrade, re-check the crash path before anything."""
    assert "show_locals=True" in inspect.getsource(App._fatal_error)
    assert "_fatal_error" in inspect.getsource(App._handle_exception)
    for module in (textual.message_pump, textual.worker):
        assert "app._handle_exception(" in inspect.getsource(module)
    assert CwtuiApp._handle_exception is not App._handle_exception
    for name in ("_exit_renderables", "_close_messages_no_wait", "_exception_event", "_return_code"):
        assert name in inspect.getsource(App), name


@pytest.fixture
def log_file(tmp_path):
    """The real log file (as run_tui sets it up), restored afterwards for the other tests."""
    logger = logging.getLogger("cwtui")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    path = setup_logging(tmp_path / "logstate")
    yield path
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers, logger.level, logger.propagate = saved


async def _crash(app: CwtuiApp, drive, capsys) -> tuple[BaseException, str]:
    """Run the app, let `drive` make it crash, and return the re-raised error and what reached the terminal."""
    with pytest.raises(Exception) as caught:
        async with app.run_test(size=(100, 40)) as pilot:
            await drive(pilot)
            await asyncio.wait_for(app._exception_event.wait(), 60)  # a guard: fail, never hang
    out, err = capsys.readouterr()
    return caught.value, out + err


async def _password_login(world, app, pilot):
    world.cabin.user_by_name("bob").password = PASSWORD  # a login that works, up to the crash
    await settle(app, pilot)
    await pilot.press("s")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, LoginScreen)
    screen.query_one("#name", Input).value = "cabin2"
    screen.query_one("#url", Input).value = CABIN_URL
    screen.probe()
    await settle(app, pilot)
    screen.query_one("#user", Input).value = "bob"
    screen.query_one("#password", Input).value = PASSWORD
    screen.query_one("#password", Input).focus()
    await pilot.press("enter")


def _assert_safe(world, app, error, screen_text, log_file, kind):
    tokens = [s.token for s in world.config.servers.values()]
    assert tokens and all(tokens)
    log_text = log_file.read_text()
    for secret in tokens + [PASSWORD]:
        assert secret not in screen_text, f"a secret reached the screen: {screen_text[:400]}"
        assert secret not in log_text, "a secret reached the log"
    assert f"cwtui stopped on an unexpected error ({kind})" in screen_text.replace("\n", " ")
    assert "Traceback" not in screen_text and "locals" not in screen_text.lower()
    assert "Traceback (most recent call last)" in log_text and kind in log_text
    assert app.return_code == EXIT_CRASH


async def test_a_crash_in_a_login_shows_one_sentence_and_no_secret(make_world, monkeypatch, capsys, log_file):
    world = make_world(pair=False)

    async def broken_login(self, user, password):
        raise RuntimeError("the login code is broken")

    monkeypatch.setattr(JellyfinClient, "login_password", broken_login)
    app = world.app()
    app.log_path = log_file
    error, screen_text = await _crash(app, lambda pilot: _password_login(world, app, pilot), capsys)
    assert "the login code is broken" in str(error), "under run_test the error still fails the test"
    _assert_safe(world, app, error, screen_text, log_file, "RuntimeError")
    assert str(log_file) in screen_text.replace("\n", "")


async def test_a_crash_in_a_config_save_shows_one_sentence_and_no_secret(make_world, monkeypatch, capsys, log_file):
    world = make_world(pair=False)

    def broken_save(self, entry):
        raise TypeError(f"cannot save {entry.name}")

    monkeypatch.setattr(ConfigFile, "save_server", broken_save)
    app = world.app()
    app.log_path = log_file
    _, screen_text = await _crash(app, lambda pilot: _password_login(world, app, pilot), capsys)
    _assert_safe(world, app, None, screen_text, log_file, "TypeError")


async def test_a_crash_in_a_plan_shows_one_sentence_and_no_secret(make_world, monkeypatch, capsys, log_file):
    world = make_world()

    async def broken_read(self, *args, **kwargs):
        raise KeyError(f"token {self.token!r} broke the plan")  # the token is in the message, too

    monkeypatch.setattr(JellyfinClient, "resume_items", broken_read)
    app = world.app(open_pair=world.pair_name)
    app.log_path = log_file

    async def drive(pilot):
        await pilot.pause()

    _, screen_text = await _crash(app, drive, capsys)
    _assert_safe(world, app, None, screen_text, log_file, "KeyError")


async def test_a_config_save_that_fails_in_the_tui_is_shown_not_a_crash(make_world, monkeypatch):
    import errno
    import os

    world = make_world(pair=False)
    before = world.config_file.path.read_bytes()

    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        monkeypatch.setattr("cwtui.core.paths.os.write", full_disk)
        await _password_login(world, app, pilot)
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LoginScreen), "the app is still running, on the login screen"
        shown = str(screen.query_one("#error").render())
        assert "cannot save the config: No space left on device" in shown and PASSWORD not in shown
    assert world.config_file.path.read_bytes() == before
