"""Routing plumbing shared by the route modules: the request view, responses, errors, auth parsing, the table."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from cwtui.emulator.dto import EMPTY_GUID, dumps, norm_guid, parse_date

if TYPE_CHECKING:  # pragma: no cover
    from cwtui.emulator.state import EmulatorState, TokenRec, UserRec

JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
GENERIC_ERROR = "Error processing request."


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised by a handler to answer with `response` instead of a result."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, dumps(obj), JSON_TYPE)


def empty(status: int) -> Response:
    return Response(status)


def text(status: int, message: str = GENERIC_ERROR) -> Response:
    return Response(status, message.encode(), TEXT_TYPE)


_TITLES = {400: ("One or more validation errors occurred.", "https://tools.ietf.org/html/rfc9110#section-15.5.1"),
           401: ("Unauthorized", "https://tools.ietf.org/html/rfc9110#section-15.5.2"),
           403: ("Forbidden", "https://tools.ietf.org/html/rfc9110#section-15.5.4"),
           404: ("Not Found", "https://tools.ietf.org/html/rfc9110#section-15.5.5"),
           409: ("Conflict", "https://tools.ietf.org/html/rfc9110#section-15.5.10")}


def problem(status: int, errors: dict[str, list[str]] | None = None) -> Response:
    """ASP.NET's ProblemDetails, as `[ApiController]` writes it for NotFound() and binding errors."""
    title, kind = _TITLES.get(status, ("An error occurred.", "about:blank"))
    body: dict[str, Any] = {"type": kind, "title": title, "status": status}
    if errors:
        body["errors"] = errors
    body["traceId"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"
    return Response(status, dumps(body), PROBLEM_TYPE)


STARTUP_HTML = (b"<!DOCTYPE html><html><head><title>Jellyfin</title></head><body>"
                b"<h1>Jellyfin Server still starting. Please wait.</h1></body></html>")
PROXY_HTML = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
              b"<h1>Please sign in to continue</h1><form method=post><input name=user></form></body></html>")


def fault_response(status: int) -> Response:
    """A body shaped like the real server's for that status (used by fault injection)."""
    if status in (401, 403, 405):
        return empty(status)
    if status == 404:
        return problem(404)
    if status == 503:
        return Response(503, STARTUP_HTML, HTML_TYPE)
    if status == 400:
        return problem(400, {"request": ["The request is invalid."]})
    return text(status)


def bad_request(name: str, message: str) -> HttpError:
    return HttpError(problem(400, {name: [message]}))


def not_found() -> HttpError:
    return HttpError(problem(404))


# --- Authorization header ------------------------------------------------------------------------------


def parse_auth_header(value: str | None) -> tuple[str, dict[str, str]] | None:
    """`MediaBrowser Client="a", Token="b"` -> ("MediaBrowser", {...}); keys are case-sensitive, values URL-decoded."""
    if not value:
        return None
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    fields: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip()
        i = eq + 1
        if i < n and rest[i] == '"':
            end = rest.find('"', i + 1)
            end = n if end < 0 else end
            raw = rest[i + 1:end]
            i = end + 1
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            raw = rest[i:end].strip()
            i = end
        if key:
            fields[key] = unquote_plus(raw)
    return scheme, fields


# --- the request as handlers see it --------------------------------------------------------------------


