"""`cwtui apply ... | head -1` and a second Ctrl+C: the run never ends half done without a journal and a message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from cwtui.core.journal import Journal

from .helpers import varied_library

ITEMS = 120


def test_a_closed_output_cancels_the_run_and_leaves_a_complete_journal(make_pair):
    pair = make_pair(remove=True, replay_watched=True)
    varied_library(pair, ITEMS)
    proc = subprocess.Popen([sys.executable, "-m", "cwtui", "apply", pair.pair_name, "--yes", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    first = proc.stdout.readline()  # what `head -1` reads, then it closes the pipe
    assert first, proc.stderr.read()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 4, err
    assert "Traceback" not in err and "output was closed" in err
    journal = Journal(pair.state_dir)
    [run] = [s for s in journal.list_runs() if s.kind == "apply"]
    assert run.complete and run.cancelled and run.problem is None
    assert "broken pipe" in (pair.state_dir / "cwtui.log").read_text()


def test_a_second_ctrl_c_stops_at_once_and_undo_still_sees_every_write(make_pair):
    pair = make_pair(remove=True, replay_watched=True)
    varied_library(pair, 60)
    faults = pair.destination.emulator.faults
    faults.after_next("hang", count=10**6, path_regex=r"/UserItems/.*/UserData$", method="POST", seconds=60)
    proc = subprocess.Popen([sys.executable, "-m", "cwtui", "apply", pair.pair_name, "--yes", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert faults.wait_after_applied(1, timeout=60)  # a write has landed; its answer never comes
        os.kill(proc.pid, signal.SIGINT)
        for _ in range(50):  # the first Ctrl+C is acknowledged before the second is sent
            line = proc.stderr.readline()
            if not line or "Cancelling" in line:
                break
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)  # at once: not after the 60 s answers or the cancel's grace
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        faults.clear()
    assert proc.returncode == 4, err
    assert "stopped at once" in err and "cwtui undo" in err and "Traceback" not in err
    record = Journal(pair.state_dir).latest_written()
    assert record is not None and record.intents and not record.complete
    assert all(i.may_have_landed for i in record.intents)  # undo will look at every one of them
