"""Faults over real HTTP during a 200-item apply at concurrency 4: 5xx, drops, timeouts, HTML, a revoked token, the
server going away. After each: journal, results and server agree item by item; no write reached the server before
its intent was on disk; a rerun finishes the job; undoing both runs gives back the destination exactly."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from cwtui.core.config_model import ServerEntry
from cwtui.core.errors import CwtuiError
from cwtui.core.models import Status
from cwtui.core.sync import PairSync, open_undo

from .helpers import WatchedJournal, check_run_agrees, destination_state, fast_client_factory, varied_library

pytestmark = pytest.mark.anyio
ITEMS = 200
CONCURRENCY = 4


class Hooked:
    """A client factory whose destination client calls `on_write(n)` before its n-th write request (1-based)."""

    def __init__(self, pair, on_write: Callable[[int], None] | None = None) -> None:
        self.pair = pair
        self.on_write = on_write
        self.writes = 0

    def __call__(self, entry: ServerEntry, device_id: str):
        client = fast_client_factory(entry, device_id)
        if entry.name != "cabin" or self.on_write is None:
            return client
        hook = self

        def wrap(name: str) -> None:
            real = getattr(client, name)

            async def call(*args, **kwargs):
                hook.writes += 1
                hook.on_write(hook.writes)
                return await real(*args, **kwargs)

            setattr(client, name, call)

        for name in ("write_user_data", "mark_unplayed"):
            wrap(name)
        return client


async def apply_once(pair, journal, factory):
    """One apply; returns (run, results, the error that stopped it or None)."""
    results, error = [], None
    async with PairSync(pair.config, pair.pair_name, journal, client_factory=factory) as sync:
        plan = await sync.plan()
        run = sync.start_apply(plan, concurrency=CONCURRENCY)
        try:
            async for result in run.results():
                results.append(result)
        except CwtuiError as exc:
            error = exc
    return run, results, error


async def undo(pair, journal, run_id):
    record = journal.load(run_id)
    runner = await open_undo(pair.config, journal, record, client_factory=fast_client_factory)
    try:
        return [r async for r in runner.results()]
    finally:
        await runner.client.aclose()


def settle(emulator, quiet: float = 0.3, limit: float = 5.0) -> None:
    """Wait until hung requests have finished on the server (the log stops growing)."""
    deadline = time.monotonic() + limit
    count = -1
    while time.monotonic() < deadline:
        if emulator.request_count == count:
            return
        count = emulator.request_count
        time.sleep(quiet)


def revoke_at(n_write: int):
    def setup(pair):
        def hook(n):
            if n == n_write:
                pair.destination.state.revoke_token(pair.destination.token)
        return hook

    def heal(pair):
        d = pair.destination
        d.token = d.state.issue_token(d.user_id, device_id="cwtui-test-device")
        entry = pair.config.server("cabin")
        pair.config_file.save_server(ServerEntry(entry.name, entry.url, entry.user_id, entry.user_name, d.token))
    return setup, heal


def gone_at(n_write: int):
    """The destination stops: new connections are refused and kept-alive ones get dropped."""
    def setup(pair):
        def hook(n):
            if n == n_write:
                pair.destination.emulator.faults.drop_next(10**9)
                pair.destination.emulator.stop()
        return hook

    def heal(pair):
        emu = pair.destination.emulator
        emu.faults.clear()
        emu.start()
    return setup, heal


def knob(n_write: int, inject: Callable):
    def setup(pair):
        def hook(n):
            if n == n_write:
                inject(pair.destination.emulator.faults)
        return hook
    return setup, None


SCENARIOS = {
    "5xx on writes": knob(20, lambda f: f.fail_matching(r"/UserItems/.*/UserData$", 500, count=12, method="POST")),
    "5xx on reads": knob(30, lambda f: f.fail_matching(r"^/Items$", 500, count=2, method="GET")),
    "503 then recovery": knob(40, lambda f: f.fail_next(5, 503)),
    "dropped connections": knob(25, lambda f: f.drop_next(6)),
    "timeouts (write lands late)": knob(35, lambda f: f.hang_next(4, seconds=0.8)),
    "HTML page instead of JSON": knob(45, lambda f: f.html_next(5)),
    "token revoked halfway": revoke_at(70),
    "server goes away": gone_at(60),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_fault_mid_apply_keeps_journal_results_and_server_in_step(make_pair, scenario):
    pair = make_pair(remove=True, replay_watched=True)
    lib = varied_library(pair, ITEMS)
    emu = pair.destination.emulator
    journal = WatchedJournal(pair.state_dir, emu)
    setup, heal = SCENARIOS[scenario]

    emu.reset_requests()
    first, results, error = await apply_once(pair, journal, Hooked(pair, setup(pair)))
    settle(emu) if emu._server is not None else None
    if heal:
        heal(pair)
    record = journal.load(first.run_id)
    problems = check_run_agrees(record, results, lib.before, destination_state(pair, lib.destination_ids),
                                emu.requests, journal.intent_marks[first.run_id])
    assert problems == [], f"{scenario}: " + "; ".join(problems[:5])
    if error is None:
        assert len(results) == len(first.tasks) and record.complete
    hurt = [r for r in results if r.status in (Status.FAILED, Status.SKIPPED) and r.reason.value in
            ("write_failed", "read_failed", "verify_mismatch", "session_check_failed")]
    assert hurt or error, f"{scenario}: the fault never bit"

    # A rerun without faults completes the job: nothing fails and nothing is left to write.
    mid = destination_state(pair, lib.destination_ids)
    start = emu.request_count
    second, results2, error2 = await apply_once(pair, journal, Hooked(pair))
    assert error2 is None
    assert [r for r in results2 if r.status is Status.FAILED] == []
    problems = check_run_agrees(journal.load(second.run_id), results2, mid,
                                destination_state(pair, lib.destination_ids), emu.requests,
                                journal.intent_marks[second.run_id], first_request=start)
    assert problems == [], f"{scenario} rerun: " + "; ".join(problems[:5])
    async with PairSync(pair.config, pair.pair_name, journal, client_factory=fast_client_factory) as sync:
        assert (await sync.plan()).writes == ()

    # Undo, newest run first, gives back the destination exactly as it was before the first apply.
    for run in (second, first):
        undone = await undo(pair, journal, run.run_id)
        assert [r for r in undone if r.status is Status.FAILED] == [], f"{scenario}: undo of {run.run_id} failed"
    after = destination_state(pair, lib.destination_ids)
    changed = {i: (lib.before[i], after[i]) for i in lib.destination_ids if after[i] != lib.before[i]}
    assert changed == {}, f"{scenario}: {len(changed)} items not restored, e.g. {next(iter(changed.items()))}"
