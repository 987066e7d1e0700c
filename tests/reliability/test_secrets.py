"""Secrets: no token or password in any output, log, JSON, journal or exception text; the config is 0600; TLS is
verified unless the insecure flag is set, and that flag shows wherever it is in force."""

from __future__ import annotations

import io
import json
import logging
import stat
import sys

import pytest

from cwtui.cli import main
from cwtui.core.config_model import ServerEntry
from cwtui.core.errors import CwtuiError
from cwtui.core.jellyfin import ClientIdentity, JellyfinClient

from .helpers import varied_library

PASSWORD = "Pa55-w0rd-NEVER-PRINT-7f3e"


def _run(capsys, monkeypatch, *argv, stdin: str = ""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_no_secret_in_any_output_log_journal_or_error(make_pair, capsys, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    pair = make_pair(remove=True)
    varied_library(pair, 24)
    src, dst = pair.source, pair.destination
    src.state.users[src.user_id].password = PASSWORD
    seen: list[tuple[str, int, str]] = []

    def run(*argv, stdin=""):
        code, text = _run(capsys, monkeypatch, *argv, stdin=stdin)
        seen.append((" ".join(argv), code, text))
        return code, text

    assert run("login", "again", "--url", src.url, "--user", "alice", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    assert run("login", "bad", "--url", src.url, "--user", "alice", "--password-stdin", stdin="x" + PASSWORD)[0] == 3
    new_token = pair.config.server("again").token
    tokens = [src.token, dst.token, new_token]
    for argv in (["plan", pair.pair_name], ["plan", pair.pair_name, "--json"], ["apply", pair.pair_name, "--yes"],
                 ["runs"], ["runs", "--json"], ["servers"], ["pairs"], ["undo", "--yes", "--json"]):
        assert run(*argv)[0] == 0, seen[-1]
    assert run("apply", pair.pair_name, "--yes", "--json")[0] == 0
    assert run("undo", "--yes")[0] == 0
    dst.state.revoke_token(dst.token)  # failing variants: a revoked token, a server gone
    assert run("plan", pair.pair_name)[0] == 3
    assert run("apply", pair.pair_name, "--yes", "--json")[0] == 3
    assert run("undo", "--yes")[0] in (0, 3)
    src.emulator.stop()
    assert run("plan", pair.pair_name, "--json")[0] == 3

    journal_text = "".join(p.read_text() for p in pair.journal.directory.glob("*.jsonl"))
    state_files = "".join(p.read_text(errors="replace") for p in pair.state_dir.rglob("*") if p.is_file())
    assert journal_text.count('"type":"intent"') >= 10
    config_text = pair.config_file.path.read_text()
    everything = "\n".join(text for _, _, text in seen) + caplog.text + state_files  # journal and log file
    for secret in tokens + [PASSWORD]:
        assert secret not in everything
    assert PASSWORD not in config_text
    assert stat.S_IMODE(pair.config_file.path.stat().st_mode) == 0o600


@pytest.mark.anyio
async def test_exceptions_and_reprs_hide_the_token(make_pair):
    pair = make_pair()
    dst = pair.destination
    client = JellyfinClient(dst.url, ClientIdentity("dev", "host"), token=dst.token, user_id=dst.user_id)
    dst.state.revoke_token(dst.token)
    texts = [repr(client)]
    for call in (client.resume_items(), client.user_data("f" * 32), client.write_user_data("f" * 32, 10)):
        with pytest.raises(CwtuiError) as caught:
            await call
        exc = caught.value
        texts += [str(exc), repr(exc), str(getattr(exc, "url", "")), str(exc.hint), str(exc.__cause__)]
    login = JellyfinClient(dst.url, ClientIdentity("dev", "host"))
    with pytest.raises(CwtuiError) as caught:
        await login.login_password("alice", PASSWORD)
    texts += [str(caught.value), repr(caught.value), repr(login)]
    await client.aclose()
    await login.aclose()
    assert all(dst.token not in t and PASSWORD not in t for t in texts), texts


def test_insecure_flag_is_shown_wherever_it_is_in_force(make_pair, capsys, monkeypatch):
    pair = make_pair()
    varied_library(pair, 6)
    entry = pair.config.server("cabin")
    pair.config_file.save_server(ServerEntry(entry.name, entry.url, entry.user_id, entry.user_name, entry.token,
                                             insecure=True))
    code, text = _run(capsys, monkeypatch, "servers")
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert code == 0 and "INSECURE" in lines["cabin"] and "INSECURE" not in lines["home"]
    code, text = _run(capsys, monkeypatch, "plan", pair.pair_name)
    assert code == 0 and "TLS verification is OFF for server 'cabin'" in text
    code, text = _run(capsys, monkeypatch, "plan", pair.pair_name, "--json")
    assert any("TLS verification is OFF" in n for n in json.loads(text)["notices"])
    code, text = _run(capsys, monkeypatch, "apply", pair.pair_name, "--yes")
    assert code == 0 and "TLS verification is OFF" in text
    code, text = _run(capsys, monkeypatch, "apply", pair.pair_name, "--yes", "--json", "--dry-run")
    assert code == 0 and "TLS verification is OFF" in text
    code, text = _run(capsys, monkeypatch, "login", "other", "--url", pair.source.url, "--user", "alice",
                      "--password-stdin", "--insecure", stdin="pw\n")
    assert code == 0 and "TLS NOT VERIFIED" in text
    assert pair.config.server("other").insecure is True
    assert pair.config.server("home").insecure is False  # verified unless the flag is set
