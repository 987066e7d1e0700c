"""JellyfinClient against httpx.MockTransport: headers, routes per version, paging, retries and error mapping."""

from __future__ import annotations

import gzip
import json
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

import cwtui.core.http as http_mod
from cwtui.core.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    CwtuiError,
    DestinationTooOld,
    Forbidden,
    NotFound,
    NotJson,
    ServerError,
    ServerFailure,
    ServerStarting,
    ServerTimeout,
    ServerUnreachable,
    TlsError,
    UsageError,
)
from cwtui.core.jellyfin import ClientIdentity, JellyfinClient

TOKEN = "tok-5ecret-abcdef0123456789"
UID = "1" * 32
IDENT = ClientIdentity(device_id="dev-1", device_name="host", client="cwtui", version="0.1.0")
BASE = "http://jf.test:8096"

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def js(data, status=200, **headers) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


def movie(n: int, **extra) -> dict:
    return {"Id": f"{n:032x}", "Type": "Movie", "Name": f"M{n}", "ProviderIds": {"Imdb": f"tt{n}"}, **extra}


class Fake:
    """A scripted server: routes by (METHOD, path); records every request; counts per route."""

    def __init__(self, version: str = "10.11.11") -> None:
        self.version = version
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/System/Info/Public"): lambda r: js(
                {"Id": "f" * 32, "ServerName": "Home", "Version": self.version, "ProductName": "Jellyfin Server",
                 "StartupWizardCompleted": True}),
        }

    def on(self, method: str, path: str, handler: Handler | httpx.Response | dict | list) -> None:
        if not callable(handler):
            response = handler

            def handler(_r, response=response):
                return response if isinstance(response, httpx.Response) else js(response)
        self.routes[(method, path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return handler(request)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def client(self, token: str | None = TOKEN, user_id: str | None = UID, **kw) -> JellyfinClient:
        kw.setdefault("retry_delay", 0.0)
        return JellyfinClient(BASE, IDENT, token, user_id, transport=httpx.MockTransport(self), **kw)


@pytest.fixture
def sleeps(monkeypatch):
    """Record backoff delays instead of sleeping."""
    delays: list[float] = []

    async def fake_sleep(seconds):
        delays.append(seconds)

    monkeypatch.setattr(http_mod.asyncio, "sleep", fake_sleep)
    return delays


def assert_no_secret(exc: BaseException, *secrets: str) -> None:
    for text in (str(exc), repr(exc), exc.args.__repr__(), getattr(exc, "hint", "") or "",
                 getattr(exc, "url", "") or ""):
        for secret in secrets:
            assert secret not in text


# --- headers ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_authorization_header_exact_and_nothing_else():
    fake = Fake()
    fake.on("GET", "/Users/Me", {"Id": UID, "Name": "alice"})
    async with fake.client() as c:
        await c.public_info()
        await c.me()
    anon, authed = fake.requests
    assert anon.headers["authorization"] == (
        'MediaBrowser Client="cwtui", Device="host", DeviceId="dev-1", Version="0.1.0"')
    assert authed.headers["authorization"] == (
        f'MediaBrowser Client="cwtui", Device="host", DeviceId="dev-1", Version="0.1.0", Token="{TOKEN}"')
    for r in fake.requests:
        assert r.headers["accept"] == "application/json"
        assert not [h for h in r.headers if h.lower().startswith("x-emby") or h.lower().startswith("x-mediabrowser")]
        assert "api_key" not in str(r.url).lower() and "apikey" not in str(r.url).lower()


@pytest.mark.anyio
async def test_header_values_are_url_encoded():
    fake = Fake()
    ident = ClientIdentity(device_id="a+b%c", device_name='Tom\'s "PC", ünï', client="cwtui", version="1.0")
    async with JellyfinClient(BASE, ident, transport=httpx.MockTransport(fake)) as c:
        await c.public_info()
    header = fake.requests[0].headers["authorization"]
    assert 'DeviceId="a%2Bb%25c"' in header
    assert 'Device="Tom%27s %22PC%22%2C %C3%BCn%C3%AF"' in header
    assert header.isascii()


# --- routes and parameters -------------------------------------------------------------------------


def page_handler(total: int, *, ignore_start: bool = False, malformed_every: int = 0) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        start = 0 if ignore_start else int(request.url.params["startIndex"])
        limit = int(request.url.params["limit"])
        items = []
        for n in range(start, min(total, start + limit)):
            items.append({"Name": "broken"} if malformed_every and n % malformed_every == 0 else movie(n + 1))
        return js({"Items": items, "TotalRecordCount": len(items), "StartIndex": start})
    return handler


@pytest.mark.anyio
async def test_resume_items_params_paging_and_short_page_stop():
    fake = Fake()
    fake.on("GET", "/Items", page_handler(450))
    async with fake.client() as c:
        items = await c.resume_items()
    calls = fake.calls("GET", "/Items")
    assert [int(r.url.params["startIndex"]) for r in calls] == [0, 200, 400]
    params = calls[0].url.params
    assert params["userId"] == UID and params["recursive"] == "true" and params["filters"] == "IsResumable"
    assert params["includeItemTypes"] == "Movie,Episode" and params["fields"] == "ProviderIds"
    assert params["enableImages"] == "false" and params["enableTotalRecordCount"] == "false"
    assert params["sortBy"] == "SortName" and params["limit"] == "200" and "parentId" not in params
    assert len(items) == 450 and len({i.id for i in items}) == 450


@pytest.mark.anyio
async def test_exact_multiple_needs_one_empty_page():
    fake = Fake()
    fake.on("GET", "/Items", page_handler(400))
    async with fake.client() as c:
        items = await c.resume_items()
    assert len(items) == 400 and len(fake.calls("GET", "/Items")) == 3


@pytest.mark.anyio
async def test_resume_items_per_library_dedupes_across_passes():
    fake = Fake()
    fake.on("GET", "/Items", lambda r: js({"Items": [movie(1), movie(2) if r.url.params["parentId"] == "a" else
                                                     movie(3)]}))
    async with fake.client() as c:
        items = await c.resume_items(library_ids=["a", "b"])
    assert [r.url.params["parentId"] for r in fake.calls("GET", "/Items")] == ["a", "b"]
    assert sorted(i.production_year or int(i.id, 16) for i in items) == [1, 2, 3]


@pytest.mark.anyio
async def test_library_pages_stop_with_an_error_when_server_ignores_start_index():
    fake = Fake()
    fake.on("GET", "/Items", page_handler(1000, ignore_start=True))
    pages = []
    async with fake.client() as c:
        with pytest.raises(BadResponse, match="same 100 items again"):
            async for page in c.library_pages(types=("Movie", "Episode"), page_size=100):
                pages.append(page)
    calls = fake.calls("GET", "/Items")
    assert len(calls) == 2, "a full page with no new ids must end the loop, and not silently with a partial index"
    assert [len(p) for p in pages] == [100]
    params = calls[0].url.params
    assert params["isMissing"] == "false" and params["sortBy"] == "SortName,ProductionYear"
    assert params["includeItemTypes"] == "Movie,Episode" and params["userId"] == UID


@pytest.mark.anyio
async def test_library_pages_overlapping_pages_are_deduped_and_malformed_counted():
    def overlapping(request):
        start = int(request.url.params["startIndex"])
        # the unstable-sort case: each page repeats the previous page's last item
        ids = [n for n in range(max(0, start - 1), start + 10)][:10] if start < 30 else [29]
        return js({"Items": [movie(n) if n % 7 else {"Id": f"{n:032x}", "Type": "Folder"} for n in ids]})
    fake = Fake()
    fake.on("GET", "/Items", overlapping)
    async with fake.client() as c:
        pages = [p async for p in c.library_pages(page_size=10, parent_id="lib1")]
        ids = [i.id for p in pages for i in p]
        assert len(ids) == len(set(ids))
        assert c.skipped_malformed > 0
    assert fake.calls("GET", "/Items")[0].url.params["parentId"] == "lib1"


@pytest.mark.anyio
async def test_series_list_episodes_items_by_ids_batches():
    fake = Fake()
    fake.on("GET", "/Items", lambda r: js({"Items": [
        {"Id": "a" * 32, "Type": "Series", "Name": "The Wire", "ProviderIds": {"Tvdb": "79126"}}]})
        if r.url.params.get("includeItemTypes") == "Series"
        else js({"Items": [movie(int(i, 16)) for i in r.url.params["ids"].split(",")]}))
    fake.on("GET", f"/Shows/{'a' * 32}/Episodes", {"Items": [
        {"Id": "b" * 32, "Type": "Episode", "SeriesId": "a" * 32, "ParentIndexNumber": 1, "IndexNumber": 3}]})
    async with fake.client() as c:
        series = await c.series_list()
        eps = await c.episodes("AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA")
        ids = [f"{n:032x}" for n in range(1, 251)]
        items = await c.items_by_ids(ids + ids[:5])
    assert series[0].provider_ids == {"tvdb": "79126"} and eps[0].season == 1 and eps[0].episode == 3
    ep_call = fake.calls("GET", f"/Shows/{'a' * 32}/Episodes")[0]
    assert ep_call.url.params["userId"] == UID and ep_call.url.params["fields"] == "ProviderIds"
    batches = [r for r in fake.calls("GET", "/Items") if "ids" in r.url.params]
    assert [len(r.url.params["ids"].split(",")) for r in batches] == [100, 100, 50]
    assert all(r.url.params["userId"] == UID for r in batches)
    assert len(items) == 250


@pytest.mark.anyio
@pytest.mark.parametrize("version", ["10.9.11", "10.11.11"])
async def test_modern_routes(version):
    fake = Fake(version)
    ud = {"PlaybackPositionTicks": 5, "PlayCount": 1, "Played": False}
    fake.on("GET", "/UserViews", {"Items": [{"Id": "c" * 32, "Name": "Movies", "CollectionType": "movies"}]})
    fake.on("GET", f"/Items/{'a' * 32}", movie(0xA, UserData=ud) | {"Id": "a" * 32})
    fake.on("GET", f"/UserItems/{'a' * 32}/UserData", ud)
    fake.on("POST", f"/UserItems/{'a' * 32}/UserData", ud)
    fake.on("POST", f"/UserPlayedItems/{'a' * 32}", ud | {"Played": True})
    fake.on("DELETE", f"/UserPlayedItems/{'a' * 32}", ud)
    fake.on("GET", "/Sessions", [{"Id": "s1", "UserId": UID, "NowPlayingItem": {"Id": "a" * 32}}, {"Id": "s2"}])
    async with fake.client() as c:
        libs = await c.libraries()
        item = await c.item("a" * 32)
        assert (await c.user_data("a" * 32)).position_ticks == 5
        written = await c.write_user_data("a" * 32, position_ticks=123, last_played=datetime(2026, 1, 2, tzinfo=UTC))
        assert (await c.mark_played("a" * 32, date_played=datetime(2026, 1, 3, tzinfo=UTC))).played
        await c.mark_unplayed("a" * 32)
        sessions = await c.sessions()
    assert libs[0].collection_type == "movies" and item.user_data is not None and written.play_count == 1
    assert sessions[0].is_playing(UID, "a" * 32) and sessions[1].user_id is None
    for r in fake.requests[1:]:
        if r.url.path != "/Sessions":
            assert r.url.params["userId"] == UID, r.url
    post = fake.calls("POST", f"/UserItems/{'a' * 32}/UserData")[0]
    assert json.loads(post.content) == {"PlaybackPositionTicks": 123, "LastPlayedDate": "2026-01-02T00:00:00.000000Z"}
    assert post.headers["content-type"] == "application/json"
    played = fake.calls("POST", f"/UserPlayedItems/{'a' * 32}")[0]
    assert played.url.params["datePlayed"] == "2026-01-03T00:00:00.000000Z"
    assert "datePlayed" not in fake.calls("DELETE", f"/UserPlayedItems/{'a' * 32}")[0].url.params
    assert len(fake.calls("GET", "/System/Info/Public")) == 1, "the version is cached"


@pytest.mark.anyio
async def test_write_sends_only_given_fields():
    fake = Fake()
    fake.on("POST", f"/UserItems/{'a' * 32}/UserData", lambda r: js(json.loads(r.content)))
    async with fake.client() as c:
        await c.write_user_data("a" * 32, played=True, play_count=0)
        await c.write_user_data("a" * 32, position_ticks=0)
    bodies = [json.loads(r.content) for r in fake.calls("POST", f"/UserItems/{'a' * 32}/UserData")]
    assert bodies == [{"Played": True, "PlayCount": 0}, {"PlaybackPositionTicks": 0}]


@pytest.mark.anyio
async def test_legacy_10_8_routes_and_write_refusal():
    fake = Fake("10.8.13")
    ud = {"PlaybackPositionTicks": 7, "Played": False, "ItemId": "a" * 32}
    fake.on("GET", f"/Users/{UID}/Views", {"Items": [{"Id": "c" * 32, "Name": "Movies"}]})
    fake.on("GET", f"/Users/{UID}/Items/{'a' * 32}", movie(0xA, UserData=ud) | {"Id": "a" * 32})
    fake.on("POST", f"/Users/{UID}/PlayedItems/{'a' * 32}", ud | {"Played": True})
    fake.on("DELETE", f"/Users/{UID}/PlayedItems/{'a' * 32}", ud)
    fake.on("GET", "/QuickConnect/Initiate", {"Secret": "s" * 64, "Code": "123456"})
    async with fake.client() as c:
        assert (await c.libraries())[0].name == "Movies"
        assert (await c.item("a" * 32)).user_data.position_ticks == 7
        assert (await c.user_data("a" * 32)).position_ticks == 7
        assert (await c.mark_played("a" * 32)).played
        await c.mark_unplayed("a" * 32)
        with pytest.raises(DestinationTooOld) as err:
            await c.write_user_data("a" * 32, position_ticks=1)
        qc = await c.quick_connect_initiate()
    assert "10.8.13" in str(err.value) and qc.code == "123456"
    assert not [r for r in fake.requests if "UserData" in r.url.path or "UserItems" in r.url.path]
    assert not [r for r in fake.requests if r.url.path.startswith("/UserPlayedItems")]


@pytest.mark.anyio
async def test_login_password_sets_token_and_user():
    fake = Fake()
    fake.on("POST", "/Users/AuthenticateByName", lambda r: js(
        {"AccessToken": "newtok", "ServerId": "f" * 32,
         "User": {"Id": "2" * 32, "Name": json.loads(r.content)["Username"], "Policy": {"IsAdministrator": False}}}))
    async with fake.client(token=None, user_id=None) as c:
        auth = await c.login_password("alice", "pw")
        assert c.token == "newtok" and c.user_id == "2" * 32 and auth.user.name == "alice"
        assert "newtok" not in repr(c) and "newtok" not in repr(auth)
    login = fake.calls("POST", "/Users/AuthenticateByName")[0]
    assert json.loads(login.content) == {"Username": "alice", "Pw": "pw"}
    assert "Token=" not in login.headers["authorization"]


@pytest.mark.anyio
async def test_login_api_key_by_name_or_id():
    fake = Fake()
    fake.on("GET", "/Users", [{"Id": "2" * 32, "Name": "Alice"}, {"Id": "3" * 32, "Name": "bob"}])
    async with fake.client(token=None, user_id=None) as c:
        user = await c.login_api_key("KEY1", as_user="ALICE")
        assert (user.name, c.user_id, c.token) == ("Alice", "2" * 32, "KEY1")
        by_id = await c.login_api_key("KEY1", as_user="33333333-3333-3333-3333-333333333333")
        assert by_id.name == "bob" and c.user_id == "3" * 32
        with pytest.raises(NotFound):
            await c.login_api_key("KEY1", as_user="carol")
        with pytest.raises(UsageError):
            await c.login_api_key("KEY1", as_user="")
    assert 'Token="KEY1"' in fake.calls("GET", "/Users")[0].headers["authorization"]


@pytest.mark.anyio
async def test_me_falls_back_to_user_id_for_api_keys():
    fake = Fake()
    fake.on("GET", "/Users/Me", httpx.Response(400, text="Error processing request."))
    fake.on("GET", f"/Users/{UID}", {"Id": UID, "Name": "alice"})
    async with fake.client() as c:
        assert (await c.me()).name == "alice"


@pytest.mark.anyio
async def test_quick_connect_flow_modern():
    fake = Fake("10.10.7")
    polls = iter([False, True])
    fake.on("POST", "/QuickConnect/Initiate", {"Secret": "s" * 64, "Code": "654321", "Authenticated": False})
    fake.on("GET", "/QuickConnect/Enabled", True)
    fake.on("GET", "/QuickConnect/Connect", lambda r: js({"Authenticated": next(polls), "Secret": "s" * 64}))
    fake.on("POST", "/Users/AuthenticateWithQuickConnect", lambda r: js(
        {"AccessToken": "qctok", "ServerId": "f" * 32, "User": {"Id": "2" * 32, "Name": "alice"}}))
    async with fake.client(token=None, user_id=None) as c:
        assert await c.quick_connect_enabled() is True
        qc = await c.quick_connect_initiate()
        assert "s" * 64 not in repr(qc)
        assert await c.quick_connect_poll(qc) is False
        assert await c.quick_connect_poll(qc) is True
        auth = await c.quick_connect_login(qc)
        assert c.token == "qctok" and auth.user.id == "2" * 32
    assert fake.calls("GET", "/QuickConnect/Connect")[0].url.params["secret"] == "s" * 64
    assert json.loads(fake.calls("POST", "/Users/AuthenticateWithQuickConnect")[0].content) == {"Secret": "s" * 64}


@pytest.mark.anyio
async def test_logout_forgets_token():
    fake = Fake()
    fake.on("POST", "/Sessions/Logout", httpx.Response(204))
    async with fake.client() as c:
        await c.logout()
        assert c.token is None
    assert len(fake.calls("POST", "/Sessions/Logout")) == 1


@pytest.mark.anyio
async def test_not_logged_in_is_a_usage_error():
    async with Fake().client(token=None, user_id=None) as c:
        with pytest.raises(UsageError):
            await c.resume_items()


# --- errors ----------------------------------------------------------------------------------------

HTML = "<html><body><h1>502 Bad Gateway</h1>nginx " + TOKEN + "</body></html>"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "exc_type", "text"),
    [
        (httpx.Response(401), AuthError, "token rejected: log in again with `cwtui login`"),
        (httpx.Response(403, text="Error processing request."), Forbidden, "another user"),
        (httpx.Response(404, json={"type": "x", "title": "Not Found", "status": 404}), NotFound, "not found"),
        (httpx.Response(400, json={"title": "One or more validation errors occurred.",
                                   "errors": {"userId": ["The value 'x' is not valid."]}}),
         BadRequest, "One or more validation errors occurred.: userId: The value 'x' is not valid."),
        (httpx.Response(400, text="Device id cannot be null " + TOKEN), BadRequest, "Device id cannot be null"),
        (httpx.Response(503, html="<html>Jellyfin is starting up</html>"), ServerStarting, "retry in a minute"),
        (httpx.Response(500, text="Error processing request."), ServerFailure, "HTTP 500"),
        (httpx.Response(502, html=HTML), ServerFailure, "HTTP 502"),
        (httpx.Response(200, html=HTML), NotJson, "got an HTML page instead of JSON: a proxy or a wrong URL?"),
        (httpx.Response(200, text="{not json"), NotJson, "not JSON"),
        (httpx.Response(200, json=["a", "list"]), BadResponse, "expected a JSON object"),
        (httpx.Response(302, headers={"location": "https://jf.test/"}), BadResponse, "redirects"),
        (httpx.Response(405), BadRequest, "HTTP 405"),
    ],
)
async def test_status_mapping(response, exc_type, text):
    fake = Fake()
    fake.on("GET", f"/Items/{'a' * 32}", response)
    async with fake.client() as c:
        with pytest.raises(exc_type) as err:
            await c.item("a" * 32)
    exc = err.value
    assert text in str(exc)
    assert isinstance(exc, ServerError) and exc.url == f"{BASE}/Items/{'a' * 32}"
    assert exc.status == response.status_code
    assert_no_secret(exc, TOKEN)
    assert "<html" not in str(exc) and "nginx" not in str(exc)


