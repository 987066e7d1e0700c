"""Truthful CLI words (issue 11 §5): TLS as it is, JSON listings, cancelled runs, the undo command, login checks."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys

from cwtui.core.config_model import ServerEntry
from tests.cli.test_cli import cli
from tests.core.factories import at, ticks

MIN = 60
MANY = 40  # more than one apply chunk, so a Ctrl+C after the first result leaves items not started


class CtrlCOnFirst(io.StringIO):
    """Standard output that presses Ctrl+C (SIGINT to this process) right after the first line holding `marker`,
    the way a user interrupts a run they are watching."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.sent = marker, False

    def write(self, text: str) -> int:
        written = super().write(text)
        if not self.sent and self.marker in text:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return written


def many_to_write(pair, n=MANY):
    ids = []
    for name in ("source", "destination"):
        side = getattr(pair, name)
        lib = side.state.add_library("Movies", "movies")
        made = [side.state.add_movie(lib, f"Film {i:02d}", year=2000, runtime_ticks=ticks(100 * MIN),
                                     provider_ids={"Imdb": f"tt{i:07d}"}) for i in range(n)]
        if name == "source":
            for item in made:
                side.state.set_user_data(side.user_id, item, position_ticks=ticks(20 * MIN), last_played=at(100))
        else:
            ids = made
    return ids


def positions(pair, ids):
    d = pair.destination
    return [d.state.get_user_data(d.user_id, i).position_ticks for i in ids]


def test_servers_say_plain_http_for_http_and_list_as_json_without_tokens(make_pair, capsys):
    pair = make_pair()
    pair.config_file.save_server(ServerEntry("tls", "https://jf.example.org", "u1", "bob", "secret-token-1"))
    pair.config_file.save_server(ServerEntry("custom-ca", "https://jf2.example.org", "u2", "bob", "secret-token-2",
                                             ca_bundle="/etc/ca.pem"))
    pair.config_file.save_server(ServerEntry("nocheck", "https://jf3.example.org", "u3", "bob", "secret-token-3",
                                             insecure=True))
    code, out, _ = cli(capsys, "servers")
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert code == 0
    assert "plain http" in lines["home"] and "verified" not in lines["home"]
    assert lines["tls"].endswith("verified") and "verified with /etc/ca.pem" in lines["custom-ca"]
    assert "INSECURE" in lines["nocheck"]

    code, out, _ = cli(capsys, "servers", "--json")
    listed = {entry["name"]: entry for entry in map(json.loads, out.splitlines())}
    assert code == 0 and set(listed) == {"home", "cabin", "tls", "custom-ca", "nocheck"}
    assert listed["home"] == {"name": "home", "url": pair.source.url, "user_name": "alice",
                              "user_id": pair.source.user_id, "logged_in": True, "tls": "plain_http",
                              "ca_bundle": None, "insecure": False}
    assert [listed[n]["tls"] for n in ("tls", "custom-ca", "nocheck")] == ["verified", "verified", "not_verified"]
    assert "secret-token" not in out and pair.source.token not in out


