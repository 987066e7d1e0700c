"""Read both sides of a pair and resolve every match, with as few requests as the work allows.

Jellyfin has no working provider-id filter, so the destination lookup is built from library pages (movies),
the series list plus one episode list per matched series (episodes), and a full episode index only when some
episode's series cannot be matched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

from cwtui.core.errors import ServerError
from cwtui.core.jellyfin import IDS_BATCH, JellyfinClient
from cwtui.core.match import (
    Match,
    MatchStatus,
    ProviderIndex,
    episodes_by_number,
    match_episode,
    match_movie,
    match_same_server,
)
from cwtui.core.models import Item, ItemKind, Series
from cwtui.core.planner import ZeroCandidate

Progress = Callable[[str], None]
"""Called with a short sentence each time indexing moves on (for a progress line)."""

EPISODE_LISTS_AT_ONCE = 8
USER_DATA_BATCHES_AT_ONCE = 4
"""Household runs: batched user-data reads of one user asked for at once (http.MAX_IN_FLIGHT bounds the server's share
across users)."""
EPISODE_LISTS_BEFORE_FULL_READ = 100
"""Setting `played` over a whole library: past this many series to look in, every destination episode is read in
pages (one request per 500 episodes) instead of one episode list per series (3,000 requests for 3,000 series)."""


@dataclass
class Indexed:
    matches: list[Match]
    zeros: list[ZeroCandidate]
    played: list[Match] = field(default_factory=list)
    """Setting `played`: the source's played items without a position, matched (see `index_played`)."""
    played_on_destination: frozenset[str] = frozenset()
    """Setting `played`: the ids the destination's played list names."""


class SharedIndex:
    """One server's library reads (movie pages, series, episode lists), made once per plan and shared by every user
    of a household run: provider ids belong to the server, not to the user, so only user data is read per user.

    The reads go through `reader`, the server's library as a whole (JellyfinClient.library_view: an API key sees
    every item, not one user's view, so a user who cannot see an item never hides it from the others). Its items
    carry no one's user data, so every client re-reads its own (`foreign`: one batched read of the items it uses).
    """

    def __init__(self, reader: JellyfinClient) -> None:
        self.reader = reader
        self._reads: dict[tuple, asyncio.Future] = {}

    def foreign(self, client: JellyfinClient) -> bool:
        return client.user_id != self.reader.user_id

    async def get(self, key: tuple, read: Callable[[JellyfinClient], Awaitable]):
        if key not in self._reads:
            self._reads[key] = asyncio.ensure_future(read(self.reader))
        return await asyncio.shield(self._reads[key])


async def _shared(index: SharedIndex | None, key: tuple, read: Callable[[JellyfinClient], Awaitable],
                  client: JellyfinClient):
    """`read` through the shared index (once per server), or through `client` when there is none."""
    return await (read(client) if index is None else index.get(key, read))


async def _bounded(calls: Iterable[Callable[[], Awaitable]], limit: int) -> list:
    gate = asyncio.Semaphore(limit)

    async def one(call):
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def _movie_index(client: JellyfinClient, parent_ids: list[str | None]) -> ProviderIndex:
    index = ProviderIndex()
    for parent in parent_ids:
        async for page in client.library_pages(types=("Movie",), parent_id=parent):
            index.add(page)
    return index


async def _episode_index(client: JellyfinClient, parent_ids: list[str | None]) -> ProviderIndex:
    return ProviderIndex(await _all_episodes(client, parent_ids))


async def _series_of(client: JellyfinClient, parent_ids: list[str | None]) -> list[Series]:
    """The series of these libraries (None: all of them)."""
    found: dict[str, Series] = {}
    for parent in parent_ids:
        found.update((s.id, s) for s in await client.series_list(parent))
    return list(found.values())


