"""The demo data set through the real engine: every case gets the reason it was built for, and apply/undo work."""

from __future__ import annotations

import pytest

from cwtui.core.config import ConfigFile
from cwtui.core.journal import Journal
from cwtui.core.models import Reason, Status
from cwtui.core.sync import PairSync, find_run, open_undo
from cwtui.demo import start_demo

pytestmark = pytest.mark.anyio

EXPECTED = {
    "in_sync": Reason.IN_SYNC,
    "source_ahead": Reason.SOURCE_AHEAD,
    "behind_newer": Reason.SOURCE_NEWER,
    "behind_older": Reason.DESTINATION_NEWER,
    "destination_no_position": Reason.DESTINATION_MISSING,
    "below_minimum": Reason.BELOW_MIN_SECONDS,
    "within_delta": Reason.WITHIN_DELTA,
    "near_complete": Reason.NEAR_COMPLETE,
    "over_destination_max": Reason.NEAR_COMPLETE,
    "destination_played": Reason.ALREADY_WATCHED,
    "playing_now": Reason.SOURCE_AHEAD,
    "explicit_zero": Reason.EXPLICIT_ZERO,
    "absent_on_source": Reason.ABSENT_ON_SOURCE,
    "short_item": Reason.SHORT_ITEM,
    "two_versions": Reason.DESTINATION_MISSING,
    "unmatched": Reason.UNRESOLVED,
    "ambiguous": Reason.AMBIGUOUS,
    "special": Reason.DESTINATION_MISSING,
    "episode_source_ahead": Reason.SOURCE_AHEAD,
    # issue 8's cases: the source copy played most recently wins, the other is superseded; the two destination
    # copies that share one 10.10 row plan as one row (apply writes one of them, see below)
    "source_copies_newer": Reason.SOURCE_AHEAD,
    "source_copies_older": Reason.SUPERSEDED_BY_COPY,
    "shared_row_copies": Reason.SOURCE_AHEAD,
}


@pytest.fixture
def demo(tmp_path):
    handle = start_demo(tmp_path / "demo")
    yield handle
    handle.stop()


async def test_every_demo_case_plans_as_built_and_apply_undo_round_trips(demo):
    config = ConfigFile(demo.config_path).load()
    journal = Journal(demo.state_dir)
    data = demo.demo
    dest_ids = [i for ids in data.destination_ids.values() for i in ids]
    original = {i: data.destination.get_user_data(data.destination_user_id, i) for i in dest_ids}
    async with PairSync(config, demo.pair_name, journal) as sync:
        plan = await sync.plan()
        by_id = {}
        for row in plan.rows:
            for item_id in (row.source_item_id, *row.destination_item_ids):
                by_id[item_id] = row
        cases = demo.demo.cases
        assert set(cases) >= set(EXPECTED)
        got = {case: by_id[cases[case]].reason for case in EXPECTED}
        assert got == EXPECTED
        assert len(by_id[cases["two_versions"]].destination_item_ids) == 2
        assert len(by_id[cases["shared_row_copies"]].destination_item_ids) == 2

        results = [r async for r in sync.start_apply(plan).results()]
    by_key = {}
    for r in results:
        by_key.setdefault(r.key, []).append(r)
    playing = by_id[cases["playing_now"]]
    assert [(r.status, r.reason) for r in by_key[playing.key]] == [(Status.SKIPPED, Reason.ACTIVE_SESSION)]
    assert all(r.status is Status.APPLIED for k, rs in by_key.items() if k != playing.key for r in rs
               if r.reason is not Reason.SHARED_ROW)
    # The demo destination is 10.10: the two versions share one stored row (same Tmdb), so one write serves both
    # and the other copy gets its own line naming the item written.
    versions = by_key[by_id[cases["two_versions"]].key]
    assert sorted((r.status, r.reason) for r in versions) == [(Status.APPLIED, Reason.WRITTEN),
                                                             (Status.SKIPPED, Reason.SHARED_ROW)]
    written = next(r for r in versions if r.status is Status.APPLIED)
    assert written.destination_item_id in next(r for r in versions if r.reason is Reason.SHARED_ROW).detail
    copies = by_key[by_id[cases["shared_row_copies"]].key]
    assert sorted((r.status, r.reason) for r in copies) == [(Status.APPLIED, Reason.WRITTEN),
                                                           (Status.SKIPPED, Reason.SHARED_ROW)]

    undo = await open_undo(config, journal, find_run(journal, None))
    undone = [r async for r in undo.results()]
    await undo.client.aclose()
    assert undone and all(r.status is Status.APPLIED for r in undone)
    assert original == {i: data.destination.get_user_data(data.destination_user_id, i) for i in original}


