"""Faults AFTER the handler: the request takes effect but its answer is lost or bad (what a proxy in front does)."""

from __future__ import annotations

import httpx
import pytest

from tests.emulator.conftest import MIN


def _write(w, ticks: int) -> httpx.Response:
    return w.post(f"/UserItems/{w.heat}/UserData", w.alice_token, json={"PlaybackPositionTicks": ticks})


@pytest.mark.parametrize("status", [500, 502, 504])
def test_status_after_the_write_landed(world, status):
    world.emu.faults.after_next(status, path_regex=r"/UserData$", method="POST")
    r = _write(world, 12 * MIN)
    assert r.status_code == status
    assert world.state.get_user_data(world.alice, world.heat).position_ticks == 12 * MIN  # it landed anyway
    assert _write(world, 13 * MIN).status_code == 200  # count=1: the next one answers normally


def test_html_page_with_200_after_the_write(world):
    world.emu.faults.after_next("html")
    r = _write(world, 5 * MIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert world.state.get_user_data(world.alice, world.heat).position_ticks == 5 * MIN


def test_drop_after_the_handler_ran(world):
    world.emu.faults.after_next("drop", path_regex="/UserPlayedItems/")
    with pytest.raises(httpx.TransportError):
        world.post(f"/UserPlayedItems/{world.heat}", world.alice_token)
    assert world.state.get_user_data(world.alice, world.heat).played is True
    assert world.emu.requests[-1].status == 0  # recorded as dropped


def test_hang_after_the_handler_ran(world):
    world.emu.faults.after_next("hang", seconds=30)
    with pytest.raises(httpx.ReadTimeout):
        world.http.post(f"/UserItems/{world.heat}/UserData", json={"PlaybackPositionTicks": 9 * MIN},
                        headers=_h(world), timeout=0.3)
    assert world.emu.faults.wait_after_applied(1)
    assert world.state.get_user_data(world.alice, world.heat).position_ticks == 9 * MIN


def test_after_faults_match_path_and_method_and_count(world):
    faults = world.emu.faults
    faults.after_next(502, count=2, path_regex=r"/UserData$", method="POST")
    assert world.get(f"/UserItems/{world.heat}/UserData", world.alice_token).status_code == 200  # GET: untouched
    assert world.get("/System/Info", world.alice_token).status_code == 200
    assert [_write(world, n * MIN).status_code for n in (1, 2, 3)] == [502, 502, 200]
    assert faults.after_applied == 2
    faults.after_next(500)
    faults.clear()
    assert _write(world, 4 * MIN).status_code == 200
    with pytest.raises(ValueError):
        faults.after_next("explode")


def test_before_faults_still_stop_the_handler(world):
    world.emu.faults.fail_next(1, 502)
    assert _write(world, 20 * MIN).status_code == 502
    assert world.state.get_user_data(world.alice, world.heat).position_ticks == 0  # never reached the handler


def _h(world):
    from tests.emulator.conftest import auth

    return auth(world.alice_token)