class _SeriesLookup:
    """Source series -> matched destination series, and destination episode lists fetched once each."""

    def __init__(self, src_series: list[Series], dst_series: list[Series]) -> None:
        self.src = {s.id: s for s in src_series}
        self.dst = {s.id: s for s in dst_series}
        self.dst_index = ProviderIndex(dst_series)
        self.episodes: dict[str, dict] = {}

    def resolve(self, series_id: str | None) -> tuple[MatchStatus, list[Series]]:
        series = self.src.get(series_id or "")
        if series is None:
            return MatchStatus.UNRESOLVED, []
        status, found, _ = self.dst_index.lookup(series.provider_ids)
        return status, found if status is MatchStatus.MATCHED else []

    async def load_episodes(self, client: JellyfinClient, series: Iterable[Series],
                            shared: SharedIndex | None = None) -> None:
        wanted = [s.id for s in series if s.id not in self.episodes]
        lists = await _bounded([lambda sid=sid: _shared(shared, ("episodes", sid), lambda c: c.episodes(sid), client)
                                for sid in dict.fromkeys(wanted)], EPISODE_LISTS_AT_ONCE)
        for sid, eps in zip(dict.fromkeys(wanted), lists):
            self.episodes[sid] = episodes_by_number(eps)


async def index_pair(source: JellyfinClient, destination: JellyfinClient, *, same_server: bool,
                     library_ids: list[str] | None = None, progress: Progress | None = None,
                     shared: tuple[SharedIndex, SharedIndex] | None = None, played: bool = False,
                     destination_library_ids: list[str] | None = None) -> Indexed:
    """Everything the planner needs: a Match per source resume item and the destination's extra resume rows; with
    `played`, also the played items of both sides (`index_played`).

    `library_ids` limit the source's items, `destination_library_ids` the destination items that may be matched
    (a seed from the destination writes only inside the pair's libraries); the series lists follow both, so an
    item outside them is never evidence for a clear either. `shared` (household runs) holds the source's and the
    destination's library reads across users."""
    say = progress or (lambda _msg: None)
    src_shared, dst_shared = shared or (None, None)
    src_parents = list(library_ids) if library_ids else [None]
    dst_parents = list(destination_library_ids) if destination_library_ids else [None]
    say("Reading both resume lists")
    src_resume, dst_resume = await asyncio.gather(source.resume_items(library_ids), destination.resume_items())
    say(f"Source has {len(src_resume)} resumable items; destination {len(dst_resume)}")
    if same_server:
        indexed = await _index_same_server(source, destination, src_resume, dst_resume, say)
        if played:
            indexed.played, indexed.played_on_destination = await index_played(
                source, destination, same_server=True, library_ids=library_ids, progress=say)
        return indexed

    movies = [i for i in src_resume if i.kind is ItemKind.MOVIE]
    episodes = [i for i in src_resume if i.kind is ItemKind.EPISODE]
    src_ids = {i.id for i in src_resume}
    need_series = bool(episodes) or any(i.kind is ItemKind.EPISODE for i in dst_resume)

    async def none() -> None:
        return None

    say("Indexing destination movies and series")
    movie_index, dst_series, src_series = await asyncio.gather(
        _shared(dst_shared, ("movies", *dst_parents), lambda c: _movie_index(c, dst_parents), destination)
        if movies else none(),
        _shared(dst_shared, ("series", *dst_parents), lambda c: _series_of(c, dst_parents), destination)
        if need_series else none(),
        _shared(src_shared, ("series", *src_parents), lambda c: _series_of(c, src_parents), source)
        if need_series else none(),
    )
    lookup = _SeriesLookup(src_series or [], dst_series or [])
    matches: list[Match] = [match_movie(m, movie_index) for m in movies] if movies else []

    matches += await _match_episodes(destination, episodes, lookup, dst_shared, dst_parents=dst_parents)
    say(f"Read episode lists of {len(lookup.episodes)} destination series")
    if dst_shared is not None and dst_shared.foreign(destination):
        matches = await _own_user_data(destination, matches)

    if await destination.has_versions():
        matches = await _with_versions(destination, matches)
    matched_dst = {d.id for m in matches for d in m.destinations}
    extra = [d for d in dst_resume if d.id not in matched_dst]
    zeros = await _zero_candidates(source, extra, lookup, library_ids, src_ids, say, src_shared)
    if zeros and await destination.has_versions():  # 12.0: say which of them have versions (never cleared)
        full = await _with_media_sources(destination, [z.destination.id for z in zeros])
        zeros = [replace(z, destination=full.get(z.destination.id, z.destination)) for z in zeros]
    say(f"Matched {sum(m.status is MatchStatus.MATCHED for m in matches)} of {len(matches)} items")
    indexed = Indexed(matches, zeros)
    if played:
        indexed.played, indexed.played_on_destination = await index_played(
            source, destination, same_server=False, library_ids=library_ids, movie_index=movie_index,
            lookup=lookup if need_series else None, progress=say, shared=shared,
            destination_library_ids=destination_library_ids)
    return indexed


