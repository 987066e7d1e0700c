"""`cwtui demo` in a real terminal (tmux), as a newcomer would run it: no mouse, NO_COLOR, 80x24."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SESSION = "cwtui-test"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def _screen() -> str:
    return _tmux("capture-pane", "-t", SESSION, "-p")


def _wait_for(text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen()
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear; the screen was:\n{_screen()}")


@pytest.fixture
def tmux_demo(tmp_path):
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is needed for the real-terminal test (.ci/run installs it)")
        pytest.skip("tmux is not installed on this machine")
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
    _wait_for("LIVE RUN")
    _tmux("send-keys", "-t", SESSION, "d")
    _wait_for("DRY RUN")
    _tmux("send-keys", "-t", SESSION, "Enter")
    screen = _wait_for("finished")
    assert "active_session" in screen

    _tmux("send-keys", "-t", SESSION, "C-q")
    _wait_for("EXITED 0")
    assert list(tmpdir.iterdir()) == []  # the demo removed its throwaway config and journal
