"""What a script relies on (issue 8 §3): libraries by name or id, --config anywhere, exact names and years in JSON."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import cli
from tests.core.factories import at, ticks

MIN = 60


def two_libraries(pair):
    """A movie in 'Movies' and one in 'Documentaries' on both sides, both with a source position to write."""
    ids = {}
    for name in ("source", "destination"):
        side = getattr(pair, name)
        for lib_name, film, imdb in (("Movies", "Heat", "tt0113277"), ("Documentaries", "Koyaanisqatsi", "tt0085809")):
            lib = side.state.add_library(lib_name, "movies")
            ids[(name, lib_name)] = lib
            ids[(name, film)] = side.state.add_movie(lib, film, year=1995, runtime_ticks=ticks(100 * MIN),
                                                     provider_ids={"Imdb": imdb})
    for film in ("Heat", "Koyaanisqatsi"):
        pair.source.state.set_user_data(pair.source.user_id, ids[("source", film)], position_ticks=ticks(20 * MIN),
                                        last_played=at(100))
    return ids


def dashed_upper(hex32: str) -> str:
    h = hex32.upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@pytest.mark.parametrize("spelling", [str.lower, str.upper, dashed_upper, lambda i: "{" + dashed_upper(i) + "}"])
def test_a_library_id_in_any_spelling_selects_that_library(make_pair, capsys, spelling):
    pair = make_pair()
    ids = two_libraries(pair)
    pair.set_settings(libraries=(spelling(ids[("source", "Documentaries")]),))
    code, out, err = cli(capsys, "plan", "home-to-cabin", "--json")
    assert code == 0, err
    assert [r["title"] for r in json.loads(out)["rows"]] == ["Koyaanisqatsi"]


def test_a_library_name_in_any_case_selects_that_library(make_pair, capsys):
    pair = make_pair()
    two_libraries(pair)
    pair.set_settings(libraries=("mOVIES",))
    code, out, err = cli(capsys, "plan", "home-to-cabin", "--json")
    assert code == 0, err
    assert [r["title"] for r in json.loads(out)["rows"]] == ["Heat"]
    pair.set_settings(libraries=("Cartoons",))
    code, _, err = cli(capsys, "plan", "home-to-cabin")
    assert code == 2 and "Cartoons" in err and "Movies" in err


@pytest.mark.parametrize("argv", [
    ["plan", "home-to-cabin", "--json", "--config", "{path}"],
    ["--config", "{path}", "plan", "home-to-cabin", "--json"],
    ["plan", "--config", "{path}", "home-to-cabin", "--json"],
])
def test_config_before_or_after_the_command(make_pair, capsys, monkeypatch, tmp_path, argv):
    pair = make_pair()
    two_libraries(pair)
    monkeypatch.setenv("CWTUI_CONFIG", str(tmp_path / "not-this-one.toml"))  # only --config can find the pair
    code, out, err = cli(capsys, *[a.format(path=pair.config_file.path) for a in argv])
    assert code == 0, err
    assert json.loads(out)["pair"] == "home-to-cabin"


@pytest.mark.parametrize(("command", "says"), [
    (["servers"], "home"), (["pairs"], "home-to-cabin"), (["runs"], "No runs yet"),
    (["servers", "--json"], '"name": "home"'), (["undo", "--yes"], "nothing to undo"),
])
def test_config_after_any_command(make_pair, capsys, monkeypatch, tmp_path, command, says):
    pair = make_pair()
    monkeypatch.setenv("CWTUI_CONFIG", str(tmp_path / "not-this-one.toml"))
    code, out, err = cli(capsys, *command, "--config", str(pair.config_file.path))
    assert says in out + err
    assert code == (2 if command[0] == "undo" else 0)  # undo read the config and found no run to undo


def episode_and_movies(pair):
    """An episode, a movie with a year and one without, each with a source position to write."""
    src_ids = {}
    for name in ("source", "destination"):
        side = getattr(pair, name)
        shows = side.state.add_library("Shows", "tvshows")
        series = side.state.add_series(shows, "The Wire", provider_ids={"Tvdb": "79126"}, year=2002)
        episode = side.state.add_episode(series, 1, 2, "The Detail", runtime_ticks=ticks(60 * MIN))
        movies = side.state.add_library("Movies", "movies")
        dated = side.state.add_movie(movies, "Alien", year=1979, runtime_ticks=ticks(100 * MIN),
                                     provider_ids={"Imdb": "tt0078748"})
        undated = side.state.add_movie(movies, "Home Video", runtime_ticks=ticks(100 * MIN),
                                       provider_ids={"Imdb": "tt9999999"})
        if name == "source":
            src_ids = {"episode": episode, "dated": dated, "undated": undated}
    for item in src_ids.values():
        pair.source.state.set_user_data(pair.source.user_id, item, position_ticks=ticks(20 * MIN), last_played=at(100))
    return src_ids


EXPECTED = {
    "episode": {"type": "episode", "title": "The Detail", "year": 2002, "series": "The Wire", "season": 1,
                "episode": 2},
    "dated": {"type": "movie", "title": "Alien", "year": 1979, "series": None, "season": None, "episode": None},
    "undated": {"type": "movie", "title": "Home Video", "year": None, "series": None, "season": None,
                "episode": None},
}


def test_plan_json_names_each_item_exactly_with_its_year(make_pair, capsys):
    pair = make_pair()
    ids = episode_and_movies(pair)
    code, out, _ = cli(capsys, "plan", "home-to-cabin", "--json")
    rows = {r["source_item_id"]: r for r in json.loads(out)["rows"]}
    assert code == 0
    for which, expected in EXPECTED.items():
        assert {k: rows[ids[which]][k] for k in expected} == expected


def test_apply_json_lines_name_each_item_as_the_plan_does(make_pair, capsys):
    pair = make_pair()
    ids = episode_and_movies(pair)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    by_key = {line["key"]: line for line in lines[:-1]}
    assert code == 0 and len(by_key) == 3
    for which, expected in EXPECTED.items():
        line = by_key[ids[which]]
        assert line["status"] == "applied"
        assert {k: line[k] for k in ("title", "year", "series", "season", "episode")} == {
            k: expected[k] for k in ("title", "year", "series", "season", "episode")}


def test_undo_json_lines_name_each_item_by_its_exact_name_and_year(make_pair, capsys):
    pair = make_pair()
    ids = episode_and_movies(pair)
    code, out, _ = cli(capsys, "apply", "home-to-cabin", "--yes", "--json")
    run_id = json.loads(out.splitlines()[-1])["run_id"]
    code, out, err = cli(capsys, "undo", run_id, "--yes", "--json")
    assert code == 0, err
    by_key = {line["key"]: line for line in map(json.loads, out.splitlines()[:-1])}
    for which, expected in EXPECTED.items():
        line = by_key[ids[which]]
        assert (line["title"], line["year"]) == (expected["title"], expected["year"]) and line["action"] == "restore"
