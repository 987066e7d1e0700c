"""Snapshot files over real HTTP: what the writer reads and writes, and the reader refusing every kind of damage."""

from __future__ import annotations

import json
import os
import stat

import pytest

from cwtui.core.errors import ServerError
from cwtui.core.config_model import ServerEntry
from cwtui.core.models import User
from cwtui.core.snapshot import END_KEY, SnapshotError, read_snapshot
from cwtui.core.snapshot_source import SnapshotSource
from cwtui.core.snapshot_take import choose_users, take
from cwtui.core.sync import default_client_factory

from .factories import at, ticks

pytestmark = pytest.mark.anyio
MIN = 60


def library(state):
    """Three movies and two episodes; another server given the same library has the same titles and provider ids
    under other item ids."""
    movies = state.add_library("Movies", "movies")
    shows = state.add_library("Shows", "tvshows")
    item = {
        "matrix": state.add_movie(movies, "The Matrix", 1999, ticks(136 * MIN), {"Imdb": "tt0133093", "Tmdb": "603"}),
        "alien": state.add_movie(movies, "Alien", 1979, ticks(117 * MIN), {"Imdb": "tt0078748"}),
        "untouched": state.add_movie(movies, "Heat", 1995, ticks(170 * MIN), {"Imdb": "tt0113277"}),
    }
    series = state.add_series(shows, "Dark", {"Tvdb": "334824", "Imdb": "tt5753856"}, 2017)
    item["s1e1"] = state.add_episode(series, 1, 1, "Secrets", ticks(50 * MIN))
    item["s1e2"] = state.add_episode(series, 1, 2, "Lies", ticks(50 * MIN))
    return item


def household(side, users=("alice", "bob")):
    """A library on one emulated server, and watch state for each named user (alice is the side's own user)."""
    state = side.state
    ids = {name: side.user_id if name == "alice" else (state.user_by_name(name) or state.users[
        state.add_user(name, password="pw")]).id for name in users}
    item = library(state)
    state.set_user_data(ids["alice"], item["matrix"], position_ticks=ticks(40 * MIN), last_played=at(100))
    state.set_user_data(ids["alice"], item["s1e1"], played=True, play_count=2, last_played=at(50))
    state.set_user_data(ids["alice"], item["s1e2"], position_ticks=ticks(10 * MIN), played=True, play_count=1,
                        last_played=at(200))  # a rewatch: played and in progress, one line
    if "bob" in ids:
        state.set_user_data(ids["bob"], item["alien"], position_ticks=ticks(30 * MIN), last_played=at(300))
        state.set_user_data(ids["bob"], item["matrix"], played=True, play_count=1, last_played=at(10))
    return ids, item


def entry_of(side, name="home", *, token=None, user=True) -> ServerEntry:
    return ServerEntry(name, side.url, side.user_id if user else "", "alice" if user else "", token or side.token)


async def snap(config, entry, path, users=None, progress=None):
    client = default_client_factory(entry, config.device_id_for(entry))
    try:
        chosen = users if users is not None else await choose_users(client, entry)
        return await take(entry, client, chosen, path, progress=progress)
    finally:
        await client.aclose()


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_one_user_snapshot_holds_in_progress_and_played_items_only(make_pair, tmp_path):
    pair = make_pair()
    _, item = household(pair.source)
    seen = []
    path = tmp_path / "snaps" / "home.jsonl"
    written = await snap(pair.config, entry_of(pair.source), path, progress=lambda n, who: seen.append((n, who)))

    assert written.items == 3 and written.by_user == {"alice": 3} and seen and seen[-1] == (3, "alice")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["home.jsonl"]  # no temp file left
    head, *items, end = lines_of(path)
    assert head["cwtui_snapshot"] == 1
    assert head["server"] == {"name": "Home", "id": pair.source.state.server_id, "version": "10.11.11"}
    assert head["users"] == [{"id": pair.source.user_id, "name": "alice"}] and head["taken_at"].endswith("Z")
    assert end == {END_KEY: 3}
    by_name = {i["name"]: i for i in items}
    assert set(by_name) == {"The Matrix", "Secrets", "Lies"}  # Heat and Alien have no state for alice
    assert by_name["The Matrix"] == {
        "user_id": pair.source.user_id, "type": "movie", "name": "The Matrix", "year": 1999, "series_name": None,
        "season": None, "episode": None, "provider_ids": {"imdb": "tt0133093", "tmdb": "603"},
        "series_provider_ids": None, "runtime_ms": 136 * MIN * 1000, "position_ms": 40 * MIN * 1000,
        "played": False, "play_count": 0, "last_played_at": "2026-11-20T20:01:40Z", "item_id": item["matrix"]}
    lies = by_name["Lies"]
    assert (lies["type"], lies["series_name"], lies["season"], lies["episode"]) == ("episode", "Dark", 1, 2)
    assert lies["series_provider_ids"] == {"tvdb": "334824", "imdb": "tt5753856"}
    assert (lies["position_ms"], lies["played"], lies["play_count"]) == (10 * MIN * 1000, True, 1)
    assert by_name["Secrets"]["position_ms"] == 0 and by_name["Secrets"]["play_count"] == 2

    snapshot = read_snapshot(path)
    assert [u.name for u in snapshot.users] == ["alice"] and len(snapshot.items) == 3


