"""The `together` barrier: requests answered only once several are in at the same time (a client's concurrency)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.emulator.conftest import auth


def test_requests_sent_together_meet_the_barrier_and_are_answered(world):
    barrier = world.emu.faults.together(r"^/System/Info$", 3)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: httpx.get(world.emu.url + "/System/Info", headers=auth(world.alice_token),
                                                    timeout=10), range(3)))
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert barrier.met and barrier.arrived == 3
    assert world.get("/System/Info", world.alice_token).status_code == 200  # spent: later requests pass freely


def test_a_lone_request_is_answered_after_the_bound_and_leaves_the_barrier_unmet(world):
    barrier = world.emu.faults.together(r"^/System/Info$", 2, seconds=0)
    assert world.get("/Users/Me", world.alice_token).status_code == 200  # another path: not counted
    assert world.get("/System/Info", world.alice_token).status_code == 200
    assert (barrier.arrived, barrier.met) == (1, False)
    world.emu.faults.clear()
    assert world.emu.faults.decide_together("/System/Info") is None
