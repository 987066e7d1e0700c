"""The agreed state of a pair (the "base" of a two-way merge): what each side held when the two last agreed.

Recorded after every apply of a pair, one-way or two-way, for every matched item whose sides were equal after the
run, so that a pair can be switched to `direction = "both"` with a base already in place. One JSON file per pair
name under the state dir (a renamed pair starts a new base), written atomically; each run that changes it keeps
the entries it replaced beside it, so `undo` can put them back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cwtui.core import rules
from cwtui.core.errors import JournalError
from cwtui.core.journal import user_data_from_json, user_data_to_json
from cwtui.core.models import TO_SOURCE, Agreed, ItemResult, Plan, PlanRow, Status, UserData
from cwtui.core.paths import ensure_private_dir, write_private_atomic

FORMAT = 1


def item_key(source_user: str, destination_user: str, source_item: str, destination_item: str) -> str:
    """One matched item of one user pair: the base is keyed by both users and both items."""
    return f"{source_user}:{destination_user}:{source_item}:{destination_item}"


@dataclass
class Base:
    """One pair's agreed states by item key, and the server ids they were recorded against."""

    pair: str
    source_server: str = ""
    destination_server: str = ""
    items: dict[str, Agreed] = field(default_factory=dict)

    def get(self, key: str) -> Agreed | None:
        return self.items.get(key)

    def pairs_of(self, source_user: str, destination_user: str) -> list[tuple[str, str]]:
        """(source item, destination item) of every agreed item of one user pair. Those that are in no resume list
        any more left it since the sides agreed (finished, marked unplayed, removed) and may hold a change."""
        prefix = f"{source_user}:{destination_user}:"
        return [tuple(k[len(prefix):].split(":", 1)) for k in self.items if k.startswith(prefix)]  # type: ignore


class BaseStore:
    """`base/PAIR.json` under the state dir, and `base/runs/RUN_ID.json` (what a run replaced) for undo."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = Path(state_dir) / "base"

    def path(self, pair: str) -> Path:
        return self.directory / f"{pair}.json"

    def exists(self, pair: str) -> bool:
        return self.path(pair).exists()

    def others(self) -> list[str]:
        """The pair names that have a base (to say "renamed?" when a two-way pair has none)."""
        return sorted(p.stem for p in self.directory.glob("*.json")) if self.directory.is_dir() else []

    def load(self, pair: str) -> Base:
        """The pair's base; an empty one when there is none yet. A damaged file is an error (never a silent reset:
        an empty base would make every item `no_base`, and a guessed one could write the wrong way)."""
        path = self.path(pair)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Base(pair)
        except (OSError, ValueError) as exc:
            raise JournalError(f"cannot read the agreed state of pair '{pair}' ({path}): {exc}",
                               hint=f"move the file away to start a new base, then `cwtui apply {pair} --seed "
                                    "source|destination`") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("items"), dict):
            raise JournalError(f"the agreed state of pair '{pair}' ({path}) is not in a format this cwtui reads",
                               hint="move the file away to start a new base")
        return Base(pair, str(data.get("source_server") or ""), str(data.get("destination_server") or ""),
                    {k: _agreed(v) for k, v in data["items"].items() if isinstance(v, dict)})

    def begin(self, pair: str, run_id: str, keys: Iterable[str]) -> None:
        """Before run `run_id` writes: the entries of the items it may write, as they stand (provisional). A run
        that dies before `update` (SIGKILL, a second Ctrl+C, a full disk) leaves no record of what it replaced,
        while the next apply records its landed writes as agreed; its undo then needs these to put them back."""
        base = self.load(pair)
        self._write(self.directory / "runs" / f"{run_id}.json", {
            "format": FORMAT, "pair": pair, "run_id": run_id, "provisional": True,
            "replaced": {k: (_agreed_json(base.items[k]) if k in base.items else None) for k in keys}})

    def update(self, pair: str, run_id: str | None, changes: dict[str, Agreed], *, source_server: str,
               destination_server: str) -> None:
        """Record `changes` (new agreed states) and keep what they replaced for an undo of `run_id` (None: an
        apply that had nothing to write, so nothing to undo)."""
        base = self.load(pair)
        changes = {k: v for k, v in changes.items() if k not in base.items or not _same(base.items[k], v)}
        replaced = {k: (_agreed_json(base.items[k]) if k in base.items else None) for k in changes}
        if run_id is not None:  # replaces the provisional record `begin` made
            self._write(self.directory / "runs" / f"{run_id}.json",
                        {"format": FORMAT, "pair": pair, "run_id": run_id, "replaced": replaced})
        if not changes:
            return
        base.items.update(changes)
        base.source_server, base.destination_server = source_server, destination_server
        self._save(base)

    def restore(self, pair: str, run_id: str, keep: Callable[[str], bool] = lambda _key: False,
                restored: Callable[[str], bool] = lambda _key: True) -> int:
        """Put back what run `run_id` replaced, except the keys `keep` names (items an undo left alone); the number
        of entries put back. Each is put back once: a later undo of the same run finds only the rest. Of a run that
        died (its record is still provisional), only the entries of the items this undo `restored` go back: the
        others may since hold what a later run agreed on."""
        path = self.directory / "runs" / f"{run_id}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            raise JournalError(f"cannot read what run {run_id} changed in the agreed state: {exc}") from None
        base = self.load(pair)
        replaced = data.get("replaced") or {}
        back = [k for k in replaced if not keep(k) and (not data.get("provisional") or restored(k))]
        for key in back:
            if replaced[key] is None:
                base.items.pop(key, None)
            else:
                base.items[key] = _agreed(replaced[key])
        if back:
            self._save(base)
            self._write(path, {**data, "replaced": {k: v for k, v in replaced.items() if k not in back}})
        return len(back)

    def _save(self, base: Base) -> None:
        self._write(self.path(base.pair), {
            "format": FORMAT, "pair": base.pair, "source_server": base.source_server,
            "destination_server": base.destination_server,
            "items": {k: _agreed_json(v) for k, v in sorted(base.items.items())}})

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        try:
            ensure_private_dir(path.parent)
            write_private_atomic(path, (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8"))
        except OSError as exc:
            raise JournalError(f"cannot save the agreed state ({path}): {exc.strerror or exc}") from None


def record(state_dir: Path, plan: Plan, run_id: str | None, results: dict[str, ItemResult]) -> None:
    """After an apply (with or without writes): what the sides now agree on becomes the pair's base."""
    BaseStore(state_dir).update(plan.pair, run_id, agreed_after(plan, results, datetime.now(timezone.utc)),
                                source_server=plan.source.server_id, destination_server=plan.destination.server_id)


