"""The config as plain data (Config, ServerEntry, PairEntry) and the checks that build it, naming file, line, key."""

from __future__ import annotations

import bisect
import difflib
import json
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

from cwtui.core.errors import ConfigError
from cwtui.core.models import ProgressSettings
from cwtui.core.urls import USERINFO_HINT, url_problem

__all__ = ["BOTH", "BY_NAME", "ONE_WAY", "Config", "PairEntry", "ServerEntry", "UserLink", "build_config", "check_pair", "check_server"]

DEFAULT_CONCURRENCY = 4
NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOP_KEYS = ("device_id", "concurrency", "servers", "pairs")
_SERVER_KEYS = ("url", "user_id", "user_name", "token", "api_key", "ca_bundle", "insecure", "device_id", "snapshot")
_PAIR_KEYS = ("source", "destination", "direction", "same_server", "users", "features")
BY_NAME = "by-name"
ONE_WAY, BOTH = "one-way", "both"
DIRECTIONS = (ONE_WAY, BOTH)
_LINK_KEYS = ("source", "destination", "source_id", "destination_id")
_SECONDS_KEYS = ("min_seconds", "delta_seconds", "timestamp_tolerance_seconds")
PROGRESS_KEYS = tuple(f.name for f in fields(ProgressSettings))


@dataclass(frozen=True, repr=False)
class ServerEntry:
    """`[servers.NAME]`: one Jellyfin server as one user. Empty user/token strings mean "not logged in yet"."""

    name: str
    url: str
    user_id: str
    user_name: str
    token: str
    """An access token from login, or an API key; never shown by repr/str."""
    ca_bundle: str | None = None
    insecure: bool = False
    device_id: str | None = None
    """This entry's own DeviceId (set by logins from this version on); None: the install's (older entries)."""
    api_key: bool = False
    """The token is an API key (it acts for any user); without a user it serves only pairs with a `users` map."""
    snapshot: str | None = None
    """A snapshot file read as a read-only source (`snapshot = "PATH"` instead of url and token); None: a server."""

    def __repr__(self) -> str:
        return (f"ServerEntry(name={self.name!r}, url={self.url!r}, user_id={self.user_id!r}, "
                f"user_name={self.user_name!r}, token={'<hidden>' if self.token else '<none>'}, "
                f"api_key={self.api_key!r}, ca_bundle={self.ca_bundle!r}, insecure={self.insecure!r}, "
                f"device_id={self.device_id!r}" + (f", snapshot={self.snapshot!r})" if self.snapshot else ")"))

    __str__ = __repr__


@dataclass(frozen=True)
class PairEntry:
    """`[pairs.NAME]`: sync from one server entry to another, with its progress settings."""

    name: str
    source: str
    destination: str
    progress: ProgressSettings = field(default_factory=ProgressSettings)
    same_server: bool | None = None
    """None: decided by the server ids. False: two servers even if they report one id (a copied data folder);
    True: one server, items matched by id."""
    users: str | tuple[UserLink, ...] | None = None
    """The household map: None (the entries' own users), "by-name", or explicit source -> destination links."""
    direction: str = ONE_WAY
    """"one-way" (source -> destination) or "both" (a three-way merge against the last agreed state)."""


@dataclass(frozen=True)
class UserLink:
    """One `users = [{ source = ..., destination = ... }]` entry: a user name or id on each side, as written.

    The TUI also saves `source_id`/`destination_id`: then the id decides and the name is only a label."""

    source: str
    destination: str
    index: int = 0
    source_id: str | None = None
    destination_id: str | None = None
    """Its place in the list, to name it in errors (pairs.NAME.users[2])."""


@dataclass(frozen=True)
class Config:
    """The whole config as plain data; no I/O. `path` is only there to name the file in errors."""

    device_id: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    servers: dict[str, ServerEntry] = field(default_factory=dict)
    pairs: dict[str, PairEntry] = field(default_factory=dict)
    path: str | None = None

    @property
    def client_device_id(self) -> str:
        """The DeviceId clients send: the install's own, or a placeholder until the first login saves one (only a
        login binds a token to it)."""
        return self.device_id or "cwtui-unset-device"

    def device_id_for(self, entry: ServerEntry) -> str:
        """The DeviceId a server entry's client sends: its own (one per server and user), else the install's."""
        return entry.device_id or self.client_device_id

    def server(self, name: str) -> ServerEntry:
        """The server entry called `name`, or a ConfigError listing the names there are."""
        if name not in self.servers:
            raise ConfigError(f"no server '{name}' in {self.path or 'the config'} (have: {_names(self.servers)})",
                              path=self.path)
        return self.servers[name]

    def pair(self, name: str) -> PairEntry:
        """The pair called `name`, or a ConfigError listing the names there are."""
        if name not in self.pairs:
            raise ConfigError(f"no pair '{name}' in {self.path or 'the config'} (have: {_names(self.pairs)})",
                              path=self.path)
        return self.pairs[name]


