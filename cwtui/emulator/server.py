"""The emulator's HTTP server: a threaded stdlib server, request dispatch, fault injection and request records."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cwtui.emulator import routes_auth, routes_items, routes_sessions, routes_userdata  # noqa: F401  (register routes)
from cwtui.emulator.routes_base import (
    HTML_TYPE, PROXY_HTML, ROUTES, STARTUP_HTML, HttpError, Request, Response, empty, fault_response,
    parse_auth_header, text,
)
from cwtui.emulator.state import EmulatorState

_PREFIX = re.compile(r"^/(emby|mediabrowser)(?=/|$)", re.IGNORECASE)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it: header names lower-cased, query names as sent; status 0 = dropped."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes | None
    status: int


@dataclass
class _Decision:
    drop: bool = False
    hang: float = 0.0
    response: Response | None = None


@dataclass
class _After:
    kind: int | str
    remaining: int
    regex: re.Pattern[str] | None
    method: str | None
    seconds: float

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and (self.method is None or self.method == method) and (
            self.regex is None or bool(self.regex.search(path)))


class Faults:
    """Knobs that make the emulator misbehave the way real servers and proxies do. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency_ms = 0
        self.starting_up = False
        self._fail: list[list[int]] = []      # [remaining, status]
        self._drop = 0
        self._html = 0
        self._hang: list[list[float]] = []    # [remaining, seconds]
        self._matching: list[list] = []       # [regex, status, remaining, method]
        self._after: list[_After] = []
        self._applied = threading.Condition(self._lock)
        self.after_applied = 0
        """How many after-faults have fired (their handler has run); see wait_after_applied."""

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        with self._lock:
            self._fail.append([count, status])

    def drop_next(self, count: int = 1) -> None:
        with self._lock:
            self._drop += count

    def html_next(self, count: int = 1) -> None:
        with self._lock:
            self._html += count

    def hang_next(self, count: int = 1, seconds: float = 5.0) -> None:
        with self._lock:
            self._hang.append([count, seconds])

    def fail_matching(self, path_regex: str, status: int, count: int = 1, method: str | None = None) -> None:
        """The next `count` requests whose path (query excluded) matches the regex (case-insensitive) fail."""
        with self._lock:
            self._matching.append([re.compile(path_regex, re.IGNORECASE), status, count,
                                   method.upper() if method else None])

    def after_next(self, kind: int | str, count: int = 1, path_regex: str | None = None, method: str | None = None,
                   *, seconds: float = 5.0) -> None:
        """The next `count` matching requests DO run (their change lands), but the answer is lost or bad.

        Args:
            kind: a status (500, 502, 504...: the real server's or a proxy's body for it), "html" (200 with a proxy's
                HTML page), "drop" (the connection closes with no answer) or "hang" (the answer waits `seconds`).
            path_regex: only requests whose path (query excluded) matches, case-insensitive; None = any.
            method: only this method (e.g. "POST"); None = any.
        """
        if not (isinstance(kind, int) or kind in ("html", "drop", "hang")):
            raise ValueError(f"unknown after-fault kind {kind!r}")
        with self._lock:
            self._after.append(_After(kind, count, re.compile(path_regex, re.IGNORECASE) if path_regex else None,
                                      method.upper() if method else None, seconds))

    def clear(self) -> None:
        with self._lock:
            self.latency_ms, self.starting_up = 0, False
            self._fail, self._drop, self._html, self._hang, self._matching = [], 0, 0, [], []
            self._after = []

    def decide_after(self, method: str, path: str) -> _After | None:
        """Consume the first after-fault that matches this request (called once its handler has run)."""
        with self._lock:
            for entry in self._after:
                if entry.matches(method, path):
                    entry.remaining -= 1
                    self._after = [e for e in self._after if e.remaining > 0]
                    self.after_applied += 1
                    self._applied.notify_all()
                    return entry
            return None

    def wait_after_applied(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until `count` after-faults in all have fired (the handler ran, the change landed); False on timeout."""
        with self._applied:
            return self._applied.wait_for(lambda: self.after_applied >= count, timeout)

    def decide(self, method: str, path: str) -> _Decision:
        """Consume the faults that apply to this request, in a fixed order: drop, hang, fail, html, matching."""
        with self._lock:
            decision = _Decision()
            if self._drop > 0:
                self._drop -= 1
                decision.drop = True
                return decision
            if self._hang:
                self._hang[0][0] -= 1
                decision.hang = self._hang[0][1]
                if self._hang[0][0] <= 0:
                    self._hang.pop(0)
            stripped = _PREFIX.sub("", path) or "/"
            if self.starting_up and stripped.lower().rstrip("/") != "/system/ping":
                decision.response = Response(503, STARTUP_HTML, HTML_TYPE)
                return decision
            if self._fail:
                self._fail[0][0] -= 1
                decision.response = fault_response(self._fail[0][1])
                if self._fail[0][0] <= 0:
                    self._fail.pop(0)
                return decision
            if self._html > 0:
                self._html -= 1
                decision.response = Response(200, PROXY_HTML, HTML_TYPE)
                return decision
            for entry in self._matching:
                regex, status, remaining, want_method = entry
                if remaining > 0 and regex.search(path) and (want_method is None or want_method == method):
                    entry[2] -= 1
                    decision.response = fault_response(status)
                    break
            self._matching = [e for e in self._matching if e[2] > 0]
            return decision


def dispatch(state: EmulatorState, method: str, raw_path: str, query: dict[str, list[str]],
             headers: dict[str, str], body: bytes | None) -> Response:
    """Route one request the way Jellyfin's middleware and ASP.NET routing would."""
    path = unquote(raw_path)
    if not state.at_least(12):
        path = _PREFIX.sub("", path) or "/"
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

    def _after_fault(self, after: _After, response: Response) -> Response | None:
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
