"""`cwtui demo` in a real terminal (tmux), as a newcomer would run it: no mouse, NO_COLOR, 80x24."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.terminal import Tmux, require_tmux

SESSION = f"cwtui-test-{os.getpid()}"
"""One session per test process: helpers and CI running at once must not share (or kill) a session."""


_term = Tmux(SESSION)
_tmux, _screen, _wait_for = _term.run, _term.screen, _term.wait_for


@pytest.fixture
def tmux_demo(tmp_path):
    require_tmux()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cwtui = Path(sys.executable).with_name("cwtui")
    command = f"TMPDIR={tmpdir} NO_COLOR=1 TERM=xterm-256color {cwtui} demo; echo EXITED $?; sleep 30"
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    started = time.monotonic()
    _tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command)
    try:
        yield tmpdir, started
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def test_demo_in_tmux_plans_dry_runs_and_cleans_up(tmux_demo):
    tmpdir, started = tmux_demo
    screen = _wait_for("Plan ready")
    print(f"start-up to a planned diff in tmux: {time.monotonic() - started:.2f} s")
    assert "→ write" in screen and "✗ clear" in screen  # the action is a word, not only a colour
    assert "Sherlock Holmes" in screen

    _tmux("send-keys", "-t", SESSION, "f")  # next filter: skipped rows
    _wait_for("skipped: 10", timeout=10)
    _tmux("send-keys", "-t", SESSION, "f", "f", "f", "f")  # back round to "will change"

    _tmux("send-keys", "-t", SESSION, "a")
    _wait_for("DRY RUN")  # the apply panel opens in dry run
    _tmux("send-keys", "-t", SESSION, "Enter")
    screen = _wait_for("finished")
    assert "active_session" in screen

    _tmux("send-keys", "-t", SESSION, "C-q")
    _wait_for("EXITED 0")
    assert list(tmpdir.iterdir()) == []  # the demo removed its throwaway config and journal


def test_keys_typed_in_a_burst_across_tab_land_in_their_fields(tmux_demo):
    """A paste or a laggy link delivers name, Tab, address, … in one read: each part must reach its own field."""
    _wait_for("Plan ready")
    _tmux("send-keys", "-t", SESSION, "Escape")
    _wait_for("Pairs", timeout=10)
    _tmux("send-keys", "-t", SESSION, "s")
    _wait_for("Add a server", timeout=10)
    _tmux("send-keys", "-t", SESSION, "myserver", "Tab", "http://127.0.0.1:1", "Tab", "Tab", "Tab", "someone")
    screen = _wait_for("someone", timeout=10)
    lines = [line.strip(" █▌") for line in screen.splitlines()]
    assert "myserver" in lines and "http://127.0.0.1:1" in lines and "someone" in lines
    _tmux("send-keys", "-t", SESSION, "C-q")
    _wait_for("EXITED 0")