async def _match_episodes(destination: JellyfinClient, episodes: list[Item], lookup: _SeriesLookup,
                          shared: SharedIndex | None = None, lists_at_most: int | None = None,
                          dst_parents: list[str | None] | None = None) -> list[Match]:
    """Source episodes to destination episodes: through the matched series' episode lists, and a full episode index
    only when some episode's series cannot be matched (or it has no season or episode number). Past `lists_at_most`
    series, every destination episode is read in pages instead (one request per 500, not one per series)."""
    resolved = {e.id: lookup.resolve(e.series_id) for e in episodes}
    fallback = [e for e in episodes
                if resolved[e.id][0] is not MatchStatus.MATCHED or e.season is None or e.episode is None]
    wanted = {s.id for _, found in resolved.values() for s in found} - set(lookup.episodes)
    parents = dst_parents or [None]
    if lists_at_most is not None and len(wanted) > lists_at_most:
        every = await _shared(shared, ("all_episodes", *parents), lambda c: _all_episodes(c, parents), destination)
        by_series: dict[str | None, list[Item]] = {}
        for ep in every:
            by_series.setdefault(ep.series_id, []).append(ep)
        lookup.episodes.update({sid: episodes_by_number(by_series.get(sid, [])) for sid in wanted})
        episode_index = ProviderIndex(every) if fallback else None
    else:
        await lookup.load_episodes(destination, (s for _, found in resolved.values() for s in found), shared)
        episode_index = (await _shared(shared, ("episode_index", *parents), lambda c: _episode_index(c, parents),
                                       destination)
                         if fallback else None)
    return [match_episode(e, *resolved[e.id], lookup.episodes, episode_index) for e in episodes]


async def _all_episodes(client: JellyfinClient, parent_ids: list[str | None]) -> list[Item]:
    return [episode for parent in parent_ids
            async for page in client.library_pages(types=("Episode",), parent_id=parent) for episode in page]


async def index_played(source: JellyfinClient, destination: JellyfinClient, *, same_server: bool,
                       library_ids: list[str] | None = None, movie_index: ProviderIndex | None = None,
                       lookup: _SeriesLookup | None = None, progress: Progress | None = None,
                       shared: tuple[SharedIndex, SharedIndex] | None = None,
                       destination_library_ids: list[str] | None = None) -> tuple[list[Match], frozenset[str]]:
    """Setting `played`: both played lists (paged, once per user), and the source's played items without a position
    matched as resume items are (an item with a position is a resume item: the position rules decide it).

    The destination movie index and series lookup the resume matching built are reused; what it did not need is
    read here. Returns the matches and the ids the destination's played list names.
    """
    say = progress or (lambda _msg: None)
    say("Reading both played lists")
    src_played, dst_played = await asyncio.gather(source.played_items(library_ids), destination.played_items())
    on_destination = frozenset(i.id for i in dst_played)
    items = [i for i in src_played if not i.virtual and i.user_data is not None and i.user_data.played
             and i.user_data.position_ticks == 0]
    say(f"Source has {len(items)} played items without a position; destination {len(on_destination)} played")
    if same_server:
        found = {i.id: i for i in await destination.items_by_ids(i.id for i in items)} if items else {}
        return [match_same_server(i, found.get(i.id)) for i in items], on_destination
    movies = [i for i in items if i.kind is ItemKind.MOVIE]
    episodes = [i for i in items if i.kind is ItemKind.EPISODE]
    src_shared, dst_shared = shared or (None, None)
    src_parents = list(library_ids) if library_ids else [None]
    dst_parents = list(destination_library_ids) if destination_library_ids else [None]
    if movies and movie_index is None:
        movie_index = await _shared(dst_shared, ("movies", *dst_parents), lambda c: _movie_index(c, dst_parents),
                                    destination)
    if episodes and lookup is None:
        src_series, dst_series = await asyncio.gather(
            _shared(src_shared, ("series", *src_parents), lambda c: _series_of(c, src_parents), source),
            _shared(dst_shared, ("series", *dst_parents), lambda c: _series_of(c, dst_parents), destination))
        lookup = _SeriesLookup(src_series, dst_series)
    matches = [match_movie(m, movie_index) for m in movies] if movies else []
    matches += await _match_episodes(destination, episodes, lookup, dst_shared,
                                     lists_at_most=EPISODE_LISTS_BEFORE_FULL_READ,
                                     dst_parents=dst_parents) if episodes else []
    if dst_shared is not None and dst_shared.foreign(destination):  # the shared reads carry another user's data
        matches = await _own_user_data(destination, matches)
    return matches, on_destination


