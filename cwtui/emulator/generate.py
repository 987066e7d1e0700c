"""Seeded, deterministic libraries for tests and benchmarks: one server, or a matching source/destination pair."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cwtui.emulator.state import EmulatorState

TICKS_PER_MINUTE = 60 * 10_000_000
BASE_TIME = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
"""Every generated date is relative to this fixed instant: no clocks, so a seed gives the same data."""

_ADJ = ("Silent", "Crimson", "Hidden", "Last", "Broken", "Golden", "Distant", "Frozen", "Electric", "Midnight",
        "Wild", "Lost", "Burning", "Hollow", "Iron", "Pale", "Velvet", "Savage", "Quiet", "Endless")
_NOUN = ("River", "Harbor", "Empire", "Signal", "Garden", "Frontier", "Mirror", "Station", "Orchard", "Circuit",
         "Lantern", "Valley", "Engine", "Archive", "Tide", "Summit", "Canyon", "Parade", "Meridian", "Citadel")


@dataclass(frozen=True)
class Size:
    movies: int
    series: int
    episodes_per_series: int
    resumable_movies: int
    resumable_episodes: int
    resumable_series: int
    """How many series the resumable episodes are spread over."""


SIZES: dict[str, Size] = {
    # 50 resumable against 2,000 movies + episodes
    "small": Size(movies=400, series=80, episodes_per_series=20, resumable_movies=12, resumable_episodes=38,
                  resumable_series=19),
    # 500 resumable against 20,000
    "medium": Size(movies=4_000, series=800, episodes_per_series=20, resumable_movies=125, resumable_episodes=375,
                   resumable_series=75),
    # 2,000 resumable (500 movies, 1,500 episodes over 300 series) against 10,000 movies + 60,000 episodes
    "large": Size(movies=10_000, series=3_000, episodes_per_series=20, resumable_movies=500,
                  resumable_episodes=1_500, resumable_series=300),
}


@dataclass
class Populated:
    """What populate() made on one server (ids are that server's)."""

    user_ids: dict[str, str]
    user_id: str
    movies_library: str
    shows_library: str
    movie_ids: list[str] = field(default_factory=list)
    series_ids: list[str] = field(default_factory=list)
    episode_ids: list[str] = field(default_factory=list)
    resumable_ids: list[str] = field(default_factory=list)
    api_key: str = field(default="", repr=False)
    by_key: dict[tuple, str] = field(default_factory=dict, repr=False)
    """Catalog key -> item id: ("movie", n) or ("episode", series n, season, episode)."""


@dataclass
class Pair:
    source: Populated
    destination: Populated
    counterpart: dict[str, str]
    """Source item id -> destination item id (same provider ids, different item id)."""
    resumable: dict[str, list[str]] = field(default_factory=dict)
    """populate_household: user name -> the source items that user resumes."""


@dataclass(frozen=True)
class _Movie:
    key: tuple
    name: str
    year: int
    runtime: int
    ids: dict[str, str]


@dataclass(frozen=True)
class _Series:
    n: int
    name: str
    year: int
    ids: dict[str, str]
    episodes: tuple[tuple[int, int, int, dict[str, str]], ...]  # season, episode, runtime, provider ids


def _title(rng: random.Random, n: int) -> str:
    base = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"
    return base if n < 400 else f"{base} {n // 400 + 1}"


def _catalog(seed: int, movies: int, series: int, episodes_per_series: int, *, offset: int = 0):
    """Deterministic movies and series with unique provider ids; `offset` keeps extra items' ids apart."""
    rng = random.Random(f"catalog:{seed}:{offset}")
    out_movies = [
        _Movie(("movie", offset + i), _title(rng, i), rng.randint(1950, 2025), rng.randint(85, 180) * TICKS_PER_MINUTE,
               {"Imdb": f"tt{1_000_000 + seed % 1000 * 100_000 + offset + i:07d}",
                "Tmdb": str(10_000 + offset + i)})
        for i in range(movies)
    ]
    out_series = []
    for s in range(series):
        n = offset + s
        seasons = max(1, min(5, episodes_per_series // 8 or 1))
        eps = []
        for e in range(episodes_per_series):
            season = 1 + e * seasons // max(episodes_per_series, 1)
            number = 1 + sum(1 for prev in eps if prev[0] == season)
            eps.append((season, number, rng.randint(22, 60) * TICKS_PER_MINUTE,
                        {"Tvdb": str(5_000_000 + n * 100 + e)}))
        out_series.append(_Series(n, f"The {_title(rng, s)}", rng.randint(1990, 2025),
                                  {"Tvdb": str(70_000 + n), "Imdb": f"tt{3_000_000 + n:07d}"}, tuple(eps)))
    return out_movies, out_series


def _ids(rng: random.Random):
    while True:
        yield f"{rng.getrandbits(128):032x}"


def _load(state: EmulatorState, movies, series, id_rng: random.Random, users: Sequence[str], password: str,
          user_id: str | None, existing: Populated | None = None) -> Populated:
    new_id = _ids(id_rng)
    created = BASE_TIME - timedelta(days=400)
    if existing is None:
        user_ids = {}
        for name in users:
            found = state.user_by_name(name)
            user_ids[name] = found.id if found else state.add_user(name, password=password, user_id=next(new_id))
        main = user_id or (next(iter(user_ids.values())) if user_ids else state.add_user("alice", password))
        pop = Populated(user_ids, main, state.add_library("Movies", "movies", item_id=next(new_id)),
                        state.add_library("Shows", "tvshows", item_id=next(new_id)), api_key=state.add_api_key("gen"))
    else:
        pop = existing
    for m in movies:
        mid = state.add_movie(pop.movies_library, m.name, year=m.year, runtime_ticks=m.runtime, provider_ids=m.ids,
                              item_id=next(new_id), date_created=created)
        pop.movie_ids.append(mid)
        pop.by_key[m.key] = mid
    for s in series:
        sid = state.add_series(pop.shows_library, s.name, provider_ids=s.ids, year=s.year, item_id=next(new_id),
                               date_created=created)
        pop.series_ids.append(sid)
        pop.by_key[("series", s.n)] = sid
        for season, number, runtime, ids in s.episodes:
            eid = state.add_episode(sid, season, number, f"Episode {number}", runtime_ticks=runtime,
                                    provider_ids=ids, item_id=next(new_id), season_item_id=next(new_id),
                                    date_created=created)
            pop.episode_ids.append(eid)
            pop.by_key[("episode", s.n, season, number)] = eid
    return pop


def _resume(state: EmulatorState, pop: Populated, rng: random.Random, movie_keys: list, episode_keys: list,
            user_id: str | None = None) -> None:
    """Positions (10-80 %) and last-played dates for `user_id` (default: the populated user)."""
    for key in movie_keys + episode_keys:
        iid = pop.by_key[key]
        runtime = state.items[iid].runtime_ticks or 0
        position = runtime * rng.randint(10, 80) // 100
        when = BASE_TIME - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
        state.set_user_data(user_id or pop.user_id, iid, position_ticks=position, played=False,
                            play_count=rng.choice((0, 0, 1)), last_played=when)
        if user_id is None:
            pop.resumable_ids.append(iid)


def _pick(rng: random.Random, movies, series, resumable_movies: int, resumable_episodes: int,
          resumable_series: int | None = None) -> tuple[list, list]:
    movie_keys = [m.key for m in rng.sample(movies, min(resumable_movies, len(movies)))]
    pool = series if resumable_series is None else rng.sample(series, min(resumable_series, len(series)))
    episodes = [("episode", s.n, season, number) for s in pool for season, number, _, _ in s.episodes]
    episode_keys = rng.sample(episodes, min(resumable_episodes, len(episodes)))
    return movie_keys, episode_keys


def populate(state: EmulatorState, *, seed: int, movies: int, series: int, episodes_per_series: int,
             users: Sequence[str] = ("alice",), password: str = "pw", resumable_movies: int = 0,
             resumable_episodes: int = 0, user_id: str | None = None) -> Populated:
    """Fill `state` with a seeded library and resume positions for `user_id` (default: the first of `users`).

    Args:
        users: user names to create (password `password`) unless they exist.
        resumable_movies / resumable_episodes: how many items get a position (10-80 %) and a last-played date.
    Returns:
        A Populated with every id made (same seed -> same ids, provider ids, positions and dates).
    """
    with state.lock:
        cat_movies, cat_series = _catalog(seed, movies, series, episodes_per_series)
        pop = _load(state, cat_movies, cat_series, random.Random(f"ids:{seed}:{state.server_name}"), users,
                    password, user_id)
        movie_keys, episode_keys = _pick(random.Random(f"resume:{seed}"), cat_movies, cat_series,
                                         resumable_movies, resumable_episodes)
        _resume(state, pop, random.Random(f"pos:{seed}"), movie_keys, episode_keys)
        for item in state.items.values():  # a real server keeps each item's user-data key in its row
            state.store.keys(item)
        return pop


def populate_pair(src_state: EmulatorState, dst_state: EmulatorState, *, seed: int,
                  size: str | Size = "small", users: Sequence[str] = ("alice",), password: str = "pw") -> Pair:
    """A source with resume positions and a destination library that is a superset of it.

    Every source item exists on the destination with the SAME provider ids and a DIFFERENT item id; the
    destination also has 5 % extra movies and series. A fifth of the source's resumable items also have an
    older, lower position on the destination, so plans contain both adds and updates.
    """
    sz = SIZES[size] if isinstance(size, str) else size
    with src_state.lock, dst_state.lock:
        movies, series = _catalog(seed, sz.movies, sz.series, sz.episodes_per_series)
        extra_m, extra_s = _catalog(seed, max(1, sz.movies // 20), max(1, sz.series // 20), sz.episodes_per_series,
                                    offset=1_000_000)
        src = _load(src_state, movies, series, random.Random(f"src:{seed}"), users, password, None)
        dst = _load(dst_state, movies + extra_m, series + extra_s, random.Random(f"dst:{seed}"), users, password, None)
        rng = random.Random(f"pair:{seed}")
        movie_keys, episode_keys = _pick(rng, movies, series, sz.resumable_movies, sz.resumable_episodes,
                                         sz.resumable_series)
        _resume(src_state, src, rng, movie_keys, episode_keys)
        _behind_on_destination(src_state, dst_state, src, dst, movie_keys + episode_keys, src.user_id, dst.user_id)
        counterpart = {sid: dst.by_key[key] for key, sid in src.by_key.items()}
        return Pair(src, dst, counterpart)


def _behind_on_destination(src_state: EmulatorState, dst_state: EmulatorState, src: Populated, dst: Populated,
                           keys: list, src_user: str, dst_user: str) -> None:
    """A fifth of the user's resumable items get an older, lower position on the destination (updates, not adds)."""
    for key in keys[::5]:
        sid, did = src.by_key[key], dst.by_key[key]
        ud = src_state.get_user_data(src_user, sid)
        dst_state.set_user_data(dst_user, did, position_ticks=ud.position_ticks // 2,
                                last_played=(ud.last_played or BASE_TIME) - timedelta(days=3))


HOUSEHOLD_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")


def household_names(count: int) -> tuple[str, ...]:
    """`count` user names: alice, bob, ... then user11, user12, ..."""
    return tuple(HOUSEHOLD_NAMES[n] if n < len(HOUSEHOLD_NAMES) else f"user{n + 1}" for n in range(count))


def populate_household(src_state: EmulatorState, dst_state: EmulatorState, *, seed: int,
                       size: str | Size = "small", users: int = 1, password: str = "pw") -> Pair:
    """populate_pair with `users` users of the same names on both sides, EACH with the size's resume rows.

    The first user's data is exactly populate_pair's. Every other user resumes the same number of movies (any of
    the library's) and of episodes, drawn from the same series as the first user (a household watches the same
    shows, each at their own episode), with their own positions and dates, and a fifth of them behind on the
    destination. The result's `resumable` maps each user name to the source items it resumes.
    """
    sz = SIZES[size] if isinstance(size, str) else size
    names = household_names(users)
    pair = populate_pair(src_state, dst_state, seed=seed, size=sz, users=names, password=password)
    src, dst = pair.source, pair.destination
    key_of = {iid: key for key, iid in src.by_key.items()}
    pair.resumable = {names[0]: list(src.resumable_ids)}
    shows = {key_of[i][1] for i in src.resumable_ids if key_of[i][0] == "episode"}
    all_movies = sorted(k for k in src.by_key if k[0] == "movie")
    show_episodes = sorted(k for k in src.by_key if k[0] == "episode" and k[1] in shows)
    with src_state.lock, dst_state.lock:
        for name in names[1:]:
            rng = random.Random(f"pair:{seed}:{name}")
            movie_keys = rng.sample(all_movies, min(sz.resumable_movies, len(all_movies)))
            episode_keys = rng.sample(show_episodes, min(sz.resumable_episodes, len(show_episodes)))
            _resume(src_state, src, rng, movie_keys, episode_keys, user_id=src.user_ids[name])
            _behind_on_destination(src_state, dst_state, src, dst, movie_keys + episode_keys,
                                   src.user_ids[name], dst.user_ids[name])
            pair.resumable[name] = [src.by_key[k] for k in movie_keys + episode_keys]
    return pair