def _names(entries: dict[str, Any]) -> str:
    return ", ".join(sorted(entries)) or "none"


# --- validation -------------------------------------------------------------------------------------


class Checker:
    """Raises ConfigErrors that name the file, the line of the offending key (when the text is known) and the key."""

    def __init__(self, path: str | None, text: str | None) -> None:
        self.path = path
        self.lines = _key_lines(text) if text is not None else {}

    def fail(self, parts: tuple[str, ...], message: str, hint: str | None = None) -> NoReturn:
        line = None
        for end in range(len(parts), 0, -1):  # a missing key is reported at its table's header
            line = self.lines.get(parts[:end])
            if line is not None:
                break
        raise ConfigError(message, path=self.path, line=line, key=dotted_key(parts), hint=hint)

    def table(self, value: Any, parts: tuple[str, ...], allowed: tuple[str, ...] | None) -> dict[str, Any]:
        """A table whose keys are all in `allowed` (None: any key, as for entry names)."""
        if not isinstance(value, dict):
            self.fail(parts, f"expected a table, got {_type_name(value)}")
        for key in value:
            if allowed is not None and key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
                self.fail(parts + (key,), f"unknown key '{key}'", hint)
        return value

    def string(self, value: Any, parts: tuple[str, ...], *, empty_ok: bool = True) -> str:
        if not isinstance(value, str):
            self.fail(parts, f"expected a string, got {_type_name(value)}")
        if not empty_ok and not value.strip():
            self.fail(parts, "expected a non-empty string")
        return value

    def boolean(self, value: Any, parts: tuple[str, ...]) -> bool:
        if not isinstance(value, bool):
            self.fail(parts, f"expected true or false (unquoted), got {_type_name(value)}")
        return value

    def integer(self, value: Any, parts: tuple[str, ...], low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(parts, f"expected a whole number, got {_type_name(value)}")
        if value < low or (high is not None and value > high):
            self.fail(parts, f"expected a whole number {'>= ' + str(low) if high is None else f'{low}..{high}'}"
                             f", got {value}")
        return value

    def name(self, name: str, parts: tuple[str, ...]) -> str:
        if not NAME_RE.fullmatch(name):
            self.fail(parts, f"bad name {name!r}: use letters, digits, '-', '_' and '.' only")
        return name


def build_config(data: dict[str, Any], ck: Checker) -> Config:
    """Plain TOML data (tomlkit's unwrap) -> Config, or the first problem as a ConfigError."""
    ck.table(data, (), _TOP_KEYS)
    device_id = data.get("device_id")
    if device_id is not None:
        ck.string(device_id, ("device_id",), empty_ok=False)
    concurrency = DEFAULT_CONCURRENCY
    if "concurrency" in data:
        concurrency = ck.integer(data["concurrency"], ("concurrency",), 1, 32)
    servers = {
        name: check_server(name, value, ck)
        for name, value in ck.table(data.get("servers", {}), ("servers",), None).items()
    }
    pairs = {
        name: check_pair(name, value, servers, ck)
        for name, value in ck.table(data.get("pairs", {}), ("pairs",), None).items()
    }
    return Config(device_id=device_id, concurrency=concurrency, servers=servers, pairs=pairs, path=ck.path)


def check_server(name: str, value: Any, ck: Checker) -> ServerEntry:
    parts = ("servers", name)
    ck.name(name, parts)
    tbl = ck.table(value, parts, _SERVER_KEYS)
    if "snapshot" in tbl:
        return _snapshot_server(name, tbl, ck)
    if "url" not in tbl:
        ck.fail(parts + ("url",), "missing; expected the server address, like \"https://jf.example.org\"")
    url = ck.string(tbl["url"], parts + ("url",))
    problem = url_problem(url)
    if problem is not None:
        ck.fail(parts + ("url",), problem, USERINFO_HINT if "password" in problem else
                "expected an http:// or https:// address with a host name, like \"https://jf.example.org\"")
    ca_bundle = tbl.get("ca_bundle")
    if ca_bundle is not None:
        ck.string(ca_bundle, parts + ("ca_bundle",), empty_ok=False)
    device_id = tbl.get("device_id")
    if device_id is not None:
        ck.string(device_id, parts + ("device_id",), empty_ok=False)
    return ServerEntry(
        name=name,
        url=url.strip(),
        user_id=ck.string(tbl.get("user_id", ""), parts + ("user_id",)),
        user_name=ck.string(tbl.get("user_name", ""), parts + ("user_name",)),
        token=ck.string(tbl.get("token", ""), parts + ("token",)),
        ca_bundle=ca_bundle,
        insecure=ck.boolean(tbl.get("insecure", False), parts + ("insecure",)),
        device_id=device_id,
        api_key=ck.boolean(tbl.get("api_key", False), parts + ("api_key",)),
    )


def _snapshot_server(name: str, tbl: dict[str, Any], ck: Checker) -> ServerEntry:
    """`snapshot = "PATH"`: a file, not a server, so it takes no other key; a relative path is read from the
    config file's folder (the file is only opened when a command uses a pair with it)."""
    parts = ("servers", name)
    other = [key for key in tbl if key != "snapshot"]
    if other:
        ck.fail(parts + (other[0],), f"a snapshot entry takes no '{other[0]}': it has either url (a server) or "
                "snapshot (a file)", hint="remove the key, or make a separate server entry")
    raw = ck.string(tbl["snapshot"], parts + ("snapshot",), empty_ok=False).strip()
    path = Path(raw).expanduser()
    if not path.is_absolute() and ck.path:
        path = Path(ck.path).expanduser().parent / path
    return ServerEntry(name=name, url="", user_id="", user_name="", token="", snapshot=str(path))


def check_pair(name: str, value: Any, servers: dict[str, ServerEntry], ck: Checker) -> PairEntry:
    parts = ("pairs", name)
    ck.name(name, parts)
    tbl = ck.table(value, parts, _PAIR_KEYS)
    ends: dict[str, str] = {}
    for end in ("source", "destination"):
        if end not in tbl:
            ck.fail(parts + (end,), f"missing; expected the name of a server (have: {_names(servers)})")
        ends[end] = ck.string(tbl[end], parts + (end,))
        if ends[end] not in servers:
            ck.fail(parts + (end,), f"no server '{ends[end]}' (have: {_names(servers)})")
    if servers[ends["destination"]].snapshot:
        ck.fail(parts + ("destination",), f"server '{ends['destination']}' is a snapshot, which is read-only: it can "
                "be a pair's source, never its destination", hint="restore a snapshot with a pair whose source is "
                "the snapshot entry and whose destination is the server")
    features = ck.table(tbl.get("features", {}), parts + ("features",), ("progress",))
    progress = _progress(features.get("progress", {}), parts + ("features", "progress"), ck)
    same = tbl.get("same_server")
    same_server = None if same is None else ck.boolean(same, parts + ("same_server",))
    users = _users(tbl["users"], parts + ("users",), ck) if "users" in tbl else None
    if users is None and ends["source"] == ends["destination"]:
        ck.fail(parts + ("destination",), "source and destination are the same server entry",
                hint="to share between users of one server, add a users = [{ source = ..., destination = ... }] map")
    direction = ck.string(tbl.get("direction", ONE_WAY), parts + ("direction",)).strip().lower()
    if direction not in DIRECTIONS:
        ck.fail(parts + ("direction",), f"expected \"one-way\" or \"both\", got {tbl['direction']!r}")
    if direction == BOTH and servers[ends["source"]].snapshot:
        ck.fail(parts + ("direction",), f"server '{ends['source']}' is a snapshot, which is read-only: a two-way pair "
                "would write to it", hint="a snapshot's pair is one-way: remove direction = \"both\"")
    return PairEntry(name=name, source=ends["source"], destination=ends["destination"], progress=progress,
                     same_server=same_server, users=users, direction=direction)


def _users(value: Any, parts: tuple[str, ...], ck: Checker) -> str | tuple[UserLink, ...]:
    """`users = "by-name"` or a list of `{ source = NAME_OR_ID, destination = NAME_OR_ID }`. Names are resolved (and
    checked against each other) at plan time, when the servers' user lists are known."""
    if isinstance(value, str):
        if value.strip().lower() != BY_NAME:
            ck.fail(parts, f"expected \"{BY_NAME}\" or a list of {{ source = ..., destination = ... }}, got {value!r}")
        return BY_NAME
    if not isinstance(value, list) or not value:
        ck.fail(parts, f"expected \"{BY_NAME}\" or a non-empty list of {{ source = ..., destination = ... }}, "
                       f"got {_type_name(value)}")
    links = []
    for n, link in enumerate(value):
        if not isinstance(link, dict):
            ck.fail(parts, f"entry {n + 1} of the list: expected {{ source = ..., destination = ... }}, "
                           f"got {_type_name(link)}")
        names: dict[str, str | None] = {}
        for end in ("source", "destination", "source_id", "destination_id"):
            if end not in link and end.endswith("_id"):
                names[end] = None
            elif not isinstance(link.get(end), str) or not link[end].strip():
                ck.fail(parts, f"entry {n + 1} of the list: '{end}' must be a user " +
                        ("id" if end.endswith("_id") else "name or id"))
            else:
                names[end] = link[end].strip()
        extra = sorted(set(link) - set(_LINK_KEYS))
        if extra:
            ck.fail(parts, f"entry {n + 1} of the list: unknown key '{extra[0]}'", f"known keys: {', '.join(_LINK_KEYS)}")
        links.append(UserLink(names["source"], names["destination"], n, names["source_id"], names["destination_id"]))
    return tuple(links)


def _progress(value: Any, parts: tuple[str, ...], ck: Checker) -> ProgressSettings:
    tbl = ck.table(value, parts, PROGRESS_KEYS)
    kwargs: dict[str, Any] = {}
    for key, item in tbl.items():
        where = parts + (key,)
        if key in _SECONDS_KEYS:
            kwargs[key] = ck.integer(item, where, 0)
        elif key == "max_percent":
            if isinstance(item, bool) or not isinstance(item, (int, float)) or math.isnan(item):
                ck.fail(where, f"expected a number 0..100, got {_type_name(item)}")
            if not 0 <= item <= 100:
                ck.fail(where, f"expected a number 0..100 (0 removes the cap), got {item}")
            kwargs[key] = float(item)
        elif key == "libraries":
            if not isinstance(item, list):
                ck.fail(where, f"expected a list of library names or ids, got {_type_name(item)}")
            kwargs[key] = tuple(ck.string(lib, where, empty_ok=False) for lib in item)
        else:
            kwargs[key] = ck.boolean(item, where)
    return ProgressSettings(**kwargs)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time" if hasattr(value, "isoformat") else type(value).__name__


def dotted_key(parts: tuple[str, ...]) -> str:
    return ".".join(p if _BARE_KEY.fullmatch(p) else json.dumps(p) for p in parts)


# --- where each key sits in the raw text -------------------------------------------------------------


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each table header and key (as a path) to its first 1-based line. Assumes text that parsed."""
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    line_of = lambda pos: bisect.bisect_left(newlines, pos) + 1  # noqa: E731
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    pos, n = 0, len(text)
    while pos < n:
        c = text[pos]
        if c in " \t\r\n":
            pos += 1
        elif c == "#":
            pos = _line_end(text, pos)
        elif c == "[":
            double = text.startswith("[[", pos)
            keys, pos = _read_key(text, pos + (2 if double else 1))
            table = tuple(keys)
            for end in range(1, len(table) + 1):
                found.setdefault(table[:end], line_of(pos))
            pos = _line_end(text, pos)
        else:
            start = pos
            keys, pos = _read_key(text, pos)
            if not keys:  # not a key after all; give up on this line rather than loop
                pos = _line_end(text, start + 1)
                continue
            for end in range(1, len(keys) + 1):
                found.setdefault(table + tuple(keys[:end]), line_of(start))
            pos = _skip_value(text, pos)
    return found


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end + 1


def _read_key(text: str, pos: int) -> tuple[list[str], int]:
    """A dotted key starting at pos (bare, "basic" or 'literal' parts) -> (parts, position after it)."""
    parts: list[str] = []
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if text.startswith('"', pos):
            end = pos + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            raw = text[pos:end + 1]
            try:
                parts.append(json.loads(raw))
            except ValueError:
                parts.append(raw[1:-1])
            pos = end + 1
        elif text.startswith("'", pos):
            end = text.find("'", pos + 1)
            end = len(text) if end < 0 else end
            parts.append(text[pos + 1:end])
            pos = end + 1
        else:
            match = _BARE_KEY.match(text, pos)
            if not match:
                return parts, pos
            parts.append(match.group())
            pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if not text.startswith(".", pos):
            return parts, pos
        pos += 1


def _skip_value(text: str, pos: int) -> int:
    """From just after a key, past '=' and its value (strings, nested arrays and inline tables) to the next line."""
    depth, n = 0, len(text)
    while pos < n:
        c = text[pos]
        if c in "\"'":
            triple = c * 3
            if text.startswith(triple, pos):
                pos = _string_end(text, pos + 3, triple, escapes=c == '"')
                while pos < n and text[pos] == c:  # up to two quotes may end the content
                    pos += 1
            else:
                pos = _string_end(text, pos + 1, c, escapes=c == '"')
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "#":  # a comment runs to the end of the line, inside an array too
            pos = _line_end(text, pos)
            if depth <= 0:
                return pos
            continue
        elif c == "\n" and depth <= 0:
            return pos + 1
        pos += 1
    return pos


def _string_end(text: str, pos: int, quote: str, *, escapes: bool) -> int:
    while pos < len(text):
        if escapes and text[pos] == "\\":
            pos += 2
        elif text.startswith(quote, pos):
            return pos + len(quote)
        else:
            pos += 1
    return pos