async def agreed_matches(source: JellyfinClient, destination: JellyfinClient,
                         pairs: list[tuple[str, str]]) -> list[Match]:
    """Two-way: the agreed items that no resume list brought, read by id on both sides with this user pair's data;
    a pair with either side gone is left out."""
    if not pairs:
        return []
    src, dst = await asyncio.gather(source.items_by_ids(s for s, _ in pairs),
                                    destination.items_by_ids(d for _, d in pairs))
    by_src, by_dst = {i.id: i for i in src}, {i.id: i for i in dst}
    return [Match(by_src[s], MatchStatus.MATCHED, (by_dst[d],), "the agreed state")
            for s, d in pairs if s in by_src and d in by_dst]


async def _own_user_data(destination: JellyfinClient, matches: list[Match]) -> list[Match]:
    """Household runs: the matched destination items with this user's data, read IDS_BATCH at a time, a few batches
    at once: this read is what each user after the first waits on once the shared library is in. An item this user
    cannot see (library access, parental rating) is no counterpart for them."""
    ids = list(dict.fromkeys(d.id for m in matches for d in m.destinations))
    if not ids:
        return matches
    batches = [ids[n:n + IDS_BATCH] for n in range(0, len(ids), IDS_BATCH)]
    reads = await _bounded([lambda b=b: destination.items_by_ids(b) for b in batches], USER_DATA_BATCHES_AT_ONCE)
    own = {i.id: i for items in reads for i in items}
    out = []
    for m in matches:
        if not m.destinations:
            out.append(m)
            continue
        mine = tuple(own[d.id] for d in m.destinations if d.id in own)
        if mine:
            out.append(replace(m, destinations=mine))
        else:
            out.append(replace(m, status=MatchStatus.UNRESOLVED, destinations=(),
                               how=f"{m.how}; but this destination user cannot see it (library access or rating)"))
    return out


async def _with_media_sources(client: JellyfinClient, ids: list[str]) -> dict[str, Item]:
    """Items with their versions listed; the alternates /Items?ids= leaves out are read one by one."""
    full = {i.id: i for i in await client.items_by_ids(ids, versions=True)}
    for item_id in (i for i in ids if i not in full):
        try:
            full[item_id] = await client.item(item_id)
        except ServerError:
            continue
    return full


async def _with_versions(destination: JellyfinClient, matches: list[Match]) -> list[Match]:
    """12.0: every version of a matched movie becomes a destination item of its own, with its own progress (the
    primary's user data is a merged view; progress lives on the version played: §2.6)."""
    movies = [d.id for m in matches if m.status is MatchStatus.MATCHED for d in m.destinations
              if d.kind is ItemKind.MOVIE]
    if not movies:
        return matches
    with_sources = await _with_media_sources(destination, movies)
    out = []
    for m in matches:
        expanded: list[Item] = []
        for d in m.destinations:
            full = with_sources.get(d.id)
            if full is None or not full.version_ids:
                expanded.append(d)
                continue
            expanded.append(full)
            expanded += [v for v in await destination.version_items(full) if v.id not in {e.id for e in expanded}]
        out.append(replace(m, destinations=tuple(expanded)) if len(expanded) != len(m.destinations) else m)
    return out