@pytest.mark.anyio
async def test_bad_request_message_is_truncated():
    fake = Fake()
    fake.on("GET", "/Users", httpx.Response(400, text="x" * 1000))
    async with fake.client() as c:
        with pytest.raises(BadRequest) as err:
            await c.users()
    assert 150 < len(str(err.value)) < 260


@pytest.mark.anyio
async def test_403_on_user_data_write_names_the_policy():
    fake = Fake()
    fake.on("POST", f"/UserItems/{'a' * 32}/UserData", httpx.Response(403, text="Forbidden"))
    async with fake.client() as c:
        with pytest.raises(Forbidden) as err:
            await c.write_user_data("a" * 32, position_ticks=1)
    assert "EnableUserPreferenceAccess" in str(err.value)
    assert "administrator rights needed to act for another user" in str(err.value)


def raiser(exc: Exception) -> Handler:
    def handler(request):
        raise exc
    return handler


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "exc_type", "text"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), ServerUnreachable,
         "is the server running and the URL right?"),
        (httpx.ReadError("reset by peer"), ServerUnreachable, "lost the connection"),
        (httpx.RemoteProtocolError("Server disconnected"), ServerUnreachable, "lost the connection"),
        (httpx.ReadTimeout("timed out"), ServerTimeout, "did not answer in time"),
        (httpx.ConnectTimeout("timed out"), ServerTimeout, "did not answer in time"),
    ],
)
async def test_transport_errors_are_retried_for_gets_then_mapped(sleeps, exc, exc_type, text):
    fake = Fake()
    fake.on("GET", "/Users", raiser(exc))
    async with fake.client(get_retries=3, retry_delay=0.2) as c:
        with pytest.raises(exc_type) as err:
            await c.users()
        assert c.requests_sent == 4
    assert len(fake.calls("GET", "/Users")) == 4 and sleeps == [0.2, 0.4, 0.8]
    assert text in str(err.value) and BASE in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert_no_secret(err.value, TOKEN)


