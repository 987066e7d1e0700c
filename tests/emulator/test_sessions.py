"""GET /Sessions parameters and visibility, AddUserToSession and PlayState.MediaSourceId (jellyfin-api.md §6)."""

from __future__ import annotations

from datetime import timedelta

from tests.emulator.conftest import MIN


def _ids(w, token, **params) -> set[str]:
    r = w.get("/Sessions", token, params=params)
    assert r.status_code == 200
    return {x["Id"] for x in r.json()}


def test_10_9_plus_non_admins_see_unowned_own_and_additional_user_sessions(world):
    s = world.state
    mine = s.start_session(world.alice)
    bobs = s.start_session(world.bob)
    shared = s.start_session(world.bob, additional_users=[world.alice])
    nobody = s.start_session(None)
    assert _ids(world, world.alice_token) == {mine, shared, nobody}
    assert _ids(world, world.admin_token) >= {mine, bobs, shared, nobody}
    dto = next(x for x in world.get("/Sessions", world.alice_token).json() if x["Id"] == shared)
    assert dto["AdditionalUsers"] == [{"UserId": world.alice, "UserName": "alice"}]


def test_device_id_and_active_within_seconds(world):
    s = world.state
    fresh = s.start_session(world.alice, device_id="TV-1")
    stale = s.start_session(world.alice, device_id="tv-2", last_activity=s.clock() - timedelta(hours=1))
    assert _ids(world, world.api_key, deviceId="tv-1") == {fresh}
    assert _ids(world, world.api_key, activeWithinSeconds=600) & {fresh, stale} == {fresh}


def test_10_8_applies_active_within_seconds_only_with_controllable_by_user_id(world_factory):
    w = world_factory("10.8.13")
    s = w.state
    stale = s.start_session(w.alice, last_activity=s.clock() - timedelta(hours=1))
    fresh = s.start_session(w.alice)
    bobs = s.start_session(w.bob)
    assert _ids(w, w.alice_token) >= {stale, fresh, bobs}  # 10.8: everyone sees every session
    assert stale in _ids(w, w.alice_token, activeWithinSeconds=600)
    assert _ids(w, w.alice_token, activeWithinSeconds=600, controllableByUserId=w.alice) == {fresh}


def test_controllable_by_user_id_keeps_remote_controllable_sessions_the_caller_may_control(world):
    s = world.state
    player = s.start_session(world.alice)
    other = s.start_session(world.bob)
    nobody = s.start_session(None)
    tool = s.session_of(s.tokens[world.alice_token]).id  # the sync tool's own session: no remote control
    # a non-admin caller keeps its own and unowned players; an API key may control everyone's
    assert _ids(world, world.alice_token, controllableByUserId=world.alice) == {player, nobody}
    assert _ids(world, world.api_key, controllableByUserId=world.alice) == {player, other, nobody}
    assert tool not in _ids(world, world.api_key, controllableByUserId=world.alice)
    assert _ids(world, world.api_key, controllableByUserId="f" * 32) == set()  # an unknown user: nothing


def test_add_user_to_session(world):
    s = world.state
    sid = s.start_session(world.alice)
    assert world.post(f"/Sessions/{sid}/User/{world.bob}", world.admin_token).status_code == 204
    assert world.post(f"/Sessions/{sid}/User/{world.bob}", world.admin_token).status_code == 204  # once only
    assert s.sessions[sid].additional_users == [world.bob]
    assert world.post(f"/Sessions/{sid}/User/{world.alice}", world.admin_token).status_code == 400  # primary user
    assert world.post(f"/Sessions/{'e' * 32}/User/{world.bob}", world.admin_token).status_code == 404
    assert sid in _ids(world, world.bob_token)  # bob now belongs to it


def test_play_state_media_source_id(world):
    s = world.state
    sid = s.start_session(world.alice, world.heat, position_ticks=3 * MIN)
    dto = next(x for x in world.get("/Sessions", world.api_key).json() if x["Id"] == sid)
    assert dto["PlayState"]["MediaSourceId"] == world.heat and dto["NowPlayingItem"]["Id"] == world.heat
    world.post("/Sessions/Playing", world.alice_token, json={"ItemId": world.alien, "MediaSourceId": world.alien})
    mine = s.session_of(s.tokens[world.alice_token])
    dto = next(x for x in world.get("/Sessions", world.api_key).json() if x["Id"] == mine.id)
    assert dto["PlayState"]["MediaSourceId"] == world.alien