async def test_household_snapshot_with_an_api_key_takes_every_user(make_pair, tmp_path):
    pair = make_pair()
    ids, item = household(pair.source)
    key = pair.source.state.add_api_key("cwtui")
    entry = entry_of(pair.source, "home-key", token=key, user=False)
    client = default_client_factory(entry, "dev")
    try:
        with pytest.raises(Exception, match="no user of its own.*--user NAME"):
            await choose_users(client, entry)
        everyone = await choose_users(client, entry, all_users=True)
        named = await choose_users(client, entry, ["BOB", ids["alice"]])
    finally:
        await client.aclose()
    assert {u.name for u in everyone} == {"alice", "bob"} and [u.name for u in named] == ["bob", "alice"]

    path = tmp_path / "house.jsonl"
    written = await snap(pair.config, entry, path, users=everyone)
    assert written.by_user == {"alice": 3, "bob": 2}
    snapshot = read_snapshot(path)
    bob = {line.item.name: line.item.user_data for line in snapshot.items if line.user_id == ids["bob"]}
    assert bob["Alien"].position_ms == 30 * MIN * 1000 and bob["The Matrix"].played

    # The file as a source: each user's own view of it.
    source = SnapshotSource(path)
    with pytest.raises(Exception, match="holds 2 users"):
        await source.me()
    as_bob = source.for_user(ids["bob"])
    assert [i.name for i in await as_bob.resume_items()] == ["Alien"]
    assert {i.name for i in await source.for_user(ids["alice"]).resume_items()} == {"The Matrix", "Lies"}
    assert await as_bob.why_cannot_write() == "a snapshot is read-only" and await as_bob.sessions() == []
    # As a library: every item of the file, each user's own data (empty where none), or no one's (the shared index).
    movies = [i async for page in as_bob.library_pages(("Movie",)) for i in page]
    assert {i.name: i.user_data.position_ms for i in movies} == {"The Matrix": 0, "Alien": 30 * MIN * 1000}
    whole = [i async for page in source.library_view().library_pages(("Movie", "Episode")) for i in page]
    assert len(whole) == 4 and all(i.user_data is None for i in whole)  # Heat has no state, so it is not in the file


