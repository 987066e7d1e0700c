"""JellyfinClient against cwtui.emulator over real HTTP on 127.0.0.1, for 10.8.13, 10.10.7 and 10.11.11."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from cwtui.core.errors import (
    AuthError,
    DestinationTooOld,
    Forbidden,
    NotFound,
    NotJson,
    ServerUnreachable,
)
from cwtui.core.http import MAX_IN_FLIGHT
from cwtui.core.jellyfin import ClientIdentity, JellyfinClient
from cwtui.core.models import ItemKind, TICKS_PER_SECOND
from cwtui.emulator import Emulator, EmulatorState

VERSIONS = ["10.8.13", "10.10.7", "10.11.11"]
MODERN = ["10.10.7", "10.11.11"]
IDENT = ClientIdentity(device_id="cwtui-test-device", device_name="testhost", client="cwtui", version="0.1.0")
MIN = 60 * TICKS_PER_SECOND
T0 = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@dataclass
class World:
    state: EmulatorState
    emu: Emulator
    alice: str
    bob: str
    api_key: str
    movies: list[str]
    series: str
    episodes: list[str]
    movie_lib: str
    show_lib: str

    def client(self, **kw) -> JellyfinClient:
        kw.setdefault("retry_delay", 0.01)
        return JellyfinClient(self.emu.url, IDENT, **kw)

    def client_as_alice(self, **kw) -> JellyfinClient:
        token = self.state.issue_token(self.alice, device_id="other-device")
        return self.client(token=token, user_id=self.alice, **kw)


def build(version: str) -> World:
    state = EmulatorState(server_name="Home", version=version)
    alice = state.add_user("alice", password="pw")
    bob = state.add_user("bob", password="pw2", enable_user_preference_access=False)
    api_key = state.add_api_key("cwtui-tests")
    movie_lib = state.add_library("Movies", "movies")
    show_lib = state.add_library("Shows", "tvshows")
    movies = [state.add_movie(movie_lib, f"Movie {n:02d}", year=1990 + n, runtime_ticks=100 * MIN,
                              provider_ids={"Imdb": f"tt{1000 + n}", "Tmdb": str(n)}) for n in range(7)]
    series = state.add_series(show_lib, "The Wire", provider_ids={"Tvdb": "79126", "IMDB": "tt0306414"}, year=2002)
    episodes = [state.add_episode(series, season=s, episode=e, name=f"Ep {s}x{e}", runtime_ticks=60 * MIN,
                                  provider_ids={"Tvdb": f"{s}{e:02d}"}) for s in (0, 1) for e in (1, 2, 3)]
    for n, mid in enumerate(movies[:5]):
        state.set_user_data(alice, mid, position_ticks=(n + 1) * MIN, last_played=T0)
    state.set_user_data(alice, movies[5], played=True, play_count=1)  # played but not resumable
    state.set_user_data(alice, episodes[4], position_ticks=7 * MIN, last_played=T0)
    state.set_user_data(bob, movies[6], position_ticks=3 * MIN)
    emu = Emulator(state).start()
    return World(state, emu, alice, bob, api_key, movies, series, episodes, movie_lib, show_lib)


@pytest.fixture(params=VERSIONS)
def world(request):
    w = build(request.param)
    yield w
    w.emu.stop()


@pytest.fixture(params=MODERN)
def modern(request):
    w = build(request.param)
    yield w
    w.emu.stop()


@pytest.fixture
def old():
    w = build("10.8.13")
    yield w
    w.emu.stop()


def assert_clean_auth(emu: Emulator) -> None:
    """Every request carried only `Authorization: MediaBrowser ...`, never legacy headers or api_key."""
    assert emu.requests
    for record in emu.requests:
        names = {name.lower() for name in record.headers}
        assert not {n for n in names if n.startswith(("x-emby", "x-mediabrowser"))}, record
        assert record.headers.get("Authorization", record.headers.get("authorization", "")).startswith(
            'MediaBrowser Client="cwtui", Device="testhost", DeviceId="cwtui-test-device", Version="0.1.0"')
        assert not {k.lower() for k in record.query} & {"api_key", "apikey"}


def user_scoped(emu: Emulator) -> list:
    skip = ("/system/", "/quickconnect/", "/users/authenticate", "/sessions", "/users/me")
    return [r for r in emu.requests if not r.path.lower().startswith(skip) and r.path.lower() != "/users"]


# --- logins ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_login_password_then_reads(world):
    async with world.client() as c:
        auth = await c.login_password("alice", "pw")
        assert c.user_id == world.alice == auth.user.id and c.token == auth.token
        assert auth.server_id == (await c.public_info()).id
        assert (await c.me()).name == "alice"
        assert {u.name for u in await c.users()} == {"alice", "bob"}
        libs = await c.libraries()
        rules = await c.resume_rules()
    assert {(lib.name, lib.collection_type) for lib in libs} == {("Movies", "movies"), ("Shows", "tvshows")}
    assert (rules.min_resume_pct, rules.max_resume_pct, rules.min_resume_duration_seconds) == (5, 90, 300)
    assert_clean_auth(world.emu)
    login = [r for r in world.emu.requests if r.path.lower() == "/users/authenticatebyname"]
    assert len(login) == 1 and "Token=" not in login[0].headers.get("Authorization", "")


@pytest.mark.anyio
async def test_wrong_password_single_attempt(world):
    async with world.client() as c:
        with pytest.raises(AuthError, match="wrong user name or password") as err:
            await c.login_password("alice", "nope-password")
    assert "nope-password" not in repr(err.value)
    assert [r.status for r in world.emu.requests if r.method == "POST"] == [401]


@pytest.mark.anyio
async def test_api_key_as_user_passes_user_id_everywhere(world):
    async with world.client() as c:
        user = await c.login_api_key(world.api_key, as_user="ALICE")
        assert user.id == world.alice == c.user_id
        assert (await c.me()).id == world.alice
        items = await c.resume_items()
        assert len(items) == 6 and all(i.user_data and i.user_data.position_ticks > 0 for i in items)
        assert (await c.user_data(world.movies[0])).position_ticks == MIN
        assert len(await c.libraries()) == 2
    for record in user_scoped(world.emu):
        assert world.alice in record.path or record.query.get("userId") == [world.alice], record
    assert_clean_auth(world.emu)


@pytest.mark.anyio
async def test_quick_connect_flow(world):
    async with world.client() as c:
        assert await c.quick_connect_enabled() is True
        qc = await c.quick_connect_initiate()
        assert len(qc.code) == 6 and qc.code.isdigit()
        assert await c.quick_connect_poll(qc) is False
        assert world.state.quick_connect_authorize(qc.code, world.alice)
        assert await c.quick_connect_poll(qc) is True
        auth = await c.quick_connect_login(qc)
        assert auth.user.id == world.alice == c.user_id
        assert (await c.me()).name == "alice"
    initiate = [r for r in world.emu.requests if r.path.lower() == "/quickconnect/initiate"]
    assert [r.method for r in initiate] == ["GET" if world.state.version.startswith("10.8") else "POST"]
    assert_clean_auth(world.emu)


@pytest.mark.anyio
async def test_logout_revokes_token(world):
    async with world.client() as c:
        await c.login_password("alice", "pw")
        token = c.token
        await c.logout()
        assert c.token is None
    async with world.client(token=token, user_id=world.alice) as c:
        with pytest.raises(AuthError, match="log in again"):
            await c.resume_items()


# --- reading ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_resume_items_paged_and_per_library(world):
    async with world.client_as_alice() as c:
        c.resume_page_size = 2
        items = await c.resume_items()
        by_lib = await c.resume_items(library_ids=[world.movie_lib])
    assert sorted(i.id for i in items) == sorted(world.movies[:5] + [world.episodes[4]])
    assert sorted(i.id for i in by_lib) == sorted(world.movies[:5])
    episode = next(i for i in items if i.kind is ItemKind.EPISODE)
    assert (episode.series_id, episode.season, episode.episode) == (world.series, 1, 2)
    assert episode.provider_ids == {"tvdb": "102"}
    movie = next(i for i in items if i.id == world.movies[2])
    assert movie.user_data.position_ticks == 3 * MIN and movie.user_data.last_played == T0
    assert movie.provider_ids == {"imdb": "tt1002", "tmdb": "2"} and movie.runtime_ticks == 100 * MIN
    pages = [r for r in world.emu.requests if r.path.lower() == "/items"]
    assert len(pages) == 4 + 3  # 6 items at 2 a page ends on an empty page; the library pass ends short


@pytest.mark.anyio
async def test_library_pages_series_and_episodes(world):
    async with world.client_as_alice() as c:
        pages = [p async for p in c.library_pages(types=("Movie", "Episode"), page_size=4)]
        movie_pages = [p async for p in c.library_pages(parent_id=world.movie_lib, page_size=100)]
        series = await c.series_list()
        episodes = await c.episodes(series[0].id)
        by_ids = await c.items_by_ids(world.movies[:3] + [world.episodes[0], "0" * 31 + "9"])
    ids = [i.id for p in pages for i in p]
    assert sorted(ids) == sorted(world.movies + world.episodes) and len(ids) == len(set(ids))
    assert all(len(p) <= 4 for p in pages)
    assert sorted(i.id for p in movie_pages for i in p) == sorted(world.movies)
    assert [(s.id, s.name, s.provider_ids) for s in series] == [
        (world.series, "The Wire", {"tvdb": "79126", "imdb": "tt0306414"})]
    assert sorted((e.season, e.episode) for e in episodes) == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]
    assert all(e.user_data is not None for e in episodes)
    assert sorted(i.id for i in by_ids) == sorted(world.movies[:3] + [world.episodes[0]])


@pytest.mark.anyio
async def test_item_and_hidden_or_removed_items(world):
    world.state.hide_item_from(world.alice, world.movies[1])
    world.state.remove_item(world.movies[3])
    async with world.client_as_alice() as c:
        item = await c.item(world.movies[0])
        assert item.name == "Movie 00" and item.user_data.position_ticks == MIN
        assert item.provider_ids["imdb"] == "tt1000"
        for gone in (world.movies[1], world.movies[3]):
            with pytest.raises(NotFound):
                await c.item(gone)
            with pytest.raises(NotFound):
                await c.user_data(gone)


@pytest.mark.anyio
async def test_sessions(world):
    world.state.start_session(world.alice, now_playing_item_id=world.movies[0])
    async with world.client_as_alice() as c:
        sessions = await c.sessions()
    assert any(s.is_playing(world.alice, world.movies[0]) for s in sessions)
    assert not any(s.is_playing(world.alice, world.movies[1]) for s in sessions)


# --- writing ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_write_and_read_back(modern):
    when = datetime(2026, 11, 21, 8, 30, 15, 250000, tzinfo=UTC)
    async with modern.client_as_alice() as c:
        written = await c.write_user_data(modern.movies[6], position_ticks=42 * MIN + 1234, last_played=when)
        assert written.position_ticks == 42 * MIN + 1234 and written.last_played == when
        assert await c.user_data(modern.movies[6]) == written
        assert (await c.item(modern.movies[6])).user_data == written
        cleared = await c.write_user_data(modern.movies[0], position_ticks=0, played=True, play_count=3)
        assert (cleared.position_ticks, cleared.played, cleared.play_count) == (0, True, 3)
    stored = modern.state.get_user_data(modern.alice, modern.movies[6])
    assert stored.position_ticks == 42 * MIN + 1234 and stored.last_played == when and not stored.played
    assert modern.state.get_user_data(modern.alice, modern.movies[0]).last_played == T0, "unsent fields unchanged"
    posts = [r for r in modern.emu.requests if r.method == "POST"]
    assert all(r.query.get("userId") == [modern.alice] for r in posts)


@pytest.mark.anyio
async def test_mark_played_and_unplayed(world):
    async with world.client_as_alice() as c:
        played = await c.mark_played(world.movies[0])
        assert played.played and played.position_ticks == 0 and played.play_count == 1
        dated = await c.mark_played(world.movies[1], date_played=T0)
        assert dated.last_played == T0 and dated.play_count == 1
        unplayed = await c.mark_unplayed(world.movies[1])
        assert not unplayed.played and unplayed.play_count == 0 and unplayed.last_played is None
    assert world.state.get_user_data(world.alice, world.movies[0]).played
    paths = {r.path.split("/")[1].lower() for r in world.emu.requests if r.method in ("POST", "DELETE")}
    assert paths == ({"users"} if world.state.version.startswith("10.8") else {"userplayeditems"})


@pytest.mark.anyio
async def test_10_8_refuses_position_writes(old):
    async with old.client_as_alice() as c:
        assert (await c.user_data(old.movies[0])).position_ticks == MIN
        with pytest.raises(DestinationTooOld, match="10.8.13"):
            await c.write_user_data(old.movies[0], position_ticks=5 * MIN)
    assert old.state.get_user_data(old.alice, old.movies[0]).position_ticks == MIN
    assert not [r for r in old.emu.requests if r.method != "GET"]


@pytest.mark.anyio
async def test_user_preference_policy_is_forbidden(modern):
    token = modern.state.issue_token(modern.bob, device_id="bob-device")
    async with modern.client(token=token, user_id=modern.bob) as c:
        with pytest.raises(Forbidden, match="EnableUserPreferenceAccess") as err:
            await c.write_user_data(modern.movies[6], position_ticks=1)
    assert err.value.status == 403 and token not in repr(err.value)
    assert modern.state.get_user_data(modern.bob, modern.movies[6]).position_ticks == 3 * MIN


@pytest.mark.anyio
async def test_acting_for_another_user_without_admin_is_forbidden(modern):
    async with modern.client_as_alice() as c:
        c.user_id = modern.bob
        with pytest.raises(Forbidden, match="administrator rights needed to act for another user"):
            await c.write_user_data(modern.movies[6], position_ticks=1)


# --- faults ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_get_retried_after_503(world):
    async with world.client_as_alice() as c:
        await c.public_info()
        world.emu.reset_requests()
        world.emu.faults.fail_next(1, status=503)
        items = await c.resume_items()
        assert len(items) == 6
    assert [r.status for r in world.emu.requests] == [503, 200]


@pytest.mark.anyio
async def test_dropped_write_is_not_retried(world):
    async with world.client_as_alice() as c:
        await c.public_info()
        world.emu.reset_requests()
        world.emu.faults.drop_next(1)
        with pytest.raises(ServerUnreachable) as err:
            await c.mark_played(world.movies[0])
        assert c.token not in str(err.value)
    assert [(r.method, r.status) for r in world.emu.requests] == [("POST", 0)]
    assert not world.state.get_user_data(world.alice, world.movies[0]).played


@pytest.mark.anyio
async def test_dropped_user_data_write_sent_once(modern):
    async with modern.client_as_alice() as c:
        await c.public_info()
        modern.emu.reset_requests()
        modern.emu.faults.drop_next(1)
        with pytest.raises(ServerUnreachable):
            await c.write_user_data(modern.movies[0], position_ticks=9 * MIN)
    writes = [r for r in modern.emu.requests if r.method == "POST"]
    assert len(writes) == 1 and len(modern.emu.requests) == 1


@pytest.mark.anyio
async def test_html_page_is_not_json(world):
    async with world.client_as_alice() as c:
        world.emu.faults.html_next(1)
        with pytest.raises(NotJson, match="HTML page instead of JSON"):
            await c.public_info()


@pytest.mark.anyio
async def test_revoked_token_is_auth_error(world):
    token = world.state.issue_token(world.alice, device_id="revoked-device")
    world.state.revoke_token(token)
    async with world.client(token=token, user_id=world.alice) as c:
        await c.public_info()  # anonymous, and it picks the route
        with pytest.raises(AuthError, match="log in again with `cwtui login`") as err:
            await c.resume_items()
        assert c.requests_sent == 2  # the 401 is not retried
    assert token not in str(err.value) and token not in repr(err.value)


@pytest.mark.anyio
async def test_one_server_never_has_more_than_max_in_flight_requests_from_a_client():
    """However many calls are made at once (a household plan's users, episode lists and batches), at most
    MAX_IN_FLIGHT reach one server together: that many meet a barrier; one more never does, and every call still
    gets its answer."""
    modern = build("10.11.11")
    faults = modern.emu.faults
    async with modern.client() as c:
        await c.login_password("alice", "pw")
        full = faults.together(r"^/Users/Me$", MAX_IN_FLIGHT, seconds=30)  # waits only until met
        answers = await asyncio.gather(*(c.me() for _ in range(3 * MAX_IN_FLIGHT)))
        assert full.met and {a.name for a in answers} == {"alice"} and len(answers) == 3 * MAX_IN_FLIGHT
        over = faults.together(r"^/Users/Me$", MAX_IN_FLIGHT + 1, seconds=1)
        await asyncio.gather(*(c.me() for _ in range(MAX_IN_FLIGHT + 1)))
        assert over.arrived == MAX_IN_FLIGHT + 1 and not over.met
    assert sum(r.path == "/Users/Me" for r in modern.emu.requests) == 4 * MAX_IN_FLIGHT + 1
    modern.emu.stop()
