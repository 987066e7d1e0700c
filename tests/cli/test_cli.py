"""The headless CLI contract: commands, JSON shapes and exit codes, against two emulated servers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from cwtui.cli import main
from tests.core.factories import at, ticks

MIN = 60


def seed(pair, n=3):
    ids = {}
    for name in ("source", "destination"):
        side = getattr(pair, name)
        lib = side.state.add_library("Movies", "movies")
        for i in range(n):
            ids[(name, i)] = side.state.add_movie(lib, f"Film [bold]{i}[/bold]", year=1990 + i,
                                                  runtime_ticks=ticks(100 * MIN), provider_ids={"Imdb": f"tt{i:07d}"})
    src = pair.source
    src.state.set_user_data(src.user_id, ids[("source", 0)], position_ticks=ticks(20 * MIN), last_played=at(100))
    src.state.set_user_data(src.user_id, ids[("source", 1)], position_ticks=ticks(97 * MIN), last_played=at(100))
    return ids


def cli(capsys, *argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_shape(make_pair, capsys):
    pair = make_pair()
    seed(pair)
    code, out, _ = cli(capsys, "plan", "home-to-cabin", "--json")
    assert code == 0
    plan = json.loads(out)
    assert set(plan) >= {"pair", "source", "destination", "effective", "rows", "summary", "notices"}
    assert plan["source"] == {"name": "home", "server_name": "Home", "version": "10.11.11", "user_name": "alice",
                              "writable": True}
    rows = {r["title"]: r for r in plan["rows"]}
    assert rows["Film [bold]0[/bold]"]["action"] == "upsert"
    assert rows["Film [bold]0[/bold]"]["reason"] == "destination_missing"
    assert rows["Film [bold]1[/bold]"]["reason"] == "near_complete"
    row = rows["Film [bold]0[/bold]"]
    assert set(row) >= {"key", "type", "title", "year", "series", "season", "episode", "source_item_id",
                        "destination_item_ids", "source_ms", "destination_ms", "duration_ms", "source_played_at",
                        "destination_played_at", "action", "reason"}
    assert row["source_ms"] == 20 * MIN * 1000 and row["duration_ms"] == 100 * MIN * 1000
    assert row["source_played_at"].startswith("2026-11-20T20:01:40")
    assert plan["summary"]["by_action"] == {"upsert": 1, "skip": 1}


def test_plan_human_output_hides_skips_unless_all(make_pair, capsys):
    pair = make_pair()
    seed(pair)
    _, out, _ = cli(capsys, "plan", "home-to-cabin")
    assert "destination_missing" in out and "near_complete" not in out.split("by reason")[0]
    _, out, _ = cli(capsys, "plan", "home-to-cabin", "--all")
    assert "near_complete" in out.split("by reason")[0]


def test_apply_json_lines_then_replan_is_empty_then_undo(make_pair, capsys):
    pair = make_pair()
    ids = seed(pair)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert lines[0]["status"] == "applied" and lines[0]["dry_run"] is False
    assert lines[0]["before_ms"] == 0 and lines[0]["after_ms"] == 20 * MIN * 1000
    assert set(lines[0]) >= {"key", "title", "action", "status", "reason", "destination_item_id", "before_ms",
                             "after_ms", "dry_run"}
    final = lines[-1]
    assert final["summary"] == {"applied": 1} and final["run_id"]

    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    assert code == 0 and [json.loads(line) for line in out.splitlines()] == [{"summary": {}, "run_id": None}]

    code, out, _ = cli(capsys, "runs", "--json")
    assert [json.loads(line)["run_id"] for line in out.splitlines()] == [final["run_id"]]

    code, out, _ = cli(capsys, "undo", "--yes", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and lines[-1]["summary"] == {"applied": 1} and lines[-1]["undo_of"] == final["run_id"]
    d = pair.destination
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).position_ticks == 0

    code, out, _ = cli(capsys, "undo", final["run_id"], "--yes")
    assert code == 0 and "already undone" in out


def test_apply_without_yes_and_without_a_terminal_refuses(make_pair, capsys, monkeypatch):
    pair = make_pair()
    ids = seed(pair)
    code, _, err = cli(capsys, "apply", "home-to-cabin", stdin="", monkeypatch=monkeypatch)
    assert code == 2 and "--yes" in err
    d = pair.destination
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).position_ticks == 0


def test_dry_run_says_so_on_every_line(make_pair, capsys):
    pair = make_pair()
    ids = seed(pair)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--dry-run", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and all(line["dry_run"] for line in lines[:-1]) and len(lines) == 2
    d = pair.destination
    assert d.state.get_user_data(d.user_id, ids[("destination", 0)]).position_ticks == 0


def test_force_and_only(make_pair, capsys):
    pair = make_pair()
    seed(pair)
    plan = json.loads(cli(capsys, "plan", "home-to-cabin", "--json")[1])
    near = next(r for r in plan["rows"] if r["reason"] == "near_complete")
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--only", near["key"][:8],
                       "--force", near["key"][:8])
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["key"] for line in lines[:-1]] == [near["key"]]
    code, _, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--force", "nosuchkey")
    assert code == 2 and "matches no row" in err


def test_feature_off(make_pair, capsys):
    pair = make_pair(enable=False)
    seed(pair)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    assert code == 0
    assert json.loads(out.splitlines()[-1])["run_id"] is None
    assert "off" in " ".join(json.loads(out)["notices"])


def test_old_destination_refused_with_exit_2(make_pair, capsys):
    pair = make_pair(destination_version="10.8.13")
    seed(pair)
    code, out, _ = cli(capsys, "plan", "home-to-cabin", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["destination"]["writable"] is False and "10.8.13" in plan["notices"][0]
    code, _, err = cli(capsys, "apply", "home-to-cabin", "--yes")
    assert code == 2 and "10.8.13" in err


def test_unreachable_server_exit_3(make_pair, capsys):
    pair = make_pair()
    pair.destination.emulator.stop()
    code, _, err = cli(capsys, "plan", "home-to-cabin")
    assert code == 3 and "127.0.0.1" in err


def test_unknown_pair_and_bad_config_exit_2(make_pair, capsys):
    pair = make_pair()
    code, _, err = cli(capsys, "plan", "nope")
    assert code == 2 and "nope" in err
    path = pair.config_file.path
    text = path.read_bytes()
    path.write_bytes(text + b"\n[pairs.x]\nsource = 3\n")
    code, _, err = cli(capsys, "servers")
    assert code == 2 and "line" in err and "pairs.x" in err


def test_servers_and_pairs_never_print_tokens(make_pair, capsys):
    pair = make_pair()
    for command in ("servers", "pairs"):
        code, out, err = cli(capsys, command)
        assert code == 0
        assert pair.source.token not in out + err and pair.destination.token not in out + err
    assert "home" in cli(capsys, "servers")[1]


def test_login_with_password_from_stdin_saves_token_not_password(make_pair, capsys, monkeypatch):
    pair = make_pair()
    code, out, _ = cli(capsys, "login", "third", "--url", pair.source.url, "--user", "alice",
                       "--password-stdin", stdin="pw\n", monkeypatch=monkeypatch)
    assert code == 0 and "alice" in out
    text = pair.config_file.path.read_text()
    assert "[servers.third]" in text and "pw\"" not in text
    code, _, err = cli(capsys, "login", "fourth", "--url", pair.source.url, "--user", "alice",
                       "--password-stdin", stdin="wrong\n", monkeypatch=monkeypatch)
    assert code == 3 and "wrong user name or password" in err
    assert "fourth" not in pair.config_file.path.read_text()


def test_login_with_api_key(make_pair, capsys, monkeypatch):
    pair = make_pair()
    key = pair.source.state.add_api_key("tests")
    code, out, _ = cli(capsys, "login", "viakey", "--url", pair.source.url, "--api-key-stdin", "--as-user", "alice",
                       stdin=key + "\n", monkeypatch=monkeypatch)
    assert code == 0
    assert pair.config_file.load().server("viakey").user_id == pair.source.user_id


def test_console_script_runs_in_a_subprocess(make_pair):
    pair = make_pair()
    seed(pair)
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-m", "cwtui", "plan", "home-to-cabin", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pair"] == "home-to-cabin"


@pytest.mark.parametrize("argv", [["apply"], ["apply", "p", "--concurrency", "0"], ["login", "x"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_apply_is_logged_under_the_state_dir_without_tokens(make_pair, capsys):
    pair = make_pair()
    seed(pair)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    run_id = json.loads(out.splitlines()[-1])["run_id"]
    log = (pair.state_dir / "cwtui.log").read_text()
    assert f"run {run_id} (apply) of home-to-cabin finished" in log
    assert pair.source.token not in log and pair.destination.token not in log
    assert oct((pair.state_dir / "cwtui.log").stat().st_mode & 0o777) == "0o600"


def test_login_with_quick_connect(make_pair, capsys, monkeypatch):
    import threading

    import cwtui.core.login as login

    pair = make_pair()
    state = pair.source.state
    monkeypatch.setattr(login, "POLL_SECONDS", 0.05)

    def approve_when_asked():  # what the user does in a signed-in Jellyfin client
        for _ in range(200):
            with state.lock:
                codes = [rec.code for rec in state.quick_connect.values()]
            if codes:
                state.quick_connect_authorize(codes[0], pair.source.user_id)
                return
            threading.Event().wait(0.02)

    helper = threading.Thread(target=approve_when_asked)
    helper.start()
    code, out, err = cli(capsys, "login", "viaqc", "--url", pair.source.url, "--quick-connect")
    helper.join()
    assert code == 0, err
    assert "Quick Connect code:" in err
    assert pair.config_file.load().server("viaqc").user_id == pair.source.user_id


def test_plan_and_apply_show_finish_and_mark_played(make_pair, capsys):
    pair = make_pair(finish=True, played=True)
    ids = seed(pair)
    src, dst = pair.source, pair.destination
    # Film 2: half-watched on the destination, finished later on the source; Film 1: played on the source only
    src.state.set_user_data(src.user_id, ids[("source", 2)], played=True, play_count=1, last_played=at(900))
    dst.state.set_user_data(dst.user_id, ids[("destination", 2)], position_ticks=ticks(30 * MIN), last_played=at(0))
    src.state.set_user_data(src.user_id, ids[("source", 1)], played=True, play_count=2, last_played=at(800))
    code, out, _ = cli(capsys, "plan", "home-to-cabin", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["effective"]["finish"] is True and plan["effective"]["played"] is True
    rows = {r["title"]: (r["action"], r["reason"]) for r in plan["rows"]}
    assert rows["Film [bold]2[/bold]"] == ("finish", "finished_on_source")
    assert rows["Film [bold]1[/bold]"] == ("mark_played", "played_on_source")
    assert plan["summary"]["by_action"] == {"upsert": 1, "finish": 1, "mark_played": 1}

    _, out, _ = cli(capsys, "plan", "home-to-cabin")
    assert "FINISH" in out and "PLAYED" in out
    assert "1 to write, 0 to clear, 1 to finish, 1 to mark played, 0 skipped" in out

    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes")
    assert code == 0
    applied = [line for line in out.splitlines() if line.startswith("APPLIED")]
    assert len(applied) == 3
    assert any("30:00 -> 0:00 finished" in line and "Film [bold]2" in line for line in applied)
    assert any("0:00 -> 0:00 marked played" in line and "Film [bold]1" in line for line in applied)
