"""JellyfinClient over real sockets on 127.0.0.1: TLS verification, refused connections, timeouts, drops."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cwtui.core.errors import ServerTimeout, ServerUnreachable, TlsError, UsageError
from cwtui.core.jellyfin import ClientIdentity, JellyfinClient

IDENT = ClientIdentity(device_id="dev-1", device_name="host", client="cwtui", version="0.1.0")
TOKEN = "tok-transport-0123456789abcdef"

# A throwaway test CA and a leaf for 127.0.0.1 (valid 2020-2120), made with openssl for these tests only.
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBYzCCAQqgAwIBAgICEAAwCgYIKoZIzj0EAwIwGDEWMBQGA1UEAwwNY3d0dWkg
dGVzdCBDQTAgFw0yMDAxMDEwMDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowGDEWMBQG
A1UEAwwNY3d0dWkgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEVA
yTMxXowl6J2s2xVUj43hUifkIXO0h9/oJLHe8vLqpAr2zP9LzTlWcZT88u7tSnPS
CzJ2sLfL+FmYTxBH5PCjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD
AgEGMB0GA1UdDgQWBBTcqDLIqwLQxdhHMcuFKSi8/UTa6zAKBggqhkjOPQQDAgNH
ADBEAiA3O/vgWil47jL9p3wtNeHQ/IETciaAxL+YuQOihBRiWAIgbY8G5/gS/wS+
LjlrmCGz77ip2LuNTM7ywVzJ0OsiQlw=
-----END CERTIFICATE-----
"""
LEAF_PEM = """-----BEGIN CERTIFICATE-----
MIIBsTCCAVegAwIBAgICEAEwCgYIKoZIzj0EAwIwGDEWMBQGA1UEAwwNY3d0dWkg
dGVzdCBDQTAgFw0yMDAxMDEwMDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowFDESMBAG
A1UEAwwJMTI3LjAuMC4xMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErmghdadV
wIcLYyDUq0kEREm1ZGO4lPc26gG72ODb+Ox6poRZDoPxXkJtCOawWyEzKR+AqYM4
ZM91KidgPDuUT6OBkjCBjzAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDAT
BgNVHSUEDDAKBggrBgEFBQcDATAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3Qw
HQYDVR0OBBYEFDCjiQSmMbq6OEM9UE49lb1RgJeIMB8GA1UdIwQYMBaAFNyoMsir
AtDF2Ecxy4UpKLz9RNrrMAoGCCqGSM49BAMCA0gAMEUCIEjAakOc8jehQU6w7rWY
+nGlaS0e9TShRlioIxdkhj4dAiEAioYx5ZfBd/27tXIEJCSGNNvVJtIia152q/oc
bz1uNtY=
-----END CERTIFICATE-----
"""
LEAF_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8dhEPbCHSRnme+xB
loiLW++Ir9SjiFAvLB8YRG7mFByhRANCAASuaCF1p1XAhwtjINSrSQRESbVkY7iU
9zbqAbvY4Nv47HqmhFkOg/FeQm0I5rBbITMpH4Cpgzhkz3UqJ2A8O5RP
-----END PRIVATE KEY-----
"""
INFO = {"Id": "f" * 32, "ServerName": "TLS", "Version": "10.11.11", "ProductName": "Jellyfin Server"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.server.seen.append(("GET", self.path))  # type: ignore[attr-defined]
        body = json.dumps(INFO).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.server.seen.append(("POST", self.path))  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)  # drop without an answer


@contextmanager
def https_server(tmp_path: Path) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    (tmp_path / "leaf.pem").write_text(LEAF_PEM)
    (tmp_path / "leaf.key").write_text(LEAF_KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.anyio
async def test_tls_verified_by_default_then_ca_bundle_or_insecure(tmp_path):
    (tmp_path / "ca.pem").write_text(CA_PEM)
    with https_server(tmp_path) as (url, server):
        async with JellyfinClient(url, IDENT, TOKEN, retry_delay=0) as c:
            with pytest.raises(TlsError) as err:
                await c.public_info()
            assert c.requests_sent == 1, "a certificate failure is not retried"
        assert "ca_bundle" in str(err.value) and TOKEN not in str(err.value) and err.value.url == url + "/System/Info/Public"
        async with JellyfinClient(url, IDENT, ca_bundle=str(tmp_path / "ca.pem")) as c:
            assert (await c.public_info()).name == "TLS"
        async with JellyfinClient(url, IDENT, insecure=True) as c:
            assert (await c.public_info()).name == "TLS"
        assert server.seen == [("GET", "/System/Info/Public")] * 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.anyio
async def test_connection_refused_is_unreachable_after_get_retries():
    url = f"http://127.0.0.1:{_free_port()}"
    async with JellyfinClient(url, IDENT, TOKEN, get_retries=2, retry_delay=0.01) as c:
        with pytest.raises(ServerUnreachable) as err:
            await c.public_info()
        assert c.requests_sent == 3
    assert type(err.value) is ServerUnreachable
    assert url in str(err.value) and "is the server running and the URL right?" in str(err.value)


@pytest.mark.anyio
async def test_silent_server_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        async with JellyfinClient(url, IDENT, TOKEN, timeout=0.2, get_retries=1, retry_delay=0) as c:
            with pytest.raises(ServerTimeout) as err:
                await c.public_info()
            assert c.requests_sent == 2
        assert 0.35 < time.monotonic() - started < 3
        assert "did not answer in time" in str(err.value)
    finally:
        listener.close()


@pytest.mark.anyio
async def test_dropped_write_is_sent_once(tmp_path):
    with https_server(tmp_path) as (url, server):
        async with JellyfinClient(url, IDENT, TOKEN, "1" * 32, insecure=True, retry_delay=0) as c:
            await c.public_info()
            with pytest.raises(ServerUnreachable) as err:
                await c.write_user_data("a" * 32, position_ticks=10)
        posts = [entry for entry in server.seen if entry[0] == "POST"]
        assert len(posts) == 1 and posts[0][1].startswith(f"/UserItems/{'a' * 32}/UserData?userId=")
        assert TOKEN not in str(err.value) and "userId" not in (err.value.url or "")


# --- hostile servers and environments ---------------------------------------------------------------


@contextmanager
def trickling_server(max_bytes: int = 4000) -> Iterator[str]:
    """Answers with headers at once, then one body byte every 20 ms (a bounded number of them): each read
    succeeds well within any read timeout, so only an overall deadline ends the request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[")
            for _ in range(max_bytes):
                if stop.wait(0.02):
                    return
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@pytest.mark.anyio
async def test_a_server_that_trickles_bytes_hits_the_overall_deadline():
    with trickling_server() as url:
        started = time.monotonic()
        async with JellyfinClient(url, IDENT, TOKEN, timeout=0.25, get_retries=2, retry_delay=0) as c:
            with pytest.raises(ServerTimeout) as err:
                await c.public_info()
            assert c.requests_sent == 1, "a request that ran out its whole deadline is not retried"
        assert time.monotonic() - started < 10  # the deadline is 4 read timeouts: 1 s, not 4000 x 20 ms = 80 s
    assert "did not finish answering within 1 s" in str(err.value)


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.anyio
async def test_a_dead_http_proxy_is_named_as_the_proxy(no_proxy_env, tmp_path):
    proxy = f"http://proxyuser:proxy-pw-9@127.0.0.1:{_free_port()}"
    no_proxy_env.setenv("HTTP_PROXY", proxy)
    with https_server(tmp_path) as (url, _server):
        plain = url.replace("https://", "http://")
        async with JellyfinClient(plain, IDENT, TOKEN, get_retries=0) as c:
            with pytest.raises(ServerUnreachable) as err:
                await c.public_info()
    text = str(err.value)
    assert "the proxy http://127.0.0.1:" in text and "(from HTTP_PROXY)" in text and "unset HTTP_PROXY" in text
    assert "proxy-pw-9" not in text and "proxyuser" not in text


@pytest.mark.parametrize(("name", "value", "words"), [
    ("ALL_PROXY", "socks5://127.0.0.1:9", "SOCKS support is not installed"),
    ("https_proxy", "gopher://127.0.0.1:9", "proxy scheme httpx does not know"),
    ("HTTP_PROXY", "http://127.0.0.1:notaport", "not a valid proxy URL"),
    ("SSL_CERT_FILE", "/nowhere/ca.pem", "not a readable file"),
])
def test_proxy_and_tls_variables_that_cannot_work_are_named(no_proxy_env, name, value, words):
    no_proxy_env.setenv(name, value)
    with pytest.raises(UsageError) as err:
        JellyfinClient("http://127.0.0.1:8096", IDENT)
    assert name in str(err.value) and words in str(err.value)
