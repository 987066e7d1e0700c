"""The emulator's HTTP server: a threaded stdlib server, request dispatch, applying faults, request records."""

from __future__ import annotations

import email.utils
import socket
import threading
from dataclasses import dataclass
from datetime import timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cwtui.emulator import routes_auth, routes_items, routes_sessions, routes_userdata  # noqa: F401  (register routes)
from cwtui.emulator.routes_base import (
    HTML_TYPE, PROXY_HTML, ROUTES, HttpError, Request, Response, empty, fault_response, parse_auth_header, text,
)
from cwtui.emulator.faults import PREFIX, Faults, After
from cwtui.emulator.state import EmulatorState

__all__ = ["Emulator", "Faults", "RequestRecord", "dispatch"]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it: header names lower-cased, query names as sent; status 0 = dropped."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes | None
    status: int


def dispatch(state: EmulatorState, method: str, raw_path: str, query: dict[str, list[str]],
             headers: dict[str, str], body: bytes | None) -> Response:
    """Route one request the way Jellyfin's middleware and ASP.NET routing would."""
    path = unquote(raw_path)
    if not state.at_least(12):
        path = PREFIX.sub("", path) or "/"
    lower_query = {}
    for name, values in query.items():
        lower_query.setdefault(name.lower(), []).extend(values)
    candidates = [(r, m) for r in ROUTES if (m := r.regex.match(path)) and r.available(state)]
    if not candidates:
        return empty(404)
    allowed = [(r, m) for r, m in candidates if r.method == method]
    if not allowed:
        return Response(405, headers={"Allow": ", ".join(sorted({r.method for r, _ in candidates}))})
    chosen, match = max(allowed, key=lambda rm: rm[0].literal_segments)
    req = Request(state, method, path, lower_query, headers, body, params=dict(match.groupdict()))
    with state.lock:
        _authenticate(req)
        if not chosen.anonymous:
            if req.token is None:
                return empty(401)
            if req.token.user_id is not None:
                user = state.users.get(req.token.user_id)
                if user is None or user.is_disabled:
                    return empty(401)
        try:
            return chosen.handler(req)
        except HttpError as exc:
            return exc.response
        except Exception:  # an unexpected bug answers like the real server's ExceptionMiddleware
            return text(500)


def _authenticate(req: Request) -> None:
    state = req.state
    legacy = state.legacy_auth
    header = req.headers.get("authorization")
    if legacy and (header is None or (not state.at_least(10, 11) and "x-emby-authorization" in req.headers)):
        header = req.headers.get("x-emby-authorization", header)
    parsed = parse_auth_header(header)
    fields: dict[str, str] = {}
    if parsed is not None:
        scheme, parsed_fields = parsed
        if scheme.lower() == "mediabrowser" or (legacy and scheme.lower() == "emby"):
            fields = parsed_fields
    req.auth_fields = fields
    token = fields.get("Token")
    if not token and legacy:
        token = req.headers.get("x-emby-token") or req.headers.get("x-mediabrowser-token")
    if not token:
        token = req.q("ApiKey")
    if not token and legacy:
        token = req.q("api_key")
    req.token = state.tokens.get(token) if token else None


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's 5 drops connections a real server (Kestrel: 512) would queue
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, addr, handler, emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(addr, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, kept-alive request/response pairs stall on delayed ACKs (~40 ms each).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emulator._track(self.connection, True)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header from the server's own clock (EmulatorState.clock), as Kestrel sends its machine's time:
        a skewed emulator clock shows up here, the way a real server's wrong clock does."""
        return email.utils.format_datetime(self.server.emulator.state.clock().astimezone(timezone.utc), usegmt=True)

    def finish(self) -> None:
        self.server.emulator._track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # silence: the default prints every request (and its query) to stderr

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else None

    def _handle(self) -> None:
        emu = self.server.emulator
        method = self.command.upper()
        body = self._read_body()
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        decision = emu.faults.decide(method, split.path)
        if decision.drop:
            emu._record(RequestRecord(method, split.path, query, headers, body, 0))
            self._drop()
            return
        if decision.hang:
            emu._stopping.wait(decision.hang)
        if emu.faults.latency_ms:
            emu._stopping.wait(emu.faults.latency_ms / 1000)
        together = emu.faults.decide_together(split.path)
        if together is not None:
            together.join()
        response = decision.response or dispatch(emu.state, method, split.path, query, headers, body)
        after = None if decision.response else emu.faults.decide_after(method, split.path)
        if after is not None:
            response = self._after_fault(after, response)
            if response is None:
                emu._record(RequestRecord(method, split.path, query, headers, body, 0))
                self._drop()
                return
        emu._record(RequestRecord(method, split.path, query, headers, body, response.status))
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if method != "HEAD" and response.body:
                self.wfile.write(response.body)
        except OSError:  # the client gave up (timeout) or the emulator was stopped meanwhile
            self.close_connection = True


    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _after_fault(self, after: After, response: Response) -> Response | None:
        """What the client gets instead of the handler's answer; None = the connection drops."""
        if after.kind == "drop":
            return None
        if after.kind == "hang":
            self.server.emulator._stopping.wait(after.seconds)
            return response
        if after.kind == "html":
            return Response(200, PROXY_HTML, HTML_TYPE)
        return fault_response(int(after.kind))


class Emulator:
    """A running emulated Jellyfin over real HTTP. `with Emulator(state) as emu:` starts and stops it."""

    def __init__(self, state: EmulatorState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.faults = Faults()
        self._records: list[RequestRecord] = []
        self._records_lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut kept-alive connections too, so clients see the server go away."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._records_lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _track(self, conn: socket.socket, open_: bool) -> None:
        with self._records_lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, record: RequestRecord) -> None:
        with self._records_lock:
            self._records.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._records_lock:
            return list(self._records)

    @property
    def request_count(self) -> int:
        with self._records_lock:
            return len(self._records)

    def reset_requests(self) -> None:
        with self._records_lock:
            self._records.clear()

    def __repr__(self) -> str:
        return f"Emulator({self.state.server_name!r}, {self.state.version}, url={self.url!r})"
