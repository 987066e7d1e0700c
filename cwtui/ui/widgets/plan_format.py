"""How plan rows look: cell text and styles for the diff table, and the plain-text detail of one row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from cwtui.core.models import Action, Plan, PlanRow, Reason, UserData, format_ms
from cwtui.core.text import safe_text

UNRESOLVED_REASONS = (Reason.UNRESOLVED, Reason.AMBIGUOUS)
SHORT_REASONS = {  # at most 12 characters: the reason column of an 80-column diff
    Reason.BELOW_MIN_SECONDS: "too early", Reason.SHORT_ITEM: "short item", Reason.BELOW_MIN_PERCENT: "below min %",
    Reason.NEAR_COMPLETE: "near end", Reason.ALREADY_WATCHED: "watched", Reason.DESTINATION_MISSING: "no dest item",
    Reason.IN_SYNC: "in sync", Reason.WITHIN_DELTA: "within delta", Reason.DESTINATION_NEWER: "dest newer",
    Reason.SOURCE_AHEAD: "src ahead", Reason.SOURCE_NEWER: "src newer", Reason.NO_TIMESTAMPS: "no times",
    Reason.EXPLICIT_ZERO: "src reset", Reason.ABSENT_ON_SOURCE: "gone on src", Reason.ADD_DISABLED: "add off",
    Reason.REMOVE_DISABLED: "remove off", Reason.SUPERSEDED_BY_COPY: "other copy", Reason.SHARED_ROW: "shared row",
    Reason.ALTERNATE_VERSIONS: "alt versions",
}
SYMBOLS = ("Symbols: ☑/☐ ticked or not · → write: the position is copied · ✗ clear: the destination's position is "
           "removed · ! force: a skipped row you ticked · · skip / - off: nothing is written · ? unresolved or "
           "ambiguous: no single destination item · ✓ after a position: marked played · — no value")


def short_reason(reason: Reason) -> str:
    return SHORT_REASONS.get(reason, reason.value[:12])


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


def user_label(source_user: str, destination_user: str) -> str:
    """Whose row or result it is: the source user, and the destination user when the name differs
    ("bob→robert"). Empty outside household plans."""
    if destination_user and destination_user.casefold() != source_user.casefold():
        return safe_text(f"{source_user}→{destination_user}")
    return safe_text(source_user)


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
        elif key == "user":
            out.append(cell(user_label(row.source_user, row.destination_user), (row.source_user.casefold(), row.title.casefold()), dim))
        elif key == "user_title":
            out.append(cell(f"{user_label(row.source_user, row.destination_user)} · {row.title}", (row.source_user.casefold(), row.title.casefold()),
                            dim))
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
        elif key == "reason_short":
            out.append(cell(short_reason(row.reason), row.reason.value, dim))
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
             f"Rule:     {safe_text(row.rule) or '—'}",
             f"Matched:  {safe_text(row.matched_by) or '—'}",
             f"Kind:     {row.kind.value}" + (f", {safe_text(row.series)} season {row.season} episode {row.episode}"
                                                if row.series else ""),
             f"Row key:  {row.key}"]
    if row.source_user:
        lines.append(f"Users:    {safe_text(row.source_user)} on {src_name} → {safe_text(row.destination_user)} on "
                     f"{dst_name}")
    lines.append("")
    src_runtime = row.source_runtime_ticks or row.runtime_ticks
    dst_runtime = row.destination_runtime_ticks or row.runtime_ticks
    lines += _side_lines(f"Source ({src_name})", row.source, src_runtime,
                         (row.source_item_id,) if row.source_item_id else ())
    lines.append("")
    lines += _side_lines(f"Destination ({dst_name})", row.destination, dst_runtime, row.destination_item_ids)
    if row.reason is Reason.AMBIGUOUS:
        lines += ["", "Ambiguous: the destination item these ids lead to disagrees on another id, so cwtui cannot "
                  f"tell which item is the same title. {safe_text(row.matched_by)}"]
    if row.action is Action.SKIP:
        blocker = force_blocker(row, plan)
        lines.append("")
        lines.append("Can be forced with space." if blocker is None else f"Cannot be forced: {blocker}.")
    lines += ["", SYMBOLS]
    return "\n".join(lines)


def force_blocker(row: PlanRow, plan: Plan | None) -> str | None:
    """Why ticking this skipped row could not write anything, or None when a force can write it."""
    if not row.forceable:
        return why_not_forceable(row)
    if row.reason is Reason.IN_SYNC:
        return "the destination already has this position, so a write would change nothing"
    if row.reason is Reason.ALREADY_WATCHED and not (plan and plan.settings.replay_watched):
        return ("the destination marks it played and replay_watched is off, so the live check before the write "
                "would skip it")
    return None


def force_risk(row: PlanRow) -> str | None:
    """What a force of this row would override on the destination, in words, or None when nothing is at risk."""
    s, d = row.source, row.destination
    if d is not None and s is not None and d.position_ticks > s.position_ticks:
        return (f"the destination is further along ({format_ms(d.position_ms)}) than the source "
                f"({format_ms(s.position_ms)}): forcing moves its position backwards")
    if d is not None and d.last_played and (s is None or s.last_played is None or d.last_played > s.last_played):
        return ("the destination was played more recently than the source: forcing overrides newer "
                "destination state")
    if row.reason is Reason.DESTINATION_NEWER:
        return "the plan found the destination newer: forcing overrides it"
    return None


def why_not_forceable(row: PlanRow) -> str:
    if row.action is not Action.SKIP:
        return "it is already planned"
    if row.reason in UNRESOLVED_REASONS or not row.destination_item_ids:
        return ("no single destination item matches it, so there is nowhere to write"
                if row.reason is Reason.AMBIGUOUS or len(row.destination_item_ids) > 1
                else "it has no matching item on the destination, so there is nowhere to write")
    return "the source has no position to copy (it is at 0:00)"
