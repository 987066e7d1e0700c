"""The TOML config file: loading it, and saving edits that keep the user's comments, order and file mode."""

from __future__ import annotations

import re
import stat
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import Comment, Null, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from cwtui.core.config_model import (
    PROGRESS_KEYS,
    Checker,
    Config,
    PairEntry,
    ServerEntry,
    UserLink,
    build_config,
    check_pair,
    check_server,
    dotted_key,
)
from cwtui.core.errors import ConfigError
from cwtui.core.models import ProgressSettings
from cwtui.core.locks import file_lock
from cwtui.core.paths import default_config_path, ensure_private_dir, state_dir, write_private_atomic

LOCK_WAIT = 10.0
"""Seconds a save waits for another process's save (each takes milliseconds)."""

__all__ = ["Config", "ConfigFile", "PairEntry", "ServerEntry", "default_config_path", "state_dir"]


class ConfigFile:
    """Loads and edits one config file. Every save re-reads and validates the file first, edits the tomlkit
    document in place (so comments and order survive) and writes atomically; a file that does not load is
    never written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> Config:
        """The config as plain data; a missing file is an empty Config (and nothing is written)."""
        text = self._read()
        return self._empty() if text is None else self._parse(text)[1]

    def ensure_device_id(self) -> str:
        """The device id, generated (uuid4 hex) and saved the first time it is needed (once, even when two
        logins run at once: the second finds the first one's id under the lock)."""
        current = self.load().device_id
        if current:
            return current

        def change(doc: TOMLDocument, cfg: Config) -> None:
            if not cfg.device_id:
                doc.add("device_id", uuid.uuid4().hex)

        return self._edit(change).device_id or ""

    def permission_warning(self) -> str | None:
        """A sentence when the file holds tokens and other users may read it, naming the file and the fix."""
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
        except OSError:
            return None
        if not mode & 0o077:
            return None
        try:
            if not any(s.token for s in self.load().servers.values()):
                return None
        except ConfigError:  # reported by whatever reads it next; this is only a warning
            return None
        return (f"{self.path} holds access tokens and is readable by other users (mode {mode:04o}); "
                f"fix it with `chmod 600 {self.path}` (cwtui's next save of it also makes it 0600)")

    def save_server(self, entry: ServerEntry) -> Config:
        """Add or update `[servers.NAME]`; other keys, comments and order are left alone. Returns the new Config."""
        check_server(entry.name, _server_values(entry), Checker(str(self.path), None))

        def change(doc: TOMLDocument, cfg: Config) -> None:
            tbl, created = _child_table(_child_table(doc, "servers", super_table=True)[0], entry.name)
            for key, value in _server_values(entry).items():
                _set(tbl, key, value, write_default=key in ("url", "user_id", "user_name", "token"))
            for key in ("ca_bundle", "device_id"):
                if getattr(entry, key) is None and key in tbl:
                    del tbl[key]
            for key in [k for k in tbl if (k == "snapshot") != bool(entry.snapshot)]:
                del tbl[key]  # a snapshot entry holds only its path; a server entry no path
            _end_table(tbl, created)

        return self._edit(change)

    def remove_server(self, name: str) -> Config:
        """Delete `[servers.NAME]`; refused while a pair uses it."""

        def change(doc: TOMLDocument, cfg: Config) -> None:
            cfg.server(name)
            users = sorted(p.name for p in cfg.pairs.values() if name in (p.source, p.destination))
            if users:
                raise ConfigError(f"server '{name}' is used by pair {', '.join(users)}; remove the pair first",
                                  path=str(self.path), key=dotted_key(("servers", name)))
            _remove_table(doc["servers"], name)

        return self._edit(change)

    def save_pair(self, entry: PairEntry) -> Config:
        """Add or update `[pairs.NAME]` and its `features.progress` table.

        A progress key is written when its value differs from the default or the key is already in the
        file: a hand-written value stays written out, and a fresh pair stays short. Values that did not
        change are not touched, so their formatting and comments stay as the user left them.
        """

        def change(doc: TOMLDocument, cfg: Config) -> None:
            check_pair(entry.name, _pair_values(entry), cfg.servers, Checker(str(self.path), None))
            pair, created = _child_table(_child_table(doc, "pairs", super_table=True)[0], entry.name)
            _set(pair, "source", entry.source)
            _set(pair, "destination", entry.destination)
            if entry.same_server is not None:
                _set(pair, "same_server", entry.same_server)
            elif "same_server" in pair:
                del pair["same_server"]
            if entry.users is not None:
                _set_users(pair, entry.users)
            elif "users" in pair:
                del pair["users"]
            if entry.direction != "one-way" or "direction" in pair:
                _set(pair, "direction", entry.direction)
            _end_table(pair, created)
            defaults = _progress_values(ProgressSettings())
            values = _progress_values(entry.progress)
            features = pair.get("features")
            progress = None if features is None else features.get("progress")
            wanted = {k: v for k, v in values.items() if v != defaults[k] or (progress is not None and k in progress)}
            if not wanted:
                return
            created = progress is None
            if created:
                progress = _child_table(_child_table(pair, "features", super_table=True)[0], "progress")[0]
            for key, value in wanted.items():
                _set(progress, key, value)
            _end_table(progress, created)

        return self._edit(change)

    def remove_pair(self, name: str) -> Config:
        """Delete `[pairs.NAME]` and its feature tables."""

        def change(doc: TOMLDocument, cfg: Config) -> None:
            cfg.pair(name)
            _remove_table(doc["pairs"], name)

        return self._edit(change)

    # --- internals

    def _empty(self) -> Config:
        return Config(path=str(self.path))

    def _read(self) -> str | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read the config file: {exc.strerror or exc}", path=str(self.path)) from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise ConfigError("the file is not valid UTF-8", path=str(self.path), line=line) from None

    def _parse(self, text: str, *, locate: bool = True) -> tuple[TOMLDocument, Config]:
        try:
            doc = tomlkit.parse(text)
        except ParseError as exc:
            message = re.sub(r"\s+at line \d+ col \d+$", "", str(exc))
            raise ConfigError(f"not valid TOML: {message} (column {exc.col + 1})",
                              path=str(self.path), line=exc.line) from None
        except TOMLKitError as exc:  # e.g. a key given twice in one table: tomlkit knows no line, tomllib does
            raise ConfigError(f"not valid TOML: {exc}", path=str(self.path), line=_tomllib_line(text)) from None
        return doc, build_config(doc.unwrap(), Checker(str(self.path), text if locate else None))

    def _edit(self, change: Callable[[TOMLDocument, Config], Any]) -> Config:
        """Lock, re-read, change, write: two processes saving at once (two logins) each keep the other's entries.

        A save that cannot be written (read-only directory, full disk) is a ConfigError; the file on disk is
        then the one from before, whole.
        """
        try:
            ensure_private_dir(self.path.parent)
            with file_lock(self.path.parent, wait=LOCK_WAIT, what="the config directory"):
                text = self._read()
                doc, cfg = (tomlkit.document(), self._empty()) if text is None else self._parse(text)
                change(doc, cfg)
                new_text = doc.as_string()
                new_text = new_text.rstrip("\n") + "\n"  # drop the blank line after a table we added at the end
                _, new_cfg = self._parse(new_text, locate=False)  # never write what we could not read back
                if new_text != text:
                    write_private_atomic(self.path, new_text.encode("utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot save the config: {exc.strerror or exc}", path=str(self.path),
                              hint="free some disk space or make the directory writable; "
                                   "the file was left as it was") from None
        return new_cfg


def _tomllib_line(text: str) -> int | None:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        return int(match.group(1)) if match else None
    return None


def _remove_table(parent: Any, name: str) -> None:
    """Delete parent[name] but keep the comment block right above the next header.

    tomlkit files the comments above a header under the table before it, so a plain delete would take
    "# the cabin box" away with [servers.home]. Comments after the removed table's last blank line are
    put back in its place; anything unusual (a table split across the file) is simply deleted.
    """
    body = getattr(getattr(parent, "value", None), "body", None)
    slots = [i for i, (key, _) in enumerate(body or ()) if key is not None and key.key == name]
    keep = _comments_after_last_blank(_trailing_trivia(parent[name])) if len(slots) == 1 else ""
    del parent[name]
    if keep and isinstance(body[slots[0]][1], Null):  # tomlkit leaves a Null in the deleted slot
        body[slots[0]] = (None, Whitespace(keep))


def _trailing_trivia(table: Any) -> str:
    """The comments and blank lines that end a table's text, down to its last sub-table."""
    tail = ""
    for _, item in reversed(getattr(getattr(table, "value", None), "body", ())):
        if isinstance(item, (Comment, Whitespace, Null)):
            tail = item.as_string() + tail
            continue
        if isinstance(item, Table):
            tail = _trailing_trivia(item) + tail
        break
    return tail


def _comments_after_last_blank(tail: str) -> str:
    """The comment lines after the last blank line: they introduce what follows, not what is removed."""
    lines = tail.splitlines(keepends=True)
    blanks = [i for i, line in enumerate(lines) if not line.strip()]
    kept = lines[blanks[-1] + 1:] if blanks else []
    return "".join(kept) if any(line.lstrip().startswith("#") for line in kept) else ""


def _child_table(parent: Any, key: str, *, super_table: bool = False) -> tuple[Any, bool]:
    """(parent[key], created): the table, created at the end of parent when missing."""
    if key in parent:
        return parent[key], False
    parent[key] = tomlkit.table(is_super_table=super_table) if super_table else tomlkit.table()
    return parent[key], True


def _end_table(table: Any, created: bool) -> None:
    """A blank line after a table we created, so a header that follows it is set apart as users write them."""
    if created:
        table.add(tomlkit.nl())


def _set(table: Any, key: str, value: Any, *, write_default: bool = True) -> None:
    """Set table[key] only when the value changes, so untouched values keep their formatting and comments."""
    if key in table:
        current = table[key]
        current = current.unwrap() if hasattr(current, "unwrap") else current
        if current == value and isinstance(current, bool) == isinstance(value, bool):
            return
    elif not write_default and value in (None, False):
        return
    if value is not None:
        table[key] = value


def _set_users(pair: Any, users: Any) -> None:
    """The user map, written only when it changed: a list as one inline table per line, as people write it."""
    value = users_value(users)
    if isinstance(value, str):
        _set(pair, "users", value)
        return
    if "users" in pair and pair["users"].unwrap() == value:
        return
    array = tomlkit.array()
    for link in value:
        table = tomlkit.inline_table()
        table.update(link)
        array.append(table)
    array.multiline(True)
    pair["users"] = array


def _server_values(entry: ServerEntry) -> dict[str, Any]:
    if entry.snapshot:
        return {"snapshot": entry.snapshot}
    return {"url": entry.url, "user_id": entry.user_id, "user_name": entry.user_name, "token": entry.token,
            "ca_bundle": entry.ca_bundle, "insecure": entry.insecure, "device_id": entry.device_id,
            "api_key": entry.api_key}


def _pair_values(entry: PairEntry) -> dict[str, Any]:
    values = {"source": entry.source, "destination": entry.destination,
              "features": {"progress": _progress_values(entry.progress)}}
    if entry.same_server is not None:
        values["same_server"] = entry.same_server
    if entry.users is not None:
        values["users"] = users_value(entry.users)
    if entry.direction != "one-way":
        values["direction"] = entry.direction
    return values


def users_value(users: str | tuple[UserLink, ...]) -> Any:
    """A pair's user map as TOML data: "by-name", or a list of links (ids too when known)."""
    if isinstance(users, str):
        return users
    out = []
    for link in users:
        value = {"source": link.source, "destination": link.destination}
        if link.source_id:
            value["source_id"] = link.source_id
        if link.destination_id:
            value["destination_id"] = link.destination_id
        out.append(value)
    return out


def _progress_values(settings: ProgressSettings) -> dict[str, Any]:
    """ProgressSettings as TOML values, in the order the file shows them (a whole max_percent as an integer)."""
    values: dict[str, Any] = {}
    for key in PROGRESS_KEYS:
        value = getattr(settings, key)
        if key == "max_percent" and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif key == "libraries":
            value = list(value)
        values[key] = value
    return values
