"""Small builders for core tests: items with user data, at fixed instants."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from cwtui.core.models import TICKS_PER_SECOND, Item, ItemKind, UserData

T0 = datetime(2026, 11, 20, 20, 0, 0, tzinfo=timezone.utc)
HOUR = 3600
_ids = itertools.count(1)


def ticks(seconds: float) -> int:
    return int(seconds * TICKS_PER_SECOND)


def at(seconds_after_t0: float | None) -> datetime | None:
    return None if seconds_after_t0 is None else T0 + timedelta(seconds=seconds_after_t0)


def ud(pos_s: float = 0, *, played: bool = False, count: int = 0, last: float | None = 0) -> UserData:
    """User data at pos_s seconds, last played `last` seconds after T0 (None = never)."""
    return UserData(position_ticks=ticks(pos_s), played=played, play_count=count, last_played=at(last))


def movie(pos_s: float | None = None, *, runtime_s: float | None = 2 * HOUR, ids=None, name=None, **kw) -> Item:
    n = next(_ids)
    return Item(
        id=f"{n:032x}",
        kind=ItemKind.MOVIE,
        name=name or f"Movie {n}",
        runtime_ticks=None if runtime_s is None else ticks(runtime_s),
        provider_ids=dict(ids if ids is not None else {"imdb": f"tt{n:07d}"}),
        user_data=None if pos_s is None else ud(pos_s, **kw),
    )


def episode(series: str, season: int, number: int, pos_s: float | None = None, *,
            runtime_s: float = 45 * 60, ids=None, series_id: str = "s" * 32, **kw) -> Item:
    n = next(_ids)
    return Item(
        id=f"{n:032x}",
        kind=ItemKind.EPISODE,
        name=f"Episode {number}",
        runtime_ticks=ticks(runtime_s),
        provider_ids=dict(ids or {}),
        series_id=series_id,
        series_name=series,
        season=season,
        episode=number,
        user_data=None if pos_s is None else ud(pos_s, **kw),
    )