@pytest.mark.anyio
async def test_tls_failure_is_tls_error_and_not_retried(sleeps):
    fake = Fake()
    cert_error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    tls = httpx.ConnectError(str(cert_error))
    tls.__cause__ = cert_error
    fake.on("GET", "/System/Info/Public", raiser(tls))
    async with fake.client() as c:
        with pytest.raises(TlsError) as err:
            await c.public_info()
    assert "ca_bundle" in str(err.value) and "insecure" in str(err.value)
    assert len(fake.requests) == 1 and sleeps == []


@pytest.mark.anyio
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_get_retry_recovers(sleeps, status):
    fake = Fake()
    answers = iter([httpx.Response(status), httpx.Response(status), js([{"Id": UID, "Name": "alice"}])])
    fake.on("GET", "/Users", lambda r: next(answers))
    async with fake.client(retry_delay=0.05) as c:
        users = await c.users()
        assert c.requests_sent == 3
    assert users[0].name == "alice" and sleeps == [0.05, 0.1]


@pytest.mark.anyio
async def test_get_retries_zero_means_one_attempt(sleeps):
    fake = Fake()
    fake.on("GET", "/Users", httpx.Response(503))
    async with fake.client(get_retries=0) as c:
        with pytest.raises(ServerStarting):
            await c.users()
    assert len(fake.requests) == 1 and sleeps == []


