"""Playback reports and the server's idle stop: the only writes that run the resume rules (jellyfin-api.md §4.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cwtui.emulator.dto import norm_guid

if TYPE_CHECKING:  # pragma: no cover
    from cwtui.emulator.state import EmulatorState, ItemRec, SessionRec

_VIDEO = frozenset({"Movie", "Episode", "Video"})


def session_users(state: EmulatorState, session: SessionRec) -> list[str]:
    """SessionManager.GetUsers: the session's user plus its AdditionalUsers (an API-key session has none)."""
    if session.user_id is None:
        return []
    return [u for u in dict.fromkeys([session.user_id, *session.additional_users]) if u in state.users]


def progress_item(state: EmulatorState, item: ItemRec, media_source_id: str | None) -> ItemRec:
    """12.0 saves progress on the version named by MediaSourceId (GetProgressItem); earlier versions on the item."""
    if state.at_least(12) and media_source_id:
        version = state.items.get(norm_guid(media_source_id) or "")
        if version is not None and version.id in {v.id for v in state.versions_of(item)}:
            return version
    return item


def _spread_played(state: EmulatorState, user_id: str, target: ItemRec) -> None:
    """12.0: a report that leaves a version Played marks every version Played with position 0."""
    if not state.at_least(12) or not state.store.read(user_id, target)[1].played:
        return
    for version in state.versions_of(target):
        if version.id != target.id:
            state.update_user_data(user_id, version, played=True, position_ticks=0)


def report_start(state: EmulatorState, session: SessionRec, item: ItemRec, media_source_id: str | None) -> None:
    """Start: PlayCount+1 and LastPlayedDate=now; Played=false on video before 12.0; the position stays."""
    target = progress_item(state, item, media_source_id)
    for uid in session_users(state, session):
        current = state.store.read(uid, target)[1]
        changes: dict[str, object] = {"play_count": current.play_count + 1, "last_played": state.clock()}
        if target.type in _VIDEO and not state.at_least(12):
            changes["played"] = False
        state.update_user_data(uid, target, **changes)


def report_progress(state: EmulatorState, session: SessionRec, item: ItemRec, position: int | None,
                    media_source_id: str | None) -> None:
    """Progress with a position: the resume rules; LastPlayedDate unchanged. Without a position: nothing saved."""
    if position is None:
        return
    target = progress_item(state, item, media_source_id)
    for uid in session_users(state, session):
        state.update_user_data(uid, target, **state.play_state_changes(target, position))
        _spread_played(state, uid, target)


def report_stop(state: EmulatorState, session: SessionRec, item: ItemRec, position: int | None,
                media_source_id: str | None) -> None:
    """Stop with a position: the rules. Without: PlayCount+1, Played=true, position 0. LastPlayedDate unchanged."""
    target = progress_item(state, item, media_source_id)
    for uid in session_users(state, session):
        if position is None:
            current = state.store.read(uid, target)[1]
            state.update_user_data(uid, target, play_count=current.play_count + 1, played=True, position_ticks=0)
        else:
            state.update_user_data(uid, target, **state.play_state_changes(target, position))
        _spread_played(state, uid, target)


def idle_stop(state: EmulatorState, session_id: str, *, advanced_seconds: float = 0.0) -> None:
    """CheckForIdlePlayback: the server stops a player that stopped checking in, with the session's position.

    Args:
        advanced_seconds: how far the server's 1-second timer moved PlayState.PositionTicks past the last report
            while the player was unpaused (5-10 minutes on a real server; it stops below the runtime).
    """
    with state.lock:
        session = state.sessions[session_id]
        item = state.items.get(session.now_playing_item_id or "")
        if item is None:
            return
        position = session.position_ticks
        if not session.is_paused and advanced_seconds > 0:
            position += int(advanced_seconds * 10_000_000)
            if item.runtime_ticks:
                position = min(position, item.runtime_ticks - 1)
        report_stop(state, session, item, position, session.media_source_id)
        session.now_playing_item_id = None
        session.media_source_id = None
        session.position_ticks = 0
        state._touch()
