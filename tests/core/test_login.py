"""The one login flow (core/login.py) against the emulator: names, a config proven writable before anything is sent,
and one DeviceId per server and user."""

from __future__ import annotations

import pytest

from cwtui.core.config import ConfigFile
from cwtui.core.errors import AuthError, CwtuiError, UsageError
from cwtui.core.login import LoginFlow, check_name, device_id_for
from cwtui.core.sync import default_client_factory
from cwtui.emulator import Emulator, EmulatorState

pytestmark = pytest.mark.anyio


@pytest.fixture
def server():
    state = EmulatorState(server_name="Old", version="10.8.13")
    alice, bob = state.add_user("alice", password="a"), state.add_user("bob", password="b")
    emulator = Emulator(state).start()
    yield state, emulator, alice, bob
    emulator.stop()


def flow(config_file, name, url):
    return LoginFlow(config_file, name, url, default_client_factory)


async def test_two_users_of_one_10_8_server_do_not_log_each_other_out(server, tmp_path):
    state, emulator, alice, bob = server
    cf = ConfigFile(tmp_path / "config.toml")
    first, second = flow(cf, "old-alice", emulator.url), flow(cf, "old-bob", emulator.url)
    first.check()
    a = await first.password("alice", "a")
    second.check()
    b = await second.password("bob", "b")
    assert a.device_id and b.device_id and a.device_id != b.device_id
    assert state.tokens[a.token].user_id == alice and state.tokens[b.token].user_id == bob  # both still valid
    config = cf.load()
    assert config.server("old-alice").device_id == a.device_id
    client = default_client_factory(config.server("old-alice"), config.device_id_for(config.server("old-alice")))
    async with client:
        assert (await client.me()).name == "alice"


async def test_a_relogin_keeps_the_users_device_id(server, tmp_path):
    _, emulator, _, _ = server
    cf = ConfigFile(tmp_path / "config.toml")
    login = flow(cf, "old", emulator.url)
    login.check()
    first = await login.password("alice", "a")
    again = await login.password("Alice", "a")
    assert first.device_id == again.device_id == device_id_for(cf.load().client_device_id, emulator.url, "alice")


async def test_nothing_is_sent_when_the_config_cannot_be_saved(server, tmp_path):
    _, emulator, _, _ = server
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    login = flow(ConfigFile(blocker / "config.toml"), "old", emulator.url)
    before = emulator.request_count
    with pytest.raises(CwtuiError):
        login.check()
    assert emulator.request_count == before


@pytest.mark.parametrize("name", ["", "a b", "x/y", "ü"])
def test_one_rule_for_names(name):
    with pytest.raises(UsageError):
        check_name(name)
    assert check_name(" home-2.lan_a ") == "home-2.lan_a"


async def test_a_bad_url_or_a_wrong_password_changes_nothing(server, tmp_path):
    _, emulator, _, _ = server
    cf = ConfigFile(tmp_path / "config.toml")
    with pytest.raises(UsageError):
        flow(cf, "old", "https://u:pw@example.org").check()
    login = flow(cf, "old", emulator.url)
    login.check()
    with pytest.raises(AuthError):
        await login.password("alice", "wrong")
    assert "old" not in cf.load().servers
