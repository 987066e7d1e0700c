"""Item queries over real HTTP: userId rules, scope, filters, paging, sorting, resume, episodes, views."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.emulator.conftest import MIN, T0


def names(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [i["Name"] for i in resp.json()["Items"]]


def test_recursive_movies_sorted_by_sort_name_with_provider_ids_only_when_asked(world):
    r = world.get("/Items", world.alice_token, params={"recursive": "true", "includeItemTypes": "Movie"})
    assert names(r) == ["Alien", "Aliens", "Heat"]
    assert all("ProviderIds" not in i for i in r.json()["Items"])
    r = world.get("/Items", world.alice_token,
                  params={"recursive": "true", "includeItemTypes": "Movie", "fields": "ProviderIds"})
    assert r.json()["Items"][2]["ProviderIds"] == {"Imdb": "tt0113277", "Tmdb": "949"}
    item = r.json()["Items"][0]
    assert item["ChannelId"] is None and item["Type"] == "Movie" and item["MediaType"] == "Video"
    assert item["UserData"]["PlaybackPositionTicks"] == 0 and "LastPlayedDate" not in item["UserData"]


def test_query_names_are_case_insensitive_and_arrays_take_both_forms(world):
    a = world.get("/Items", world.alice_token, params={"Recursive": "TRUE", "INCLUDEITEMTYPES": "movie,Episode"})
    b = world.get("/Items", world.alice_token,
                  params=[("recursive", "true"), ("includeItemTypes", "Movie"), ("includeitemtypes", "Episode")])
    assert names(a) == names(b) and len(names(a)) == 12


def test_unknown_enum_values_are_dropped_silently(world):
    r = world.get("/Items", world.alice_token, params={"recursive": "true", "includeItemTypes": "Movei"})
    assert r.status_code == 200
    assert r.json()["TotalRecordCount"] == 3 + 1 + 3 + 9  # a typo widens the result to everything
    r = world.get("/Items", world.alice_token, params={"recursive": "true", "includeItemTypes": "Movie",
                                                       "sortBy": "Bogus,ProductionYear"})
    assert names(r) == ["Alien", "Aliens", "Heat"]


def test_paging_total_and_enable_total_record_count(world):
    p = {"recursive": "true", "includeItemTypes": "Episode", "limit": "4"}
    first = world.get("/Items", world.alice_token, params={**p, "startIndex": "0"}).json()
    last = world.get("/Items", world.alice_token, params={**p, "startIndex": "8"}).json()
    assert (first["TotalRecordCount"], first["StartIndex"], len(first["Items"])) == (9, 0, 4)
    assert (last["TotalRecordCount"], last["StartIndex"], len(last["Items"])) == (9, 8, 1)
    nocount = world.get("/Items", world.alice_token,
                        params={**p, "startIndex": "4", "enableTotalRecordCount": "false"}).json()
    assert nocount["TotalRecordCount"] == 4 and nocount["StartIndex"] == 4
    pages = [i["Id"] for s in (0, 4, 8) for i in
             world.get("/Items", world.alice_token, params={**p, "startIndex": str(s)}).json()["Items"]]
    assert len(set(pages)) == 9


def test_is_resumable_means_position_above_zero_and_nothing_else(world):
    s = world.state
    s.set_user_data(world.alice, world.heat, position_ticks=1, played=True)  # played AND a position: resumable
    s.set_user_data(world.alice, world.alien, position_ticks=0, played=False, last_played=T0)
    s.set_user_data(world.bob, world.aliens, position_ticks=5 * MIN)  # bob's, not alice's
    r = world.get("/Items", world.alice_token,
                  params={"recursive": "true", "filters": "IsResumable", "includeItemTypes": "Movie"})
    assert names(r) == ["Heat"]
    bob = world.get("/Items", world.bob_token, params={"recursive": "true", "filters": "IsResumable"})
    assert names(bob) == ["Aliens"]
    played = world.get("/Items", world.alice_token,
                       params={"recursive": "true", "filters": "IsPlayed", "includeItemTypes": "Movie"})
    assert names(played) == ["Heat"]
    unplayed = world.get("/Items", world.alice_token,
                         params={"recursive": "true", "isPlayed": "false", "includeItemTypes": "Movie"})
    assert names(unplayed) == ["Alien", "Aliens"]


def test_user_id_resolution(world):
    world.state.set_user_data(world.bob, world.heat, position_ticks=7 * MIN)
    p = {"recursive": "true", "includeItemTypes": "Movie", "searchTerm": "heat"}
    # omitted -> the token's own user
    assert world.get("/Items", world.bob_token, params=p).json()["Items"][0]["UserData"]["PlaybackPositionTicks"] \
        == 7 * MIN
    # another user's id without admin -> 403
    assert world.get("/Items", world.alice_token, params={**p, "userId": world.bob}).status_code == 403
    # admin user and API key may
    assert world.get("/Items", world.admin_token, params={**p, "userId": world.bob}).status_code == 200
    by_key = world.get("/Items", world.api_key, params={**p, "userId": world.bob}).json()["Items"][0]
    assert by_key["UserData"]["PlaybackPositionTicks"] == 7 * MIN
    # API key without userId -> items without UserData
    assert "UserData" not in world.get("/Items", world.api_key, params=p).json()["Items"][0]
    # dashed ids work too
    dashed = world.bob[:8] + "-" + world.bob[8:12] + "-" + world.bob[12:16] + "-" + world.bob[16:20] + "-" + world.bob[20:]
    assert world.get("/Items", world.api_key, params={**p, "userId": dashed}).status_code == 200
    assert world.get("/Items", world.api_key, params={**p, "userId": "not-a-guid"}).status_code == 400


def test_enable_user_data_false_and_10_8_needs_user_id(world, world_factory):
    p = {"recursive": "true", "includeItemTypes": "Movie", "enableUserData": "false"}
    assert all("UserData" not in i for i in world.get("/Items", world.alice_token, params=p).json()["Items"])
    old = world_factory("10.8.13")
    r = old.get("/Items", old.alice_token, params={"recursive": "true", "includeItemTypes": "Movie"})
    assert all("UserData" not in i for i in r.json()["Items"])  # 10.8: no fallback to the token's user
    r = old.get("/Items", old.alice_token, params={"recursive": "true", "includeItemTypes": "Movie",
                                                   "userId": old.alice})
    assert all("UserData" in i for i in r.json()["Items"])


def test_parent_id_scopes_and_hidden_library_is_401(world):
    assert len(names(world.get("/Items", world.alice_token, params={"parentId": world.shows}))) == 1  # the series
    assert len(names(world.get("/Items", world.alice_token,
                               params={"parentId": world.shows, "recursive": "true"}))) == 1 + 3 + 9
    assert names(world.get("/Items", world.alice_token, params={"parentId": world.wire})) == \
        ["Specials", "Season 1", "Season 2"]  # seasons sort by number; specials (0) first
    season1 = world.state.items[world.ep[(1, 1)]].season_id
    assert len(names(world.get("/Items", world.alice_token, params={"parentId": season1}))) == 3
    root = names(world.get("/Items", world.alice_token))
    assert root == ["Movies", "Shows"]
    world.state.hide_library_from(world.alice, world.movies)
    r = world.get("/Items", world.alice_token, params={"parentId": world.movies, "recursive": "true"})
    assert r.status_code == 401
    assert world.get("/Items", world.api_key,
                     params={"parentId": world.movies, "recursive": "true", "userId": world.alice}).status_code == 200


def test_ids_search_index_numbers_and_sorting(world):
    ids = f"{world.heat},{world.alien},{'0' * 32}"
    assert sorted(names(world.get("/Items", world.alice_token, params={"ids": ids}))) == ["Alien", "Heat"]
    assert names(world.get("/Items", world.alice_token, params={"recursive": "true", "searchTerm": "ALIEN"})) == \
        ["Alien", "Aliens"]
    r = world.get("/Items", world.alice_token, params={"recursive": "true", "includeItemTypes": "Episode",
                                                       "parentIndexNumber": "0", "indexNumber": "2"})
    assert names(r) == ["Ep 0x2"]
    r = world.get("/Items", world.alice_token, params={"recursive": "true", "includeItemTypes": "Movie",
                                                       "sortBy": "ProductionYear", "sortOrder": "Descending"})
    assert names(r) == ["Heat", "Aliens", "Alien"]
    r = world.get("/Items", world.alice_token, params={"recursive": "true", "includeItemTypes": "Episode",
                                                       "sortBy": "ParentIndexNumber,IndexNumber",
                                                       "sortOrder": "Descending"})
    assert names(r)[:2] == ["Ep 2x3", "Ep 2x2"]  # the first sortOrder applies to every key


def test_index_number_filter_arrived_in_10_10(world_factory):
    w = world_factory("10.9.11")
    r = w.get("/Items", w.alice_token, params={"recursive": "true", "includeItemTypes": "Episode",
                                               "indexNumber": "2"})
    assert r.json()["TotalRecordCount"] == 9  # ignored before 10.10


def test_hidden_and_removed_items_are_404(world):
    world.state.hide_item_from(world.alice, world.heat)
    assert world.get(f"/Items/{world.heat}", world.alice_token).status_code == 404
    assert world.get(f"/Items/{world.heat}", world.bob_token).status_code == 200
    r = world.get("/Items", world.alice_token, params={"recursive": "true", "includeItemTypes": "Movie"})
    assert "Heat" not in names(r)
    world.state.remove_item(world.alien)
    nf = world.get(f"/Items/{world.alien}", world.bob_token)
    assert nf.status_code == 404 and nf.headers["content-type"].startswith("application/problem+json")


def test_single_item_has_all_fields_and_legacy_route(world):
    world.state.set_user_data(world.alice, world.heat, position_ticks=17 * MIN, last_played=T0)
    item = world.get(f"/Items/{world.heat}", world.alice_token).json()
    assert item["ProviderIds"]["Imdb"] == "tt0113277" and "Path" in item and "DateCreated" in item
    assert item["UserData"]["PlayedPercentage"] == 10.0
    assert item["UserData"]["LastPlayedDate"] == "2026-11-20T20:00:00.0000000Z"
    legacy = world.get(f"/Users/{world.alice}/Items/{world.heat}", world.alice_token).json()
    assert legacy == item
    assert world.get(f"/Items/{world.heat}", world.api_key).status_code == 404  # API key, no user


def test_resume_order_types_paging_and_active_sessions(world):
    s = world.state
    s.set_user_data(world.alice, world.heat, position_ticks=10 * MIN, last_played=T0)
    s.set_user_data(world.alice, world.alien, position_ticks=10 * MIN, last_played=T0 + timedelta(hours=1))
    s.set_user_data(world.alice, world.ep[(1, 2)], position_ticks=10 * MIN, last_played=T0 - timedelta(days=1))
    s.set_user_data(world.alice, world.aliens, position_ticks=0, played=True, last_played=T0 + timedelta(days=1))
    r = world.get("/UserItems/Resume", world.alice_token, params={"userId": world.alice})
    assert names(r) == ["Alien", "Heat", "Ep 1x2"]
    r = world.get("/UserItems/Resume", world.alice_token, params={"includeItemTypes": "Episode"})
    assert names(r) == ["Ep 1x2"]
    r = world.get(f"/Users/{world.alice}/Items/Resume", world.alice_token, params={"limit": "1", "startIndex": "1"})
    assert names(r) == ["Heat"] and r.json()["TotalRecordCount"] == 3
    r = world.get("/UserItems/Resume", world.alice_token, params={"parentId": world.shows})
    assert names(r) == ["Ep 1x2"]
    s.start_session(world.alice, now_playing_item_id=world.alien)
    r = world.get("/UserItems/Resume", world.alice_token, params={"excludeActiveSessions": "true"})
    assert names(r) == ["Heat", "Ep 1x2"]
    assert world.get("/UserItems/Resume", world.api_key).status_code == 404  # no user to look up


def test_views_and_episodes(world, world_factory):
    views = world.get("/UserViews", world.alice_token, params={"userId": world.alice}).json()
    assert [(i["Name"], i["CollectionType"], i["Type"]) for i in views["Items"]] == \
        [("Movies", "movies", "CollectionFolder"), ("Shows", "tvshows", "CollectionFolder")]
    assert views["TotalRecordCount"] == 2
    legacy = world.get(f"/Users/{world.alice}/Views", world.alice_token).json()
    assert [i["Id"] for i in legacy["Items"]] == [i["Id"] for i in views["Items"]]
    eps = world.get(f"/Shows/{world.wire}/Episodes", world.alice_token,
                    params={"userId": world.alice, "season": "1", "fields": "ProviderIds"}).json()
    assert [(i["ParentIndexNumber"], i["IndexNumber"]) for i in eps["Items"]] == [(1, 1), (1, 2), (1, 3)]
    ep = eps["Items"][0]
    assert ep["SeriesId"] == world.wire and ep["SeriesName"] == "The Wire" and ep["SeasonName"] == "Season 1"
    assert ep["ProviderIds"] == {"Tvdb": "11"}
    specials = world.get(f"/Shows/{world.wire}/Episodes", world.alice_token, params={"season": "0"}).json()
    assert specials["Items"][0]["SeasonName"] == "Specials"
    assert world.get(f"/Shows/{world.heat}/Episodes", world.alice_token).status_code == 404
    assert world.get(f"/Shows/{'1' * 32}/Episodes", world.alice_token).status_code == 404
    old = world_factory("10.8.13")
    assert old.get("/UserViews", old.alice_token).status_code == 404
    assert old.get(f"/Users/{old.alice}/Views", old.alice_token).status_code == 200


@pytest.mark.parametrize("version", ["10.10.7", "10.11.11", "12.0.0"])
def test_is_resumable_from_the_users_rows_answers_as_a_scan_of_every_item_would(world_factory, version):
    """The filter starts from the user's rows with a position (for speed); its answer, order included, must be the
    one a scan of the whole library through `resumable` gives: shared rows, copies, hidden libraries, parents."""
    w = world_factory(version)
    s = w.state
    copy = s.add_movie(w.movies, "Heat", year=1995, runtime_ticks=170 * MIN,
                       provider_ids={"Imdb": "tt0113277", "Tmdb": "949"})  # shares Heat's row before 10.11
    virtual = s.add_episode(w.wire, 3, 1, "Ep 3x1", runtime_ticks=58 * MIN, virtual=True)
    for item in (w.heat, w.ep[(1, 2)], w.ep[(2, 1)], w.ep[(0, 1)], virtual):
        s.set_user_data(w.alice, item, position_ticks=4 * MIN)
    s.set_user_data(w.alice, w.alien, played=True, last_played=T0)  # a row, but no position
    s.set_user_data(w.bob, w.aliens, position_ticks=5 * MIN)

    def scan(user: str, types: tuple[str, ...], parent: str | None) -> list[str]:
        out = []
        for kind in types:
            for rec in sorted((r for r in s.items.values() if r.type == kind), key=lambda r: (r.sort_name, r.id)):
                if parent and parent not in (rec.library_id, rec.series_id):
                    continue
                if s.visible(user, rec) and s.store.resumable(user, rec):
                    out.append(rec)
        return [r.id for r in sorted(out, key=lambda r: r.sort_name)]  # then the default sort, a stable one

    def ids(token: str, **params) -> list[str]:
        r = w.get("/Items", token, params={"recursive": "true", "filters": "IsResumable", **params})
        assert r.status_code == 200, r.text
        return [i["Id"] for i in r.json()["Items"]]

    everything = ("Movie", "Series", "Season", "Episode")
    assert (copy in ids(w.alice_token)) == (version == "10.10.7")  # one row under a shared first key
    for _ in range(2):  # the second time with alice's movies hidden
        assert ids(w.alice_token) == scan(w.alice, everything, None) != []
        assert ids(w.alice_token, includeItemTypes="Episode,Movie") == scan(w.alice, ("Episode", "Movie"), None)
        assert ids(w.alice_token, parentId=w.shows) == scan(w.alice, everything, w.shows)
        assert ids(w.alice_token, parentId=w.wire, sortBy="SortName") == scan(w.alice, everything, w.wire)
        assert ids(w.bob_token) == scan(w.bob, everything, None) == [w.aliens]
        s.hide_library_from(w.alice, w.movies)