def test_pairs_as_json_with_settings_and_last_run(make_pair, capsys):
    pair = make_pair(remove=True)
    code, out, _ = cli(capsys, "pairs", "--json")
    (listed,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert listed["name"] == "home-to-cabin" and (listed["source"], listed["destination"]) == ("home", "cabin")
    assert listed["progress"]["remove"] is True and listed["progress"]["libraries"] == []
    assert listed["last_run"] is None
    many_to_write(pair, 2)
    run_id = json.loads(cli(capsys, "apply", "home-to-cabin", "--yes", "--json")[1].splitlines()[-1])["run_id"]
    (listed,) = [json.loads(line) for line in cli(capsys, "pairs", "--json")[1].splitlines()]
    assert listed["last_run"]["run_id"] == run_id and listed["last_run"]["kind"] == "apply"
    assert pair.source.token not in out


def test_a_successful_apply_prints_the_undo_command_that_reverses_it(make_pair, capsys):
    pair = make_pair()
    ids = many_to_write(pair, 2)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes")
    assert code == 0
    undo_line = out.splitlines()[-1]
    assert undo_line.startswith("To reverse this run: cwtui undo ")
    command = undo_line.split(": ", 1)[1].split()
    code, out, _ = cli(capsys, *command[1:], "--yes")
    assert code == 0 and positions(pair, ids) == [0, 0]
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--dry-run")
    assert code == 0 and "cwtui undo" not in out


def test_a_cancelled_apply_exits_4_and_says_what_is_left(make_pair, capsys, monkeypatch):
    pair = make_pair()
    ids = many_to_write(pair)
    out = CtrlCOnFirst("APPLIED")
    monkeypatch.setattr(sys, "stdout", out)
    code, _, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--concurrency", "1")
    text = out.getvalue()
    assert out.sent and code == 4, err
    summary = text.splitlines()[-2]
    run_id = summary.rsplit("Run id: ", 1)[1]
    left = sum(1 for line in text.splitlines() if line.startswith("CANCELLED"))
    written = sum(1 for p in positions(pair, ids) if p)
    assert left > 0 and written > 0 and left + written == MANY
    assert summary.startswith("Applied (cancelled): ") and f"{left} cancelled" in summary
    assert text.splitlines()[-1] == (
        f"Cancelled: {left} items were not written. `cwtui apply home-to-cabin` plans again and writes what is "
        f"still needed; `cwtui undo {run_id}` reverses what this run wrote.")
    assert "To reverse this run" not in text


def test_a_cancelled_apply_in_json_keeps_stdout_json_and_exits_4(make_pair, capsys, monkeypatch):
    pair = make_pair()
    many_to_write(pair)
    out = CtrlCOnFirst('"status": "applied"')
    monkeypatch.setattr(sys, "stdout", out)
    code, _, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--concurrency", "1")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    final = lines[-1]
    assert code == 4 and final["cancelled"] is True and final["summary"]["cancelled"] > 0
    assert f"Cancelled: {final['summary']['cancelled']} items were not written" in err


def test_a_cancelled_undo_exits_4_and_running_it_again_finishes(make_pair, capsys, monkeypatch):
    pair = make_pair()
    ids = many_to_write(pair, 2 * MANY)  # undo works in chunks too (of 32 at the default concurrency)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    run_id = json.loads(out.splitlines()[-1])["run_id"]
    assert code == 0 and all(positions(pair, ids))

    captured, out = sys.stdout, CtrlCOnFirst("APPLIED")
    monkeypatch.setattr(sys, "stdout", out)
    code, _, err = cli(capsys, "undo", run_id, "--yes")
    text = out.getvalue().splitlines()
    left = sum(1 for line in text if line.startswith("CANCELLED"))
    assert code == 4 and left > 0, err
    assert text[-2].startswith(f"Undid run {run_id} (cancelled): ")
    assert text[-1] == (f"Cancelled: {left} items still hold what run {run_id} wrote; "
                        f"`cwtui undo {run_id}` again restores them.")
    assert sum(1 for p in positions(pair, ids) if p) == left

    monkeypatch.setattr(sys, "stdout", captured)
    code, out, _ = cli(capsys, "undo", run_id, "--yes", "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["summary"] == {"applied": left}
    assert positions(pair, ids) == [0] * len(ids)


def test_login_checks_the_entry_name_before_contacting_the_server(make_pair, capsys, monkeypatch):
    pair = make_pair()
    url = pair.destination.url
    pair.destination.emulator.stop()  # contacting it would be exit 3, "unreachable"
    code, _, err = cli(capsys, "login", "my server", "--url", url, "--user", "alice", "--password-stdin",
                       stdin="pw\n", monkeypatch=monkeypatch)
    assert code == 2 and "'my server' cannot name a server entry" in err and "unreachable" not in err


def test_login_checks_the_config_can_be_saved_before_contacting_the_server(make_pair, capsys, monkeypatch,
                                                                           tmp_path):
    pair = make_pair()
    url = pair.destination.url
    pair.destination.emulator.stop()
    (tmp_path / "a-file").write_text("not a folder")
    config = tmp_path / "a-file" / "config.toml"
    code, _, err = cli(capsys, "login", "new", "--url", url, "--user", "alice", "--password-stdin",
                       "--config", str(config), stdin="pw\n", monkeypatch=monkeypatch)
    assert code == 2 and "cannot save the config there" in err and str(config) in err


def test_login_creates_a_config_that_does_not_exist_yet(make_pair, capsys, monkeypatch, tmp_path):
    pair = make_pair()
    config = tmp_path / "fresh" / "config.toml"
    code, _, err = cli(capsys, "login", "new", "--url", pair.source.url, "--user", "alice", "--password-stdin",
                       "--config", str(config), stdin="pw\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "[servers.new]" in config.read_text()
    assert not [p for p in config.parent.iterdir() if p.name.endswith(".probe")]


def test_a_config_path_that_does_not_exist_is_said_to_not_exist(capsys, tmp_path):
    missing = tmp_path / "typo.toml"
    for command in ([], ["servers"], ["pairs", "--json"], ["runs"], ["plan", "p"], ["apply", "p", "--yes"],
                    ["undo", "--yes"]):  # [] is the TUI: it too says so instead of opening on an empty config
        code, out, err = cli(capsys, "--config", str(missing), *command)
        assert code == 2 and f"config file {missing} does not exist" in err and out == "", command
        assert not missing.exists()
    done = subprocess.run([sys.executable, "-m", "cwtui", "servers", "--config", str(missing)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("does not exist") == 1  # said once, not echoed by the log


def test_demo_no_tui_prints_what_logging_in_to_its_servers_needs(capsys, monkeypatch, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "cwtui", "demo", "--no-tui"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    said: dict[str, str] = {}
    try:
        for _ in range(40):  # the instructions are a dozen lines; stop at the last
            line = proc.stdout.readline()
            assert line, f"demo ended early: {proc.stderr.read()}"
            if line.startswith("serving until"):
                break
            key, _, value = line.partition(": ")
            said[key] = value.strip()
        urls = {key.split()[0]: value for key, value in said.items() if key.startswith(("source (", "destination ("))}
        url = urls["source"]
        config = str(tmp_path / "mine.toml")
        code, _, err = cli(capsys, "login", "mine", "--url", url, "--user", said["user"], "--password-stdin",
                           "--config", config, stdin=said["password"] + "\n", monkeypatch=monkeypatch)
        assert code == 0, err
        for side in ("source", "destination"):
            code, _, err = cli(capsys, "login", f"key-{side}", "--url", urls[side],
                               "--api-key-stdin", "--as-user", said["user"], "--config", config,
                               stdin=said[f"API key ({side})"] + "\n", monkeypatch=monkeypatch)
            assert code == 0, err
        restricted = next(v for k, v in said.items() if k.startswith("restricted user"))
        code, _, err = cli(capsys, "login", "kid", "--url", urls["destination"], "--user", restricted,
                           "--password-stdin", "--config", config, stdin=said["restricted password"] + "\n",
                           monkeypatch=monkeypatch)
        assert code == 0, err
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_runs_say_undone_by_and_list_a_damaged_run_instead_of_failing(make_pair, capsys):
    pair = make_pair()
    many_to_write(pair, 2)
    apply_id = json.loads(cli(capsys, "apply", "home-to-cabin", "--yes", "--json")[1].splitlines()[-1])["run_id"]
    undo_id = json.loads(cli(capsys, "undo", apply_id, "--yes", "--json")[1].splitlines()[-1])["run_id"]
    (pair.journal.directory / "20000101T000000Z-000000.jsonl").write_text("not json\n")
    code, out, err = cli(capsys, "runs")
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert f"undone by {undo_id}" in lines[apply_id] and f"undo of {apply_id}" in lines[undo_id]
    assert "damaged" in lines["20000101T000000Z-000000"]
    code, out, _ = cli(capsys, "runs", "--json")
    listed = {r["run_id"]: r for r in map(json.loads, out.splitlines())}
    assert listed[apply_id]["undone_by"] == [undo_id] and listed[apply_id]["complete"] is True
    assert listed["20000101T000000Z-000000"]["problem"]


def test_an_undo_of_an_undone_run_names_the_items_left_alone_and_writes_nothing(make_pair, capsys):
    pair = make_pair()
    ids = many_to_write(pair, 3)
    run_id = json.loads(cli(capsys, "apply", "home-to-cabin", "--yes", "--json")[1].splitlines()[-1])["run_id"]
    d = pair.destination
    d.state.set_user_data(d.user_id, ids[1], position_ticks=ticks(50 * MIN), last_played=at(5000))  # watched since
    code, out, _ = cli(capsys, "undo", run_id, "--yes", "--json")
    first = json.loads(out.splitlines()[-1])
    assert code == 0 and first["summary"] == {"applied": 2, "skipped": 1}

    code, out, _ = cli(capsys, "undo", run_id, "--yes")
    assert code == 0
    assert f"Run {run_id} was already undone by run {first['run_id']}; nothing written." in out
    assert f"1 items were left alone because they changed since the run (`cwtui undo {run_id} --force`" in out
    assert "Film 01" in out and "Film 00" not in out.split("left alone")[1]
    code, out, _ = cli(capsys, "undo", run_id, "--yes", "--json")
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert code == 0 and line["already_undone_by"] == first["run_id"]
    assert [(e["title"], e["destination_item_id"]) for e in line["left_alone"]] == [("Film 01 (2000)", ids[1])]
    assert positions(pair, ids) == [0, ticks(50 * MIN), 0]


def test_the_undo_preview_names_items_that_need_the_unplayed_route(make_pair, capsys):
    pair = make_pair()
    ids = many_to_write(pair, 2)
    d = pair.destination
    d.state.set_user_data(d.user_id, ids[0], position_ticks=ticks(5 * MIN), last_played=at(10))  # has a time
    run_id = json.loads(cli(capsys, "apply", "home-to-cabin", "--yes", "--json")[1].splitlines()[-1])["run_id"]
    code, out, _ = cli(capsys, "undo", run_id, "--yes")
    assert code == 0
    preview = out.split("APPLIED")[0]  # what is said before the first restore
    assert "1 of them had no last-played time before the run; restoring that marks them unplayed first" in preview
    assert "Film 01" in preview and "Film 00" not in preview


def test_every_exit_code_is_documented_in_the_help_and_the_readme():
    from pathlib import Path

    from cwtui.cli.parser import build_parser
    from cwtui.core import errors

    codes = sorted(v for k, v in vars(errors).items() if k.startswith("EXIT_"))
    assert codes == [0, 1, 2, 3, 4, 5, 70] and errors.EXIT_CANCELLED == 4  # 70: EX_SOFTWARE, a crash
    help_text = build_parser().format_help().split("exit codes:")[1].split("files:")[0]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    readme_text = readme.split("- Exit codes:")[1].split("\n\n")[0]
    for code in codes:
        assert f"{code} " in help_text and f"{code} " in readme_text, code
