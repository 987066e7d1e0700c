"""An adversarial review of the household (issue 12) and two-way (issue 14) core: each test here failed before the
fix that came with it (or pins a behaviour the review checked), over real HTTP to the emulator."""

from __future__ import annotations

import json
from dataclasses import replace

from cwtui.core.config_model import UserLink

from .test_household import cli, household, minutes, plan_json, pos


def _apply(capsys, *extra):
    code, out, err = cli(capsys, "apply", "home-to-cabin", "--yes", "--json", *extra)
    return code, [json.loads(line) for line in out.splitlines()], err


# --- household ------------------------------------------------------------------------------------------------


def test_undo_of_a_household_run_after_one_user_was_deleted_still_restores_the_others(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    code, lines, err = _apply(capsys)
    assert code == 0, err
    state = pair.destination.state
    with state.lock:
        del state.users[uids[("destination", "bob")]]
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes", "--json")
    results = {r["destination_user"]: r for r in map(json.loads, out.splitlines()[:-1])}
    assert results["alice"]["status"] == "applied", results
    assert results["bob"]["status"] != "applied"
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 0


def test_undo_user_takes_an_id_written_with_dashes(make_pair, capsys):
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    for name in ("alice", "bob"):
        pos(pair, "source", uids[("source", name)], ids[("source", 1)], 20)
    code, lines, err = _apply(capsys)
    assert code == 0, err
    raw = uids[("source", "bob")]
    dashed = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}".upper()
    assert plan_json(capsys, "--user", dashed)["users"][0]["source"]["name"] == "bob"  # plan takes it
    code, out, err = cli(capsys, "undo", lines[-1]["run_id"], "--yes", "--user", dashed)
    assert code == 0, err
    assert minutes(pair, "destination", uids[("destination", "bob")], ids[("destination", 1)]) == 0
    assert minutes(pair, "destination", uids[("destination", "alice")], ids[("destination", 1)]) == 20


def test_malformed_items_read_for_household_users_are_still_a_notice(make_pair, capsys, monkeypatch):
    from cwtui.emulator import routes_items
    pair, ids, uids = household(make_pair, dst_users=("alice", "bob"), src_users=("alice", "bob"))
    pos(pair, "source", uids[("source", "bob")], ids[("source", 1)], 20)
    real = routes_items.item_dto
    monkeypatch.setattr(routes_items, "item_dto", lambda state, item, **kw: {"Name": "broken"}
                        if item.name == "Movie 3" else real(state, item, **kw))
    notices = " ".join(plan_json(capsys)["notices"])
    assert "had a shape cwtui could not read" in notices
