"""Every 10.9+ operation of jellyfin-api.md §8, driven on the emulator; requests and 200 bodies checked against
the 10.11.11 spec."""

from __future__ import annotations

import json

import pytest

from tests.emulator.conftest import MIN, T0, auth
from tests.openapi_check import find_operation, validate_request, validate_response, validate_schema


class Driver:
    """Sends a request, validates it and its JSON answer against the spec, and counts operations covered."""

    def __init__(self, world) -> None:
        self.w = world
        self.covered: set[str] = set()

    def __call__(self, method: str, path: str, token: str | None = None, *, params: dict | None = None,
                 body: object = None, expect: int = 200, headers: dict | None = None):
        hdrs = headers if headers is not None else auth(token)
        request = self.w.http.build_request(method, path, params=params, headers=hdrs,
                                            content=None if body is None else json.dumps(body).encode(),)
        if body is not None:
            request.headers["Content-Type"] = "application/json"
        if token is not None or path.endswith(("AuthenticateByName", "AuthenticateWithQuickConnect")):
            validate_request(method, str(request.url), dict(request.headers), body)
        resp = self.w.http.send(request)
        assert resp.status_code == expect, (method, path, resp.status_code, resp.text[:300])
        payload = resp.json() if resp.content else None
        validate_response(method, request.url.path, resp.status_code, payload)
        template, op = find_operation(method, request.url.path)
        self.covered.add(op["operationId"])
        return payload


SECTION_8 = {
    "AuthenticateUserByName", "AuthenticateWithQuickConnect", "GetCurrentUser", "GetUsers", "GetUserById",
    "ReportSessionEnded", "GetKeys", "CreateKey", "GetQuickConnectEnabled", "InitiateQuickConnect",
    "GetQuickConnectState", "AuthorizeQuickConnect", "GetPublicSystemInfo", "GetSystemInfo", "GetConfiguration",
    "GetItems", "GetItem", "GetResumeItems", "GetEpisodes", "GetItemUserData", "UpdateItemUserData",
    "MarkPlayedItem", "MarkUnplayedItem", "GetSessions", "ReportPlaybackStart", "ReportPlaybackProgress",
    "ReportPlaybackStopped", "GetUserViews", "AddUserToSession",
}


