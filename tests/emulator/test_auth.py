"""Sign-in, tokens, lockout, Quick Connect and the auth header rules, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cwtui.emulator.routes_base import parse_auth_header
from tests.emulator.conftest import auth


def login(w, name="alice", pw="pw", **kw) -> httpx.Response:
    return w.http.post("/Users/AuthenticateByName", json={"Username": name, "Pw": pw}, headers=auth(**kw))


def test_login_returns_token_user_and_session(world):
    r = login(world)
    assert r.status_code == 200
    body = r.json()
    assert body["User"]["Id"] == world.alice and body["ServerId"] == world.state.server_id
    assert body["User"]["Policy"]["IsAdministrator"] is False
    assert body["SessionInfo"]["DeviceId"] == "dev-1" and body["SessionInfo"]["UserId"] == world.alice
    token = body["AccessToken"]
    assert len(token) == 32
    me = world.get("/Users/Me", token)
    assert me.status_code == 200 and me.json()["Name"] == "alice"


@pytest.mark.parametrize("missing", ["Client", "Device", "DeviceId", "Version"])
def test_login_missing_header_field_is_400_on_10_9_plus(world, missing):
    header = auth()["Authorization"].replace(f'{missing}="', 'X="')
    r = world.http.post("/Users/AuthenticateByName", json={"Username": "alice", "Pw": "pw"},
                        headers={"Authorization": header})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/plain")


def test_login_without_header_fields_works_on_10_8(world_factory):
    w = world_factory("10.8.13")
    r = w.http.post("/Users/AuthenticateByName", json={"Username": "alice", "Pw": "pw"})
    assert r.status_code == 200


def test_wrong_password_is_401_text_and_lockout_disables(world):
    # bob's policy locks after 2 bad attempts
    first = login(world, "bob", "nope")
    assert first.status_code == 401 and first.headers["content-type"].startswith("text/plain")
    assert world.state.users[world.bob].is_disabled is False
    assert login(world, "bob", "nope").status_code == 401
    assert world.state.users[world.bob].is_disabled is True
    assert login(world, "bob", "pw2").status_code == 403  # even the right password now
    # and the tokens bob already had stop working
    assert world.get("/Users/Me", world.bob_token).status_code == 401


def test_lockout_zero_means_three_and_minus_one_never(world):
    for _ in range(2):
        assert login(world, "alice", "bad").status_code == 401
    assert not world.state.users[world.alice].is_disabled
    assert login(world, "alice", "bad").status_code == 401
    assert world.state.users[world.alice].is_disabled
    never = world.state.add_user("carol", password="x", login_attempts_before_lockout=-1)
    for _ in range(6):
        assert login(world, "carol", "bad").status_code == 401
    assert not world.state.users[never].is_disabled


def test_good_login_resets_invalid_attempt_count(world):
    assert login(world, "bob", "nope").status_code == 401
    assert login(world, "bob", "pw2").status_code == 200
    assert login(world, "bob", "nope").status_code == 401
    assert not world.state.users[world.bob].is_disabled


def test_relogin_same_device_revokes_older_token(world):
    t1 = login(world, device_id="same").json()["AccessToken"]
    t_other = login(world, device_id="other").json()["AccessToken"]
    t2 = login(world, device_id="same").json()["AccessToken"]
    assert world.get("/Users/Me", t1).status_code == 401
    assert world.get("/Users/Me", t2).status_code == 200
    assert world.get("/Users/Me", t_other).status_code == 200


def test_bad_or_revoked_token_is_401_empty(world):
    r = world.get("/Items", "0" * 32)
    assert r.status_code == 401 and r.content == b""
    assert world.http.get("/Items").status_code == 401
    world.state.revoke_token(world.alice_token)
    assert world.get("/Users/Me", world.alice_token).status_code == 401


def test_logout_deletes_calling_token(world):
    token = login(world).json()["AccessToken"]
    assert world.post("/Sessions/Logout", token).status_code == 204
    assert world.get("/Users/Me", token).status_code == 401


def test_anonymous_endpoints_ignore_bad_tokens(world):
    for path in ("/System/Info/Public", "/System/Ping", "/QuickConnect/Enabled", "/Users/Public"):
        assert world.get(path, "f" * 32).status_code == 200, path


def test_api_key_has_no_user_but_is_admin(world):
    assert world.get("/Users/Me", world.api_key).status_code == 400
    users = world.get("/Users", world.api_key).json()
    assert {u["Name"] for u in users} >= {"alice", "bob", "root"}
    assert world.get("/Users", world.alice_token).status_code == 200  # any authenticated user may list
    assert world.get(f"/Users/{world.bob}", world.alice_token).json()["Name"] == "bob"


def test_query_api_key_and_legacy_headers(world_factory):
    w = world_factory("10.11.11")
    assert w.http.get("/Users", params={"ApiKey": w.api_key}).status_code == 200
    assert w.http.get("/Users", params={"api_key": w.api_key}).status_code == 200  # legacy on by default
    assert w.http.get("/Users", headers={"X-Emby-Token": w.api_key}).status_code == 200
    v12 = world_factory("12.0.0")
    assert v12.http.get("/Users", params={"ApiKey": v12.api_key}).status_code == 200
    assert v12.http.get("/Users", params={"api_key": v12.api_key}).status_code == 401
    assert v12.http.get("/Users", headers={"X-Emby-Token": v12.api_key}).status_code == 401
    w.state.config["EnableLegacyAuthorization"] = False
    assert w.http.get("/Users", headers={"X-Emby-Token": w.api_key}).status_code == 401


def test_auth_header_parsing():
    scheme, fields = parse_auth_header(
        'MediaBrowser Client="My, Tool", Device="a%20b", DeviceId="x+y", Version="1.0", Token="abc"')
    assert scheme == "MediaBrowser"
    assert fields == {"Client": "My, Tool", "Device": "a b", "DeviceId": "x y", "Version": "1.0", "Token": "abc"}
    assert parse_auth_header('MediaBrowser token="abc"')[1] == {"token": "abc"}  # keys are case-sensitive


def test_lower_case_token_key_is_not_a_token(world):
    r = world.http.get("/Users/Me", headers={"Authorization": f'MediaBrowser token="{world.alice_token}"'})
    assert r.status_code == 401


def test_quick_connect_flow(world):
    assert world.http.get("/QuickConnect/Enabled").json() is True
    init = world.http.post("/QuickConnect/Initiate", headers=auth(device_id="qc-dev"))
    assert init.status_code == 200
    body = init.json()
    secret, code = body["Secret"], body["Code"]
    assert len(secret) == 64 and len(code) == 6 and code.isdigit() and body["Authenticated"] is False
    state = world.http.get("/QuickConnect/Connect", params={"secret": secret}).json()
    assert state["Authenticated"] is False
    early = world.http.post("/Users/AuthenticateWithQuickConnect", json={"Secret": secret}, headers=auth())
    assert early.status_code == 404 and early.headers["content-type"].startswith("text/plain")  # not yet authorized
    ok = world.post(f"/QuickConnect/Authorize?code={code}&userId={world.alice}", world.alice_token)
    assert ok.status_code == 200 and ok.json() is True
    assert world.http.get("/QuickConnect/Connect", params={"secret": secret}).json()["Authenticated"] is True
    done = world.http.post("/Users/AuthenticateWithQuickConnect", json={"Secret": secret}, headers=auth())
    assert done.status_code == 200
    token = done.json()["AccessToken"]
    assert world.get("/Users/Me", token).json()["Id"] == world.alice
    # the token was made at authorization: the call reads no header fields and repeats the same result
    again = world.http.post("/Users/AuthenticateWithQuickConnect", json={"Secret": secret})
    assert again.status_code == 200 and again.json()["AccessToken"] == token
    assert done.json()["SessionInfo"]["DeviceId"] == "qc-dev"
    # authorizing the same code twice is an InvalidOperationException: 500
    assert world.post(f"/QuickConnect/Authorize?code={code}&userId={world.alice}", world.alice_token).status_code == 500


def test_quick_connect_needs_header_fields_expires_and_can_be_disabled(world):
    assert world.http.post("/QuickConnect/Initiate").status_code == 400
    init = world.http.post("/QuickConnect/Initiate", headers=auth()).json()
    real_clock = world.state.clock
    world.state.clock = lambda: real_clock() + timedelta(minutes=11)
    assert world.http.get("/QuickConnect/Connect", params={"secret": init["Secret"]}).status_code == 404
    world.state.clock = real_clock
    assert world.post("/QuickConnect/Authorize?code=000000", world.alice_token).status_code == 404
    world.state.config["QuickConnectAvailable"] = False
    assert world.http.get("/QuickConnect/Enabled").json() is False
    assert world.http.post("/QuickConnect/Initiate", headers=auth()).status_code == 401


def test_quick_connect_initiate_method_by_version(world_factory):
    assert world_factory("10.8.13").http.get("/QuickConnect/Initiate", headers=auth()).status_code == 200
    assert world_factory("10.8.13").http.post("/QuickConnect/Initiate", headers=auth()).status_code == 405
    w11 = world_factory("10.11.11")
    assert w11.http.get("/QuickConnect/Initiate", headers=auth()).status_code == 200
    assert w11.http.post("/QuickConnect/Initiate", headers=auth()).status_code == 200
    w12 = world_factory("12.0.0")
    assert w12.http.get("/QuickConnect/Initiate", headers=auth()).status_code == 405
    assert w12.http.post("/QuickConnect/Initiate", headers=auth()).status_code == 200


def test_system_endpoints(world):
    pub = world.http.get("/System/Info/Public").json()
    assert pub["ProductName"] == "Jellyfin Server" and pub["Version"] == "10.11.11"
    assert pub["Id"] == world.state.server_id and pub["StartupWizardCompleted"] is True
    assert world.http.get("/System/Info").status_code == 401
    assert world.get("/System/Info", world.alice_token).json()["Id"] == world.state.server_id
    cfg = world.get("/System/Configuration", world.alice_token).json()
    assert (cfg["MinResumePct"], cfg["MaxResumePct"], cfg["MinResumeDurationSeconds"]) == (5, 90, 300)
    world.state.config["MaxResumePct"] = 80
    assert world.get("/System/Configuration", world.alice_token).json()["MaxResumePct"] == 80
    assert world.http.get("/System/Ping").json() == "Jellyfin Server"


def test_10_8_login_reissues_the_users_token_and_logs_out_other_users_on_the_device(world_factory):
    w = world_factory("10.8.13")
    first = login(w, device_id="shared").json()["AccessToken"]
    again = login(w, device_id="shared").json()["AccessToken"]
    assert again == first and w.get("/Users/Me", first).status_code == 200  # the same token, reissued
    bobs = login(w, "bob", "pw2", device_id="shared").json()["AccessToken"]
    assert w.get("/Users/Me", first).status_code == 401  # another user on that DeviceId logs alice out
    assert w.get("/Users/Me", bobs).status_code == 200
    login(w, device_id="shared")
    assert w.get("/Users/Me", bobs).status_code == 401  # and back


def test_10_9_plus_login_revokes_only_that_users_tokens_on_the_device(world):
    alices = login(world, device_id="shared").json()["AccessToken"]
    bobs = login(world, "bob", "pw2", device_id="shared").json()["AccessToken"]
    assert world.get("/Users/Me", alices).status_code == 200 and world.get("/Users/Me", bobs).status_code == 200
    # one Client + DeviceId is one session; its user is the last one it was resolved for
    on_device = [x for x in world.get("/Sessions", world.api_key).json() if x["DeviceId"] == "shared"]
    assert len(on_device) == 1 and on_device[0]["UserId"] == world.bob


def test_logout_ends_every_session_on_the_device(world):
    alices = login(world, device_id="shared").json()["AccessToken"]
    world.state.start_session(world.bob, device_id="shared", client="Other app")
    assert world.post("/Sessions/Logout", alices).status_code == 204
    assert not [x for x in world.get("/Sessions", world.api_key).json() if x["DeviceId"] == "shared"]


def _qc_authorized(w, device_id: str) -> tuple[str, str]:
    init = w.http.post("/QuickConnect/Initiate", headers=auth(device_id=device_id)).json()
    assert w.post(f"/QuickConnect/Authorize?code={init['Code']}", w.alice_token).status_code == 200
    return init["Secret"], init["Code"]


def test_quick_connect_token_is_made_at_authorize_with_the_device_id_rule(world):
    old = login(world, device_id="qc-dev").json()["AccessToken"]
    secret, _ = _qc_authorized(world, "qc-dev")
    assert world.get("/Users/Me", old).status_code == 401  # revoked at Authorize, before anyone polls
    token = world.http.post("/Users/AuthenticateWithQuickConnect", json={"Secret": secret}).json()["AccessToken"]
    assert world.get("/Users/Me", token).status_code == 200


def test_quick_connect_result_repeats_until_ten_minutes_after_authorization(world):
    s = world.state
    start = s.clock()
    s.clock = lambda: start
    init = world.http.post("/QuickConnect/Initiate", headers=auth(device_id="qc")).json()
    s.clock = lambda: start + timedelta(minutes=9)
    assert world.post(f"/QuickConnect/Authorize?code={init['Code']}", world.alice_token).status_code == 200
    s.clock = lambda: start + timedelta(minutes=18)  # 18 after the start, 9 after the authorization
    assert world.http.post("/Users/AuthenticateWithQuickConnect", json={"Secret": init["Secret"]}).status_code == 200
    s.clock = lambda: start + timedelta(minutes=20)
    late = world.http.post("/Users/AuthenticateWithQuickConnect", json={"Secret": init["Secret"]})
    assert late.status_code == 404
