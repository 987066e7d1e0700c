"""UI fixtures: two emulated servers on loopback with a fixed library, reached through fixed addresses.

The config names the servers http://home.test:8096 and http://cabin.test:8096; the client factory's transport
sends those to the emulators' real (random) loopback ports. So requests are real HTTP, and snapshots never show
a random port. Item, user and server ids are fixed too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cwtui.core.config import ConfigFile
from cwtui.core.config_model import Config, PairEntry, ServerEntry
from cwtui.core.http import ClientIdentity
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.journal import Journal
from cwtui.core.models import TICKS_PER_SECOND, ProgressSettings
from cwtui.emulator import Emulator, EmulatorState
from cwtui.ui.app import CwtuiApp

T0 = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
MIN = 60
HOME_URL = "http://home.test:8096"
CABIN_URL = "http://cabin.test:8096"


def ticks(seconds: float) -> int:
    return int(seconds * TICKS_PER_SECOND)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def guid(side: int, n: int) -> str:
    return f"{side:08x}{n:024x}"


class Redirect(httpx.AsyncBaseTransport):
    """Sends requests for the fixed test addresses to the emulators' loopback ports; others go out unchanged."""

    def __init__(self, routes: dict[str, int]) -> None:
        self.routes = routes
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = self.routes.get(request.url.host)
        if port is None:
            return await self.inner.handle_async_request(request)
        # a copy goes out, so the request the client keeps (and names in its errors) has the configured address
        routed = httpx.Request(request.method, request.url.copy_with(host="127.0.0.1", port=port),
                               headers=request.headers, stream=request.stream, extensions=request.extensions)
        return await self.inner.handle_async_request(routed)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class World:
    home: EmulatorState
    cabin: EmulatorState
    emulators: list[Emulator]
    config_file: ConfigFile
    state_dir: Path
    home_user: str
    cabin_user: str
    ids: dict[str, tuple[str, str]]
    """title -> (home item id, cabin item id)."""
    pair_name: str = "home-to-cabin"

    @property
    def config(self) -> Config:
        return self.config_file.load()

    @property
    def journal(self) -> Journal:
        return Journal(self.state_dir)

    @property
    def routes(self) -> dict[str, int]:
        # gone.test goes to the discard port, closed on loopback: a server that does not answer
        return {"home.test": self.emulators[0].port, "cabin.test": self.emulators[1].port, "gone.test": 9}

    def client_factory(self, entry: ServerEntry, device_id: str) -> JellyfinClient:
        return JellyfinClient(entry.url, ClientIdentity(device_id, "tests"), token=entry.token or None,
                              user_id=entry.user_id or None, insecure=entry.insecure, timeout=3,
                              retry_delay=0.01, transport=Redirect(self.routes))

    def app(self, open_pair: str | None = None) -> CwtuiApp:
        app = CwtuiApp(self.config_file, self.journal, client_factory=self.client_factory, open_pair=open_pair)
        app.animation_level = "none"
        return app

    def cabin_data(self, title: str):
        return self.cabin.get_user_data(self.cabin_user, self.ids[title][1])


MOVIES = [  # title, year, runtime min, home (pos min, last played min), cabin (pos, last) or None, on cabin?
    ("Arrival", 2016, 116, (40, 100), (10, 0), True),
    ("Blade Runner", 1982, 117, (20, 90), None, True),
    ("Coherence", 2013, 89, (86, 80), None, True),
    ("Dune", 2021, 155, (30, 70), None, False),
    ("Heat", 1995, 170, (50, 10), (80, 60), True),
    ("Alien", 1979, 117, (0.5, 50), None, True),
    ("[bold]Brackets[/bold]", 2020, 100, (25, 40), None, True),
    ("Tenet", 2020, 150, None, (30, 0), True),
]


def populate(world_home: EmulatorState, world_cabin: EmulatorState, home_user: str, cabin_user: str,
             ) -> dict[str, tuple[str, str]]:
    """A small library with one row of each kind the planner makes."""
    ids: dict[str, tuple[str, str]] = {}
    libs = [(world_home, home_user, 1), (world_cabin, cabin_user, 2)]
    for state, _user, side in libs:
        state.add_library("Movies", "movies", item_id=guid(side, 1))
        state.add_library("Shows", "tvshows", item_id=guid(side, 2))
    n = 10
    for title, year, runtime, home_pos, cabin_pos, on_cabin in MOVIES:
        n += 1
        pids = {"Imdb": f"tt{n:07d}"}
        hid = world_home.add_movie(guid(1, 1), title, year, ticks(runtime * MIN), pids, item_id=guid(1, n))
        cid = world_cabin.add_movie(guid(2, 1), title, year, ticks(runtime * MIN), pids,
                                    item_id=guid(2, n)) if on_cabin else ""
        ids[f"{title} ({year})"] = (hid, cid)
        if home_pos:
            world_home.set_user_data(home_user, hid, ticks(home_pos[0] * MIN), last_played=at(home_pos[1]))
        if title == "Tenet":  # watched to the end on home: an explicit zero
            world_home.set_user_data(home_user, hid, 0, played=True, play_count=1, last_played=at(120))
        if cabin_pos:
            world_cabin.set_user_data(cabin_user, cid, ticks(cabin_pos[0] * MIN), last_played=at(cabin_pos[1]))
    for state, user, side in libs:
        series = state.add_series(guid(side, 2), "The Expanse", {"Tvdb": "280619"}, item_id=guid(side, 3))
        for number, name in ((1, "Dulcinea"), (2, "The Big Empty")):
            eid = state.add_episode(series, 1, number, name, ticks(45 * MIN), {"Tvdb": f"50{number}"},
                                    item_id=guid(side, 100 + number), season_item_id=guid(side, 99))
            ids.setdefault(f"The Expanse S01E{number:02d} {name}", ("", ""))
            pair = ids[f"The Expanse S01E{number:02d} {name}"]
            ids[f"The Expanse S01E{number:02d} {name}"] = (eid, pair[1]) if side == 1 else (pair[0], eid)
            if side == 1 and number == 2:
                state.set_user_data(user, eid, ticks(12 * MIN), last_played=at(110))
    return ids


