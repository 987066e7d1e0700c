"""Typed errors: each says what went wrong and what to do, never carries a token, and maps to an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ITEM_FAILED = 1
EXIT_USAGE = 2
EXIT_SERVER = 3
EXIT_CANCELLED = 4
"""An apply or undo was cancelled (Ctrl+C): in-flight writes finished, the rest were not started."""
EXIT_JOURNAL = 5
"""The journal could not be written (a full or read-only disk): a run stopped before any unjournaled write."""
EXIT_CRASH = 70
"""cwtui itself failed (a bug): EX_SOFTWARE from sysexits.h; the log holds the traceback."""


class CwtuiError(Exception):
    """Base for every failure that stops a whole operation (per-item failures are data, not exceptions)."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(CwtuiError):
    """The command line or the request does not make sense."""


class RunInterrupted(CwtuiError):
    """A run stopped early by the user's hand (a second Ctrl+C) or a closed output; the journal says what landed."""

    exit_code = EXIT_CANCELLED


class ConfigError(CwtuiError):
    """The config file cannot be read or holds a bad value; it names the file, line and key."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None, hint: str | None = None) -> None:
        where = path or "config"
        if line is not None:
            where += f", line {line}"
        if key:
            where += f", key '{key}'"
        super().__init__(f"{where}: {message}", hint=hint)
        self.path, self.line, self.key = path, line, key


class JournalError(CwtuiError):
    """The journal cannot be written (or read): no write may happen without it."""

    exit_code = EXIT_JOURNAL


class DestinationTooOld(CwtuiError):
    """The server is older than 10.9 and has no route to write a position."""

    def __init__(self, server_name: str, version: str) -> None:
        super().__init__(
            f"{server_name} runs Jellyfin {version}, which cannot take position writes",
            hint="Jellyfin 10.9 or newer is needed on the destination; cwtui will not fake playback reports",
        )
        self.version = version


class ServerError(CwtuiError):
    """A server answered badly or not at all. `status` is the HTTP status when there was one."""

    exit_code = EXIT_SERVER

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None,
                 url: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.url = url


class ServerUnreachable(ServerError):
    """No connection: wrong address, server down, DNS, refused or dropped connection."""


class TlsError(ServerUnreachable):
    """TLS verification failed."""


class ServerTimeout(ServerUnreachable):
    """The server did not answer in time."""


class ServerStarting(ServerError):
    """503: Jellyfin is still starting up."""


class AuthError(ServerError):
    """401: the token or the password was rejected."""


class Forbidden(ServerError):
    """403: the user is not allowed to do this (a policy)."""


class NotFound(ServerError):
    """404: no such item or user, or hidden from this user."""

    exit_code = EXIT_USAGE


class BadRequest(ServerError):
    """400: the server refused the request, with its message."""

    exit_code = EXIT_USAGE


class ServerFailure(ServerError):
    """5xx other than 503: the server failed."""


class NotJson(ServerError):
    """The answer was not JSON (often a proxy's HTML page)."""


class BadResponse(ServerError):
    """The answer was JSON but not the shape Jellyfin sends."""