def begin(state_dir: Path, plan: Plan, run_id: str, rows: Iterable[PlanRow]) -> None:
    """Before a run writes `rows`: their entries as they stand, for the undo of a run that dies (`BaseStore.begin`)."""
    keys = [k for k in (row_key(plan, row) for row in rows) if k is not None]
    BaseStore(state_dir).begin(plan.pair, run_id, dict.fromkeys(keys))


def row_key(plan: Plan, row: PlanRow) -> str | None:
    """The base key of a row's matched item (None when it is not one item on each side)."""
    if not row.source_item_id or len(row.destination_item_ids) != 1:
        return None
    return item_key(row.source_user_id or plan.source.user_id, row.destination_user_id or plan.destination.user_id,
                    row.source_item_id, row.destination_item_ids[0])


def agreed_after(plan: Plan, results: dict[str, ItemResult], now: datetime) -> dict[str, Agreed]:
    """What the two sides of each matched item agree on after a run: read equal by the plan, or made equal by a
    write the read-back verified. Items a run could not settle (failed, cancelled) keep their old base."""
    out: dict[str, Agreed] = {}
    for row in plan.rows:
        if row.source is None or not row.source_item_id or len(row.destination_item_ids) != 1:
            continue
        s, d = row.source, row.destination or UserData()
        result = results.get(row.key)
        if result is not None and result.status is Status.APPLIED and not result.dry_run:
            if result.after is None:
                continue
            s, d = (result.after, d) if result.direction == TO_SOURCE else (s, result.after)
        elif result is not None and result.status is not Status.SKIPPED:
            continue
        key = row_key(plan, row)
        if key is not None and rules.agree(s, d):
            out[key] = Agreed(s, d, now)
    return out


def _same(a: Agreed, b: Agreed) -> bool:
    return rules.agree(a.source, b.source) and rules.agree(a.destination, b.destination)


def _agreed(data: dict[str, Any]) -> Agreed:
    at = data.get("at")
    return Agreed(user_data_from_json(data.get("source")) or UserData(),
                  user_data_from_json(data.get("destination")) or UserData(),
                  datetime.fromisoformat(at) if isinstance(at, str) else None)


def _agreed_json(a: Agreed) -> dict[str, Any]:
    return {"source": user_data_to_json(a.source), "destination": user_data_to_json(a.destination),
            "at": (a.at or datetime.now(timezone.utc)).isoformat()}
