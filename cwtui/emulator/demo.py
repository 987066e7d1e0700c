"""The demo data set: a source "Home" (10.11.11) and a destination "Cabin" (10.10.7) with one item per sync case.

Titles are public-domain films and shows; their provider ids are illustrative, not checked against IMDb or TMDB.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cwtui.emulator.state import EmulatorState

T = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
"""The fixed instant every demo date is relative to (no clocks: the demo looks the same every run)."""
MIN = 60 * 10_000_000
SEC = 10_000_000


@dataclass
class Demo:
    source: EmulatorState
    destination: EmulatorState
    user_name: str
    password: str = field(repr=False)
    source_api_key: str = field(repr=False)
    destination_api_key: str = field(repr=False)
    cases: dict[str, str]
    """Case name -> the source item id (the destination item id where the case has no source item)."""
    destination_ids: dict[str, tuple[str, ...]]
    """Case name -> the destination item ids of that case (empty when the destination lacks it)."""
    source_user_id: str = ""
    destination_user_id: str = ""
    restricted_user_name: str = ""
    """A destination user whose policy forbids editing user data (EnableUserPreferenceAccess=false)."""
    restricted_user_id: str = ""
    restricted_password: str = field(default="", repr=False)
    household: dict[str, str] = field(default_factory=dict)
    """The household's other users (issue 12): "bob" and "carol" on the source, "robert" on the destination, by
    name -> user id. bob is robert on the destination; carol shares alice's positions on the source."""
    household_cases: dict[str, str] = field(default_factory=dict)
    """Case name -> the source item id of a household row (whose row it is is in the name)."""


class _Side:
    """One server being built, with seeded ids so every run gives the same ids."""

    def __init__(self, name: str, version: str, seed: str) -> None:
        self.rng = random.Random(seed)
        self.state = EmulatorState(server_name=name, version=version, server_id=self.new_id(),
                                   clock=lambda: T)
        self.user = self.state.add_user("alice", password="demo", user_id=self.new_id())
        self.movies = self.state.add_library("Movies", "movies", item_id=self.new_id())
        self.shows = self.state.add_library("Shows", "tvshows", item_id=self.new_id())
        self.api_key = self.state.add_api_key("cwtui-demo")

    def new_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def movie(self, name: str, year: int, minutes: float, imdb: str, tmdb: str, *, library: str | None = None) -> str:
        return self.state.add_movie(library or self.movies, name, year=year, runtime_ticks=int(minutes * MIN),
                                    provider_ids={"Imdb": imdb, "Tmdb": tmdb}, item_id=self.new_id(),
                                    date_created=T - timedelta(days=300))

    def series(self, name: str, year: int, tvdb: str, imdb: str) -> str:
        return self.state.add_series(self.shows, name, provider_ids={"Tvdb": tvdb, "Imdb": imdb}, year=year,
                                     item_id=self.new_id(), date_created=T - timedelta(days=300))

    def episode(self, series: str, season: int, number: int, name: str, minutes: float, tvdb: str) -> str:
        return self.state.add_episode(series, season, number, name, runtime_ticks=int(minutes * MIN),
                                      provider_ids={"Tvdb": tvdb}, item_id=self.new_id(),
                                      season_item_id=self.new_id(), date_created=T - timedelta(days=300))

    def at(self, item: str, position_ticks: int, last_played: datetime | None, *, played: bool = False,
           play_count: int = 0, user: str | None = None) -> None:
        self.state.set_user_data(user or self.user, item, position_ticks=position_ticks, played=played,
                                 play_count=play_count, last_played=last_played)


# (case, title, year, runtime minutes, Imdb, Tmdb) for movies that exist on both sides
_SHARED_MOVIES = [
    ("in_sync", "Night of the Living Dead", 1968, 96, "tt0063350", "10331"),
    ("source_ahead", "Plan 9 from Outer Space", 1957, 79, "tt0052077", "10513"),
    ("behind_newer", "The General", 1926, 78, "tt0017925", "961"),
    ("behind_older", "Nosferatu", 1922, 94, "tt0013442", "653"),
    ("destination_no_position", "His Girl Friday", 1940, 92, "tt0032599", "3085"),
    ("below_minimum", "Detour", 1945, 68, "tt0037638", "20367"),
    ("within_delta", "Charade", 1963, 113, "tt0056923", "4808"),
    ("near_complete", "The Kid", 1921, 68, "tt0012349", "10098"),
    ("over_destination_max", "Metropolis", 1927, 153, "tt0017136", "19"),
    ("destination_played", "The 39 Steps", 1935, 86, "tt0026029", "260"),
    ("playing_now", "Dementia 13", 1963, 75, "tt0057013", "28501"),
    ("explicit_zero", "Santa Claus Conquers the Martians", 1964, 81, "tt0058548", "30184"),
    ("absent_on_source", "The Brain That Wouldn't Die", 1962, 82, "tt0052646", "26873"),
    ("short_item", "Duck and Cover", 1951, 4, "tt0213381", "41209"),
    ("two_versions", "The Little Shop of Horrors", 1960, 72, "tt0054033", "24452"),
    # plain library filler: present on both sides, nobody has watched them
    (None, "The Phantom of the Opera", 1925, 93, "tt0016220", "964"),
    (None, "The Cabinet of Dr. Caligari", 1920, 76, "tt0010323", "234"),
    (None, "The Last Man on Earth", 1964, 86, "tt0058700", "21159"),
]


