"""The household: every user of a server in one reviewed run (issue 12), end to end over real HTTP."""

from __future__ import annotations

import json

import pytest

from cwtui.cli import main
from cwtui.core.config_model import PairEntry, ServerEntry, UserLink
from cwtui.core.models import ProgressSettings

from .factories import at, ticks

MIN = 60


def four_movies(pair) -> dict:
    """The same four movies on both servers (other item ids): ids[(side, n)]."""
    ids = {}
    for side_name in ("source", "destination"):
        side = getattr(pair, side_name)
        lib = side.state.add_library("Movies", "movies")
        for n in range(4):
            ids[(side_name, n)] = side.state.add_movie(lib, f"Movie {n}", year=2000 + n,
                                                       runtime_ticks=ticks(100 * MIN),
                                                       provider_ids={"Imdb": f"tt{n:07d}"})
    return ids


def household(make_pair, *, dst_users=("alice", "robert", "dave"), src_users=("alice", "bob", "carol"),
              users="by-name", key_entries=True):
    """Two servers with the same movies; users on each; entries holding API keys (no user of their own)."""
    pair = make_pair()
    ids = four_movies(pair)
    uids: dict = {}
    for side_name, names in (("source", src_users), ("destination", dst_users)):
        side = getattr(pair, side_name)
        for name in names:
            user = side.state.user_by_name(name)
            uids[(side_name, name)] = user.id if user else side.state.add_user(name)
    if key_entries:
        pair.config_file.save_server(ServerEntry("home", pair.source.url, "", "", pair.source.state.add_api_key("t"),
                                                 api_key=True))
        pair.config_file.save_server(ServerEntry("cabin", pair.destination.url, "", "",
                                                 pair.destination.state.add_api_key("t"), api_key=True))
    pair.config_file.save_pair(PairEntry("home-to-cabin", "home", "cabin", ProgressSettings(), users=users))
    return pair, ids, uids


def pos(pair, side_name, uid, item_id, minutes, last=100):
    side = getattr(pair, side_name)
    side.state.set_user_data(uid, item_id, position_ticks=ticks(minutes * MIN), last_played=at(last))


def minutes(pair, side_name, uid, item_id):
    side = getattr(pair, side_name)
    return side.state.get_user_data(uid, item_id).position_ticks // ticks(MIN)


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def plan_json(capsys, *extra):
    code, out, err = cli(capsys, "plan", "home-to-cabin", "--json", "--all", *extra)
    assert code == 0, err
    return json.loads(out)


def test_by_name_maps_every_user_with_a_partner_and_names_the_rest(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "Bob", "dave"))
    pos(pair, "source", uids[("source", "alice")], ids[("source", 0)], 20)
    pos(pair, "source", uids[("source", "bob")], ids[("source", 0)], 30)
    pos(pair, "source", uids[("source", "carol")], ids[("source", 1)], 40)  # carol has no partner
    plan = plan_json(capsys)
    assert [(u["source"]["name"], u["destination"]["name"]) for u in plan["users"]] == [("alice", "alice"),
                                                                                        ("bob", "Bob")]
    assert {u["source"]["id"] for u in plan["users"]} == {uids[("source", "alice")], uids[("source", "bob")]}
    rows = {(r["source_user"], r["title"]): r for r in plan["rows"]}
    assert set(rows) == {("alice", "Movie 0"), ("bob", "Movie 0")}
    assert rows[("bob", "Movie 0")]["destination_user"] == "Bob"
    assert len({r["key"] for r in plan["rows"]}) == 2  # keys stay unique across users
    assert plan["summary"]["by_user"]["alice"]["by_action"] == {"upsert": 1}
    assert plan["summary"]["by_user"]["bob"]["by_action"] == {"upsert": 1}
    assert plan["summary"]["by_action"] == {"upsert": 2}
    notices = " ".join(plan["notices"])
    assert "carol" in notices and "dave" in notices


def test_an_explicit_map_with_a_renamed_user_applies_and_undoes_every_user_exactly(make_pair, capsys):
    links = (UserLink("alice", "alice"), UserLink("bob", "robert"))
    pair, ids, uids = household(make_pair, users=links)
    a_src, b_src = uids[("source", "alice")], uids[("source", "bob")]
    a_dst, r_dst = uids[("destination", "alice")], uids[("destination", "robert")]
    pos(pair, "source", a_src, ids[("source", 0)], 20)
    pos(pair, "source", b_src, ids[("source", 0)], 50)
    pos(pair, "source", b_src, ids[("source", 2)], 35)
    pos(pair, "destination", r_dst, ids[("destination", 2)], 5, last=10)  # robert behind: overwritten
    before = {(u, n): pair.destination.state.get_user_data(u, ids[("destination", n)])
              for u in (a_dst, r_dst) for n in range(4)}

    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    results = lines[:-1]
    assert {(r["source_user"], r["destination_user"], r["title"], r["status"]) for r in results} == {
        ("alice", "alice", "Movie 0", "applied"), ("bob", "robert", "Movie 0", "applied"),
        ("bob", "robert", "Movie 2", "applied")}
    assert minutes(pair, "destination", a_dst, ids[("destination", 0)]) == 20
    assert minutes(pair, "destination", r_dst, ids[("destination", 0)]) == 50
    assert minutes(pair, "destination", r_dst, ids[("destination", 2)]) == 35
    assert minutes(pair, "destination", uids[("destination", "dave")], ids[("destination", 0)]) == 0

    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes")
    assert code == 0, err
    after = {(u, n): pair.destination.state.get_user_data(u, ids[("destination", n)])
             for u in (a_dst, r_dst) for n in range(4)}
    assert after == before