async def _index_same_server(source, destination, src_resume, dst_resume, say) -> Indexed:
    say("Same server: matching by item id")
    dst_items = {i.id: i for i in await destination.items_by_ids(i.id for i in src_resume)}
    matches = [match_same_server(i, dst_items.get(i.id)) for i in src_resume]
    extra = [d for d in dst_resume if d.id not in dst_items]
    counterparts = {i.id: i for i in await source.items_by_ids(d.id for d in extra)} if extra else {}
    return Indexed(matches, [ZeroCandidate(d, counterparts.get(d.id)) for d in extra])


async def _zero_candidates(source: JellyfinClient, extra: list[Item], lookup: _SeriesLookup,
                           library_ids: list[str] | None, src_resume_ids: set[str],
                           say: Progress, shared: SharedIndex | None = None) -> list[ZeroCandidate]:
    """Source counterparts of destination resume rows that the source's resume list lacks (for explicit zeros)."""
    if not extra:
        return []
    say(f"Looking up {len(extra)} destination-only resume rows on the source")
    candidates: dict[str, list[Item]] = {}
    extra_movies = [d for d in extra if d.kind is ItemKind.MOVIE]
    if extra_movies:
        parents = list(library_ids) if library_ids else [None]
        src_movies = await _shared(shared, ("movies", *parents), lambda c: _movie_index(c, parents), source)
        for d in extra_movies:
            status, hits, _ = src_movies.lookup(d.provider_ids)
            candidates[d.id] = hits if status is MatchStatus.MATCHED else []

    # Episodes: destination series -> source series (the reverse of the forward lookup).
    reverse = ProviderIndex(lookup.src.values())
    by_series: dict[str, list[Series]] = {}
    for d in (d for d in extra if d.kind is ItemKind.EPISODE):
        series = lookup.dst.get(d.series_id or "")
        status, hits, _ = reverse.lookup(series.provider_ids) if series else (MatchStatus.UNRESOLVED, [], "")
        by_series[d.id] = hits if status is MatchStatus.MATCHED else []
    wanted = list(dict.fromkeys(s.id for hits in by_series.values() for s in hits))
    lists = await _bounded([lambda sid=sid: _shared(shared, ("episodes", sid), lambda c: c.episodes(sid), source)
                            for sid in wanted], EPISODE_LISTS_AT_ONCE)
    src_lists = {sid: episodes_by_number(eps) for sid, eps in zip(wanted, lists)}
    for d in (d for d in extra if d.kind is ItemKind.EPISODE):
        candidates[d.id] = [e for s in by_series[d.id] for e in src_lists.get(s.id, {}).get((d.season, d.episode), [])]
    if shared is not None and shared.foreign(source):  # the evidence of play must be this user's
        own = {i.id: i for i in await source.items_by_ids(i.id for hits in candidates.values() for i in hits)}
        candidates = {k: [own[i.id] for i in hits if i.id in own] for k, hits in candidates.items()}
    found: dict[str, Item | None] = {k: _played_first(hits) for k, hits in candidates.items()}
    if await source.has_versions():  # 12.0: a movie with versions shows a merged view, never an explicit 0
        ids = [i.id for i in found.values() if i is not None and i.kind is ItemKind.MOVIE]
        full = {i.id: i for i in await source.items_by_ids(ids, versions=True)} if ids else {}
        found = {k: (full.get(v.id, v) if v is not None else None) for k, v in found.items()}
    # Anything the source still has a position on belongs to its resume list (or is outside the chosen libraries).
    return [ZeroCandidate(d, found.get(d.id)) for d in extra
            if found.get(d.id) is None or found[d.id].id not in src_resume_ids]


def _played_first(items: list[Item]) -> Item | None:
    """Of several source versions, the one the user played (an explicit zero needs evidence of play)."""
    for item in items:
        ud = item.user_data
        if ud and (ud.played or ud.last_played):
            return item
    return items[0] if items else None