@dataclass
class Request:
    state: EmulatorState
    method: str
    path: str
    query: dict[str, list[str]]
    """Names lower-cased: ASP.NET binds query names case-insensitively."""
    headers: dict[str, str]
    """Names lower-cased."""
    body: bytes | None
    params: dict[str, str] = field(default_factory=dict)
    token: TokenRec | None = None
    auth_fields: dict[str, str] = field(default_factory=dict)

    # caller ------------------------------------------------------------------------------------------
    @property
    def caller_user_id(self) -> str | None:
        return self.token.user_id if self.token else None

    @property
    def caller_is_api_key(self) -> bool:
        return self.token is not None and self.token.is_api_key

    @property
    def caller_is_admin(self) -> bool:
        """API keys carry the Administrator role; otherwise the user's policy decides."""
        if self.token is None:
            return False
        if self.token.is_api_key:
            return True
        user = self.state.users.get(self.token.user_id or "")
        return bool(user and user.is_admin)

    # query -------------------------------------------------------------------------------------------
    def q(self, name: str) -> str | None:
        values = self.query.get(name.lower())
        return values[0] if values else None

    def q_list(self, name: str) -> list[str]:
        """Array parameters: comma lists and repeated names both work."""
        out: list[str] = []
        for value in self.query.get(name.lower(), ()):
            out.extend(part.strip() for part in value.split(",") if part.strip())
        return out

    def q_int(self, name: str) -> int | None:
        value = self.q(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise bad_request(name, f"The value '{value}' is not valid.") from None

    def q_bool(self, name: str) -> bool | None:
        value = self.q(name)
        if value is None or value == "":
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad_request(name, f"The value '{value}' is not valid.")

    def q_guid(self, name: str) -> str | None:
        """A GUID query value, normalised; Guid.Empty counts as absent (as RequestHelpers does)."""
        value = self.q(name)
        if value is None or value == "":
            return None
        norm = norm_guid(value)
        if norm is None:
            raise bad_request(name, f"The value '{value}' is not valid.")
        return None if norm == EMPTY_GUID else norm

    def q_date(self, name: str):
        value = self.q(name)
        if value is None or value == "":
            return None
        try:
            return parse_date(value)
        except ValueError:
            raise bad_request(name, f"The value '{value}' is not valid.") from None

    def p_guid(self, name: str) -> str:
        """A GUID path value; a malformed one is a 400 binding error."""
        norm = norm_guid(self.params[name])
        if norm is None:
            raise bad_request(name, f"The value '{self.params[name]}' is not valid.")
        return norm

    def json_body(self) -> Any:
        if not self.body:
            raise HttpError(problem(400, {"": ["A non-empty request body is required."]}))
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(problem(400, {"$": ["The JSON value could not be converted."]})) from None

    # users -------------------------------------------------------------------------------------------
    def resolve_user_id(self, requested: str | None) -> str | None:
        """RequestHelpers.GetUserId: omitted -> the token's user (10.9+); someone else's -> admin only (403)."""
        if not self.state.at_least(10, 9):
            return requested  # 10.8 neither fell back to the caller nor checked the caller's rights
        if requested is None:
            return self.caller_user_id
        if requested != self.caller_user_id and not self.caller_is_admin:
            raise HttpError(text(403))
        return requested

    def require_user(self, requested: str | None) -> UserRec:
        uid = self.resolve_user_id(requested)
        user = self.state.users.get(uid or "")
        if user is None:
            raise not_found()
        return user

    def can_update_user(self, user: UserRec) -> bool:
        """RequestHelpers.AssertCanUpdateUser with restrictUserPreferences=true."""
        if self.caller_is_admin:
            return True
        return self.caller_user_id == user.id and user.enable_user_preference_access


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    anonymous: bool
    available: Callable[[EmulatorState], bool]
    regex: re.Pattern[str]
    literal_segments: int


ROUTES: list[Route] = []


def route(method: str, template: str, *, anonymous: bool = False,
          when: Callable[[EmulatorState], bool] | None = None) -> Callable[[Handler], Handler]:
    """Register a handler for METHOD template ('{name}' segments), matched case-insensitively."""

    def deco(fn: Handler) -> Handler:
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
        literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
        ROUTES.append(Route(method, template, fn, anonymous, when or (lambda s: True),
                            re.compile(f"^{pattern}/?$", re.IGNORECASE), literal))
        return fn

    return deco


def v(*version: int) -> Callable[[EmulatorState], bool]:
    """Route available from that version on."""
    return lambda state: state.at_least(*version)
