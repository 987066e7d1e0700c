"""The household map: a pair's `users` key resolved against both servers' user lists. Pure: no I/O.

Direction is always source -> destination. The checks that keep a map from doing harm live here: a destination
user written by two source users, a user synced onto themselves, and chains on one server (a user who is both a
source and a destination of the same map) are refused before anything is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from cwtui.core.config_model import BY_NAME, PairEntry, UserLink
from cwtui.core.dto import norm_id
from cwtui.core.errors import ConfigError, UsageError
from cwtui.core.models import PlanRow, User, UserPair


def resolve(pair: PairEntry, source_users: list[User], destination_users: list[User], *, same_server: bool,
            path: str | None = None) -> tuple[list[UserPair], list[str]]:
    """The map's user pairs, in the order written (by-name: the source's order), and notices for by-name."""
    key = f"pairs.{pair.name}.users"
    notices: list[str] = []
    if pair.users == BY_NAME:
        if same_server:
            raise ConfigError("users = \"by-name\" on one server would pair every user with themselves",
                              path=path, key=key, hint="list the users: [{ source = \"alice\", destination = \"bob\" }]")
        folded: dict[str, list[User]] = {}
        for u in destination_users:
            folded.setdefault(u.name.casefold(), []).append(u)
        by_name = {name: users[0] for name, users in folded.items() if len(users) == 1}
        twins = {name for name, users in folded.items() if len(users) > 1}
        pairs = [UserPair(u, by_name[u.name.casefold()]) for u in source_users if u.name.casefold() in by_name]
        alone = [u.name for u in source_users if u.name.casefold() not in folded]
        if alone:
            notices.append(f"users = \"by-name\": no destination user is called {_names(alone)}; "
                           "their positions are not synced (an explicit list can map them)")
        unsure = [u.name for u in source_users if u.name.casefold() in twins]
        if unsure:  # never guess which person a name means
            notices.append(f"users = \"by-name\": several destination users are called {_names(unsure)} (the names "
                           "differ only in case), so they are not synced; map them in an explicit list by id")
        taken = {p.destination.id for p in pairs}
        left = [u.name for u in destination_users if u.id not in taken]
        if left:
            notices.append(f"destination users with no source user of the same name: {_names(left)}")
        if not pairs:
            raise UsageError(f"pair '{pair.name}': users = \"by-name\" found no user name on both servers",
                             hint=f"list the users in {key}")
    else:
        assert isinstance(pair.users, tuple)
        pairs = [UserPair(_find(link, "source", source_users, key, path),
                          _find(link, "destination", destination_users, key, path)) for link in pair.users]
    _check(pairs, same_server, key, path)
    return pairs, notices


def select(pairs: list[UserPair], wanted: Iterable[str] | None) -> list[UserPair]:
    """The pairs of the source users named by `--user` (name or id, any case); all when none is named."""
    wanted = list(wanted or ())
    if not wanted:
        return pairs
    out = []
    for name in wanted:
        hit = [p for p in pairs if name.casefold() == p.source.name.casefold() or norm_id(name) == p.source.id]
        if not hit:
            have = ", ".join(p.source.name for p in pairs) or "none"
            raise UsageError(f"--user {name}: no source user of this pair's map is called that (have: {have})")
        out += [p for p in hit if p not in out]
    return [p for p in pairs if p in out]  # in the map's order


def check_token(entry_name: str, side: str, token_user: User | None, users: Iterable[User]) -> None:
    """A token that acts only for its own user may serve a map that names only that user (exit 2 otherwise)."""
    if token_user is None or token_user.is_admin:
        return  # an API key or an administrator acts for anyone
    others = sorted({u.name for u in users if u.id != token_user.id})
    if others:
        raise UsageError(
            f"server '{entry_name}' is logged in as {token_user.name}, who is not an administrator, so it cannot "
            f"act for {_names(others)} on the {side} side of this user map",
            hint=f"log in to '{entry_name}' with an API key (`cwtui login {entry_name} --url URL --api-key-stdin`) "
                 "or as an administrator")


def tag(row: PlanRow, up: UserPair) -> PlanRow:
    """A row of one mapped user: named by both users, its key made unique across the household (`ITEM.USERID`)."""
    return replace(row, key=f"{row.key}.{up.source.id}", source_user=up.source.name, source_user_id=up.source.id,
                   destination_user=up.destination.name, destination_user_id=up.destination.id,
                   choices=tuple(tag(c, up) for c in row.choices))


def _find(link: UserLink, end: str, users: list[User], key: str, path: str | None) -> User:
    wanted_id = getattr(link, f"{end}_id")
    written = getattr(link, end)
    if wanted_id:
        hit = [u for u in users if u.id == norm_id(wanted_id)]
    else:
        hit = [u for u in users if u.id == norm_id(written)] or [u for u in users if u.name.casefold() ==
                                                                   written.casefold()]
    if len(hit) != 1:
        have = _names(u.name for u in users) or "none"
        what = f"id {wanted_id} ({written})" if wanted_id else repr(written)
        raise ConfigError(f"entry {link.index + 1}: the {end} has no user {what} (have: {have})", path=path,
                          key=key)
    return hit[0]


def _check(pairs: list[UserPair], same_server: bool, key: str, path: str | None) -> None:
    seen: dict[str, User] = {}
    for p in pairs:
        if p.destination.id in seen:
            raise ConfigError(f"destination user {p.destination.name} appears twice (from {seen[p.destination.id].name} "
                              f"and {p.source.name}); one source user per destination user", path=path, key=key)
        seen[p.destination.id] = p.source
        if same_server and p.source.id == p.destination.id:
            raise ConfigError(f"user {p.source.name} is on both sides of the map on one server", path=path, key=key)
    if same_server:
        sources = {p.source.id: p.source for p in pairs}
        chained = [p.destination.name for p in pairs if p.destination.id in sources]
        if chained:
            raise ConfigError(f"{_names(chained)} would be both a source and a destination of this map on one "
                              "server (a chain); split it into two pairs", path=path, key=key)


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)