def test_user_limits_plan_apply_and_undo_and_a_later_undo_restores_the_rest(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name, minutes_ in (("alice", 20), ("bob", 30)):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], minutes_)
    plan = plan_json(capsys, "--user", "BOB")
    assert {r["source_user"] for r in plan["rows"]} == {"bob"}
    assert [u["source"]["name"] for u in plan["users"]] == ["bob"]

    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--user", "bob")
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 0
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 1)]) == 30

    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")  # now everyone (bob is in sync)
    assert code == 0, err
    run_id = json.loads(out.splitlines()[-1])["run_id"]
    pos(pair, "source", uids[("source", "bob")], ids[("source", 3)], 40)  # not part of that run
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", "--user", uids[("source", "bob")])
    assert code == 0, err
    bob_run = json.loads(out.splitlines()[-1])["run_id"]
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 20

    code, out, err = cli(capsys, "undo", run_id, "--yes", "--user", "bob")  # bob had nothing in that run
    assert code == 0, err
    assert "wrote nothing for bob" in out
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 20
    code, out, err = cli(capsys, "undo", run_id, "--yes", "--user", "alice")
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 0
    code, out, err = cli(capsys, "undo", run_id, "--yes")
    assert code == 0 and "already undone" in out
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 3)]) == 40
    code, out, err = cli(capsys, "undo", bob_run, "--yes", "--user", "alice")  # that run was bob's only
    assert code == 2 and "no such source user" in err


def test_undo_of_one_user_leaves_the_others_for_a_later_undo(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name, minutes_ in (("alice", 20), ("bob", 30)):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], minutes_)
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    run_id = json.loads(out.splitlines()[-1])["run_id"]
    code, out, err = cli(capsys, "undo", run_id, "--yes", "--user", "alice")
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 0
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 1)]) == 30
    code, out, err = cli(capsys, "undo", run_id, "--yes", "--user", "alice")
    assert code == 0 and "writes of other users remain" in out
    code, out, err = cli(capsys, "undo", run_id, "--yes")
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 1)]) == 0
    code, out, err = cli(capsys, "undo", run_id, "--yes")
    assert code == 0 and "already undone" in out


def test_same_server_map_shares_one_users_positions_with_another(make_pair, capsys):
    pair, ids, uids = household(make_pair, src_users=("alice", "kid"), dst_users=())
    key = pair.source.state.add_api_key("family")
    pair.config_file.save_server(ServerEntry("home", pair.source.url, "", "", key, api_key=True))
    pair.config_file.save_pair(PairEntry("share", "home", "home", ProgressSettings(),
                                         users=(UserLink("alice", "kid"),)))
    alice, kid = uids[("source", "alice")], uids[("source", "kid")]
    pos(pair, "source", alice, ids[("source", 2)], 25)
    code, out, err = cli(capsys, "apply", "share", "--yes", "--json")
    assert code == 0, err
    assert minutes(pair, "source", kid, ids[("source", 2)]) == 25
    assert minutes(pair, "source", alice, ids[("source", 2)]) == 25
    code, out, err = cli(capsys, "plan", "share", "--json")
    assert code == 0
    assert [r for r in json.loads(out)["rows"] if r["action"] != "skip"] == []


@pytest.mark.parametrize("links, words", [
    ((UserLink("alice", "kid"), UserLink("kid", "alice")), "both a source and a destination"),
    ((UserLink("alice", "alice"),), "on both sides"),
])
def test_same_server_maps_refuse_chains_and_self_syncs(make_pair, capsys, links, words):
    pair, ids, uids = household(make_pair, src_users=("alice", "kid"), dst_users=())
    pair.config_file.save_server(ServerEntry("home", pair.source.url, "", "", pair.source.state.add_api_key("k"),
                                             api_key=True))
    pair.config_file.save_pair(PairEntry("share", "home", "home", ProgressSettings(), users=links))
    code, out, err = cli(capsys, "plan", "share")
    assert code == 2 and words in err and "pairs.share.users" in err


def test_a_destination_user_named_twice_is_refused(make_pair, capsys):
    pair, ids, uids = household(make_pair, users=(UserLink("alice", "alice"), UserLink("bob", "ALICE")))
    code, out, err = cli(capsys, "plan", "home-to-cabin")
    assert code == 2 and "appears twice" in err