@pytest.mark.anyio
@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.Response(502), httpx.ReadError("reset"),
                                     httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
@pytest.mark.parametrize("call", ["write", "played", "unplayed", "login", "qc_login", "logout"])
async def test_writes_and_logins_are_never_retried(sleeps, failure, call):
    fake = Fake()
    handler = raiser(failure) if isinstance(failure, Exception) else (lambda r: failure)
    routes = {"write": ("POST", f"/UserItems/{'a' * 32}/UserData"), "played": ("POST", f"/UserPlayedItems/{'a' * 32}"),
              "unplayed": ("DELETE", f"/UserPlayedItems/{'a' * 32}"), "login": ("POST", "/Users/AuthenticateByName"),
              "qc_login": ("POST", "/Users/AuthenticateWithQuickConnect"), "logout": ("POST", "/Sessions/Logout")}
    fake.on(*routes[call], handler)
    async with fake.client() as c:
        await c.public_info()
        actions = {
            "write": lambda: c.write_user_data("a" * 32, position_ticks=5),
            "played": lambda: c.mark_played("a" * 32), "unplayed": lambda: c.mark_unplayed("a" * 32),
            "login": lambda: c.login_password("alice", "pw"),
            "qc_login": lambda: c.quick_connect_login(dto_code()), "logout": c.logout,
        }
        with pytest.raises(ServerError) as err:
            await actions[call]()
    assert len(fake.calls(*routes[call])) == 1 and sleeps == []
    assert_no_secret(err.value, TOKEN, "pw\"", "s" * 64)