def build_demo() -> Demo:
    """Two populated states; every case below is commented with the plan outcome it is there to show.

    Settings assumed (the defaults): min_seconds 60, delta_seconds 30, max_percent 95, tolerance 30 s; the
    destination keeps Jellyfin's MaxResumePct 90, MinResumePct 5 and MinResumeDurationSeconds 300.
    """
    src = _Side("Home", "10.11.11", "demo-source")
    dst = _Side("Cabin", "10.10.7", "demo-destination")
    cases: dict[str, str] = {}
    dst_ids: dict[str, tuple[str, ...]] = {}
    s_ids: dict[str, str] = {}
    d_ids: dict[str, str] = {}
    for case, title, year, minutes, imdb, tmdb in _SHARED_MOVIES:
        sid = src.movie(title, year, minutes, imdb, tmdb)
        did = dst.movie(title, year, minutes, imdb, tmdb)
        if case:
            s_ids[case], d_ids[case] = sid, did
            cases[case] = sid
            dst_ids[case] = (did,)

    # in sync: the same position on both sides, the same last-played date -> nothing to do
    src.at(s_ids["in_sync"], 40 * MIN, T - timedelta(days=2))
    dst.at(d_ids["in_sync"], 40 * MIN, T - timedelta(days=2))
    # source ahead: later position on the source, both dates known, the source's newer -> update
    src.at(s_ids["source_ahead"], 50 * MIN, T - timedelta(hours=1))
    dst.at(d_ids["source_ahead"], 20 * MIN, T - timedelta(days=3))
    # behind and newer: the source is earlier but was played much later -> a backwards move is allowed
    src.at(s_ids["behind_newer"], 15 * MIN, T - timedelta(hours=2))
    dst.at(d_ids["behind_newer"], 45 * MIN, T - timedelta(days=20))
    # behind and older: the source is earlier and the destination was played later -> skip (destination newer)
    src.at(s_ids["behind_older"], 10 * MIN, T - timedelta(days=10))
    dst.at(d_ids["behind_older"], 60 * MIN, T - timedelta(days=1))
    # the destination has no position at all (0) -> add
    src.at(s_ids["destination_no_position"], 33 * MIN, T - timedelta(hours=4))
    # below minimum: 30 s watched on the source -> skip (below_min_seconds)
    src.at(s_ids["below_minimum"], 30 * SEC, T - timedelta(hours=3))
    # within delta: 10 s apart -> skip (within_delta)
    src.at(s_ids["within_delta"], 61 * MIN + 10 * SEC, T - timedelta(hours=5))
    dst.at(d_ids["within_delta"], 61 * MIN, T - timedelta(hours=6))
    # near complete: the source is at 96 % of the runtime, over max_percent 95 -> skip (near_complete)
    src.at(s_ids["near_complete"], 68 * MIN * 96 // 100, T - timedelta(hours=7))
    # 92 %: under our 95 but over the destination's MaxResumePct 90 -> near_complete by the server's rule
    src.at(s_ids["over_destination_max"], 153 * MIN * 92 // 100, T - timedelta(hours=8))
    # the destination marked it played -> skip (already_watched)
    src.at(s_ids["destination_played"], 30 * MIN, T - timedelta(hours=9))
    dst.at(d_ids["destination_played"], 0, T - timedelta(days=30), played=True, play_count=1)
    # playing right now on the destination: alice has a session with it as NowPlayingItem. The plan says
    # source_ahead (the player has not checked in yet, so the stored state is old), and apply's live re-check
    # skips it as active_session.
    src.at(s_ids["playing_now"], 40 * MIN, T - timedelta(hours=1))
    dst.at(d_ids["playing_now"], 20 * MIN, T - timedelta(hours=3))
    dst.state.start_session(dst.user, now_playing_item_id=d_ids["playing_now"], device_id="living-room-tv",
                            client="Jellyfin Android TV", device_name="Living room TV", position_ticks=21 * MIN)
    # explicit zero: resumable on the destination; the source is at 0, played, and played more recently
    dst.at(d_ids["explicit_zero"], 30 * MIN, T - timedelta(days=5))
    src.at(s_ids["explicit_zero"], 0, T - timedelta(days=1), played=True, play_count=1)
    # absent on source: resumable on the destination only; the source never played it
    dst.at(d_ids["absent_on_source"], 20 * MIN, T - timedelta(days=2))
    cases["absent_on_source"] = d_ids["absent_on_source"]
    # short item: a 4-minute film (below MinResumeDurationSeconds 300), 2 minutes in -> skip (short_item)
    src.at(s_ids["short_item"], 2 * MIN, T - timedelta(hours=10))
    # two versions on the destination: a second item with the same provider ids -> both get written
    second = dst.movie("The Little Shop of Horrors (Director's Cut)", 1960, 72, "tt0054033", "24452")
    dst_ids["two_versions"] = (d_ids["two_versions"], second)
    src.at(s_ids["two_versions"], 30 * MIN, T - timedelta(hours=11))

    # unmatched: a movie only the source has -> unresolved
    cases["unmatched"] = src.movie("Carnival of Souls", 1962, 78, "tt0055830", "28957")
    dst_ids["unmatched"] = ()
    src.at(cases["unmatched"], 25 * MIN, T - timedelta(hours=12))
    # ambiguous: Imdb matches one destination movie and Tmdb another -> ambiguous
    cases["ambiguous"] = src.movie("Reefer Madness", 1936, 66, "tt0028346", "20213")
    dst_ids["ambiguous"] = (dst.movie("Reefer Madness", 1936, 66, "tt0028346", "990001"),
                            dst.movie("Tell Your Children", 1936, 66, "tt9900001", "20213"))
    src.at(cases["ambiguous"], 25 * MIN, T - timedelta(hours=13))

    # a series on both sides, with a season-0 special and a regular episode that is ahead on the source
    s_show = src.series("Sherlock Holmes", 1954, "76811", "tt0046641")
    d_show = dst.series("Sherlock Holmes", 1954, "76811", "tt0046641")
    episodes = [(0, 1, "The Making of Sherlock Holmes", 26, "900001"),
                (1, 1, "The Case of the Cunningham Heritage", 26, "900101"),
                (1, 2, "The Case of Lady Beryl", 26, "900102"),
                (1, 3, "The Case of the Pennsylvania Gun", 26, "900103"),
                (1, 4, "The Case of the Texas Cowgirl", 26, "900104"),
                (1, 5, "The Case of the Belligerent Ghost", 26, "900105")]
    ep_src: dict[tuple[int, int], str] = {}
    ep_dst: dict[tuple[int, int], str] = {}
    for season, number, name, minutes, tvdb in episodes:
        ep_src[(season, number)] = src.episode(s_show, season, number, name, minutes, tvdb)
        ep_dst[(season, number)] = dst.episode(d_show, season, number, name, minutes, tvdb)
    # season 0 special: matched by series ids + S00E01 -> add
    cases["special"] = ep_src[(0, 1)]
    dst_ids["special"] = (ep_dst[(0, 1)],)
    src.at(ep_src[(0, 1)], 12 * MIN, T - timedelta(hours=14))
    # Sherlock Holmes (1954) S01E03: an episode ahead on the source -> update
    cases["episode_source_ahead"] = ep_src[(1, 3)]
    dst_ids["episode_source_ahead"] = (ep_dst[(1, 3)],)
    src.at(ep_src[(1, 3)], 14 * MIN, T - timedelta(hours=15))
    dst.at(ep_dst[(1, 3)], 5 * MIN, T - timedelta(days=6))
    # S01E01 and S01E02 were finished on the source long ago (played, no position): not resume items
    src.at(ep_src[(1, 1)], 0, T - timedelta(days=40), played=True, play_count=1)
    src.at(ep_src[(1, 2)], 0, T - timedelta(days=39), played=True, play_count=1)

    _add_copies(src, dst, cases, dst_ids)
    restricted = dst.state.users[_add_restricted_user(dst, dst_ids["source_ahead"][0])]
    household, household_cases = _add_household(src, dst, s_ids, d_ids, ep_src, ep_dst)
    for side in (src, dst):
        side.state.clock = lambda: datetime.now(UTC)  # fixed while building; live while serving
    return Demo(source=src.state, destination=dst.state, user_name="alice", password="demo",
                source_api_key=src.api_key, destination_api_key=dst.api_key, cases=cases,
                destination_ids=dst_ids, source_user_id=src.user, destination_user_id=dst.user,
                restricted_user_name=restricted.name, restricted_user_id=restricted.id,
                restricted_password=restricted.password, household=household, household_cases=household_cases)


def _add_copies(src: _Side, dst: _Side, cases: dict[str, str], dst_ids: dict[str, tuple[str, ...]]) -> None:
    """Issue 8's copies: one film twice on each side (one shared row on the 10.10 destination). Their reasons come
    from the lead's new core; today's core plans each source copy on a row of its own and writes every copy."""
    # two copies on the SOURCE (10.11, so each keeps its own position): an HD copy played last night at 50 min and
    # a 4K copy played a week ago at 20 min, both matching one destination movie that is at 30 min from 3 days ago
    # -> the HD copy wins (played most recently; source_ahead), the 4K copy is behind and older (today's core:
    # destination_newer; the new core: skipped naming the HD copy). Only one write either way.
    src_4k = src.state.add_library("4K Movies", "movies", item_id=src.new_id())
    hd = src.movie("Carnival of Fools", 1932, 88, "tt0022800", "77001")
    uhd = src.movie("Carnival of Fools", 1932, 88, "tt0022800", "77001", library=src_4k)
    target = dst.movie("Carnival of Fools", 1932, 88, "tt0022800", "77001")
    src.at(hd, 50 * MIN, T - timedelta(hours=16))
    src.at(uhd, 20 * MIN, T - timedelta(days=7))
    dst.at(target, 30 * MIN, T - timedelta(days=3))
    cases["source_copies_newer"], cases["source_copies_older"] = hd, uhd
    dst_ids["source_copies_newer"] = dst_ids["source_copies_older"] = (target,)
    # two copies on the DESTINATION in two libraries (10.10: same Tmdb -> ONE stored row, gotcha 14); the row was
    # written through the first copy, and the source is ahead -> one write would do for both
    dst_4k = dst.state.add_library("4K Movies", "movies", item_id=dst.new_id())
    source_item = src.movie("The Hitch-Hiker", 1953, 71, "tt0045877", "77002")
    first = dst.movie("The Hitch-Hiker", 1953, 71, "tt0045877", "77002")
    second = dst.movie("The Hitch-Hiker", 1953, 71, "tt0045877", "77002", library=dst_4k)
    src.at(source_item, 40 * MIN, T - timedelta(hours=17))
    dst.at(first, 10 * MIN, T - timedelta(days=4))
    cases["shared_row_copies"] = source_item
    dst_ids["shared_row_copies"] = (first, second)


def _add_restricted_user(dst: _Side, item: str) -> str:
    """A destination user with Policy.EnableUserPreferenceAccess=false: the second demo pair (cwtui/demo.py) syncs
    alice's source positions to this user, whose UserData GETs and POSTs the destination refuses with 403 (the
    played/unplayed routes still work for them). They were 5 minutes into `item` (source_ahead's film) 9 days ago."""
    kid = dst.state.add_user("kid", password="demo", enable_user_preference_access=False, user_id=dst.new_id())
    dst.at(item, 5 * MIN, T - timedelta(days=9), user=kid)
    return kid


def _add_household(src: _Side, dst: _Side, s_ids: dict[str, str], d_ids: dict[str, str],
                   ep_src: dict[tuple[int, int], str], ep_dst: dict[tuple[int, int], str],
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """Issue 12's household, made last so every earlier id stays the same: bob on the source is "robert" on the
    destination (pair `family`), and carol on the source shares alice's positions (pair `share`, one server)."""
    bob = src.state.add_user("bob", password="demo", user_id=src.new_id())
    carol = src.state.add_user("carol", password="demo", user_id=src.new_id())
    robert = dst.state.add_user("robert", password="demo", user_id=dst.new_id())
    cases = {}
    # bob -> robert: The General, ahead on the source and played later -> source_ahead
    src.at(s_ids["behind_newer"], 60 * MIN, T - timedelta(hours=3), user=bob)
    dst.at(d_ids["behind_newer"], 25 * MIN, T - timedelta(days=4), user=robert)
    cases["bob_source_ahead"] = s_ids["behind_newer"]
    # bob -> robert: Charade, robert has none -> destination_missing
    src.at(s_ids["within_delta"], 35 * MIN, T - timedelta(hours=6), user=bob)
    cases["bob_destination_missing"] = s_ids["within_delta"]
    # bob -> robert: Sherlock Holmes S01E04, ahead on the source -> source_ahead
    src.at(ep_src[(1, 4)], 18 * MIN, T - timedelta(hours=20), user=bob)
    dst.at(ep_dst[(1, 4)], 4 * MIN, T - timedelta(days=8), user=robert)
    cases["bob_episode_source_ahead"] = ep_src[(1, 4)]
    # robert alone: Nosferatu at 30 min on the destination, bob never played it -> absent_on_source (remove off)
    dst.at(d_ids["behind_older"], 30 * MIN, T - timedelta(days=2), user=robert)
    # carol (alice's positions, one server): Plan 9 at 55 min, played after alice -> destination_newer
    src.at(s_ids["source_ahead"], 55 * MIN, T - timedelta(minutes=30), user=carol)
    cases["carol_destination_newer"] = s_ids["source_ahead"]
    return {"bob": bob, "carol": carol, "robert": robert}, cases
