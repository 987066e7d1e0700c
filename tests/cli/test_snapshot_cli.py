"""`cwtui snapshot`, a snapshot as a pair's source (restore), damaged snapshots and `apply --snapshot-first`, all
over real HTTP against emulated servers."""

from __future__ import annotations

import json
import stat

import pytest

from cwtui.core.config_model import PairEntry, ServerEntry
from cwtui.core.models import ProgressSettings
from cwtui.core.snapshot import read_snapshot
from tests.cli.test_cli import cli
from tests.core.factories import at, ticks
from tests.core.test_snapshot import DAMAGE, household, library

MIN = 60


def same_library(side):
    """The household's library on another server: the same titles and provider ids, other item ids."""
    return library(side.state)


def add_toml(pair, text):
    path = pair.config_file.path
    path.write_text(path.read_text() + "\n" + text)


def restore_pair(pair, snapshot_path, name="restore", server="saved"):
    add_toml(pair, f'[servers.{server}]\nsnapshot = "{snapshot_path}"\n\n'
                   f'[pairs.{name}]\nsource = "{server}"\ndestination = "cabin"\n')


def state_of(side, ids):
    return {k: side.state.get_user_data(side.user_id, v) for k, v in ids.items()}


def test_snapshot_command_writes_the_entry_users_state_under_the_state_dir(make_pair, capsys):
    pair = make_pair()
    household(pair.source)
    code, out, err = cli(capsys, "snapshot", "home")
    assert code == 0, err
    path_text, counts = out.splitlines()
    path = pair.state_dir / "snapshots" / path_text.rsplit("/", 1)[1]
    assert path_text == str(path) and path.name.startswith("home-") and path.name.endswith("Z.jsonl")
    assert counts == "3 items of 1 users (alice 3)"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {i.item.name for i in read_snapshot(path).items} == {"The Matrix", "Secrets", "Lies"}


