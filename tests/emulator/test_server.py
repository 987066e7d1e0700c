"""The HTTP layer: keep-alive speed, routing rules, JSON form, dates, fault knobs and request records."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import httpx
import pytest

from cwtui.emulator import Emulator, EmulatorState
from cwtui.emulator.dto import format_date, norm_guid, parse_date
from tests.emulator.conftest import auth


def test_fifty_kept_alive_requests_are_fast(world):
    world.get("/System/Ping")  # open the connection
    started = time.perf_counter()
    for _ in range(50):
        assert world.get("/Users/Me", world.alice_token).status_code == 200
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"50 kept-alive requests took {elapsed:.2f}s (TCP_NODELAY missing?)"
    ports = {r.headers.get("host") for r in world.emu.requests}
    assert len(ports) == 1


def test_json_form(world):
    r = world.get("/Users/Me", world.alice_token)
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert b": " not in r.content and b", " not in r.content  # compact
    assert b"null" not in r.content  # nulls omitted
    assert int(r.headers["content-length"]) == len(r.content)


def test_unknown_route_404_wrong_method_405(world):
    assert world.get("/Nope", world.alice_token).status_code == 404
    r = world.delete("/System/Info/Public")
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_paths_are_case_insensitive_and_prefix_stripped_before_12(world, world_factory):
    r = world.http.post("/users/authenticatebyname", json={"Username": "alice", "Pw": "pw"}, headers=auth())
    assert r.status_code == 200
    assert world.get("/emby/System/Info/Public").status_code == 200
    assert world.get("/MediaBrowser/system/info/public").status_code == 200
    v12 = world_factory("12.0.0")
    assert v12.get("/emby/System/Info/Public").status_code == 404
    assert v12.get("/System/Info/Public").json()["Version"] == "12.0.0"


def test_dates_and_guids():
    assert format_date(datetime(2026, 11, 20, 19, 4, 11, 123456, tzinfo=UTC)) == "2026-11-20T19:04:11.123456Z"
    assert format_date(datetime(2026, 11, 20, 19, 4, 11, 981530, tzinfo=UTC)) == "2026-11-20T19:04:11.98153Z"
    assert format_date(datetime(2026, 11, 20, 19, 4, 11, tzinfo=UTC)) == "2026-11-20T19:04:11.0000000Z"
    assert format_date(datetime(2026, 11, 20, 19, 4, 11, 500, tzinfo=UTC)) == "2026-11-20T19:04:11.0005000Z"
    assert parse_date("2026-11-20T19:04:11.1234567Z") == datetime(2026, 11, 20, 19, 4, 11, 123456, tzinfo=UTC)
    assert parse_date("2026-11-20T21:04:11+02:00") == datetime(2026, 11, 20, 19, 4, 11, tzinfo=UTC)
    assert parse_date("20261120190411") == datetime(2026, 11, 20, 19, 4, 11, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_date("yesterday")
    assert norm_guid("F137A2DD-21BB-C1B9-9AA5-C0F6BF02A805") == "f137a2dd21bbc1b99aa5c0f6bf02a805"
    assert norm_guid("xyz") is None


def test_fail_next(world):
    world.emu.faults.fail_next(2, status=500)
    for _ in range(2):
        r = world.get("/System/Info/Public")
        assert r.status_code == 500 and r.text == "Error processing request."
    assert world.get("/System/Info/Public").status_code == 200
    world.emu.faults.fail_next(1, status=404)
    r = world.get("/System/Info/Public")
    assert r.status_code == 404 and r.json()["status"] == 404


def test_drop_next_closes_without_answer(world):
    world.emu.faults.drop_next(2)
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            world.get("/System/Info/Public")
    assert world.get("/System/Info/Public").status_code == 200
    assert [r.status for r in world.emu.requests][:2] == [0, 0]


def test_html_next_and_starting_up(world):
    world.emu.faults.html_next(1)
    r = world.get("/System/Info/Public")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        r.json()
    world.emu.faults.starting_up = True
    r = world.get("/System/Info/Public")
    assert r.status_code == 503 and "text/html" in r.headers["content-type"]
    assert world.get("/System/Ping").status_code == 200
    assert world.get("/emby/System/Ping").status_code == 200
    world.emu.faults.starting_up = False
    assert world.get("/System/Info/Public").status_code == 200


def test_hang_next_makes_a_client_time_out_and_latency_delays(world):
    world.emu.faults.hang_next(1, seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        world.http.get("/System/Ping", timeout=0.2)
    assert world.http.get("/System/Ping", timeout=2).status_code == 200
    world.emu.faults.latency_ms = 60
    started = time.perf_counter()
    world.get("/System/Ping")
    assert time.perf_counter() - started >= 0.06


def test_latency_keeps_concurrency(world):
    world.emu.faults.latency_ms = 200
    results: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=world.emu.url) as c:
            results.append(c.get("/System/Ping").status_code)

    threads = [threading.Thread(target=call) for _ in range(5)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 5
    assert time.perf_counter() - started < 0.8  # 5 x 200 ms in parallel, not in series


def test_fail_matching_targets_method_and_path(world):
    world.emu.faults.fail_matching(r"/UserData$", 500, count=1, method="POST")
    url = f"/UserItems/{world.heat}/UserData"
    assert world.get(url, world.alice_token).status_code == 200  # GET is not matched
    assert world.post(url, world.alice_token, json={"PlaybackPositionTicks": 5}).status_code == 500
    assert world.state.get_user_data(world.alice, world.heat).position_ticks == 0  # the write never happened
    assert world.post(url, world.alice_token, json={"PlaybackPositionTicks": 5}).status_code == 200


def test_request_records(world):
    world.emu.reset_requests()
    world.post(f"/UserItems/{world.heat}/UserData", world.alice_token, params={"userId": world.alice},
               json={"PlaybackPositionTicks": 5})
    world.get("/Nope")
    assert world.emu.request_count == 2
    rec = world.emu.requests[0]
    assert rec.method == "POST" and rec.path == f"/UserItems/{world.heat}/UserData"
    assert rec.query == {"userId": [world.alice]} and rec.status == 200
    assert b"PlaybackPositionTicks" in rec.body and "MediaBrowser" in rec.headers["authorization"]
    assert world.emu.requests[1].status == 404
    world.emu.reset_requests()
    assert world.emu.request_count == 0


def test_context_manager_and_two_servers():
    a, b = EmulatorState("A"), EmulatorState("B", version="10.10.7")
    with Emulator(a) as ea, Emulator(b) as eb:
        assert ea.url != eb.url
        assert httpx.get(ea.url + "/System/Info/Public").json()["ServerName"] == "A"
        assert httpx.get(eb.url + "/System/Info/Public").json()["Version"] == "10.10.7"
    with pytest.raises(httpx.ConnectError):
        httpx.get(ea.url + "/System/Ping", timeout=1)


def test_stop_cuts_kept_alive_connections(world):
    assert world.get("/System/Ping").status_code == 200
    world.emu.stop()
    with pytest.raises(httpx.TransportError):
        world.get("/System/Ping")


def test_secrets_stay_out_of_reprs(world):
    user = world.state.users[world.alice]
    token = world.state.tokens[world.alice_token]
    assert "pw" not in repr(user).replace("password", "")
    assert world.alice_token not in repr(token) and world.api_key not in repr(world.state.tokens[world.api_key])