def test_an_unknown_user_is_a_config_error_naming_the_key(make_pair, capsys):
    pair, ids, uids = household(make_pair, users=(UserLink("alice", "nobody"),))
    code, out, err = cli(capsys, "plan", "home-to-cabin")
    assert code == 2 and "pairs.home-to-cabin.users" in err and "nobody" in err


def test_a_token_that_acts_only_for_its_own_user_is_refused_before_any_write(make_pair, capsys):
    pair, ids, uids = household(make_pair, key_entries=False,  # the entries hold alice's own (non-admin) tokens
                                users=(UserLink("alice", "alice"), UserLink("bob", "robert")))
    pos(pair, "source", uids[("source", "bob")], ids[("source", 0)], 30)
    requests_before = len(pair.destination.emulator.requests)
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes")
    assert code == 2
    assert "server 'home' is logged in as alice, who is not an administrator" in err
    assert "--api-key-stdin" in err
    writes = [r for r in pair.destination.emulator.requests[requests_before:] if r.method != "GET"]
    assert writes == []
    assert minutes(pair, "destination", uids[("destination", "robert")], ids[("destination", 0)]) == 0


def test_a_token_of_its_own_user_may_serve_a_map_naming_only_that_user(make_pair, capsys):
    pair, ids, uids = household(make_pair, key_entries=False, users=(UserLink("alice", "alice"),))
    pos(pair, "source", uids[("source", "alice")], ids[("source", 0)], 30)
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes")
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 0)]) == 30


def test_an_api_key_entry_without_a_user_needs_a_map(make_pair, capsys):
    pair, ids, uids = household(make_pair)
    pair.config_file.save_pair(PairEntry("home-to-cabin", "home", "cabin", ProgressSettings()))
    code, out, err = cli(capsys, "plan", "home-to-cabin")
    assert code == 2 and "no user of its own" in err and "users" in err


def test_users_lists_a_servers_users(make_pair, capsys):
    pair, ids, uids = household(make_pair)
    code, out, err = cli(capsys, "users", "cabin", "--json")
    assert code == 0, err
    users = json.loads(out)
    assert {u["name"] for u in users} == {"alice", "robert", "dave"}
    assert set(users[0]) == {"id", "name", "is_admin", "last_activity"}
    code, out, err = cli(capsys, "users", "cabin")
    assert code == 0 and "robert" in out


def test_login_with_an_api_key_and_no_user_saves_a_key_entry(make_pair, capsys, monkeypatch):
    import io
    import sys
    pair, ids, uids = household(make_pair)
    key = pair.destination.state.add_api_key("new")
    monkeypatch.setattr(sys, "stdin", io.StringIO(key + "\n"))
    code, out, err = cli(capsys, "login", "cabin2", "--url", pair.destination.url, "--api-key-stdin")
    assert code == 0, err
    entry = pair.config_file.load().server("cabin2")
    assert entry.api_key and entry.user_id == "" and entry.token == key
    assert key not in out + err
    token = pair.destination.state.issue_token(uids[("destination", "dave")])
    monkeypatch.setattr(sys, "stdin", io.StringIO(token + "\n"))
    code, out, err = cli(capsys, "login", "cabin3", "--url", pair.destination.url, "--api-key-stdin")
    assert code == 2 and "not an API key" in err


def test_the_live_check_looks_at_the_sessions_of_the_destination_user_being_written(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    # bob is watching that film on the destination right now; alice is not
    pair.destination.state.start_session(uids[("destination", "bob")], ids[("destination", 1)])
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    assert code == 0, err
    results = {r["source_user"]: r for r in map(json.loads, out.splitlines()[:-1])}
    assert results["alice"]["status"] == "applied"
    assert (results["bob"]["status"], results["bob"]["reason"]) == ("skipped", "active_session")
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 1)]) == 0


def test_an_item_a_destination_user_cannot_see_is_not_written_for_them(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    pair.destination.state.hide_item_from(uids[("destination", "bob")], ids[("destination", 1)])
    plan = plan_json(capsys)
    rows = {r["source_user"]: r for r in plan["rows"]}
    assert rows["alice"]["action"] == "upsert"
    assert (rows["bob"]["action"], rows["bob"]["reason"]) == ("skip", "unresolved")


def test_an_item_the_first_user_cannot_see_is_still_matched_for_the_others(make_pair, capsys):
    """The shared library is read as a whole (API key, no userId), never through one user's view."""
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    pair.destination.state.hide_item_from(uids[("destination", "alice")], ids[("destination", 1)])
    rows = {r["source_user"]: r for r in plan_json(capsys)["rows"]}
    assert (rows["alice"]["action"], rows["alice"]["reason"]) == ("skip", "unresolved")
    assert (rows["bob"]["action"], rows["bob"]["reason"]) == ("upsert", "destination_missing")
