"""Virtual (missing) episodes (§3, gotcha 24) and unknown userIds (§2.1), over real HTTP."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import MIN


def _episodes(w, token, **params) -> dict[str, str]:
    r = w.get(f"/Shows/{w.wire}/Episodes", token, params=params)
    assert r.status_code == 200
    return {i["Id"]: i["LocationType"] for i in r.json()["Items"]}


def _with_virtual(w):
    return w.state.add_episode(w.wire, 1, 4, "Ep 1x4 (not on disk)", runtime_ticks=58 * MIN, virtual=True)


@pytest.mark.parametrize("version", ["10.9.11", "10.11.11", "12.0.0"])
def test_virtual_episodes_for_api_keys_and_display_missing_users(world_factory, version):
    w = world_factory(version)
    ghost = _with_virtual(w)
    assert ghost not in _episodes(w, w.alice_token, userId=w.alice)
    assert _episodes(w, w.api_key, userId=w.alice)[ghost] == "Virtual"
    assert ghost not in _episodes(w, w.api_key, userId=w.alice, isMissing="false")
    assert set(_episodes(w, w.api_key, userId=w.alice, isMissing="true")) == {ghost}
    fan = w.state.add_user("fan", password="f", display_missing_episodes=True)
    fan_token = w.state.issue_token(fan)
    assert ghost in _episodes(w, fan_token)
    assert w.get("/Users/Me", fan_token).json()["Configuration"]["DisplayMissingEpisodes"] is True


def test_10_8_decides_by_the_users_setting_alone(world_factory):
    w = world_factory("10.8.13")
    ghost = _with_virtual(w)
    assert ghost not in _episodes(w, w.api_key, userId=w.alice)
    fan = w.state.add_user("fan", password="f", display_missing_episodes=True)
    assert ghost in _episodes(w, w.api_key, userId=fan)


def test_is_missing_false_drops_virtual_episodes_from_items(world):
    ghost = _with_virtual(world)
    base = {"userId": world.alice, "recursive": "true", "includeItemTypes": "Episode"}
    everything = world.get("/Items", world.alice_token, params=base).json()["Items"]
    assert ghost in {i["Id"] for i in everything}
    for extra in ({"isMissing": "false"}, {"excludeLocationTypes": "Virtual"}):
        got = world.get("/Items", world.alice_token, params={**base, **extra}).json()["Items"]
        assert ghost not in {i["Id"] for i in got} and len(got) == len(everything) - 1
    world.state.set_user_data(world.alice, ghost, position_ticks=5 * MIN)
    resume = world.get("/UserItems/Resume", world.alice_token).json()["Items"]
    assert ghost not in {i["Id"] for i in resume}  # the resume list sets IsVirtualItem=false


@pytest.mark.parametrize("version", ["10.9.11", "10.10.7", "10.11.11", "12.0.0"])
def test_unknown_user_id_is_404_on_10_9_plus(world_factory, version):
    w = world_factory(version)
    ghost_user = "c" * 32
    items = w.get("/Items", w.api_key, params={"userId": ghost_user})
    assert items.status_code == 404 and items.headers["content-type"].startswith("text/plain")
    assert items.text == "Error processing request."
    for method, path in (("GET", "/UserItems/Resume"), ("GET", f"/UserItems/{w.heat}/UserData"),
                         ("POST", f"/UserPlayedItems/{w.heat}"), ("DELETE", f"/UserPlayedItems/{w.heat}")):
        r = w.http.request(method, path, params={"userId": ghost_user}, headers=_h(w.api_key))
        text_404 = version == "10.9.11" and path.endswith("/UserData")  # 10.9's RequestHelpers answers text/plain
        kind = "text/plain" if text_404 else "application/problem+json"
        assert r.status_code == 404 and r.headers["content-type"].startswith(kind), path


def test_10_8_items_treats_an_unknown_user_id_as_no_user(world_factory):
    w = world_factory("10.8.13")
    r = w.get("/Items", w.api_key, params={"userId": "c" * 32, "ids": w.heat})
    assert r.status_code == 200 and "UserData" not in r.json()["Items"][0]


def _h(token):
    from tests.emulator.conftest import auth

    return auth(token)
