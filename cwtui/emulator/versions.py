"""12.0 alternate versions (jellyfin-api.md §2.6): the primary's merged UserData and which version a list keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from cwtui.emulator.state import EmulatorState, ItemRec, UserDataRec

_NEVER = datetime.min.replace(tzinfo=UTC)


def _when(rec: UserDataRec) -> datetime:
    return rec.last_played or _NEVER


def has_versions(state: EmulatorState, item: ItemRec) -> bool:
    return state.at_least(12) and item.type == "Movie" and len(state.versions_of(item)) > 1


def newest_in_progress(state: EmulatorState, user_id: str, item: ItemRec) -> ItemRec | None:
    """The most recently played version that counts as resumable; the one version a resume list keeps."""
    best: tuple[datetime, ItemRec] | None = None
    for version in state.versions_of(item):
        if state.store.resumable(user_id, version):
            when = _when(state.store.read(user_id, version)[1])
            if best is None or when > best[0]:
                best = (when, version)
    return best[1] if best else None


def dto_row(state: EmulatorState, user_id: str, item: ItemRec) -> tuple[str, UserDataRec]:
    """The (key, row) a DTO shows: the stored/cached row, or on 12.0 a primary's merged view (VersionResumeData).

    The merge takes the most recently played version that has a position or is Played and applies: Played = own or
    that version's; LastPlayedDate = the later one; if that version is another one, Played, at 0: position 0.
    """
    key, own = state.store.read(user_id, item)
    if item.primary_version_id or not has_versions(state, item):
        return key, own
    chosen: tuple[datetime, ItemRec, UserDataRec] | None = None
    for version in state.versions_of(item):
        rec = state.store.read(user_id, version)[1]
        if (rec.position_ticks > 0 or rec.played) and (chosen is None or _when(rec) > chosen[0]):
            chosen = (_when(rec), version, rec)
    if chosen is None:
        return key, own
    _, version, other = chosen
    merged = replace(own, played=own.played or other.played,
                     last_played=max((d for d in (own.last_played, other.last_played) if d), default=None))
    if version.id != item.id and other.played and other.position_ticks == 0:
        merged = replace(merged, position_ticks=0)
    return key, merged
