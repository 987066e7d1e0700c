"""Fixtures for the emulator tests: a small populated server on 127.0.0.1 and an httpx client per test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from cwtui.emulator import Emulator, EmulatorState

MIN = 60 * 10_000_000
T0 = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)


def auth(token: str | None = None, *, device_id: str = "dev-1", client: str = "cwtui-tests",
         device: str = "host", version: str = "0.1") -> dict[str, str]:
    parts = [f'Client="{client}"', f'Device="{device}"', f'DeviceId="{device_id}"', f'Version="{version}"']
    if token:
        parts.append(f'Token="{token}"')
    return {"Authorization": "MediaBrowser " + ", ".join(parts)}


@dataclass
class World:
    state: EmulatorState
    emu: Emulator
    http: httpx.Client
    alice: str
    bob: str
    admin: str
    alice_token: str
    bob_token: str
    admin_token: str
    api_key: str
    movies: str
    shows: str
    heat: str
    alien: str
    aliens: str
    wire: str
    ep: dict[tuple[int, int], str]

    def get(self, path: str, token: str | None = None, **kw) -> httpx.Response:
        return self.http.get(path, headers=auth(token), **kw)

    def post(self, path: str, token: str | None = None, **kw) -> httpx.Response:
        return self.http.post(path, headers=auth(token), **kw)

    def delete(self, path: str, token: str | None = None, **kw) -> httpx.Response:
        return self.http.delete(path, headers=auth(token), **kw)


def build_state(version: str = "10.11.11") -> tuple[EmulatorState, dict]:
    s = EmulatorState(server_name="Test", version=version)
    ids: dict = {}
    ids["alice"] = s.add_user("alice", password="pw")
    ids["bob"] = s.add_user("bob", password="pw2", login_attempts_before_lockout=2)
    ids["admin"] = s.add_user("root", password="pw3", is_admin=True)
    ids["movies"] = s.add_library("Movies", "movies")
    ids["shows"] = s.add_library("Shows", "tvshows")
    ids["heat"] = s.add_movie(ids["movies"], "Heat", year=1995, runtime_ticks=170 * MIN,
                              provider_ids={"Imdb": "tt0113277", "Tmdb": "949"})
    ids["alien"] = s.add_movie(ids["movies"], "Alien", year=1979, runtime_ticks=117 * MIN,
                               provider_ids={"Imdb": "tt0078748", "Tmdb": "348"})
    ids["aliens"] = s.add_movie(ids["movies"], "Aliens", year=1986, runtime_ticks=137 * MIN,
                                provider_ids={"Imdb": "tt0090605", "Tmdb": "679"})
    ids["wire"] = s.add_series(ids["shows"], "The Wire", provider_ids={"Tvdb": "79126"}, year=2002)
    ids["ep"] = {}
    for season in (0, 1, 2):
        for number in (1, 2, 3):
            ids["ep"][(season, number)] = s.add_episode(ids["wire"], season, number, f"Ep {season}x{number}",
                                                        runtime_ticks=58 * MIN, provider_ids={"Tvdb": f"{season}{number}"})
    return s, ids


def make_world(version: str = "10.11.11") -> World:
    s, ids = build_state(version)
    emu = Emulator(s).start()
    return World(
        state=s, emu=emu, http=httpx.Client(base_url=emu.url, timeout=5),
        alice_token=s.issue_token(ids["alice"], device_id="a-dev"),
        bob_token=s.issue_token(ids["bob"], device_id="b-dev"),
        admin_token=s.issue_token(ids["admin"], device_id="r-dev"),
        api_key=s.add_api_key("tests"),
        **{k: v for k, v in ids.items()},
    )


@pytest.fixture
def world():
    w = make_world()
    yield w
    w.http.close()
    w.emu.stop()


@pytest.fixture
def world_factory():
    made: list[World] = []

    def factory(version: str = "10.11.11") -> World:
        w = make_world(version)
        made.append(w)
        return w

    yield factory
    for w in made:
        w.http.close()
        w.emu.stop()
