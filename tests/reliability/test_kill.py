"""SIGKILL in the middle of `cwtui apply`: the journal left behind is enough for `cwtui undo` to restore everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from cwtui.cli import main

from .helpers import destination_state, varied_library

ITEMS = 90


def test_sigkill_mid_apply_then_undo_restores_the_destination(make_pair, capsys):
    pair = make_pair(remove=True, replay_watched=True)
    lib = varied_library(pair, ITEMS)
    pair.destination.emulator.faults.latency_ms = 15  # slow enough to be killed mid-run
    proc = subprocess.Popen([sys.executable, "-m", "cwtui", "apply", pair.pair_name, "--yes", "--json",
                             "--concurrency", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    lines = []
    try:
        while len(lines) < 12:
            line = proc.stdout.readline()
            assert line, f"apply ended early: {proc.stderr.read()}"
            lines.append(json.loads(line))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.2)  # requests the dead process had in flight finish on the server
    pair.destination.emulator.faults.latency_ms = 0

    record = pair.journal.latest_written()
    assert record is not None and not record.complete, "the killed run should be an incomplete run that wrote"
    written = destination_state(pair, lib.destination_ids)
    assert any(written[i] != lib.before[i] for i in lib.destination_ids)
    assert all(line["status"] in ("applied", "skipped") for line in lines)

    code = main(["undo", "--yes", "--json"])
    out, err = capsys.readouterr()
    summary = json.loads(out.splitlines()[-1])
    assert code == 0, err
    assert summary["undo_of"] == record.run_id and "failed" not in summary["summary"]
    assert destination_state(pair, lib.destination_ids) == lib.before