def test_snapshot_of_an_api_key_entry_needs_users(make_pair, capsys, tmp_path):
    pair = make_pair()
    household(pair.source)
    key = pair.source.state.add_api_key("cwtui")
    pair.config_file.save_server(ServerEntry("home-key", pair.source.url, "", "", key))
    code, _, err = cli(capsys, "snapshot", "home-key")
    assert code == 2 and "no user of its own" in err and "--all-users" in err
    out_file = tmp_path / "house.jsonl"
    code, out, err = cli(capsys, "snapshot", "home-key", "--all-users", "-o", str(out_file), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["path"] == str(out_file) and report["items"] == 5
    assert {u["name"]: u["items"] for u in report["users"]} == {"alice": 3, "bob": 2}
    code, _, err = cli(capsys, "snapshot", "home-key", "--user", "carol")
    assert code == 2 and "no user 'carol'" in err and "alice" in err


def test_restore_a_snapshot_into_an_empty_server(make_pair, capsys, tmp_path):
    """A server that lost its watch state: a pair from the snapshot file back to it, `cwtui apply`."""
    pair = make_pair()
    _, src = household(pair.source, users=("alice",))
    dst = same_library(pair.destination)
    path = tmp_path / "home.jsonl"
    assert cli(capsys, "snapshot", "home", "-o", str(path))[0] == 0
    restore_pair(pair, path)

    code, out, _ = cli(capsys, "servers")
    assert code == 0 and f"saved  {path}  (from the file)  a snapshot file (read-only)" in out
    code, out, err = cli(capsys, "plan", "restore", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["source"]["user_name"] == "alice" and plan["source"]["writable"] is False
    assert any("matched by provider ids, never by id" in n for n in plan["notices"])
    code, out, err = cli(capsys, "apply", "restore", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])["summary"] == {"applied": 2}

    source, restored = state_of(pair.source, src), state_of(pair.destination, dst)
    for line in read_snapshot(path).items:  # every item the snapshot holds with a position
        key = next(k for k, v in src.items() if v == line.item.id)
        if line.item.user_data.position_ticks:
            assert restored[key].position_ticks == source[key].position_ticks == line.item.user_data.position_ticks
            assert restored[key].last_played == source[key].last_played
    assert restored["untouched"].position_ticks == 0 and restored["alien"].position_ticks == 0
    code, out, _ = cli(capsys, "plan", "restore", "--json")
    assert json.loads(out)["summary"]["by_action"] == {"skip": 2}  # nothing left to write


@pytest.mark.parametrize("damage", ["cut at a line boundary", "cut mid-line", "broken JSON line", "wrong type",
                                    "other version"])
def test_a_damaged_snapshot_stops_its_pair_only(make_pair, capsys, tmp_path, damage):
    """Damaged as in tests/core/test_snapshot.py (a file of two item lines, so the lines named match)."""
    pair = make_pair()
    dst = {}
    for side in (pair.source, pair.destination):
        lib = side.state.add_library("Movies", "movies")
        for n in range(2):
            dst[n] = side.state.add_movie(lib, f"Film {n}", 2000 + n, ticks(90 * MIN), {"Imdb": f"tt{n:07d}"})
            if side is pair.source:
                side.state.set_user_data(side.user_id, dst[n], position_ticks=ticks(10 * MIN), last_played=at(n))
    path = tmp_path / "home.jsonl"
    assert cli(capsys, "snapshot", "home", "-o", str(path))[0] == 0
    spoil, line, words = DAMAGE[damage]
    spoil(path)
    restore_pair(pair, path)
    before = state_of(pair.destination, dst)

    for command in (["plan", "restore"], ["apply", "restore", "--yes"]):
        code, _, err = cli(capsys, *command)
        assert code == 2 and f"snapshot {path}, line {line}: " in err and words in err, err
    assert state_of(pair.destination, dst) == before
    assert cli(capsys, "runs", "--json")[1] == ""  # no run was even started
    code, _, err = cli(capsys, "plan", "home-to-cabin")  # the other pair is fine
    assert code == 0, err


@pytest.mark.parametrize("pair_toml, key", [
    ('[pairs.backwards]\nsource = "home"\ndestination = "saved"\n', "pairs.backwards.destination"),
    ('[pairs.both-ways]\nsource = "saved"\ndestination = "cabin"\ndirection = "both"\n', "pairs.both-ways.direction"),
], ids=["never_a_destination", "never_the_written_side_of_a_two_way_pair"])
def test_a_snapshot_entry_is_never_written(make_pair, capsys, tmp_path, pair_toml, key):
    pair = make_pair()
    add_toml(pair, f'[servers.saved]\nsnapshot = "{tmp_path / "x.jsonl"}"\n\n' + pair_toml)
    code, _, err = cli(capsys, "plan", "home-to-cabin")
    assert code == 2 and f"key '{key}'" in err and "read-only" in err


def test_a_snapshot_entry_takes_no_url(make_pair, capsys):
    pair = make_pair()
    add_toml(pair, '[servers.saved]\nsnapshot = "x.jsonl"\nurl = "http://127.0.0.1:1"\n')
    code, _, err = cli(capsys, "servers")
    assert code == 2 and "key 'servers.saved.url'" in err and "either url" in err


def test_apply_snapshot_first_saves_the_destination_before_writing(make_pair, capsys):
    pair = make_pair()
    _, src = household(pair.source, users=("alice",))
    dst = same_library(pair.destination)
    d = pair.destination
    d.state.set_user_data(d.user_id, dst["matrix"], position_ticks=ticks(5 * MIN), last_played=at(0))
    d.state.set_user_data(d.user_id, dst["alien"], played=True, play_count=3, last_played=at(-50))

    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--snapshot-first")
    assert code == 0, err
    final = json.loads(out.splitlines()[-1])
    path = pair.state_dir / "snapshots" / f"{final['run_id']}.jsonl"
    assert final["snapshot"] == str(path) and f"Snapshot of 'cabin' before writing" in err and str(path) in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = {line.item.name: line.item.user_data for line in read_snapshot(path).items}
    assert before["The Matrix"].position_ms == 5 * MIN * 1000  # the state the run then overwrote
    assert before["Alien"].played and before["Alien"].play_count == 3
    assert d.state.get_user_data(d.user_id, dst["matrix"]).position_ms == 40 * MIN * 1000

    code, out, _ = cli(capsys, "runs")
    assert code == 0 and f"snapshot before: {path}" in out
    runs = [json.loads(line) for line in cli(capsys, "runs", "--json")[1].splitlines()]
    assert [r["snapshot"] for r in runs] == [str(path)]


def test_apply_stops_before_any_write_when_the_snapshot_fails(make_pair, capsys):
    pair = make_pair()
    household(pair.source, users=("alice",))
    dst = same_library(pair.destination)
    pair.state_dir.mkdir(parents=True, exist_ok=True)
    (pair.state_dir / "snapshots").write_text("a file where the folder should be")
    before = state_of(pair.destination, dst)
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--snapshot-first")
    assert code == 5 and "--snapshot-first: the snapshot of 'cabin' failed, so nothing was written" in err, err
    assert state_of(pair.destination, dst) == before
    assert cli(capsys, "runs", "--json")[1] == ""


def household_restore_setup(make_pair, capsys, tmp_path):
    """alice and bob on the source, snapshot of both; the destination has the same library and both users, and
    its entry is an API key (it writes for both)."""
    pair = make_pair()
    uids, src = household(pair.source)
    dst = same_library(pair.destination)
    dst_uids = {"alice": pair.destination.user_id, "bob": pair.destination.state.add_user("Bob")}
    key = pair.source.state.add_api_key("cwtui")
    pair.config_file.save_server(ServerEntry("home-key", pair.source.url, "", "", key, api_key=True))
    pair.config_file.save_server(ServerEntry("cabin", pair.destination.url, "", "",
                                             pair.destination.state.add_api_key("cwtui"), api_key=True))
    path = tmp_path / "house.jsonl"
    assert cli(capsys, "snapshot", "home-key", "--all-users", "-o", str(path))[0] == 0
    return pair, uids, src, dst_uids, dst, path


def test_restore_a_household_snapshot_into_an_empty_server(make_pair, capsys, tmp_path):
    """Positions, played marks, play counts and last-played times of every item the snapshot holds, for each user
    (with `played` on: issue 13 §2 marks what the source played and the destination never started)."""
    pair, uids, src, dst_uids, dst, path = household_restore_setup(make_pair, capsys, tmp_path)
    add_toml(pair, f'[servers.saved]\nsnapshot = "{path}"\n\n'
                   '[pairs.restore]\nsource = "saved"\ndestination = "cabin"\nusers = "by-name"\n\n'
                   '[pairs.restore.features.progress]\nplayed = true\n')
    code, out, err = cli(capsys, "apply", "restore", "--yes", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["summary"] == {"applied": 5}
    assert {(r["source_user"], r["destination_user"]) for r in lines[:-1]} == {("alice", "alice"), ("bob", "Bob")}

    d, s = pair.destination.state, pair.source.state
    for line in read_snapshot(path).items:  # every item the snapshot holds, for each user
        name = next(n for n, uid in uids.items() if uid == line.user_id)
        key = next(k for k, v in src.items() if v == line.item.id)
        source = s.get_user_data(line.user_id, src[key])
        restored = d.get_user_data(dst_uids[name], dst[key])
        assert restored.position_ticks == source.position_ticks == line.item.user_data.position_ticks
        assert restored.last_played == source.last_played
        if not source.position_ticks:  # in progress: the position rules decide, whatever Played says (a rewatch)
            assert (restored.played, restored.play_count) == (source.played, source.play_count) == (True, 2 if
                                                                                                  key == "s1e1" else 1)
    assert d.get_user_data(dst_uids["bob"], dst["alien"]).position_ms == 30 * MIN * 1000
    assert d.get_user_data(dst_uids["alice"], dst["alien"]).position_ms == 0
    code, out, _ = cli(capsys, "plan", "restore", "--json")
    assert not [r for r in json.loads(out)["rows"] if r["action"] != "skip"]  # nothing left to write


def test_a_household_snapshot_without_a_user_map_says_which_users(make_pair, capsys, tmp_path):
    pair, _, _, _, _, path = household_restore_setup(make_pair, capsys, tmp_path)
    d = pair.destination
    pair.config_file.save_server(ServerEntry("cabin-alice", d.url, d.user_id, "alice", d.token))
    add_toml(pair, f'[servers.saved]\nsnapshot = "{path}"\n\n'
                   '[pairs.restore]\nsource = "saved"\ndestination = "cabin-alice"\n')
    code, _, err = cli(capsys, "plan", "restore")
    assert code == 2 and "holds 2 users (alice, bob)" in err and 'users = "by-name"' in err, err


def test_snapshot_first_takes_every_destination_user_the_run_writes(make_pair, capsys, tmp_path):
    pair, uids, src, dst_uids, dst, path = household_restore_setup(make_pair, capsys, tmp_path)
    d = pair.destination.state
    d.set_user_data(dst_uids["bob"], dst["alien"], position_ticks=ticks(3 * MIN), last_played=at(0))
    pair.config_file.save_pair(PairEntry("family", "home-key", "cabin", ProgressSettings(), users="by-name"))
    code, out, err = cli(capsys, "apply", "family", "--yes", "--json", "--snapshot-first")
    assert code == 0, err
    taken = read_snapshot(json.loads(out.splitlines()[-1])["snapshot"])
    assert sorted(u.name for u in taken.users) == ["Bob", "alice"]
    before = {(line.user_id, line.item.name): line.item.user_data for line in taken.items}
    assert before[(dst_uids["bob"], "Alien")].position_ms == 3 * MIN * 1000
    assert d.get_user_data(dst_uids["bob"], dst["alien"]).position_ms == 30 * MIN * 1000


def test_restore_a_rebuilt_server_from_its_own_snapshot_matches_by_provider_ids(make_pair, capsys, tmp_path):
    """The server that lost its watch state: same server id, its library re-created with new item ids."""
    pair = make_pair()
    d = pair.destination
    old = same_library(d)
    d.state.set_user_data(d.user_id, old["matrix"], position_ticks=ticks(40 * MIN), last_played=at(100))
    d.state.set_user_data(d.user_id, old["s1e2"], position_ticks=ticks(12 * MIN), last_played=at(200))
    path = tmp_path / "cabin.jsonl"
    assert cli(capsys, "snapshot", "cabin", "-o", str(path))[0] == 0
    for library in list(d.state.libraries):
        d.state.remove_item(library)
    new = same_library(d)  # the rebuild: the same files, new ids, no watch state
    assert not set(new.values()) & set(old.values())
    restore_pair(pair, path)

    code, out, err = cli(capsys, "apply", "restore", "--yes", "--json")
    assert code == 0, err
    assert "matched by provider ids, never by id" in err  # --json sends the notices to stderr
    assert json.loads(out.splitlines()[-1])["summary"] == {"applied": 2}
    assert d.state.get_user_data(d.user_id, new["matrix"]).position_ms == 40 * MIN * 1000
    assert d.state.get_user_data(d.user_id, new["s1e2"]).position_ms == 12 * MIN * 1000
    assert d.state.get_user_data(d.user_id, new["s1e2"]).last_played == at(200)


def positions(snapshot) -> dict[str, int]:
    """Item id -> position (ms) in a snapshot read back."""
    return {line.item.id: line.item.user_data.position_ms for line in snapshot.items}


def test_snapshot_first_on_a_two_way_run_saves_every_server_it_writes_to(make_pair, capsys):
    from tests.core.test_two_way import agreed_start, put, state, two_way

    pair, ids = two_way(make_pair)
    agreed_start(pair, ids, capsys)
    put(pair, "destination", ids, 1, 60, 2000)  # goes to the source only
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--snapshot-first")
    assert code == 0, err
    final = json.loads(out.splitlines()[-1])
    source_file = pair.state_dir / "snapshots" / f"{final['run_id']}-source.jsonl"
    assert "snapshot" not in final and final["snapshot_source"] == str(source_file)
    assert f"Snapshot of 'home' before writing (" in err and "Snapshot of 'cabin'" not in err
    taken = read_snapshot(source_file)
    assert taken.server.name == "Home" and [u.name for u in taken.users] == ["alice"]
    assert positions(taken)[ids[("source", 1)]] == 30 * MIN * 1000  # what the run then overwrote with 60 min
    assert state(pair, "source", ids, 1).position_ticks == ticks(60 * MIN)

    put(pair, "destination", ids, 0, 50, 3000)  # to the source
    put(pair, "source", ids, 1, 75, 3000)       # to the destination
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--snapshot-first")
    assert code == 0 and "Snapshot of 'cabin' before writing" in err and "Snapshot of 'home' before writing" in err
    final = json.loads(out.splitlines()[-1])
    cabin, home = read_snapshot(final["snapshot"]), read_snapshot(final["snapshot_source"])
    assert (cabin.server.name, home.server.name) == ("Cabin", "Home")
    assert positions(cabin)[ids[("destination", 1)]] == 60 * MIN * 1000
    assert positions(home)[ids[("source", 0)]] == 20 * MIN * 1000
    runs = {r["run_id"]: r for r in map(json.loads, cli(capsys, "runs", "--json")[1].splitlines())}
    assert (runs[final["run_id"]]["snapshot"], runs[final["run_id"]]["snapshot_source"]) == \
        (final["snapshot"], final["snapshot_source"])
    assert f"source snapshot before: {final['snapshot_source']}" in cli(capsys, "runs")[1]


def test_snapshot_of_the_entry_own_user_by_name_lists_no_users_and_a_snapshot_entry_is_refused(make_pair, capsys,
                                                                                                 tmp_path):
    pair = make_pair()
    household(pair.source, users=("alice",))
    pair.source.emulator.faults.fail_matching(r"^/Users$", 403, count=10)  # a user who may not list users
    code, out, err = cli(capsys, "snapshot", "home", "--user", "ALICE", "-o", str(tmp_path / "a.jsonl"))
    assert code == 0 and "3 items of 1 users (alice 3)" in out, err
    code, _, err = cli(capsys, "snapshot", "home", "--all-users", "-o", str(tmp_path / "b.jsonl"))
    assert code == 3 and "administrator rights needed" in err and not (tmp_path / "b.jsonl").exists()
    restore_pair(pair, tmp_path / "a.jsonl")
    code, _, err = cli(capsys, "snapshot", "saved")
    assert code == 2 and "is a snapshot file" in err