def dto_code():
    from cwtui.core.models import QuickConnectCode
    return QuickConnectCode(secret="s" * 64, code="123456")


@pytest.mark.anyio
async def test_wrong_password_message_and_single_attempt():
    fake = Fake()
    fake.on("POST", "/Users/AuthenticateByName", httpx.Response(401, text="Invalid username or password"))
    async with fake.client(token=None, user_id=None) as c:
        with pytest.raises(AuthError) as err:
            await c.login_password("alice", "hunter2-password")
        assert c.token is None
    assert str(err.value) == "wrong user name or password"
    assert_no_secret(err.value, "hunter2-password")
    assert len(fake.calls("POST", "/Users/AuthenticateByName")) == 1


@pytest.mark.anyio
async def test_quick_connect_errors_named():
    fake = Fake()
    fake.on("POST", "/QuickConnect/Initiate", httpx.Response(401))
    fake.on("GET", "/QuickConnect/Connect", httpx.Response(404))
    async with fake.client(token=None, user_id=None) as c:
        with pytest.raises(AuthError, match="Quick Connect is disabled"):
            await c.quick_connect_initiate()
        with pytest.raises(NotFound, match="expired") as err:
            await c.quick_connect_poll(dto_code())
    assert "s" * 64 not in str(err.value) and "secret" not in (err.value.url or "")


