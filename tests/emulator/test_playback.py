"""Playback reports and the idle stop exactly as jellyfin-api.md §4.3 tabulates them, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.emulator.conftest import MIN, T0

START, PROGRESS, STOP = "/Sessions/Playing", "/Sessions/Playing/Progress", "/Sessions/Playing/Stopped"


def _state(w, item, user=None):
    ud = w.state.get_user_data(user or w.alice, item)
    return ud.position_ticks, ud.played, ud.play_count, ud.last_played


@pytest.mark.parametrize(("version", "played_after_start"), [("10.8.13", False), ("10.11.11", False),
                                                             ("12.0.0", True)])
def test_start_counts_a_play_sets_last_played_and_clears_played_before_12(world_factory, version,
                                                                          played_after_start):
    w = world_factory(version)
    w.state.set_user_data(w.alice, w.heat, position_ticks=20 * MIN, played=True, play_count=2, last_played=T0)
    now = T0 + timedelta(days=2)
    w.state.clock = lambda: now
    assert w.post(START, w.alice_token, json={"ItemId": w.heat, "PositionTicks": 0}).status_code == 204
    assert _state(w, w.heat) == (20 * MIN, played_after_start, 3, now)


def test_progress_and_stop_with_a_position_keep_last_played(world):
    world.state.set_user_data(world.alice, world.heat, play_count=1, last_played=T0)
    world.post(PROGRESS, world.alice_token, json={"ItemId": world.heat, "PositionTicks": 50 * MIN})
    assert _state(world, world.heat) == (50 * MIN, False, 1, T0)
    world.post(STOP, world.alice_token, json={"ItemId": world.heat, "PositionTicks": 60 * MIN})
    assert _state(world, world.heat) == (60 * MIN, False, 1, T0)  # LastPlayedDate unchanged, no play counted
    world.post(PROGRESS, world.alice_token, json={"ItemId": world.heat})
    assert _state(world, world.heat) == (60 * MIN, False, 1, T0)  # a progress report without a position saves nothing


def test_stop_without_a_position_finishes_the_item(world):
    world.state.set_user_data(world.alice, world.heat, position_ticks=30 * MIN, play_count=1, last_played=T0)
    world.post(STOP, world.alice_token, json={"ItemId": world.heat})
    assert _state(world, world.heat) == (0, True, 2, T0)


def test_reports_write_the_sessions_additional_users_and_ignore_user_id(world):
    session = world.state.session_of(world.state.tokens[world.alice_token])
    assert world.post(f"/Sessions/{session.id}/User/{world.bob}", world.alice_token).status_code == 204
    world.post(PROGRESS, world.alice_token, json={"ItemId": world.heat, "PositionTicks": 40 * MIN,
                                                  "UserId": world.admin})
    assert _state(world, world.heat)[0] == _state(world, world.heat, world.bob)[0] == 40 * MIN
    assert _state(world, world.heat, world.admin)[0] == 0
    world.post(f"/UserPlayedItems/{world.alien}", world.alice_token)  # played/unplayed spread to them too
    assert world.state.get_user_data(world.bob, world.alien).played is True


def test_api_key_reports_write_nothing(world):
    assert world.post(STOP, world.api_key, json={"ItemId": world.heat}).status_code == 204
    assert all(_state(world, world.heat, u)[2] == 0 for u in (world.alice, world.bob, world.admin))


def test_idle_stop_saves_the_sessions_position_and_can_cross_max_resume(world):
    sid = world.state.start_session(world.alice, world.heat, position_ticks=60 * MIN)
    world.state.idle_stop(sid)
    assert _state(world, world.heat)[:3] == (60 * MIN, False, 0)
    assert "NowPlayingItem" not in next(x for x in world.get("/Sessions", world.api_key).json() if x["Id"] == sid)
    # unpaused, the server's timer moved the position on: 10 minutes past 85 % crosses MaxResumePct 90
    sid = world.state.start_session(world.alice, world.alien, position_ticks=world.state.items[world.alien]
                                    .runtime_ticks * 85 // 100, additional_users=[world.bob])
    world.state.idle_stop(sid, advanced_seconds=600)
    assert _state(world, world.alien)[:2] == (0, True) and _state(world, world.alien, world.bob)[:2] == (0, True)
    paused = world.state.start_session(world.alice, world.aliens, position_ticks=20 * MIN, is_paused=True)
    world.state.idle_stop(paused, advanced_seconds=600)
    assert _state(world, world.aliens)[0] == 20 * MIN  # a paused player's position does not move
