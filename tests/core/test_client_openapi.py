"""Every request JellyfinClient sends to a 10.9+ server fits the Jellyfin 10.11.11 OpenAPI spec."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cwtui.core.jellyfin import ClientIdentity, JellyfinClient
from cwtui.core.models import TICKS_PER_SECOND
from cwtui.emulator import Emulator, EmulatorState
from tests.openapi_check import find_operation, validate_request

IDENT = ClientIdentity(device_id="cwtui-openapi-device", device_name="testhost", client="cwtui", version="0.1.0")
MIN = 60 * TICKS_PER_SECOND

# Every operation the client uses on 10.9+ (jellyfin-api.md §8); the test fails if one goes unexercised.
EXPECTED_OPERATIONS = {
    "GetPublicSystemInfo", "AuthenticateUserByName", "AuthenticateWithQuickConnect", "GetCurrentUser", "GetUsers",
    "GetUserById", "ReportSessionEnded", "GetQuickConnectEnabled", "InitiateQuickConnect", "GetQuickConnectState",
    "GetConfiguration", "GetUserViews", "GetItems", "GetItem", "GetEpisodes", "GetItemUserData",
    "UpdateItemUserData", "MarkPlayedItem", "MarkUnplayedItem", "GetSessions",
}


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Recorder(httpx.AsyncBaseTransport):
    """Real HTTP to the emulator, keeping a copy of every request as sent."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.sent.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(params=["10.10.7", "10.11.11"])
def server(request):
    state = EmulatorState(server_name="Spec", version=request.param)
    alice = state.add_user("alice", password="pw")
    key = state.add_api_key("openapi")
    movies_lib = state.add_library("Movies", "movies")
    shows_lib = state.add_library("Shows", "tvshows")
    movie = state.add_movie(movies_lib, "Heat", year=1995, runtime_ticks=170 * MIN,
                            provider_ids={"Imdb": "tt0113277", "Tmdb": "949"})
    series = state.add_series(shows_lib, "The Wire", provider_ids={"Tvdb": "79126"}, year=2002)
    episode = state.add_episode(series, season=1, episode=3, name="The Buys", runtime_ticks=58 * MIN)
    state.set_user_data(alice, movie, position_ticks=30 * MIN)
    state.set_user_data(alice, episode, position_ticks=10 * MIN)
    with Emulator(state) as emu:
        yield state, emu, alice, key, movie, episode


async def drive(client: JellyfinClient, state, alice, key, movie, episode) -> None:
    """Call every public method of the client at least once."""
    await client.public_info()
    await client.login_password("alice", "pw")
    await client.me()
    await client.users()
    await client.resume_rules()
    libs = await client.libraries()
    await client.resume_items()
    await client.resume_items(library_ids=[lib.id for lib in libs])
    async for _ in client.library_pages(types=("Movie", "Episode"), page_size=1):
        pass
    async for _ in client.library_pages(parent_id=libs[0].id):
        pass
    for series in await client.series_list():
        await client.episodes(series.id)
    await client.items_by_ids([movie, episode])
    await client.item(movie)
    await client.user_data(movie)
    await client.sessions()
    await client.write_user_data(movie, position_ticks=31 * MIN, played=False, play_count=2,
                                 last_played=datetime(2026, 11, 20, 20, 0, 0, 123456, tzinfo=UTC))
    await client.write_user_data(episode, position_ticks=0)
    await client.mark_played(movie, date_played=datetime(2026, 11, 20, 21, 0, tzinfo=UTC))
    await client.mark_played(episode)
    await client.mark_unplayed(movie)
    assert await client.quick_connect_enabled()
    qc = await client.quick_connect_initiate()
    await client.quick_connect_poll(qc)
    assert state.quick_connect_authorize(qc.code, alice)
    await client.quick_connect_login(qc)
    await client.logout()
    await client.login_api_key(key, as_user="alice")
    await client.me()  # /Users/Me answers 400 to an API key, then /Users/{id}


@pytest.mark.anyio
async def test_every_request_fits_the_spec(server):
    state, emu, alice, key, movie, episode = server
    recorder = Recorder()
    async with JellyfinClient(emu.url, IDENT, transport=recorder, retry_delay=0.01) as client:
        await drive(client, state, alice, key, movie, episode)
    assert recorder.sent
    problems: list[str] = []
    operations: set[str] = set()
    for request in recorder.sent:
        url = str(request.url)
        operations.add(find_operation(request.method, url)[1]["operationId"])
        try:
            validate_request(request.method, url, dict(request.headers), request.content or None)
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n\n".join(problems)
    assert operations == EXPECTED_OPERATIONS


@pytest.mark.anyio
async def test_validator_catches_a_bad_request():
    """The check itself bites: an unknown query parameter and a wrong body type are reported."""
    with pytest.raises(AssertionError, match="AnyProviderIdEquals"):
        validate_request("GET", "http://x/Items?userId=" + "a" * 32 + "&AnyProviderIdEquals=imdb.tt1",
                         {"Authorization": 'MediaBrowser Client="c", Token="t"'})
    with pytest.raises(AssertionError):
        validate_request("POST", f"http://x/UserItems/{'a' * 32}/UserData?userId={'a' * 32}",
                         {"Authorization": 'MediaBrowser Client="c", Token="t"'}, b'{"PlaybackPositionTicks": "x"}')
