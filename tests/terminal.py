"""A real terminal for tests: one tmux session, read by polling its screen (a terminal sends no events)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest


def require_tmux() -> None:
    """Skip where tmux is missing; in CI (which installs it) its absence is a failure."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is needed for the real-terminal tests (.ci/run installs it)")
        pytest.skip("tmux is not installed on this machine")


class Tmux:
    """One named session (name it per test process: runs at once must not share or kill a session)."""

    def __init__(self, session: str, *, join_lines: bool = False) -> None:
        self.session = session
        self.join_lines = join_lines

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-t", self.session, "-p", *(("-J",) if self.join_lines else ()))

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # polls the terminal for a condition; bounded
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{self.screen()}")
