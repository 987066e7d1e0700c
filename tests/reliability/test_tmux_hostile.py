"""In a real terminal (tmux): an emulator item title and server name holding escape sequences (OSC 52 clipboard
write, clear screen, OSC 8 link, OSC 0 window title) never reach the terminal as control, and a crash shows one
sentence (no token) and exits non-zero. Every byte the TUI writes is recorded with `tmux pipe-pane`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.terminal import Tmux, require_tmux

from cwtui.core.config import ConfigFile
from cwtui.core.errors import EXIT_CRASH

SESSION = f"cwtui-hostile-{os.getpid()}"
PAYLOAD = "aGFja2VkIGNsaXBib2FyZA=="  # base64 of "hacked clipboard"
TITLE = f"\x1b]52;c;{PAYLOAD}\x07Evil \x1b[2J\x1b]8;;http://evil.test/\x1b\\link\x1b]8;;\x1b\\ [b]x[/b]"

LAUNCHER = f"""
import sys
from pathlib import Path

from cwtui.core.config import ConfigFile
from cwtui.core.config_model import PairEntry, ServerEntry
from cwtui.core.models import ProgressSettings
from cwtui.emulator import Emulator, EmulatorState
from cwtui.ui.app import run_tui

tmp, mode = Path(sys.argv[1]), sys.argv[2]
cf = ConfigFile(tmp / "config.toml")
cf.ensure_device_id()
emulators = []
for name, server_name in (("home", "Home\\x1b]0;pwned title\\x07"), ("cabin", "Cabin")):
    state = EmulatorState(server_name=server_name, version="10.11.11")
    uid = state.add_user("alice", password="pw")
    token = state.issue_token(uid, device_id="tmux")
    lib = state.add_library("Movies", "movies")
    item = state.add_movie(lib, {TITLE!r}, runtime_ticks=100 * 60 * 10**7, provider_ids={{"Imdb": "tt1"}})
    if name == "home":
        state.set_user_data(uid, item, position_ticks=30 * 60 * 10**7)
    emulator = Emulator(state).start()
    emulators.append(emulator)
    cf.save_server(ServerEntry(name, emulator.url, uid, "alice", token))
cf.save_pair(PairEntry("p", "home", "cabin", ProgressSettings(min_seconds=0)))
if mode == "crash":
    from cwtui.core.jellyfin import JellyfinClient

    async def broken(self, *args, **kwargs):
        raise KeyError(f"token {{self.token}} broke the plan")

    JellyfinClient.resume_items = broken
try:
    code = run_tui(tmp / "config.toml", open_pair="p")
finally:
    for emulator in emulators:
        emulator.stop()
sys.exit(code)
"""


_term = Tmux(SESSION, join_lines=True)
_tmux, _screen, _wait_for = _term.run, _term.screen, _term.wait_for


@pytest.fixture
def tui_in_tmux(tmp_path):
    require_tmux()
    (tmp_path / "launcher.py").write_text(LAUNCHER)
    raw = tmp_path / "raw.out"

    def start(mode: str) -> Path:
        command = (f"read go; CWTUI_STATE_DIR={tmp_path}/state NO_COLOR=1 TERM=xterm-256color "
                   f"{sys.executable} {tmp_path}/launcher.py {tmp_path} {mode}; echo EXITED $?; sleep 60")
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        _tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "30", command)
        _tmux("set-option", "-t", SESSION, "set-clipboard", "on")
        _tmux("pipe-pane", "-t", SESSION, "-o", f"cat > {raw}")  # every byte from here on
        _tmux("send-keys", "-t", SESSION, "Enter")
        return raw

    try:
        yield start, tmp_path
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def test_escape_sequences_in_server_text_never_reach_a_real_terminal(tui_in_tmux):
    start, _ = tui_in_tmux
    raw_path = start("plain")
    _wait_for("Evil link [b]x[")  # the markup shows as text; at 80 columns the title cell ends in an ellipsis
    title = _tmux("display-message", "-t", SESSION, "-p", "#{pane_title}")
    _tmux("send-keys", "-t", SESSION, "C-q")
    _wait_for("EXITED 0")
    raw = raw_path.read_bytes()
    assert b"Evil link" in raw
    for bad in (PAYLOAD.encode(), b"\x1b]52", b"evil.test", b"\x1b]8;;http", b"pwned title", b"Evil \x1b[2J"):
        assert bad not in raw, bad
    assert "pwned" not in title
    assert PAYLOAD not in subprocess.run(["tmux", "list-buffers"], capture_output=True, text=True).stdout


def test_a_crash_in_a_real_terminal_shows_one_sentence_and_no_token(tui_in_tmux):
    start, tmp_path = tui_in_tmux
    start("crash")
    screen = _wait_for("EXITED")
    assert f"EXITED {EXIT_CRASH}" in screen
    flat = " ".join(screen.split())
    assert "cwtui stopped on an unexpected error (KeyError)" in flat and "Traceback" not in screen
    tokens = [s.token for s in ConfigFile(tmp_path / "config.toml").load().servers.values()]
    log_text = (tmp_path / "state" / "cwtui.log").read_text()
    assert "KeyError" in log_text and "Traceback (most recent call last)" in log_text
    for token in tokens:
        assert token and token not in screen and token not in log_text
