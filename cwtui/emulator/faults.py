"""Fault injection: knobs that make the emulator misbehave the way real servers and proxies do."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from cwtui.emulator.routes_base import HTML_TYPE, PROXY_HTML, STARTUP_HTML, Response, fault_response

PREFIX = re.compile(r"^/(emby|mediabrowser)(?=/|$)", re.IGNORECASE)
"""The legacy path prefixes 10.8-10.11 strip."""


@dataclass
class _Decision:
    """What the "before" faults decided for one request (the handler does not run when `response` is set)."""

    drop: bool = False
    hang: float = 0.0
    response: Response | None = None


@dataclass
class After:
    """One `after_next` entry: the handler runs, then the client gets `kind` instead of the answer."""

    kind: int | str
    remaining: int
    regex: re.Pattern[str] | None
    method: str | None
    seconds: float

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and (self.method is None or self.method == method) and (
            self.regex is None or bool(self.regex.search(path)))


class Together:
    """One `together` barrier: matching requests are answered only once `count` of them are in at the same time."""

    def __init__(self, regex: re.Pattern[str], count: int, seconds: float) -> None:
        self.regex, self.count, self.seconds = regex, count, seconds
        self.arrived = 0
        """Matching requests counted in so far (at most `count`)."""
        self.met = False
        """True once `count` matching requests were in flight at once (the client sent them together)."""
        self._inside = 0
        self._changed = threading.Condition()

    def join(self) -> None:
        """Called by a counted request's handler: wait until all `count` are in, at most `seconds` (requests sent one
        after another are each answered after that bound, and the barrier stays unmet)."""
        with self._changed:
            self._inside += 1
            if self._inside >= self.count:
                self.met = True
                self._changed.notify_all()
            self._changed.wait_for(lambda: self.met, self.seconds)
            self._inside -= 1


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
        self._after: list[After] = []
        self._together: list[Together] = []
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
            self._after.append(After(kind, count, re.compile(path_regex, re.IGNORECASE) if path_regex else None,
                                      method.upper() if method else None, seconds))

    def together(self, path_regex: str, count: int, *, seconds: float = 5.0) -> Together:
        """The next `count` requests whose path (query excluded) matches are answered only once all `count` are in:
        the proof that a client sends them at the same time (`met`), not one after another."""
        entry = Together(re.compile(path_regex, re.IGNORECASE), count, seconds)
        with self._lock:
            self._together.append(entry)
        return entry

    def decide_together(self, path: str) -> Together | None:
        """The barrier this request joins (counted in), if any."""
        with self._lock:
            for entry in self._together:
                if entry.arrived < entry.count and entry.regex.search(path):
                    entry.arrived += 1
                    return entry
            return None

    def clear(self) -> None:
        with self._lock:
            self.latency_ms, self.starting_up = 0, False
            self._fail, self._drop, self._html, self._hang, self._matching = [], 0, 0, [], []
            self._after, self._together = [], []

    def decide_after(self, method: str, path: str) -> After | None:
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
            stripped = PREFIX.sub("", path) or "/"
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