def add_extras(home: EmulatorState, cabin: EmulatorState, home_user: str, count: int) -> None:
    """`count` more movies resumed on home only: each one is a planned write."""
    for n in range(count):
        pids = {"Tmdb": str(900_000 + n)}
        hid = home.add_movie(guid(1, 1), f"Extra {n:04d}", 2000, ticks(100 * MIN), pids, item_id=guid(1, 1000 + n))
        cabin.add_movie(guid(2, 1), f"Extra {n:04d}", 2000, ticks(100 * MIN), pids, item_id=guid(2, 1000 + n))
        home.set_user_data(home_user, hid, ticks((10 + n % 50) * MIN), last_played=at(n % 60))


def build_world(tmp_path: Path, *, cabin_version: str = "10.11.11", servers: bool = True, pair: bool = True,
                extras: int = 0, **settings) -> World:
    home = EmulatorState(server_name="Home", version="10.11.11", server_id=guid(1, 0))
    cabin = EmulatorState(server_name="Cabin", version=cabin_version, server_id=guid(2, 0))
    home_user = home.add_user("alice", password="pw", is_admin=True, user_id=guid(1, 9))
    cabin_user = cabin.add_user("alice", password="pw", is_admin=True, user_id=guid(2, 9))
    cabin.add_user("bob", password="bobpw", user_id=guid(2, 8))
    ids = populate(home, cabin, home_user, cabin_user)
    add_extras(home, cabin, home_user, extras)
    emulators = [Emulator(home).start(), Emulator(cabin).start()]
    cf = ConfigFile(tmp_path / "config" / "config.toml")
    if servers:
        cf.ensure_device_id()
        cf.save_server(ServerEntry("home", HOME_URL, home_user, "alice",
                                   home.issue_token(home_user, device_id="cwtui-ui-tests")))
        cf.save_server(ServerEntry("cabin", CABIN_URL, cabin_user, "alice",
                                   cabin.issue_token(cabin_user, device_id="cwtui-ui-tests")))
        if pair:
            cf.save_pair(PairEntry("home-to-cabin", "home", "cabin", ProgressSettings(**settings)))
    return World(home, cabin, emulators, cf, tmp_path / "state", home_user, cabin_user, ids)


def build_demo_world(tmp_path: Path, *, household: bool = False) -> World:
    """The demo data set (every sync case, fixed ids and dates) behind the fixed test addresses.

    `household`: also the demo's household entries and pairs (issue 12), and the world's pair is `family`."""
    from cwtui.demo import FAMILY_PAIR_NAME, save_household
    from cwtui.emulator.demo import build_demo

    demo = build_demo()
    emulators = [Emulator(demo.source).start(), Emulator(demo.destination).start()]
    cf = ConfigFile(tmp_path / "config" / "config.toml")
    device_id = cf.ensure_device_id()
    users = []
    for name, url, state in (("home", HOME_URL, demo.source), ("cabin", CABIN_URL, demo.destination)):
        user = state.user_by_name(demo.user_name)
        users.append(user.id)
        cf.save_server(ServerEntry(name, url, user.id, demo.user_name, state.issue_token(user.id, device_id=device_id)))
    cf.save_pair(PairEntry("home-to-cabin", "home", "cabin", ProgressSettings(remove=True)))
    world = World(demo.source, demo.destination, emulators, cf, tmp_path / "state", users[0], users[1], {})
    if household:
        save_household(cf, HOME_URL, CABIN_URL, demo)
        world.pair_name = FAMILY_PAIR_NAME
    return world


@pytest.fixture
def demo_world(tmp_path):
    world = build_demo_world(tmp_path)
    yield world
    for emulator in world.emulators:
        emulator.stop()


@pytest.fixture
def household_world(tmp_path):
    """The demo world with its household: pairs `family` (alice, bob -> robert) and `share` (alice -> carol)."""
    world = build_demo_world(tmp_path, household=True)
    yield world
    for emulator in world.emulators:
        emulator.stop()


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Times are shown in local time; tests pin it to UTC so snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def make_world(tmp_path):
    built: list[World] = []

    def make(**kw) -> World:
        world = build_world(tmp_path, **kw)
        built.append(world)
        return world

    yield make
    for world in built:
        for emulator in world.emulators:
            emulator.stop()


@pytest.fixture
def fixed_run_id(monkeypatch):
    """Run ids are time + random; snapshots need them fixed."""
    import itertools

    import cwtui.core.journal as journal

    counter = itertools.count(1)
    monkeypatch.setattr(journal, "new_run_id", lambda: f"20261120T200000Z-run{next(counter):03d}")


@pytest.fixture
def fixed_clock(monkeypatch):
    """The journal stamps runs with the time; pictures of the runs screen need it fixed."""
    import cwtui.core.journal as journal

    class Fixed(datetime):
        @classmethod
        def now(cls, tz=None):
            return T0 if tz is None else T0.astimezone(tz)

    monkeypatch.setattr(journal, "datetime", Fixed)


async def settle(app, pilot) -> None:
    """Wait for every worker and for the diff table to finish filling."""
    for _ in range(50):
        await app.workers.wait_for_complete()
        await pilot.pause()
        tables = list(app.screen.query("PlanTable"))
        if not app.workers._workers and not any(t.filling for t in tables):
            return
    raise AssertionError("the app did not settle")