async def test_a_failed_snapshot_leaves_no_temp_file_and_the_old_file_alone(make_pair, tmp_path):
    pair = make_pair()
    household(pair.source, users=("alice",))
    path = tmp_path / "home.jsonl"
    path.write_text("the previous snapshot\n")
    partial = []

    def fail_from_now_on(count, _who):
        """The resume list is in the temp file; the played pages that follow fail (retries included)."""
        partial.extend(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        pair.source.emulator.faults.fail_matching(r"^/Items$", 500, count=10)

    with pytest.raises(ServerError):
        await snap(pair.config, entry_of(pair.source), path, users=[User(pair.source.user_id, "alice")],
                   progress=fail_from_now_on)
    assert len(partial) == 1 and partial[0].startswith(".home.jsonl.")  # it was there while writing
    assert sorted(os.listdir(tmp_path)) == ["config", "home.jsonl"]
    assert path.read_text() == "the previous snapshot\n"


@pytest.fixture
def good_file(make_pair, tmp_path, anyio_backend):
    """A real two-item snapshot file (taken over HTTP) to damage."""
    import anyio

    pair = make_pair()
    state, uid = pair.source.state, pair.source.user_id
    lib = state.add_library("Movies", "movies")
    for n in range(2):
        mid = state.add_movie(lib, f"Film {n}", 2000 + n, ticks(90 * MIN), {"Imdb": f"tt{n:07d}"})
        state.set_user_data(uid, mid, position_ticks=ticks(10 * MIN), last_played=at(n))
    path = tmp_path / "good.jsonl"
    anyio.run(snap, pair.config, entry_of(pair.source), path)
    assert read_snapshot(path).items
    return path


def _lines(path):
    return path.read_bytes().split(b"\n")[:-1]


def _set(path, number, obj):
    lines = _lines(path)
    lines[number - 1] = json.dumps(obj).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")


def _field(path, number, key, value):
    obj = json.loads(_lines(path)[number - 1])
    obj[key] = value
    _set(path, number, obj)


DAMAGE = {
    "cut at a line boundary": (lambda p: p.write_bytes(b"\n".join(_lines(p)[:3]) + b"\n"),
                               3, "cut short: no end line"),
    "cut mid-line": (lambda p: p.write_bytes(p.read_bytes()[:-40]), 3, "cut off in the middle of the line"),
    "broken JSON line": (lambda p: p.write_bytes(p.read_bytes().replace(b'"position_ms"', b'"position_ms', 1)),
                         2, "not valid JSON"),
    "wrong type": (lambda p: _field(p, 3, "position_ms", "600000"), 3, "position_ms: expected a whole number"),
    "wrong type of played": (lambda p: _field(p, 2, "played", 1), 2, "played: expected true or false"),
    "unknown type": (lambda p: _field(p, 2, "type", "series"), 2, 'type must be "movie" or "episode"'),
    "missing field": (lambda p: _set(p, 2, {k: v for k, v in json.loads(_lines(p)[1]).items() if k != "year"}),
                      2, "the field year is missing"),
    "a user not in the header": (lambda p: _field(p, 3, "user_id", "ab" * 16), 3, "not one of the header's users"),
    "other version": (lambda p: _field(p, 1, "cwtui_snapshot", 2), 1, "format version 2; this cwtui reads version 1"),
    "a line dropped": (lambda p: p.write_bytes(b"\n".join(_lines(p)[:2] + _lines(p)[3:]) + b"\n"),
                       3, "counts 2 item lines, but the file has 1"),
    "not a snapshot": (lambda p: p.write_text('{"hello": 1}\n'), 1, "not a cwtui snapshot"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_every_kind_of_damage_names_the_file_and_the_line(good_file, damage):
    spoil, line, words = DAMAGE[damage]
    spoil(good_file)
    with pytest.raises(SnapshotError) as caught:
        read_snapshot(good_file)
    assert caught.value.exit_code == 2 and caught.value.line == line
    assert f"snapshot {good_file}, line {line}: " in str(caught.value) and words in str(caught.value)


def test_a_snapshot_entry_saves_and_loads_as_its_path_only(tmp_path):
    from cwtui.core.config import ConfigFile

    cf = ConfigFile(tmp_path / "config.toml")
    cf.save_server(ServerEntry("saved", "http://127.0.0.1:1", "u", "alice", "secret-token"))
    cf.save_server(ServerEntry("saved", "", "", "", "", snapshot=str(tmp_path / "home.jsonl")))
    assert "[servers.saved]\nsnapshot = " in cf.path.read_text() and "secret-token" not in cf.path.read_text()
    assert cf.load().server("saved").snapshot == str(tmp_path / "home.jsonl")
    cf.save_server(ServerEntry("saved", "http://127.0.0.1:2", "u", "alice", "t"))  # and back to a server
    loaded = cf.load().server("saved")
    assert loaded.snapshot is None and loaded.url == "http://127.0.0.1:2" and "snapshot" not in cf.path.read_text()


async def test_played_pages_stop_on_a_server_that_ignores_start_index_and_drop_overlaps():
    """The snapshot's played read keeps only the previous page's ids (flat memory) and still never loops."""
    from cwtui.core.errors import BadResponse

    from .test_client_unit import Fake, js, movie, page_handler

    fake = Fake()
    fake.on("GET", "/Items", page_handler(1000, ignore_start=True))
    async with fake.client() as c:
        with pytest.raises(BadResponse, match="same 100 items again"):
            async for _ in c.played_pages(page_size=100):
                pass
    assert len(fake.calls("GET", "/Items")) == 2
    assert fake.calls("GET", "/Items")[0].url.params["filters"] == "IsPlayed"

    def overlapping(request):  # each page repeats the previous page's last item (an unstable sort)
        low = max(0, int(request.url.params["startIndex"]) - 1)
        return js({"Items": [movie(n + 1) for n in range(low, min(25, low + 10))]})

    fake = Fake()
    fake.on("GET", "/Items", overlapping)
    async with fake.client() as c:
        items = await c.played_items(page_size=10)
    assert sorted(int(i.id, 16) for i in items) == list(range(1, 26))  # each once
