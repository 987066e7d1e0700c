"""Issue 12 §3, cost grows with items, not with users: a household plan reads each server's library once and only
user data per user (request counts by kind from the emulators' request logs, over real HTTP)."""

from __future__ import annotations

from collections import Counter

import pytest

from cwtui.core.config_model import BY_NAME, PairEntry, ServerEntry
from cwtui.core.models import ProgressSettings
from cwtui.core.index import _own_user_data
from cwtui.core.match import Match, MatchStatus
from cwtui.core.sync import PairSync, default_client_factory
from cwtui.emulator.generate import Size, populate_household

pytestmark = pytest.mark.anyio
SIZE = Size(movies=600, series=6, episodes_per_series=8, resumable_movies=5, resumable_episodes=8,
            resumable_series=3)
"""600 movies: the movie library takes two pages of 500, so "read once" means two requests, not one."""


def household(make_pair, users: int, size: Size = SIZE):
    pair = make_pair()
    made = populate_household(pair.source.state, pair.destination.state, seed=5, size=size, users=users)
    for name, side in (("home", pair.source), ("cabin", pair.destination)):  # API keys: no user of their own
        pair.config_file.save_server(ServerEntry(name, side.url, "", "", side.state.add_api_key("t"), api_key=True))
    pair.config_file.save_pair(PairEntry("home-to-cabin", "home", "cabin", ProgressSettings(), users=BY_NAME))
    return pair, made


async def planned(pair, users=None):
    """The plan and, per side, the GET requests it made: {(path, kind): [userId of each request]}."""
    for side in (pair.source, pair.destination):
        side.emulator.reset_requests()
    async with PairSync(pair.config, pair.pair_name, pair.journal) as sync:
        plan = await sync.plan(users=users)
    return plan, {name: _reads(getattr(pair, name).emulator.requests) for name in ("source", "destination")}


def _reads(records) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for r in records:
        q = {k.lower(): v[0] for k, v in r.query.items()}
        kind = ("ids" if "ids" in q else q.get("filters") or q.get("includeitemtypes") or "") if r.path == "/Items" \
            else ""
        out.setdefault((r.path, kind), []).append(q.get("userid", ""))
    return out


def _library(reads: dict) -> dict:
    """The library reads: movie pages, series lists, episode lists (not resume lists or user-data reads)."""
    return {k: v for k, v in reads.items() if k[1] in ("Movie", "Series") or k[0].startswith("/Shows/")}


async def test_three_users_read_each_library_once_and_only_their_own_user_data(make_pair):
    pair, made = household(make_pair, users=3)
    one_plan, one = await planned(pair, users=["alice"])
    plan, three = await planned(pair)

    rows = Counter(r.source_user for r in plan.rows)
    assert rows == {name: len(items) for name, items in made.resumable.items()} == {"alice": 13, "bob": 13,
                                                                                      "carol": 13}
    for side in ("source", "destination"):
        library = _library(three[side])
        assert library == _library(one[side])  # the same requests as for alice alone ...
        assert {u for users in library.values() for u in users} == {""}  # ... made once, as the whole library
        resume = three[side][("/Items", "IsResumable")]
        users = getattr(made, side).user_ids.values()
        assert sorted(resume) == sorted(users)  # one resume page per user (each list is under 200 items)
    assert len(three["destination"][("/Items", "Movie")]) == 2  # both pages of the movie library, once
    assert sum(1 for path, _ in three["destination"] if path.startswith("/Shows/")) == 3  # one list per show
    # each user's own data: one batched read each of the items matched for them (13, so one request)
    assert Counter(three["destination"][("/Items", "ids")]) == {made.destination.user_ids[name]: 1
                                                                for name in ("alice", "bob", "carol")}
    assert Counter(one["destination"][("/Items", "ids")]) == {made.destination.user_ids["alice"]: 1}
    assert len(one_plan.rows) == 13


async def test_a_users_batched_user_data_reads_go_out_together_and_bring_that_users_data(make_pair):
    """What each user after the first waits on once the library is in: 250 items are three batched reads, sent
    at once rather than one after another."""
    size = Size(movies=300, series=1, episodes_per_series=2, resumable_movies=250, resumable_episodes=0,
                resumable_series=1)
    pair, made = household(make_pair, users=2, size=size)
    client = default_client_factory(pair.config.server("cabin"), "dev")
    alice, bob = (client.for_user(made.destination.user_ids[name]) for name in ("alice", "bob"))
    try:
        library = await alice.items_by_ids(made.counterpart[i] for i in made.resumable["bob"])  # as alice read it
        matches = [Match(item, MatchStatus.MATCHED, (item,)) for item in library]
        barrier = pair.destination.emulator.faults.together(r"^/Items$", 3)
        own = await _own_user_data(bob, matches)
    finally:
        await client.aclose()
    assert barrier.met
    state = pair.destination.state
    positions = {d.id: d.user_data.position_ticks if d.user_data else 0 for m in own for d in m.destinations}
    assert len(positions) == 250
    assert positions == {i: state.get_user_data(bob.user_id, i).position_ticks for i in positions}
    assert sum(1 for p in positions.values() if p) == 50  # bob is behind on a fifth of his items there
