"""Hostile servers, broken environments, careless hands, through the real `cwtui` command: one clear line on
stderr (never a traceback, never twice), exit 2 for config/usage and 3 for a server problem, and no server
text ever reaching the terminal as control."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cwtui.cli import main

from .helpers import MIN, at

HOSTILE_TITLE = "\x1b]52;c;aGFja2VkIGNsaXBib2FyZA==\x07Evil \x1b[2J\x1b]8;;http://evil.test/\x1b\\link\x1b]8;;\x1b\\ [b]x[/b]"
CONTROL = ("\x1b", "\x07", "\x9b", "\x9d")


def cwtui(*argv: str, env: dict[str, str] | None = None, stdin: str = "") -> tuple[int, str, str]:
    """`python -m cwtui ARGV` in a fresh process with the test's config and state dirs."""
    full_env = {**os.environ, **(env or {})}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE"):
        if name not in (env or {}):
            full_env.pop(name, None)
            full_env.pop(name.lower(), None)
    proc = subprocess.run([sys.executable, "-m", "cwtui", *argv], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err and lines[0].startswith("cwtui: ")
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def json_server(body: bytes) -> Iterator[str]:
    """A tiny server on 127.0.0.1 that answers every GET with `body` as JSON."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- one line, the right exit code ---------------------------------------------------------------------


def test_a_config_error_is_printed_once(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[servers.x\n")
    for command in (["servers"], ["pairs"], ["plan", "p"]):
        code, out, err = cwtui("--config", str(bad), *command)
        assert code == 2 and str(bad) in one_line(err), (command, err)


def test_a_run_id_too_long_for_a_file_name_is_a_usage_error(tmp_path):
    (tmp_path / "state" / "runs").mkdir(parents=True)  # a journal exists, so the id would reach the file system
    code, out, err = cwtui("undo", "a" * 300, "--yes")
    assert code == 2 and "Traceback" not in err and "300 characters long" in err and "a" * 150 not in err
    for bad in ("../../etc/passwd", ".hidden", "x\x1b[2J"):
        code, _, err = cwtui("undo", bad, "--yes")
        assert code == 2 and "not a run id" in err and "\x1b" not in err


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:0", "http://127.0.0.1:port"])
def test_login_with_an_invalid_port_is_one_line_exit_2(url):
    code, out, err = cwtui("login", "x", "--url", url, "--user", "alice", "--password-stdin", stdin="pw\n")
    assert code == 2 and "port" in one_line(err)


def test_login_with_credentials_in_the_url_is_refused_without_showing_them(make_pair):
    pair = make_pair()
    url = pair.source.url.replace("http://", "http://alice:url-pw-77@")
    code, out, err = cwtui("login", "x", "--url", url, "--user", "alice", "--password-stdin", stdin="pw\n")
    line = one_line(err)
    assert code == 2 and "user name or password" in line and "url-pw-77" not in out + err
    assert pair.source.emulator.request_count == 0, "refused before anything was sent"


def test_deeply_nested_json_from_a_server_is_one_line_exit_3():
    with json_server(b"[" * 100_000 + b"]" * 100_000) as url:
        code, out, err = cwtui("login", "x", "--url", url, "--user", "alice", "--password-stdin", stdin="pw\n")
    assert code == 3 and "nested too deeply" in one_line(err)


def test_a_config_save_that_fails_during_login_is_one_line_exit_2(make_pair, capsys, monkeypatch):
    import errno

    pair = make_pair()
    before = pair.config_file.path.read_bytes()

    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("cwtui.core.paths.os.write", full_disk)
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
    code = main(["login", "again", "--url", pair.source.url, "--user", "alice", "--password-stdin"])
    out, err = capsys.readouterr()
    assert err.startswith("Home: Jellyfin")  # the server line, then the error once
    assert code == 2 and "cannot save the config: No space left on device" in one_line(err.split("\n", 1)[1])
    assert pair.config_file.path.read_bytes() == before


@pytest.mark.parametrize(("name", "value", "words"), [
    ("ALL_PROXY", "socks5://127.0.0.1:9", "SOCKS support is not installed"),
    ("HTTPS_PROXY", "gopher://127.0.0.1:9", "proxy scheme httpx does not know"),
    ("SSL_CERT_FILE", "/nowhere/ca.pem", "not a readable file"),
])
def test_proxy_and_tls_variables_that_cannot_work_are_one_line_naming_the_variable(make_pair, name, value, words):
    pair = make_pair()
    code, out, err = cwtui("plan", pair.pair_name, env={name: value})
    line = one_line(err)
    assert code == 2 and name in line and words in line


def test_a_dead_http_proxy_is_named_as_the_proxy_not_the_server(make_pair):
    pair = make_pair()
    proxy = f"http://127.0.0.1:{_free_port()}"
    code, out, err = cwtui("plan", pair.pair_name, env={"HTTP_PROXY": proxy})
    line = one_line(err)
    assert code == 3 and f"the proxy {proxy} (from HTTP_PROXY)" in line
    assert pair.source.emulator.request_count == 0 and pair.destination.emulator.request_count == 0


def test_a_config_readable_by_others_warns_naming_the_file_and_the_fix(make_pair):
    pair = make_pair()
    path = pair.config_file.path
    os.chmod(path, 0o644)
    code, out, err = cwtui("servers")
    assert code == 0 and f"chmod 600 {path}" in err and pair.source.token not in out + err


# --- server text is data --------------------------------------------------------------------------------


def test_escape_sequences_from_a_server_never_reach_the_terminal(make_pair):
    pair = make_pair(min_seconds=0)
    src, dst = pair.source, pair.destination
    src.state.server_name = "Home\x1b]0;pwned title\x07"
    src.state.version = "10.11.11\x1b[2J"
    src.state.users[src.user_id].name = "alice\x1b[31m"
    for side in (src, dst):
        lib = side.state.add_library("Movies", "movies")
        item = side.state.add_movie(lib, HOSTILE_TITLE, runtime_ticks=100 * MIN, provider_ids={"Imdb": "tt1"})
        if side is src:
            side.state.set_user_data(side.user_id, item, position_ticks=30 * MIN, last_played=at(5))
    code, out, err = cwtui("plan", pair.pair_name, "--all")
    assert code == 0, err
    assert "Evil" in out and "[b]x[/b]" in out, "the text is kept, and markup stays literal"
    for ch in CONTROL:
        assert ch not in out + err, repr(ch)
    code, out, err = cwtui("apply", pair.pair_name, "--yes")
    assert code == 0 and "Evil" in out
    for ch in CONTROL:
        assert ch not in out + err, repr(ch)
    code, out, err = cwtui("plan", pair.pair_name, "--json")
    assert json.loads(out)["rows"][0]["title"] == HOSTILE_TITLE, "JSON keeps the data exactly (escaped)"
    assert "\x1b" not in out


# --- files stay private; dates at the calendar's edges -----------------------------------------------------


def test_the_log_stays_0600_across_rotation(tmp_path):
    import logging
    import stat

    from cwtui.core.log import setup_logging

    logger = logging.getLogger("cwtui")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "cwtui.log"
        path.write_text("from an older version\n")
        os.chmod(path, 0o644)
        assert setup_logging(tmp_path) == path
        line = "x" * 1000
        for _ in range(2500):  # 2.5 MB through a 1 MB rotation: at least two rollovers
            logging.getLogger("cwtui.test").info(line)
    finally:
        os.umask(old_umask)
        for handler in logger.handlers:
            if handler not in saved[0]:
                handler.close()
        logger.handlers, logger.level, logger.propagate = saved
    files = sorted(tmp_path.glob("cwtui.log*"))
    assert len(files) >= 3, files
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


EDGE_DATES = ["9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59-05:00", "9999-12-31T20:00:00+14:00",
              "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "0001-01-01T05:00:00-12:00",
              "0001-01-02T00:00:00+05:00", "9999-12-30T23:00:00-12:00"]

TZ_SCRIPT = """
import json, sys
from cwtui.core import dto
from cwtui.ui.widgets.plan_format import when_text
out = []
for text in json.loads(sys.argv[1]):
    moment = dto.parse_date(text)
    shown = when_text(moment)
    out.append([text, None if moment is None else moment.isoformat(), shown,
                None if moment is None else moment.timestamp()])
print(json.dumps(out))
"""


@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "Asia/Kathmandu"])
def test_dates_at_the_edges_of_the_calendar_parse_and_show_in_any_local_zone(tz):
    proc = subprocess.run([sys.executable, "-c", TZ_SCRIPT, json.dumps(EDGE_DATES)], capture_output=True,
                          text=True, env={**os.environ, "TZ": tz}, timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    for text, parsed, shown, _ in json.loads(proc.stdout):
        assert parsed is None and shown == "—", (tz, text, parsed, shown)  # a placeholder, not a play date
