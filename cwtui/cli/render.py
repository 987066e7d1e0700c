"""Plain-text tables and JSON for the headless CLI (no Textual, no Rich: scripts read this output)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TextIO

from cwtui.core.text import safe_text
from cwtui.core.models import (
    TO_DESTINATION,
    TO_SOURCE,
    Action,
    ItemResult,
    Plan,
    PlanRow,
    ProgressSettings,
    SideInfo,
    Status,
    format_ms,
)

ACTION_WORD = {Action.UPSERT: "WRITE", Action.CLEAR: "CLEAR", Action.FINISH: "FINISH", Action.MARK_PLAYED: "PLAYED",
               Action.SKIP: "skip"}
MARKS_PLAYED = (Action.FINISH, Action.MARK_PLAYED)
DIRECTION_WORD = {TO_DESTINATION: "-> dest", TO_SOURCE: "<- source"}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def side_json(side: SideInfo) -> dict[str, Any]:
    return {"name": side.name, "server_name": side.server_name, "version": side.version,
            "user_name": side.user_name, "writable": side.writable}


def row_json(row: PlanRow) -> dict[str, Any]:
    return {
        "key": row.key, "type": row.kind.value, "title": row.name, "year": row.year, "series": row.series,
        "season": row.season, "episode": row.episode, "source_item_id": row.source_item_id,
        "destination_item_ids": list(row.destination_item_ids), "source_ms": row.source_ms,
        "destination_ms": row.destination_ms, "duration_ms": row.duration_ms,
        "source_played_at": _iso(row.source.last_played) if row.source else None,
        "destination_played_at": _iso(row.destination.last_played) if row.destination else None,
        "action": row.action.value, "reason": row.reason.value, "rule": row.rule,
        **_users_of(row),
        **({"direction": row.direction} if row.direction and row.writes else {}),
    }


def _users_of(thing: PlanRow | ItemResult) -> dict[str, str]:
    """Household rows and results name both users; others have none."""
    if not thing.source_user:
        return {}
    return {"source_user": thing.source_user, "destination_user": thing.destination_user}


def users_json(plan: Plan) -> list[dict[str, Any]]:
    return [{"source": {"id": u.source.id, "name": u.source.name},
             "destination": {"id": u.destination.id, "name": u.destination.name}} for u in plan.users]


def plan_json(plan: Plan, *, include_skipped: bool = True) -> dict[str, Any]:
    s = plan.settings
    return {
        "pair": plan.pair,
        "source": side_json(plan.source),
        "destination": side_json(plan.destination),
        **({"users": users_json(plan)} if plan.users else {}),
        "effective": {
            "enable": s.enable, "add": s.add, "remove": s.remove, "min_seconds": s.min_seconds,
            "delta_seconds": s.delta_seconds, "max_percent": s.max_percent,
            "effective_max_percent": plan.effective_max_percent or None,
            "timestamp_tolerance_seconds": s.timestamp_tolerance_seconds,
            "respect_server_resume_rules": s.respect_server_resume_rules, "replay_watched": s.replay_watched,
            "finish": s.finish, "played": s.played, "libraries": list(s.libraries),
            "destination_resume_rules": None if plan.rules is None else {
                "min_resume_pct": plan.rules.min_resume_pct, "max_resume_pct": plan.rules.max_resume_pct,
                "min_resume_duration_seconds": plan.rules.min_resume_duration_seconds},
        },
        "rows": [row_json(r) for r in plan.rows if include_skipped or r.writes],
        "summary": plan.summary(),
        "notices": list(plan.notices),
    }


def result_json(result: ItemResult, row: PlanRow | None = None) -> dict[str, Any]:
    """One result line; with its plan row (apply), the item is named as in `plan --json`: exact Name, year, episode."""
    if row is not None:
        named = {"title": row.name, "year": row.year, "series": row.series, "season": row.season,
                 "episode": row.episode}
    elif result.name:  # undo: the exact name the journal kept
        named = {"title": result.name, "year": result.year}
    else:  # a journal from before names were kept
        named = {"title": result.title}
    return {"key": result.key, **named, "action": result.action.value,
            "status": result.status.value, "reason": result.reason.value,
            "destination_item_id": result.destination_item_id, "before_ms": result.before_ms,
            "after_ms": result.after_ms, "dry_run": result.dry_run, "detail": result.detail, **_users_of(result),
            **({"direction": result.direction} if result.direction else {})}


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], out: TextIO, *, flex: int | None = None) -> None:
    """Left-aligned columns; column `flex` (the title) is cut to fit the terminal width."""
    rows = [[safe_text(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    if flex is not None:
        room = shutil.get_terminal_size((120, 24)).columns - sum(w + 2 for i, w in enumerate(widths) if i != flex)
        widths[flex] = max(12, min(widths[flex], room))
    for r in [list(headers)] + rows:
        cells = [(c if len(c) <= widths[i] else c[: widths[i] - 1] + "…").ljust(widths[i]) for i, c in enumerate(r)]
        out.write("  ".join(cells).rstrip() + "\n")


def percent(ms: int | None, duration_ms: int | None) -> str:
    return f"{ms * 100 / duration_ms:.0f}%" if ms is not None and duration_ms else ""


def print_notices(notices: Iterable[str], out: TextIO) -> None:
    for notice in notices:
        out.write(f"NOTICE: {safe_text(notice)}\n")


def side_text(side: SideInfo) -> str:
    """`Server (user, version)`, filtered: all three come from the server."""
    return safe_text(f"{side.server_name} ({side.user_name}, {side.version})")


def print_plan(plan: Plan, out: TextIO, *, show_all: bool) -> None:
    print_notices(plan.notices, out)
    out.write(safe_text(f"{plan.pair}: {side_text(plan.source)} -> {side_text(plan.destination)}") + "\n")
    if plan.users:
        out.write("users: " + ", ".join(user_pair_text(u) for u in plan.users) + "\n")
    if plan.two_way:
        out.write("two-way: each item is merged against the state both sides last agreed on\n")
    rows = [r for r in plan.rows if show_all or r.writes]
    if rows:
        extra = (["user"] if plan.users else []) + (["way"] if plan.two_way else [])
        table(["key", *extra, "action", "reason", "title", "source", "dest", "%"],
              [[r.key[:8], *([r.source_user] if plan.users else []),
                *([DIRECTION_WORD.get(r.direction, "") if r.writes else ""] if plan.two_way else []),
                ACTION_WORD.get(r.action, r.action.value), r.reason.value, r.title,
                format_ms(r.source_ms), format_ms(r.destination_ms), percent(r.source_ms, r.duration_ms)]
               for r in rows], out, flex=3 + len(extra))
    elif plan.rows:
        out.write("Nothing to write. (--all shows the skipped rows and why.)\n")
    summary = plan.summary()
    out.write(_totals_text(summary["by_action"], plan.settings) + ("" if show_all else " (--all to see them)") + "\n")
    if "by_direction" in summary:
        ways = summary["by_direction"]
        out.write(f"  {ways[TO_DESTINATION]} to the destination, {ways[TO_SOURCE]} to the source\n")
    for name, totals in summary.get("by_user", {}).items():
        out.write(f"  {safe_text(name)}: {_totals_text(totals['by_action'], plan.settings)}\n")
    by_reason = summary["by_reason"]
    if by_reason:
        out.write("by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(by_reason.items())) + "\n")


def _totals_text(by_action: dict[str, int], settings: ProgressSettings) -> str:
    """The counts by action; finishes and mark_played writes are named when there are any or their setting is on."""
    finish, played = by_action.get("finish", 0), by_action.get("mark_played", 0)
    marks = (f"{finish} to finish, " if finish or settings.finish else "") + (
        f"{played} to mark played, " if played or settings.played else "")
    return (f"{by_action.get('upsert', 0)} to write, {by_action.get('clear', 0)} to clear, {marks}"
            f"{by_action.get('skip', 0)} skipped")


def user_pair_text(u) -> str:
    """`alice -> robert`, or just `alice` when the names agree."""
    same = u.source.name.casefold() == u.destination.name.casefold()
    return safe_text(u.source.name if same else f"{u.source.name} -> {u.destination.name}")


def result_line(result: ItemResult) -> str:
    status = result.status.value.upper() if not result.dry_run else f"DRY RUN {result.status.value}"
    if result.dry_run and result.status is Status.APPLIED:
        status = "DRY RUN would write"
    moved = f"{format_ms(result.before_ms)} -> {format_ms(result.after_ms)}"
    if result.action in MARKS_PLAYED:  # the position alone would not say that it was marked played
        moved += " finished" if result.action is Action.FINISH else " marked played"
    detail = f" ({safe_text(result.detail)})" if result.detail else ""
    who = {TO_SOURCE: "<- ", TO_DESTINATION: "-> "}.get(result.direction, "")
    if result.source_user:
        same = result.source_user.casefold() == result.destination_user.casefold()
        who += safe_text(f"[{result.source_user if same else result.source_user + ' -> ' + result.destination_user}] ")
    return f"{status:<20} {result.reason.value:<20} {moved:<22} {who}{safe_text(result.title)}{detail}"


class ProgressLine:
    """A one-line progress display on stderr, only when stderr is a terminal (never in pipes or JSON)."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._width = 0

    def show(self, text: str) -> None:
        if self.live:
            text = safe_text(text)[: shutil.get_terminal_size((80, 24)).columns - 1]
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
            self._width = len(text)

    def done(self) -> None:
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
