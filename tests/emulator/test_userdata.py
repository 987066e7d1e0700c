"""UserData reads and writes, played/unplayed, playback reports and session visibility, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

from cwtui.emulator.dto import dashed
from tests.emulator.conftest import MIN, T0


def test_post_user_data_is_a_plain_copy(world):
    heat_runtime = world.state.items[world.heat].runtime_ticks
    at_99 = heat_runtime * 99 // 100
    r = world.post(f"/UserItems/{world.heat}/UserData", world.alice_token, params={"userId": world.alice},
                   json={"PlaybackPositionTicks": at_99})
    assert r.status_code == 200
    body = r.json()
    assert body["PlaybackPositionTicks"] == at_99  # no resume rules: 99 % is stored as sent
    assert body["Played"] is False and "LastPlayedDate" not in body  # nothing implied
    assert abs(body["PlayedPercentage"] - 99.0) < 1e-6 and body["ItemId"] == world.heat
    assert body["Key"] == dashed(world.heat)  # 10.11.10+: the last key written, the item's dashed id (§2.4)
    ud = world.state.get_user_data(world.alice, world.heat)
    assert (ud.position_ticks, ud.played, ud.play_count, ud.last_played) == (at_99, False, 0, None)


def test_post_user_data_nulls_are_ignored_and_fields_copied(world):
    world.state.set_user_data(world.alice, world.heat, position_ticks=5 * MIN, played=True, play_count=2,
                              last_played=T0)
    r = world.post(f"/UserItems/{world.heat}/UserData", world.alice_token,
                   json={"PlaybackPositionTicks": None, "Played": None, "LastPlayedDate": None, "PlayCount": 7})
    assert r.status_code == 200
    ud = world.state.get_user_data(world.alice, world.heat)
    assert (ud.position_ticks, ud.played, ud.play_count, ud.last_played) == (5 * MIN, True, 7, T0)
    later = "2026-11-21T08:30:00.5Z"
    r = world.post(f"/UserItems/{world.heat}/UserData", world.alice_token,
                   json={"PlaybackPositionTicks": "42", "Played": False, "LastPlayedDate": later,
                         "PlayedPercentage": 50, "Key": "ignored", "ItemId": "ignored"})
    body = r.json()
    assert body["PlaybackPositionTicks"] == 42 and body["Played"] is False and body["Key"] == dashed(world.heat)
    assert body["LastPlayedDate"] == "2026-11-21T08:30:00.5Z"
    assert world.state.get_user_data(world.alice, world.heat).last_played == T0 + timedelta(hours=12, minutes=30,
                                                                                            milliseconds=500)


def test_played_with_position_still_resumes(world):
    world.post(f"/UserItems/{world.heat}/UserData", world.alice_token,
               json={"PlaybackPositionTicks": 3 * MIN, "Played": True, "LastPlayedDate": "2026-11-20T20:00:00Z"})
    r = world.get("/UserItems/Resume", world.alice_token)
    assert [i["Id"] for i in r.json()["Items"]] == [world.heat]


def test_user_data_errors(world):
    url = f"/UserItems/{world.heat}/UserData"
    # another user's data without admin: 403
    assert world.get(url, world.alice_token, params={"userId": world.bob}).status_code == 403
    assert world.post(url, world.alice_token, params={"userId": world.bob}, json={}).status_code == 403
    # admin and API key may
    assert world.post(url, world.admin_token, params={"userId": world.bob},
                      json={"PlaybackPositionTicks": 1}).status_code == 200
    assert world.get(url, world.api_key, params={"userId": world.bob}).json()["PlaybackPositionTicks"] == 1
    # API key without a user: 404 (an empty user is looked up)
    assert world.get(url, world.api_key).status_code == 404
    # hidden or unknown item: 404 ProblemDetails
    world.state.hide_item_from(world.alice, world.heat)
    r = world.post(url, world.alice_token, json={"PlaybackPositionTicks": 1})
    assert r.status_code == 404 and r.json()["status"] == 404
    assert world.get(f"/UserItems/{'a' * 32}/UserData", world.alice_token).status_code == 404
    # bad and missing body: 400
    assert world.http.post(f"/UserItems/{world.alien}/UserData", headers={**_h(world), "Content-Type":
                           "application/json"}, content=b"{nope").status_code == 400
    assert world.http.post(f"/UserItems/{world.alien}/UserData", headers=_h(world)).status_code == 400
    assert world.post(f"/UserItems/{world.alien}/UserData", world.alice_token,
                      json={"PlaybackPositionTicks": "abc"}).status_code == 400


def _h(world):
    from tests.emulator.conftest import auth

    return auth(world.alice_token)


def test_user_preference_access_false_forbids_own_writes(world):
    carol = world.state.add_user("carol", password="c", enable_user_preference_access=False)
    token = world.state.issue_token(carol)
    r = world.post(f"/UserItems/{world.heat}/UserData", token, json={"PlaybackPositionTicks": 1})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/plain")
    assert world.get(f"/UserItems/{world.heat}/UserData", token).status_code == 403
    assert world.post(f"/UserItems/{world.heat}/UserData", world.admin_token, params={"userId": carol},
                      json={"PlaybackPositionTicks": 1}).status_code == 200


def test_legacy_user_data_route_and_absence_on_10_8(world, world_factory):
    r = world.post(f"/Users/{world.alice}/Items/{world.heat}/UserData", world.alice_token,
                   json={"PlaybackPositionTicks": 9})
    assert r.status_code == 200
    assert world.get(f"/Users/{world.alice}/Items/{world.heat}/UserData", world.alice_token).json()[
        "PlaybackPositionTicks"] == 9
    old = world_factory("10.8.13")
    for path in (f"/UserItems/{old.heat}/UserData", f"/Users/{old.alice}/Items/{old.heat}/UserData"):
        assert old.post(path, old.alice_token, json={"PlaybackPositionTicks": 9}).status_code == 404
    assert old.post(f"/UserPlayedItems/{old.heat}", old.alice_token).status_code == 404
    assert old.get("/UserItems/Resume", old.alice_token).status_code == 404


def test_mark_played_semantics(world):
    s = world.state
    s.set_user_data(world.alice, world.heat, position_ticks=20 * MIN, play_count=0)
    r = world.post(f"/UserPlayedItems/{world.heat}", world.alice_token, params={"userId": world.alice})
    body = r.json()
    assert r.status_code == 200 and body["Played"] is True and body["PlaybackPositionTicks"] == 0
    assert body["PlayCount"] == 1 and "LastPlayedDate" in body  # no datePlayed: max(count, 1), now
    again = world.post(f"/UserPlayedItems/{world.heat}", world.alice_token).json()
    assert again["PlayCount"] == 1 and again["LastPlayedDate"] == body["LastPlayedDate"]  # existing date kept
    dated = world.post(f"/UserPlayedItems/{world.heat}", world.alice_token,
                       params={"datePlayed": "20261120200000"}).json()
    assert dated["PlayCount"] == 2 and dated["LastPlayedDate"] == "2026-11-20T20:00:00.0000000Z"
    iso = world.post(f"/UserPlayedItems/{world.heat}", world.alice_token,
                     params={"datePlayed": "2026-11-21T10:00:00Z"}).json()
    assert iso["PlayCount"] == 3 and iso["LastPlayedDate"].startswith("2026-11-21T10:00:00")
    un = world.delete(f"/UserPlayedItems/{world.heat}", world.alice_token).json()
    assert (un["Played"], un["PlayCount"], un["PlaybackPositionTicks"]) == (False, 0, 0)
    assert "LastPlayedDate" not in un
    assert s.get_user_data(world.alice, world.heat).last_played is None


def test_mark_played_unknown_item_and_legacy_route(world, world_factory):
    assert world.post(f"/UserPlayedItems/{'b' * 32}", world.alice_token).status_code == 404
    r = world.post(f"/Users/{world.alice}/PlayedItems/{world.alien}", world.alice_token)
    assert r.status_code == 200 and r.json()["Played"] is True
    old = world_factory("10.8.13")
    assert old.post(f"/Users/{old.alice}/PlayedItems/{'b' * 32}", old.alice_token).status_code == 500
    assert old.post(f"/Users/{old.alice}/PlayedItems/{old.heat}", old.alice_token).status_code == 200


def test_playback_reports_apply_resume_rules_to_the_tokens_user(world):
    runtime = world.state.items[world.heat].runtime_ticks
    url = "/Sessions/Playing"
    assert world.post(url, world.alice_token, json={"ItemId": world.heat, "PositionTicks": 0}).status_code == 204
    playing = world.get("/Sessions", world.admin_token).json()
    assert any(s.get("NowPlayingItem", {}).get("Id") == world.heat and s["UserId"] == world.alice for s in playing)
    world.post(url + "/Progress", world.alice_token, json={"ItemId": world.heat, "PositionTicks": runtime // 2})
    assert world.state.get_user_data(world.alice, world.heat).position_ticks == runtime // 2
    world.post(url + "/Progress", world.alice_token, json={"ItemId": world.heat, "PositionTicks": runtime // 50})
    assert world.state.get_user_data(world.alice, world.heat).position_ticks == 0  # < MinResumePct
    r = world.post(url + "/Stopped", world.alice_token,
                   json={"ItemId": world.heat, "PositionTicks": runtime * 92 // 100, "Failed": False})
    assert r.status_code == 204
    ud = world.state.get_user_data(world.alice, world.heat)
    assert ud.position_ticks == 0 and ud.played is True  # > MaxResumePct
    # the userId of someone else is not a thing here: only the token's user is written
    assert world.state.get_user_data(world.bob, world.heat).position_ticks == 0
    short = world.state.add_movie(world.movies, "Short", runtime_ticks=4 * MIN)
    world.post(url + "/Stopped", world.alice_token, json={"ItemId": short, "PositionTicks": 2 * MIN})
    assert world.state.get_user_data(world.alice, short).played is True  # runtime < MinResumeDurationSeconds
    assert not any(s.get("NowPlayingItem") for s in world.get("/Sessions", world.alice_token).json())


def test_near_end_rule_differs_before_10_11(world_factory):
    for version, expect_played in (("10.10.7", False), ("10.11.11", True)):
        w = world_factory(version)
        w.state.config["MaxResumePct"] = 100
        runtime = w.state.items[w.heat].runtime_ticks
        w.post("/Sessions/Playing/Stopped", w.alice_token,
               json={"ItemId": w.heat, "PositionTicks": runtime - 5_000_000})
        assert w.state.get_user_data(w.alice, w.heat).played is expect_played, version


def test_session_visibility(world, world_factory):
    s = world.state
    mine = s.start_session(world.alice, now_playing_item_id=world.heat, position_ticks=3 * MIN)
    s.start_session(world.bob, now_playing_item_id=world.alien)
    anon = s.start_session(None)
    seen = {x["Id"]: x for x in world.get("/Sessions", world.alice_token).json()}
    assert set(seen) == {mine, anon}
    assert seen[mine]["NowPlayingItem"]["Id"] == world.heat and seen[mine]["PlayState"]["PositionTicks"] == 3 * MIN
    assert "UserId" not in seen[anon] and "NowPlayingItem" not in seen[anon]
    assert len(world.get("/Sessions", world.api_key).json()) == 3
    assert len(world.get("/Sessions", world.admin_token).json()) == 3
    s.end_session(mine)
    assert mine not in {x["Id"] for x in world.get("/Sessions", world.api_key).json()}
    old = world_factory("10.8.13")
    old.state.start_session(old.bob)
    assert len(old.get("/Sessions", old.alice_token).json()) == 1  # 10.8: everyone saw every session


def test_login_creates_an_idle_session(world):
    from tests.emulator.conftest import auth

    world.http.post("/Users/AuthenticateByName", json={"Username": "alice", "Pw": "pw"},
                    headers=auth(device_id="sess-dev"))
    sessions = world.get("/Sessions", world.api_key).json()
    mine = [x for x in sessions if x["DeviceId"] == "sess-dev"]
    assert len(mine) == 1 and mine[0]["UserId"] == world.alice and "NowPlayingItem" not in mine[0]
