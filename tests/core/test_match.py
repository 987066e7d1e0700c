"""Matching by provider ids: versions, conflicts, collections, episodes by series and numbers, fallback."""

from __future__ import annotations

from cwtui.core.match import (
    MatchStatus,
    ProviderIndex,
    episodes_by_number,
    match_episode,
    match_movie,
    match_same_server,
)
from cwtui.core.models import Series

from .factories import episode, movie


def test_movie_matches_by_any_shared_id_keys_case_insensitive():
    src = movie(600, ids={"Imdb": "tt1", "Tmdb": "10"})
    dst = movie(0, ids={"IMDB": "tt1"})
    m = match_movie(src, ProviderIndex([dst, movie(0, ids={"imdb": "tt2"})]))
    assert m.status is MatchStatus.MATCHED and [d.id for d in m.destinations] == [dst.id]


def test_two_destination_items_with_the_same_ids_are_versions():
    src = movie(600, ids={"imdb": "tt1"})
    a, b = movie(0, ids={"imdb": "tt1"}), movie(0, ids={"imdb": "tt1", "tmdb": "10"})
    m = match_movie(src, ProviderIndex([a, b]))
    assert m.status is MatchStatus.MATCHED and {d.id for d in m.destinations} == {a.id, b.id}


def test_conflicting_id_makes_the_row_ambiguous():
    src = movie(600, ids={"imdb": "tt1", "tmdb": "10"})
    a = movie(0, ids={"imdb": "tt1", "tmdb": "99"})  # imdb leads to a, but a's tmdb is not ours
    m = match_movie(src, ProviderIndex([a]))
    assert m.status is MatchStatus.AMBIGUOUS and m.destinations == ()
    assert "tmdb" in m.how
    assert f"'{a.name}'" in m.how and a.id in m.how  # names the conflicting item, for the detail dialog


def test_collection_ids_and_junk_values_are_not_match_keys():
    src = movie(600, ids={"tmdbcollection": "5", "tvrage": "0", "imdb": "tt1"})
    other = movie(0, ids={"TmdbCollection": "5", "imdb": "tt9"})
    # the shared collection id must not pull `other` in: only imdb is compared, and it differs
    assert match_movie(src, ProviderIndex([other])).status is MatchStatus.UNRESOLVED
    assert match_movie(src, ProviderIndex([movie(0, ids={"TmdbCollection": "5"})])).status is MatchStatus.UNRESOLVED


def test_no_ids_is_unresolved():
    assert match_movie(movie(600, ids={}), ProviderIndex([movie(0, ids={})])).status is MatchStatus.UNRESOLVED


def test_episode_by_series_and_numbers_ignores_its_own_ids():
    src = episode("Show", 1, 3, 600, ids={"tvdb": "111"})
    dst = episode("Show", 1, 3, 0, ids={"tvdb": "999"}, series_id="d" * 32)
    series = [Series("d" * 32, "Show", {"tvdb": "5"})]
    m = match_episode(src, MatchStatus.MATCHED, series, {"d" * 32: episodes_by_number([dst])}, None)
    assert m.status is MatchStatus.MATCHED and m.destinations == (dst,)


def test_season_zero_is_a_real_season():
    src = episode("Show", 0, 1, 600)
    special, s1e1 = episode("Show", 0, 1, 0), episode("Show", 1, 1, 0)
    series = [Series("d" * 32, "Show")]
    m = match_episode(src, MatchStatus.MATCHED, series, {"d" * 32: episodes_by_number([special, s1e1])}, None)
    assert m.destinations == (special,)


def test_matched_series_without_that_episode_is_unresolved():
    src = episode("Show", 2, 9, 600)
    m = match_episode(src, MatchStatus.MATCHED, [Series("d" * 32, "Show")], {"d" * 32: {}}, None)
    assert m.status is MatchStatus.UNRESOLVED and "S02E09" in m.how


def test_fallback_to_episode_ids_only_when_exactly_one():
    src = episode("Show", 1, 1, 600, ids={"tvdb": "42"})
    one = episode("Other", 3, 3, 0, ids={"tvdb": "42"})
    m = match_episode(src, MatchStatus.UNRESOLVED, [], {}, ProviderIndex([one]))
    assert m.status is MatchStatus.MATCHED and m.destinations == (one,)
    two = episode("Other", 4, 4, 0, ids={"tvdb": "42"})
    m = match_episode(src, MatchStatus.UNRESOLVED, [], {}, ProviderIndex([one, two]))
    assert m.status is MatchStatus.AMBIGUOUS


def test_same_server_matches_by_item_id():
    src = movie(600)
    assert match_same_server(src, None).status is MatchStatus.UNRESOLVED
    assert match_same_server(src, src).destinations == (src,)