@pytest.mark.anyio
async def test_token_never_in_any_exception_text(sleeps):
    """Every error a client can raise, collected, and grepped for the token."""
    failures: list[CwtuiError] = []
    responses = [httpx.Response(s, text=f"echo {TOKEN}") for s in (400, 401, 403, 404, 500, 502, 503, 418)]
    responses += [httpx.Response(200, html=HTML), httpx.Response(200, json={"Items": "nope"}),
                  httpx.Response(301, headers={"location": f"https://x/?api_key={TOKEN}"})]
    exceptions = [httpx.ConnectError(f"refused {TOKEN}"), httpx.ReadTimeout(TOKEN), httpx.ReadError(TOKEN)]
    for answer in responses + exceptions:
        fake = Fake()
        fake.on("GET", "/Items", raiser(answer) if isinstance(answer, Exception) else (lambda r, a=answer: a))
        async with fake.client() as c:
            try:
                await c.resume_items()
            except CwtuiError as exc:
                failures.append(exc)
            assert TOKEN not in repr(c)
    assert len(failures) == len(responses) + len(exceptions)
    for exc in failures:
        assert_no_secret(exc, TOKEN)


@pytest.mark.anyio
async def test_malformed_items_skipped_and_counted():
    fake = Fake()
    fake.on("GET", "/Items", {"Items": [movie(1), {"Name": "no id"}, {"Id": "x", "Type": "Book"}, movie(2), 7]})
    async with fake.client() as c:
        items = await c.resume_items()
        assert len(items) == 2 and c.skipped_malformed == 3


