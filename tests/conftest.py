"""Shared fixtures: two emulated Jellyfin servers on loopback, a config pointing at them, an isolated state dir."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from cwtui.core.config import ConfigFile
from cwtui.core.config_model import Config, PairEntry, ServerEntry
from cwtui.core.journal import Journal
from cwtui.core.models import ProgressSettings
from cwtui.emulator import Emulator, EmulatorState


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """No test touches the real ~/.config or ~/.local/state."""
    monkeypatch.setenv("CWTUI_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("CWTUI_STATE_DIR", str(tmp_path / "state"))


@dataclass
class Side:
    state: EmulatorState
    emulator: Emulator
    user_id: str
    token: str

    @property
    def url(self) -> str:
        return self.emulator.url


@dataclass
class Pair:
    source: Side
    destination: Side
    config_file: ConfigFile
    state_dir: Path
    pair_name: str = "home-to-cabin"

    @property
    def config(self) -> Config:
        return self.config_file.load()

    @property
    def journal(self) -> Journal:
        return Journal(self.state_dir)

    def set_settings(self, **changes) -> None:
        entry = self.config.pair(self.pair_name)
        settings = ProgressSettings(**{**entry.progress.__dict__, **changes})
        self.config_file.save_pair(replace(entry, progress=settings))


def make_side(version: str, name: str, user: str = "alice") -> Side:
    state = EmulatorState(server_name=name, version=version)
    uid = state.add_user(user, password="pw")
    token = state.issue_token(uid, device_id="cwtui-test-device")
    emulator = Emulator(state).start()
    return Side(state, emulator, uid, token)


@pytest.fixture
def make_pair(tmp_path):
    """Call with versions to get two running emulators and a config with servers 'home', 'cabin' and one pair."""
    started: list[Emulator] = []

    def build(source_version: str = "10.11.11", destination_version: str = "10.11.11",
              **settings) -> Pair:
        src, dst = make_side(source_version, "Home"), make_side(destination_version, "Cabin")
        started.extend([src.emulator, dst.emulator])
        cf = ConfigFile(tmp_path / "config" / "config.toml")
        cf.ensure_device_id()
        cf.save_server(ServerEntry("home", src.url, src.user_id, "alice", src.token))
        cf.save_server(ServerEntry("cabin", dst.url, dst.user_id, "alice", dst.token))
        cf.save_pair(PairEntry("home-to-cabin", "home", "cabin", ProgressSettings(**settings)))
        return Pair(src, dst, cf, tmp_path / "state")

    yield build
    for emulator in started:
        emulator.stop()
