"""Ctrl+C (SIGINT) in the middle of `cwtui apply`: in-flight writes finish, the rest are reported cancelled, the run
is closed in the journal as cancelled, and journal, output and server agree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from .helpers import destination_state, varied_library

ITEMS = 90


def test_ctrl_c_cancels_safely(make_pair):
    pair = make_pair(remove=True, replay_watched=True)
    lib = varied_library(pair, ITEMS)
    pair.destination.emulator.faults.latency_ms = 15
    proc = subprocess.Popen([sys.executable, "-m", "cwtui", "apply", pair.pair_name, "--yes", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    lines = []
    try:
        while len(lines) < 8:
            line = proc.stdout.readline()
            assert line, f"apply ended early: {proc.stderr.read()}"
            lines.append(json.loads(line))
        os.kill(proc.pid, signal.SIGINT)
        rest, err = proc.stdout.read(), proc.stderr.read()  # not communicate(): it skips what readline buffered
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines += [json.loads(line) for line in rest.splitlines()]
    pair.destination.emulator.faults.latency_ms = 0
    final = lines[-1]
    results = lines[:-1]
    assert proc.returncode == 4, err  # a cancelled run has its own exit code
    assert final["cancelled"] is True and final["summary"].get("cancelled", 0) > 0
    assert f"Cancelled: {final['summary']['cancelled']} items were not written" in err
    assert sum(final["summary"].values()) == len(results)

    record = pair.journal.load(final["run_id"])
    assert record.complete and record.cancelled
    journaled = {(r.key, r.item_id): r.status for r in record.results}
    reported = {(r["key"], r["destination_item_id"]): r["status"] for r in results}
    assert journaled == reported
    now = destination_state(pair, lib.destination_ids)
    written = {r["destination_item_id"] for r in results if r["status"] == "applied"}
    untouched = {r["destination_item_id"] for r in results if r["status"] == "cancelled"}
    assert all(now[i] != lib.before[i] for i in written)
    assert all(now[i] == lib.before[i] for i in untouched)
