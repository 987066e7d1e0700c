"""Pure matching of source items to their destination counterparts by provider ids (never by foreign item ids)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cwtui.core.models import Item, Series

MATCH_KEYS = ("imdb", "tmdb", "tvdb")
"""Provider ids that identify one title. Collection ids (TmdbCollection) and junk keys (TvRage "0") do not."""


class MatchStatus(StrEnum):
    MATCHED = "matched"
    UNRESOLVED = "unresolved"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Match:
    """A source item and what it resolved to on the destination; `how` says which ids did it, for the detail pane."""

    source: Item
    status: MatchStatus
    destinations: tuple[Item, ...] = ()
    how: str = ""


def match_ids(provider_ids: Mapping[str, str]) -> dict[str, str]:
    """The provider ids that may identify a title, keys lower-cased and empty values dropped."""
    out = {}
    for key, value in provider_ids.items():
        key, value = key.lower(), str(value).strip()
        if key in MATCH_KEYS and value and value != "0":
            out[key] = value
    return out


class ProviderIndex:
    """Destination things (items or series) looked up by (provider, id)."""

    def __init__(self, things: Iterable[Item | Series] = ()) -> None:
        self._by_key: dict[tuple[str, str], list[Item | Series]] = defaultdict(list)
        self._seen: set[str] = set()
        self.add(things)

    def add(self, things: Iterable[Item | Series]) -> None:
        for thing in things:
            if thing.id in self._seen:
                continue
            self._seen.add(thing.id)
            for key, value in match_ids(thing.provider_ids).items():
                self._by_key[(key, value)].append(thing)

    def __len__(self) -> int:
        return len(self._seen)

    def lookup(self, provider_ids: Mapping[str, str]) -> tuple[MatchStatus, list, str]:
        """Everything sharing at least one id; a conflicting id on any candidate makes the lookup ambiguous."""
        wanted = match_ids(provider_ids)
        found: dict[str, Item | Series] = {}
        via: list[str] = []
        for key, value in wanted.items():
            hits = self._by_key.get((key, value), ())
            if hits:
                via.append(f"{key}={value}")
            for thing in hits:
                found.setdefault(thing.id, thing)
        if not found:
            ids = ", ".join(f"{k}={v}" for k, v in wanted.items()) or "no provider ids"
            return MatchStatus.UNRESOLVED, [], f"nothing on the destination has {ids}"
        for thing in found.values():
            theirs = match_ids(thing.provider_ids)
            clash = [k for k in wanted if k in theirs and theirs[k] != wanted[k]]
            if clash:
                key = clash[0]
                name = getattr(thing, "name", "") or "an item"
                year = getattr(thing, "production_year", None)
                label = f"'{name}'" + (f" ({year})" if year else "") + f" [{thing.id}]"
                return (
                    MatchStatus.AMBIGUOUS,
                    list(found.values()),
                    f"{', '.join(via)} leads to {label}, whose {key} is {theirs[key]}, not {wanted[key]}",
                )
        return MatchStatus.MATCHED, list(found.values()), "by " + ", ".join(via)


def match_movie(source: Item, movies: ProviderIndex) -> Match:
    status, found, how = movies.lookup(source.provider_ids)
    return Match(source, status, tuple(found) if status is MatchStatus.MATCHED else (), how)


def episodes_by_number(episodes: Iterable[Item]) -> dict[tuple[int, int], list[Item]]:
    """(season, episode) -> episodes; season 0 (specials) is a season like any other."""
    out: dict[tuple[int, int], list[Item]] = defaultdict(list)
    for ep in episodes:
        if ep.season is not None and ep.episode is not None:
            out[(ep.season, ep.episode)].append(ep)
    return out


def match_episode(
    source: Item,
    series_status: MatchStatus,
    destination_series: list[Series],
    episodes_of: Mapping[str, Mapping[tuple[int, int], list[Item]]],
    episode_index: ProviderIndex | None,
) -> Match:
    """Series ids plus season/episode numbers; the episode's own ids only when the series cannot be matched.

    Args:
        source: the source episode.
        series_status: how the source episode's series matched (see `ProviderIndex.lookup`).
        destination_series: the matched destination series (their versions).
        episodes_of: destination series id -> (season, episode) -> episodes.
        episode_index: every destination episode by its own ids, needed only for the fallback.
    """
    numbered = source.season is not None and source.episode is not None
    if series_status is MatchStatus.MATCHED and numbered:
        number = (source.season, source.episode)
        found = [ep for s in destination_series for ep in episodes_of.get(s.id, {}).get(number, [])]
        label = f"S{source.season:02d}E{source.episode:02d}"
        names = ", ".join(s.name for s in destination_series)
        if found:
            return Match(source, MatchStatus.MATCHED, tuple(found), f"series {names}, {label}")
        return Match(source, MatchStatus.UNRESOLVED, (), f"series {names} has no {label} on the destination")
    if episode_index is None:
        return Match(source, MatchStatus.UNRESOLVED, (), "series not found on the destination")
    status, found, how = episode_index.lookup(source.provider_ids)
    why = "series not matched; episode ids: "
    if status is MatchStatus.MATCHED and len(found) > 1:
        return Match(source, MatchStatus.AMBIGUOUS, (), why + f"{how} point to {len(found)} episodes")
    return Match(source, status, tuple(found) if status is MatchStatus.MATCHED else (), why + how)


def match_same_server(source: Item, destination: Item | None) -> Match:
    """Same server, other user: the item id is the same item."""
    if destination is None:
        return Match(source, MatchStatus.UNRESOLVED, (), "item not visible to the destination user")
    return Match(source, MatchStatus.MATCHED, (destination,), "same server: same item id")

