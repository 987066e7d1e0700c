"""Users whose policy forbids editing user data (EnableUserPreferenceAccess=false), over real HTTP (§4.1, §4.2)."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import auth

VERSIONS = ["10.9.11", "10.10.7", "10.11.11", "12.0.0"]


def _restricted(w):
    carol = w.state.add_user("carol", password="c", enable_user_preference_access=False)
    return carol, w.state.issue_token(carol, device_id="c-dev")


@pytest.mark.parametrize("version", VERSIONS)
def test_restricted_user_gets_403_text_on_user_data_get_and_post(world_factory, version):
    w = world_factory(version)
    carol, token = _restricted(w)
    for path in (f"/UserItems/{w.heat}/UserData", f"/Users/{carol}/Items/{w.heat}/UserData"):
        post = w.post(path, token, json={"PlaybackPositionTicks": 1})
        assert post.status_code == 403 and post.headers["content-type"].startswith("text/plain")
        assert post.text == "User is not allowed to update this item user data."
        get = w.get(path, token)
        assert get.status_code == 403 and get.text == "User is not allowed to view this item user data."
    assert w.state.get_user_data(carol, w.heat).position_ticks == 0  # nothing was written


@pytest.mark.parametrize("version", VERSIONS)
def test_restricted_user_may_still_mark_played_and_unplayed(world_factory, version):
    w = world_factory(version)
    carol, token = _restricted(w)
    played = w.post(f"/UserPlayedItems/{w.heat}", token)
    assert played.status_code == 200 and played.json()["Played"] is True
    assert w.state.get_user_data(carol, w.heat).played is True
    unplayed = w.delete(f"/UserPlayedItems/{w.heat}", token)
    assert unplayed.status_code == 200 and w.state.get_user_data(carol, w.heat).played is False
    assert w.post(f"/Users/{carol}/PlayedItems/{w.alien}", token).status_code == 200  # the legacy form too


@pytest.mark.parametrize("version", VERSIONS)
def test_admins_and_api_keys_skip_the_policy_check(world_factory, version):
    w = world_factory(version)
    carol, _ = _restricted(w)
    for token in (w.admin_token, w.api_key):
        r = w.post(f"/UserItems/{w.heat}/UserData", token, params={"userId": carol}, json={"PlaybackPositionTicks": 7})
        assert r.status_code == 200, token
        assert w.get(f"/UserItems/{w.heat}/UserData", token, params={"userId": carol}).status_code == 200
    boss = w.state.add_user("boss", password="b", is_admin=True, enable_user_preference_access=False)
    boss_token = w.state.issue_token(boss)
    assert w.post(f"/UserItems/{w.heat}/UserData", boss_token, json={"PlaybackPositionTicks": 1}).status_code == 200


def test_policy_flag_appears_in_every_user_dto(world):
    carol, token = _restricted(world)
    login = world.http.post("/Users/AuthenticateByName", json={"Username": "carol", "Pw": "c"}, headers=auth())
    dtos = [login.json()["User"], world.get("/Users/Me", token).json(), world.get(f"/Users/{carol}", token).json(),
            next(u for u in world.get("/Users", token).json() if u["Id"] == carol)]
    assert [d["Policy"]["EnableUserPreferenceAccess"] for d in dtos] == [False] * 4
    alice = world.get("/Users/Me", world.alice_token).json()
    assert alice["Policy"]["EnableUserPreferenceAccess"] is True


def test_10_9_checks_the_policy_before_the_user_exists(world_factory):
    w = world_factory("10.9.11")
    missing = "d" * 32
    r = w.post(f"/UserItems/{w.heat}/UserData", w.admin_token, params={"userId": missing}, json={})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/plain")
    w10 = world_factory("10.10.7")
    r = w10.post(f"/UserItems/{w10.heat}/UserData", w10.admin_token, params={"userId": missing}, json={})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