@pytest.mark.anyio
async def test_item_of_other_type_is_bad_response():
    fake = Fake()
    fake.on("GET", f"/Items/{'a' * 32}", {"Id": "a" * 32, "Type": "Series", "Name": "The Wire"})
    async with fake.client() as c:
        with pytest.raises(BadResponse, match="Series"):
            await c.item("a" * 32)


def test_constructor_rejects_bad_url_and_unreadable_ca_bundle(tmp_path):
    with pytest.raises(UsageError):
        JellyfinClient("jf.local:8096", IDENT)
    with pytest.raises(UsageError, match="CA bundle"):
        JellyfinClient(BASE, IDENT, ca_bundle=str(tmp_path / "missing.pem"))


def test_repr_hides_token():
    client = JellyfinClient(BASE + "/", IDENT, TOKEN, UID, insecure=True)
    assert TOKEN not in repr(client) and client.base_url == BASE and client.insecure
    assert client.user_id == UID


# --- hostile paging, ids, sizes --------------------------------------------------------------------


@pytest.mark.anyio
async def test_paging_past_the_servers_own_count_is_an_error():
    def endless(request):  # says there are 300, then keeps sending full pages of new ids
        assert len(fake.requests) < 50, "the client kept paging past the count: no bound"
        start, limit = int(request.url.params["startIndex"]), int(request.url.params["limit"])
        return js({"Items": [movie(n + 1) for n in range(start, start + limit)], "TotalRecordCount": 300})
    fake = Fake()
    fake.on("GET", "/Items", endless)
    async with fake.client() as c:
        with pytest.raises(BadResponse, match="past the 300 it reported"):
            await c.resume_items()
    assert len(fake.calls("GET", "/Items")) == 3  # pages at 0 and 200 are fine; a full one at 400 is not


@pytest.mark.anyio
async def test_paging_without_a_last_page_is_bounded(monkeypatch):
    monkeypatch.setattr("cwtui.core.jellyfin.MAX_PAGED_ITEMS", 1000)
    fake = Fake()

    def endless(request):
        assert len(fake.requests) < 50, "the client kept paging: no bound"
        start = int(request.url.params["startIndex"])
        return js({"Items": [movie(n + 1) for n in range(start, start + 100)]})
    fake.on("GET", "/Items", endless)
    async with fake.client() as c:
        with pytest.raises(BadResponse, match="more than 1000 items without a last page"):
            _ = [p async for p in c.library_pages(page_size=100)]
    assert len(fake.calls("GET", "/Items")) <= 12


