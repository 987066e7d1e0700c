"""The HTTP layer under JellyfinClient: the auth header, GET-only retries, and mapping every failure to one error."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import ssl
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

import cwtui
from cwtui.core.errors import (
    AuthError,
    BadRequest,
    BadResponse,
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
from cwtui.core.text import safe_text
from cwtui.core.urls import USERINFO_HINT, shown_url, url_problem

log = logging.getLogger("cwtui.http")

RETRY_STATUSES = frozenset({502, 503, 504})
MESSAGE_LIMIT = 200
MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""The largest answer read (after decompression): a 500-item page is well under 1 MB; more is a broken server."""
DEADLINE_FACTOR = 4
"""A request's overall deadline is this many read timeouts: a server that trickles bytes ends, too."""
MAX_IN_FLIGHT = 8
"""Requests in flight to one server at once, whatever asks (as browsers keep to a few connections per host): a plan
fans out (episode lists, household users, user-data batches) and would otherwise hold dozens of connections, each
of which costs the client CPU on every request. `--concurrency` above this queues here."""
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
_BODY_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})  # already undone when read


@dataclass(frozen=True)
class ClientIdentity:
    """Who cwtui says it is. Keep `device_id` stable per install: a re-login with it revokes older tokens."""

    device_id: str
    device_name: str
    client: str = "cwtui"
    version: str = cwtui.__version__


def _header_value(text: str) -> str:
    # The server URL-decodes each value, so `%` and `+` must be encoded; quotes and commas would break parsing.
    return quote(text, safe=" ")


def auth_header(ident: ClientIdentity, token: str | None) -> str:
    """`MediaBrowser Client="..", Device="..", DeviceId="..", Version=".."[, Token=".."]`: the only auth cwtui sends.

    Legacy forms (X-Emby-*, api_key) are off by default from Jellyfin 12, so they are never used.
    """
    parts = [
        ("Client", ident.client),
        ("Device", ident.device_name),
        ("DeviceId", ident.device_id),
        ("Version", ident.version),
    ]
    if token:
        parts.append(("Token", token))
    return "MediaBrowser " + ", ".join(f'{key}="{_header_value(value)}"' for key, value in parts)


@dataclass(frozen=True)
class Messages:
    """What a status means for one kind of call: a 401 on login is a wrong password, elsewhere a dead token."""

    on_401: str = "token rejected: log in again with `cwtui login`"
    on_403: str = "the server's user policy does not allow this"
    on_404: str = "not found on the server, or hidden from this user"


DEFAULT_MESSAGES = Messages()


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return text


def _safe_url(url: httpx.URL) -> str:
    """The URL without its query (a Quick Connect secret travels there) and without userinfo."""
    return shown_url(str(url.copy_with(query=None, fragment=None)))


def _server_text(response: httpx.Response) -> str:
    """The short reason a server gave: ProblemDetails `title` (plus its first validation error) or plain text."""
    ctype = response.headers.get("content-type", "").lower()
    if "html" in ctype:
        return ""
    raw = response.text.strip()
    if "json" in ctype or raw.startswith("{"):
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            text = str(data.get("title") or data.get("Title") or data.get("detail") or "")
            errors = data.get("errors")
            if isinstance(errors, dict):
                for key, value in errors.items():
                    first = value[0] if isinstance(value, list) and value else value
                    text = f"{text}: {key}: {first}" if text else f"{key}: {first}"
                    break
            raw = text
        elif isinstance(data, str):
            raw = data
    if raw.lstrip().startswith("<"):
        return ""
    raw = " ".join(safe_text(raw).split())
    return raw if len(raw) <= MESSAGE_LIMIT else raw[: MESSAGE_LIMIT - 1] + "…"