async def test_restricted_pair_targets_a_user_who_may_not_edit_user_data(demo):
    """The second demo pair plans against "kid" (EnableUserPreferenceAccess=false): planned as usual, not writable."""
    config = ConfigFile(demo.config_path).load()
    data = demo.demo
    entry = config.servers["cabin-kid"]
    assert entry.user_id == data.restricted_user_id != data.destination_user_id
    assert data.destination.users[entry.user_id].enable_user_preference_access is False
    async with PairSync(config, demo.restricted_pair_name, Journal(demo.state_dir)) as sync:
        plan = await sync.plan()
    row = next(r for r in plan.rows if r.source_item_id == data.cases["source_ahead"])
    assert row.reason is Reason.SOURCE_AHEAD  # kid is 5 minutes in, 9 days ago
    assert plan.destination.writable is False and "EnableUserPreferenceAccess" in plan.destination.why_not_writable


async def test_family_pair_plans_both_users_and_apply_undo_round_trips_for_robert(demo):
    """Issue 12's household in the demo: bob on home is robert on cabin; API-key entries serve the map."""
    from cwtui.demo import FAMILY_PAIR_NAME

    config = ConfigFile(demo.config_path).load()
    journal = Journal(demo.state_dir)
    data = demo.demo
    robert = data.household["robert"]
    dest_items = [i for ids in data.destination_ids.values() for i in ids]
    before = {i: data.destination.get_user_data(robert, i) for i in dest_items}
    async with PairSync(config, FAMILY_PAIR_NAME, journal) as sync:
        plan = await sync.plan()
        assert [(u.source.name, u.destination.name) for u in plan.users] == [("alice", "alice"), ("bob", "robert")]
        bob = {r.source_item_id: r for r in plan.rows if r.source_user == "bob"}
        assert all(r.destination_user == "robert" for r in bob.values())
        cases = data.household_cases
        assert bob[cases["bob_source_ahead"]].reason is Reason.SOURCE_AHEAD
        assert bob[cases["bob_destination_missing"]].reason is Reason.DESTINATION_MISSING
        assert bob[cases["bob_episode_source_ahead"]].reason is Reason.SOURCE_AHEAD
        assert set(plan.summary()["by_user"]) == {"alice", "bob"}
        results = [r async for r in sync.start_apply(plan, only={r.key for r in bob.values() if r.writes}).results()]
    assert {(r.source_user, r.destination_user, r.status) for r in results} == {("bob", "robert", Status.APPLIED)}
    written = data.destination.get_user_data(robert, data.destination_ids["within_delta"][0])
    assert written.position_ticks == 35 * 60 * 10_000_000

    undo = await open_undo(config, journal, find_run(journal, None))
    assert all(r.status is Status.APPLIED for r in [r async for r in undo.results()])
    await undo.client.aclose()
    assert before == {i: data.destination.get_user_data(robert, i) for i in before}


async def test_share_pair_shares_alices_positions_with_carol_on_one_server(demo):
    from cwtui.demo import SHARE_PAIR_NAME

    config = ConfigFile(demo.config_path).load()
    data = demo.demo
    async with PairSync(config, SHARE_PAIR_NAME, Journal(demo.state_dir)) as sync:
        plan = await sync.plan()
    assert [(u.source.name, u.destination.name) for u in plan.users] == [("alice", "carol")]
    rows = {r.source_item_id: r for r in plan.rows}
    assert rows[data.household_cases["carol_destination_newer"]].reason is Reason.DESTINATION_NEWER
    assert rows[data.cases["destination_no_position"]].reason is Reason.DESTINATION_MISSING
    assert {r.destination_user for r in plan.rows} == {"carol"}