@pytest.mark.parametrize("version", ["10.9.11", "10.10.7", "10.11.11"])
def test_every_section_8_operation_fits_the_spec(world_factory, version):
    w = world_factory(version)
    s = w.state
    s.set_user_data(w.alice, w.heat, position_ticks=20 * MIN, play_count=1, last_played=T0)
    s.set_user_data(w.alice, w.ep[(1, 2)], position_ticks=5 * MIN, last_played=T0)
    player = s.start_session(w.alice, now_playing_item_id=w.alien, position_ticks=3 * MIN)
    s.add_episode(w.wire, 1, 9, "Missing", runtime_ticks=50 * MIN, virtual=True)
    go = Driver(w)
    tok = w.alice_token

    go("GET", "/System/Info/Public")
    go("GET", "/System/Info", tok)
    go("GET", "/System/Configuration", tok)
    auth_result = go("POST", "/Users/AuthenticateByName", body={"Username": "alice", "Pw": "pw"},
                     headers=auth(device_id="spec-dev"))
    fresh = auth_result["AccessToken"]
    go("GET", "/Users/Me", fresh)
    go("GET", "/Users", tok)
    go("GET", f"/Users/{w.bob}", tok)
    go("GET", "/Auth/Keys", w.api_key)
    go("POST", "/Auth/Keys", w.api_key, params={"app": "spec"}, expect=204)
    go("GET", "/Auth/Keys", w.admin_token)

    go("GET", "/QuickConnect/Enabled")
    qc = go("POST", "/QuickConnect/Initiate", headers=auth(device_id="qc"))
    go("GET", "/QuickConnect/Connect", params={"secret": qc["Secret"]}, headers={})
    go("POST", "/QuickConnect/Authorize", tok, params={"code": qc["Code"], "userId": w.alice})
    go("POST", "/Users/AuthenticateWithQuickConnect", body={"Secret": qc["Secret"]}, headers=auth(device_id="qc"))

    go("GET", "/UserViews", tok, params={"userId": w.alice})
    items = go("GET", "/Items", tok, params={"userId": w.alice, "recursive": "true",
                                             "includeItemTypes": "Movie,Episode,Series,Season",
                                             "fields": "ProviderIds,Path,DateCreated,SortName,ParentId",
                                             "enableImages": "false", "isMissing": "false",
                                             "sortBy": "SortName,ProductionYear", "sortOrder": "Ascending",
                                             "startIndex": "0", "limit": "50", "enableTotalRecordCount": "false"})
    assert {i["Type"] for i in items["Items"]} == {"Movie", "Episode", "Series", "Season"}
    go("GET", "/Items", w.api_key, params={"recursive": "true", "filters": "IsResumable"})
    go("GET", "/Items", tok, params={"ids": f"{w.heat},{w.alien}", "fields": "ProviderIds,MediaSources"})
    go("GET", "/Items", tok)  # the user's views at the root
    go("GET", f"/Items/{w.heat}", tok, params={"userId": w.alice})
    go("GET", f"/Items/{w.wire}", tok, params={"userId": w.alice})
    go("GET", "/UserItems/Resume", tok, params={"userId": w.alice, "includeItemTypes": "Movie,Episode",
                                                "fields": "ProviderIds", "enableImages": "false", "limit": "200",
                                                "excludeActiveSessions": "true"})
    go("GET", f"/Shows/{w.wire}/Episodes", tok, params={"userId": w.alice, "fields": "ProviderIds", "season": "1",
                                                         "enableImages": "false"})
    virtual = go("GET", f"/Shows/{w.wire}/Episodes", w.api_key, params={"userId": w.alice, "season": "1"})
    assert "Virtual" in {i["LocationType"] for i in virtual["Items"]}
    go("GET", f"/UserItems/{w.heat}/UserData", tok, params={"userId": w.alice})
    go("POST", f"/UserItems/{w.heat}/UserData", tok, params={"userId": w.alice},
       body={"PlaybackPositionTicks": 30 * MIN, "LastPlayedDate": "2026-11-20T21:00:00.0000000Z"})
    go("POST", f"/UserPlayedItems/{w.aliens}", tok, params={"userId": w.alice, "datePlayed": "2026-11-20T21:00:00Z"})
    go("DELETE", f"/UserPlayedItems/{w.aliens}", tok, params={"userId": w.alice})

    go("POST", f"/Sessions/{player}/User/{w.bob}", w.admin_token, expect=204)
    sessions = go("GET", "/Sessions", w.api_key, params={"activeWithinSeconds": "600"})
    assert any("NowPlayingItem" in x and x["AdditionalUsers"] and x["PlayState"]["MediaSourceId"] for x in sessions)
    go("POST", "/Sessions/Playing", tok, body={"ItemId": w.heat, "PositionTicks": 0}, expect=204)
    go("POST", "/Sessions/Playing/Progress", tok, body={"ItemId": w.heat, "PositionTicks": 31 * MIN}, expect=204)
    go("POST", "/Sessions/Playing/Stopped", tok, body={"ItemId": w.heat, "PositionTicks": 32 * MIN}, expect=204)
    go("POST", "/Sessions/Logout", fresh, expect=204)

    missing = SECTION_8 - go.covered
    assert not missing, f"operations not driven: {sorted(missing)}"


def test_validator_catches_real_mistakes():
    with pytest.raises(AssertionError, match="AnyProviderIdEquals"):
        validate_request("GET", "/Items?AnyProviderIdEquals=imdb.tt1", {"Authorization": 'MediaBrowser Token="x"'})
    with pytest.raises(AssertionError, match="Token"):
        validate_request("GET", "/Items?recursive=true", {})
    with pytest.raises(AssertionError, match="not one of"):
        validate_request("GET", "/Items?includeItemTypes=Movie,Film", {"Authorization": 'MediaBrowser Token="x"'})
    with pytest.raises(AssertionError, match="Additional properties"):
        validate_response("GET", "/UserItems/abc/UserData", 200, {"PlaybackPositionTicks": 1, "Bogus": 2})
    with pytest.raises(AssertionError, match="is not of type"):
        validate_response("GET", "/Items/{itemId}", 200, {"Id": "f" * 32, "RunTimeTicks": "long"})
    with pytest.raises(LookupError):
        find_operation("GET", "/Users/abc/Items/Resume")  # a legacy route: absent from the spec
    # the uuid format accepts the 32-hex form the server writes, and rejects junk
    assert validate_schema({"type": "string", "format": "uuid"}, "f137a2dd21bbc1b99aa5c0f6bf02a805") == []
    assert validate_schema({"type": "string", "format": "uuid"}, "f137a2dd-21bb-c1b9-9aa5-c0f6bf02a805") == []
    assert validate_schema({"type": "string", "format": "uuid"}, "nope")
    assert validate_schema({"type": "string", "format": "date-time"}, "2026-11-20T19:04:11.1234567Z") == []