def error_for_status(response: httpx.Response, messages: Messages, secrets: tuple[str, ...]) -> ServerError | None:
    """The ServerError a non-2xx answer means, or None for success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    url = _safe_url(response.request.url)
    text = _scrub(_server_text(response), secrets)
    detail = f": {text}" if text else ""
    if status == 401:
        return AuthError(messages.on_401, status=status, url=url)
    if status == 403:
        return Forbidden(f"forbidden: {messages.on_403}", status=status, url=url)
    if status == 404:
        return NotFound(messages.on_404, status=status, url=url)
    if status == 400:
        return BadRequest(f"the server refused the request{detail or ' (no reason given)'}", status=status, url=url)
    if status == 503:
        return ServerStarting(f"{url} answered 503: the server is starting or overloaded",
                              hint="retry in a minute", status=status, url=url)
    if status >= 500:
        return ServerFailure(f"the server failed with HTTP {status}{detail}",
                             hint="see the Jellyfin server log", status=status, url=url)
    if 300 <= status < 400:
        where = response.headers.get("location", "")
        where = shown_url(_scrub(where, secrets))
        return BadResponse(f"the server redirects (HTTP {status}) to {where or 'elsewhere'}",
                           hint="put the final address (scheme, host, base path) in the server URL",
                           status=status, url=url)
    return BadRequest(f"the server refused the request with HTTP {status}{detail}", status=status, url=url)


def _is_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return True
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL:" in text or "certificate verify failed" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def environment_problem() -> UsageError | None:
    """A proxy or TLS environment variable that cannot work, named, or None.

    httpx reads these when a client is made and fails with an ImportError or a bare ValueError; this says
    which variable is at fault and what to do instead.
    """
    for name in _proxy_var_names():
        value = os.environ[name].strip()
        if not value:
            continue
        scheme = value.split("://", 1)[0].lower() if "://" in value else "http"
        shown = shown_url(value)
        if scheme in ("socks5", "socks5h") and not _has_socks():
            return UsageError(f"{name}={shown} asks for a SOCKS proxy, but SOCKS support is not installed",
                              hint=f"install it with `pip install 'httpx[socks]'`, or unset {name}")
        if scheme not in ("http", "https", "socks5", "socks5h"):
            return UsageError(f"{name}={shown} has a proxy scheme httpx does not know ({safe_text(scheme)!r})",
                              hint=f"use an http://, https:// or socks5:// proxy, or unset {name}")
        try:
            httpx.URL(value if "://" in value else "http://" + value).port  # noqa: B018 - validates the port
        except (httpx.InvalidURL, ValueError):
            return UsageError(f"{name}={shown} is not a valid proxy URL", hint=f"fix or unset {name}")
    for name in ("SSL_CERT_FILE",):
        value = os.environ.get(name)
        if value and not os.path.isfile(value):
            return UsageError(f"{name} points to {safe_text(value)}, which is not a readable file",
                              hint=f"point {name} at a CA bundle, or unset it")
    return None


def _proxy_var_names() -> list[str]:
    upper = {n.upper(): n for n in os.environ if n.upper() in PROXY_VARS}
    return [upper[n] for n in PROXY_VARS if n in upper]


def _has_socks() -> bool:
    try:
        import socksio  # noqa: F401
    except ImportError:
        return False
    return True


def proxy_for(url: httpx.URL) -> tuple[str, str] | None:
    """(variable name, proxy URL) of the environment proxy httpx uses for `url`, or None for a direct connection."""
    if urllib.request.proxy_bypass_environment(url.host):
        return None
    for var in (f"{url.scheme}_proxy", "all_proxy"):
        for name in (var, var.upper()):
            value = os.environ.get(name, "").strip()
            if value:
                return name, shown_url(value)
    return None


def error_for_transport(exc: httpx.TransportError, url: str, proxy: tuple[str, str] | None = None) -> ServerError:
    """A connection-level failure as ServerUnreachable, TlsError or ServerTimeout (never the raw httpx text).

    With a proxy in the way, a refused connection is the proxy's, and the error says so.
    """
    if proxy is not None and isinstance(exc, httpx.ConnectError | httpx.ProxyError) and not _is_tls(exc):
        name, proxy_url = proxy
        return ServerUnreachable(f"cannot connect to the proxy {proxy_url} (from {name}) on the way to {url}",
                                 hint=f"is the proxy running? unset {name} to connect directly", url=url)
    if isinstance(exc, httpx.TimeoutException):
        return ServerTimeout(f"{url} did not answer in time",
                             hint="the server may be overloaded; raise the timeout or retry", url=url)
    if isinstance(exc, httpx.ConnectError) and _is_tls(exc):
        return TlsError(f"TLS verification failed for {url}",
                        hint="point the ca_bundle option at your CA certificate, or use the insecure flag "
                             "for a self-signed server you trust", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ServerUnreachable(f"{url} is not an http:// or https:// URL",
                                 hint="is the server URL right?", url=url)
    what = "cannot connect to" if isinstance(exc, httpx.ConnectError) else "lost the connection to"
    return ServerUnreachable(f"{what} {url}", hint="is the server running and the URL right?", url=url)


def _retryable(exc: httpx.TransportError) -> bool:
    if isinstance(exc, httpx.ConnectError) and _is_tls(exc):
        return False
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def clock_skew(a, b) -> float | None:
    """How far a's server clock is ahead of b's, in seconds (from their Date headers), or None when unknown."""
    if a.clock_offset is None or b.clock_offset is None:
        return None
    return a.clock_offset - b.clock_offset


class HttpSession:
    """One httpx.AsyncClient per server; sends requests, retries GETs, and turns failures into ServerErrors."""

    def __init__(self, base_url: str, ident: ClientIdentity, *, ca_bundle: str | None, insecure: bool,
                 timeout: float, get_retries: int, retry_delay: float,
                 transport: httpx.AsyncBaseTransport | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.ident = ident
        self.get_retries = max(0, get_retries)
        self.retry_delay = retry_delay
        self.requests_sent = 0
        self.clock_offset: float | None = None
        """The server's clock minus ours, in seconds, from the last answer's Date header (None until known)."""
        problem = url_problem(base_url)
        if problem is not None:
            raise UsageError(f"bad server URL {shown_url(base_url)}: {problem}",
                             hint=USERINFO_HINT if "password" in problem else "check the server URL")
        self.deadline = timeout * DEADLINE_FACTOR
        self.max_bytes = MAX_ANSWER_BYTES
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        env_error = environment_problem()
        if env_error is not None:
            raise env_error
        verify: ssl.SSLContext | str | bool = False if insecure else (ca_bundle or True)
        if isinstance(verify, str):
            try:
                verify = ssl.create_default_context(cafile=verify)
            except (OSError, ssl.SSLError) as exc:
                raise UsageError(f"cannot read the CA bundle {verify}: {exc.strerror or exc}",
                                 hint="check the ca_bundle path") from None
        try:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout),
                verify=verify,
                transport=transport,
                follow_redirects=False,  # a redirect would drop or leak the auth header; report it instead
                headers={"Accept": "application/json"},
            )
        except (ImportError, ValueError, OSError) as exc:  # the environment checks above should have named it
            raise UsageError(f"cannot set up HTTP: {safe_text(exc)}", hint="check the HTTP_PROXY, HTTPS_PROXY, "
                                                                     "ALL_PROXY and SSL_CERT_FILE variables") from None

    def _note_clock(self, response: httpx.Response) -> None:
        """Keep the server's clock offset (Date has 1 s resolution: good enough to warn of minutes of skew)."""
        try:
            sent = email.utils.parsedate_to_datetime(response.headers.get("date", ""))
        except (TypeError, ValueError, IndexError):
            return
        if sent.tzinfo is not None:
            self.clock_offset = sent.timestamp() - time.time()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, method: str, path: str, *, token: str | None, params: dict[str, Any] | None = None,
                   body: Any = None, messages: Messages = DEFAULT_MESSAGES, retry: bool = True,
                   parse: Callable[[Any], Any] | None = None) -> Any:
        """Send one call and return its JSON (None for an empty body), passed through `parse` if given.

        `parse` raises BadResponse for JSON of the wrong shape; it gets this call's status and URL attached.

        Only GETs are retried (timeouts, dropped connections, 502/503/504), with exponential backoff;
        `retry=False` turns that off too. Writes are never retried: a write may have landed before the failure.
        """
        headers = {"Authorization": auth_header(self.ident, token)}
        request = self._client.build_request(
            method, self.base_url + path, params=_clean(params), json=body, headers=headers
        )
        url = _safe_url(request.url)
        attempts = 1 + (self.get_retries if method == "GET" and retry else 0)
        secrets = (token or "",)
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
            started = time.monotonic()
            self.requests_sent += 1
            try:
                async with self._in_flight:  # the deadline starts once the request goes out
                    response = await self._exchange(request, url)
            except httpx.TransportError as exc:
                log.debug("%s %s failed: %s", method, url, type(exc).__name__)
                if attempt + 1 < attempts and _retryable(exc):
                    continue
                raise error_for_transport(exc, url, proxy_for(request.url)) from None
            log.debug("%s %s -> %s in %.0f ms", method, url, response.status_code,
                      (time.monotonic() - started) * 1000)
            self._note_clock(response)
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                continue
            error = error_for_status(response, messages, secrets)
            if error is not None:
                raise error
            data = _json(response, url)
            if parse is None:
                return data
            try:
                return parse(data)
            except BadResponse as exc:
                raise BadResponse(exc.message, hint=exc.hint or "is this a Jellyfin server?",
                                  status=response.status_code, url=url) from None
        raise AssertionError("unreachable")  # pragma: no cover


    async def _exchange(self, request: httpx.Request, url: str) -> httpx.Response:
        """Send and read the whole answer within the overall deadline and the size cap (the read timeout alone
        lets a server that trickles a byte at a time hold a request forever)."""
        try:
            async with asyncio.timeout(self.deadline):
                response = await self._client.send(request, stream=True)
                try:
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise self._too_big(response, url)
                    if declared.isdigit() and response.headers.get("content-encoding", "identity") == "identity":
                        await response.aread()  # the usual case: the size is known and fine
                        return response
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():  # no length, or compressed: count while reading
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise self._too_big(response, url)
                        chunks.append(chunk)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise ServerTimeout(f"{url} did not finish answering within {self.deadline:g} s",
                                hint="the server or a proxy is stalling; retry later", url=url) from None
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_FRAMING]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=request)

    def _too_big(self, response: httpx.Response, url: str) -> BadResponse:
        return BadResponse(f"the answer is larger than {self.max_bytes // (1024 * 1024)} MB; cwtui stopped reading",
                           hint="is this a Jellyfin server?", status=response.status_code, url=url)


def _clean(params: dict[str, Any] | None) -> dict[str, str] | None:
    if params is None:
        return None
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _json(response: httpx.Response, url: str) -> Any:
    content = response.content
    if not content.strip():
        return None
    ctype = response.headers.get("content-type", "").lower()
    try:
        if "html" in ctype:
            raise ValueError
        return json.loads(content)
    except RecursionError:
        raise BadResponse("the answer is JSON nested too deeply to be a Jellyfin answer",
                          hint="is this a Jellyfin server?", status=response.status_code, url=url) from None
    except ValueError:
        raise NotJson("got an HTML page instead of JSON: a proxy or a wrong URL?" if _looks_html(content, ctype)
                      else "the server's answer is not JSON: a proxy or a wrong URL?",
                      hint="check the server URL (scheme, host, port and base path)",
                      status=response.status_code, url=url) from None


def _looks_html(content: bytes, ctype: str) -> bool:
    return "html" in ctype or content.lstrip()[:1] == b"<"
