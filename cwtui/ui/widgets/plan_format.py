"""How plan rows look: cell text and styles for the diff table, and the plain-text detail of one row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from cwtui.core.models import Action, Plan, PlanRow, Reason, UserData, format_ms
from cwtui.core.text import safe_text

UNRESOLVED_REASONS = (Reason.UNRESOLVED, Reason.AMBIGUOUS)


class Cell(Text):
    """A table cell that carries the value it sorts by (DataTable.sort's key only sees cells)."""

    sort_value: Any = (1, 0)


def cell(text: str, value: Any, style: str = "") -> Cell:
    out = Cell(safe_text(text), style=style, no_wrap=True, overflow="ellipsis")
    out.sort_value = (1, 0) if value is None else (0, value)
    return out


def percent(ms: int | None, duration_ms: int | None) -> int | None:
    if ms is None or not duration_ms:
        return None
    return round(100 * ms / duration_ms)


def position_text(data: UserData | None, duration_ms: int | None, *, has_item: bool = True) -> str:
    if data is None:
        return "—" if has_item else "(no item)"
    pct = percent(data.position_ms, duration_ms)
    text = format_ms(data.position_ms) + (f" {pct}%" if pct is not None else "")
    return text + (" ✓" if data.played else "")


def when_text(moment: datetime | None) -> str:
    """Local time to the minute: enough to tell which side played last."""
    return "—" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def diff_ms(row: PlanRow) -> int | None:
    if row.source_ms is None or row.destination_ms is None:
        return None
    return row.source_ms - row.destination_ms


def diff_text(row: PlanRow) -> str:
    delta = diff_ms(row)
    if delta is None:
        return "—"
    return ("+" if delta > 0 else "") + format_ms(delta)


def verdict(row: PlanRow, ticked: bool) -> tuple[str, str]:
    """(word, style) for what will happen to the row given its tick: the word alone is enough without colour."""
    if row.reason in UNRESOLVED_REASONS:
        return ("? " + row.reason.value, "bold red")
    if row.action is Action.UPSERT:
        return ("→ write", "bold green") if ticked else ("- off", "dim")
    if row.action is Action.CLEAR:
        return ("✗ clear", "bold yellow") if ticked else ("- off", "dim")
    return ("! force", "bold magenta") if ticked else ("· skip", "dim")


def row_style(row: PlanRow, ticked: bool) -> str:
    if row.reason in UNRESOLVED_REASONS:
        return "red"
    if not ticked:
        return "dim"
    return ""


def cells_for(row: PlanRow, ticked: bool, columns: tuple[str, ...]) -> list[Cell]:
    """The cells of `row` for the given column keys, in order."""
    word, style = verdict(row, ticked)
    dim = row_style(row, ticked)
    dur = row.duration_ms
    out: list[Cell] = []
    for key in columns:
        if key == "tick":
            out.append(cell("☑" if ticked else "☐", int(ticked)))
        elif key == "title":
            out.append(cell(row.title, row.title.casefold(), dim))
        elif key == "source":
            out.append(cell(position_text(row.source, dur), row.source_ms, dim))
        elif key == "destination":
            out.append(cell(position_text(row.destination, dur, has_item=bool(row.destination_item_ids)),
                            row.destination_ms, dim))
        elif key == "diff":
            out.append(cell(diff_text(row), diff_ms(row), dim))
        elif key == "src_played":
            moment = row.source.last_played if row.source else None
            out.append(cell(when_text(moment), moment.timestamp() if moment else None, dim))
        elif key == "dst_played":
            moment = row.destination.last_played if row.destination else None
            out.append(cell(when_text(moment), moment.timestamp() if moment else None, dim))
        elif key == "action":
            out.append(cell(word, word, style))
        elif key == "reason":
            out.append(cell(row.reason.value, row.reason.value, dim))
    return out


def _side_lines(label: str, data: UserData | None, runtime_ticks: int | None, item_ids: tuple[str, ...]) -> list[str]:
    runtime = format_ms(runtime_ticks // 10_000) if runtime_ticks else "unknown"
    lines = [f"{label}:",
             f"  item id{'s' if len(item_ids) > 1 else ''}   {', '.join(item_ids) or '(none)'}",
             f"  runtime      {runtime}"]
    if data is None:
        lines.append("  user data    none (not resumable, or no item)")
        return lines
    lines += [f"  position     {format_ms(data.position_ms)} ({data.position_ticks} ticks)",
              f"  played       {'yes' if data.played else 'no'}",
              f"  play count   {data.play_count}",
              f"  last played  {data.last_played.isoformat() if data.last_played else '—'}"]
    return lines


def describe_row(row: PlanRow, ticked: bool, plan: Plan | None = None) -> str:
    """Both sides' raw values and the rule that decided the row, as plain text."""
    word, _ = verdict(row, ticked)
    src_name = plan.source.name if plan else "source"
    dst_name = plan.destination.name if plan else "destination"
    lines = [f"Will do:  {word}   (planned: {row.action.value}, reason: {row.reason.value})",
             f"Rule:     {row.rule or '—'}",
             f"Kind:     {row.kind.value}" + (f", {row.series} season {row.season} episode {row.episode}"
                                                if row.series else ""),
             f"Row key:  {row.key}", ""]
    src_runtime = row.source_runtime_ticks or row.runtime_ticks
    dst_runtime = row.destination_runtime_ticks or row.runtime_ticks
    lines += _side_lines(f"Source ({src_name})", row.source, src_runtime,
                         (row.source_item_id,) if row.source_item_id else ())
    lines.append("")
    lines += _side_lines(f"Destination ({dst_name})", row.destination, dst_runtime, row.destination_item_ids)
    if row.action is Action.SKIP:
        lines.append("")
        lines.append("Can be forced with space." if row.forceable else f"Cannot be forced: {why_not_forceable(row)}")
    return "\n".join(lines)


def why_not_forceable(row: PlanRow) -> str:
    if row.action is not Action.SKIP:
        return "it is already planned"
    if row.reason in UNRESOLVED_REASONS or not row.destination_item_ids:
        return ("no single destination item matches it, so there is nowhere to write"
                if row.reason is Reason.AMBIGUOUS or len(row.destination_item_ids) > 1
                else "it has no matching item on the destination, so there is nowhere to write")
    return "the source has no position to copy (it is at 0:00)"