@pytest.mark.anyio
@pytest.mark.parametrize("bad", [".", "..", "...", "a/b", "..%2f..", "a\\b", "a?b", "a#b", "a b", "x\x1b[2J", ""])
async def test_item_ids_that_could_leave_the_route_are_refused_before_any_request(bad):
    fake = Fake()
    async with fake.client() as c:
        for call in (c.item(bad), c.user_data(bad), c.write_user_data(bad, 10), c.episodes(bad)):
            with pytest.raises(UsageError, match="not an item id"):
                await call
    assert [r.url.path for r in fake.requests if r.url.path != "/System/Info/Public"] == []


@pytest.mark.anyio
async def test_ids_from_the_server_that_are_not_url_safe_are_dropped_as_malformed():
    fake = Fake()
    fake.on("GET", "/Items", {"Items": [movie(1), {**movie(2), "Id": ".."}, {**movie(3), "Id": "../../Users"},
                                        {**movie(4), "Id": "%2e%2e"}, movie(5)]})
    async with fake.client() as c:
        items = await c.resume_items()
        assert sorted(i.id for i in items) == [f"{1:032x}", f"{5:032x}"] and c.skipped_malformed == 3


@pytest.mark.anyio
async def test_deeply_nested_json_is_one_bad_response():
    deep = b"[" * 200_000 + b"]" * 200_000
    fake = Fake()
    fake.on("GET", "/Items", httpx.Response(200, content=deep, headers={"content-type": "application/json"}))
    fake.on("GET", "/Sessions", httpx.Response(500, content=b'{"title":' + deep + b"}",
                                               headers={"content-type": "application/json"}))
    async with fake.client(get_retries=0) as c:
        with pytest.raises(BadResponse, match="nested too deeply"):
            await c.resume_items()
        with pytest.raises(ServerFailure):
            await c.sessions()


@pytest.mark.anyio
async def test_an_answer_over_the_size_cap_is_refused(monkeypatch):
    monkeypatch.setattr(http_mod, "MAX_ANSWER_BYTES", 10_000)
    big = {"Items": [movie(n) for n in range(1, 400)]}

    def chunked(_request):  # no content-length: the cap must hold while reading, too
        body = json.dumps(big).encode()
        return httpx.Response(200, stream=httpx.ByteStream(body), headers={"content-type": "application/json"})
    def gzip_bomb(_request):  # a small body that decompresses past the cap
        body = gzip.compress(json.dumps(big).encode())
        assert len(body) < 10_000
        return httpx.Response(200, content=body, headers={"content-type": "application/json",
                                                          "content-encoding": "gzip"})
    fake = Fake()
    fake.on("GET", "/Items", chunked)
    fake.on("GET", "/Sessions", js(big))
    fake.on("GET", "/Users", gzip_bomb)
    async with fake.client(get_retries=0) as c:
        for call in (c.resume_items(), c.sessions(), c.users()):
            with pytest.raises(BadResponse, match="larger than"):
                await call


@pytest.mark.parametrize("url", ["http://alice:s3cr3t-pw@jf.test:8096", "http://:s3cr3t-pw@jf.test",
                                 "https://s3cr3t-pw@jf.test"])
def test_credentials_in_the_url_are_refused_without_showing_them(url):
    with pytest.raises(UsageError) as caught:
        JellyfinClient(url, IDENT)
    assert "password" in str(caught.value) and "s3cr3t-pw" not in str(caught.value)
    assert "jf.test" in str(caught.value)


@pytest.mark.parametrize("url", ["http://jf.test:99999", "http://jf.test:0", "http://jf.test:abc/"])
def test_an_invalid_port_is_one_usage_error(url):
    with pytest.raises(UsageError, match="port"):
        JellyfinClient(url, IDENT)


def test_a_url_that_is_not_http_never_shows_its_credentials():
    from cwtui.core.errors import UsageError
    from cwtui.core.http import ClientIdentity
    from cwtui.core.jellyfin import JellyfinClient

    with pytest.raises(UsageError) as caught:
        JellyfinClient("ftp://alice:s3cret-pw@example.org", ClientIdentity("d", "h"))
    assert "s3cret-pw" not in str(caught.value) and "example.org" in str(caught.value)
