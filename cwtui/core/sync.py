"""One pair's sync session: open both servers, check the pair makes sense, plan, and start apply and undo runs.

This is the single entry point the CLI and the TUI share, so both show exactly the same decisions.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import replace
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from cwtui.core import base, household
from cwtui.core.apply import ApplyRun, select_tasks
from cwtui.core.config_model import BOTH, Config, PairEntry, ServerEntry
from cwtui.core.dto import norm_id
from cwtui.core.errors import CwtuiError, DestinationTooOld, ServerError, UsageError
from cwtui.core.http import ClientIdentity, clock_skew
from cwtui.core.base import Base, BaseStore, item_key
from cwtui.core.index import Progress, SharedIndex, agreed_matches, index_pair
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.journal import Journal, RunRecord
from cwtui.core.locks import pair_lock
from cwtui.core.models import (
    TO_DESTINATION,
    TO_SOURCE,
    Plan,
    PlanRow,
    Reason,
    ResumeRules,
    ServerInfo,
    SideInfo,
    User,
    UserPair,
)
from cwtui.core.planner import effective_max_percent, plan_rows, reversed_row, two_way_rows
from cwtui.core.snapshot_source import SnapshotSource
from cwtui.core.undo import UndoRun

ClientFactory = Callable[[ServerEntry, str], JellyfinClient]
ONE_WAY, TWO_WAY, SEED_SOURCE, SEED_DESTINATION = "one-way", "two-way", "seed source", "seed destination"
"""How a plan goes: the pair's direction, or a --seed that runs it once one-way from the chosen side."""
USERS_AT_ONCE = 8
"""Household plans: users planned at the same time; they wait together on the one shared library read. What
reaches each server at once stays within http.MAX_IN_FLIGHT, however many users there are."""
log = logging.getLogger(__name__)


def default_client_factory(entry: ServerEntry, device_id: str) -> JellyfinClient:
    if entry.snapshot:
        return SnapshotSource(entry.snapshot)  # type: ignore[return-value]  # the read side of a client
    ident = ClientIdentity(device_id=device_id, device_name=socket.gethostname() or "cwtui")
    return JellyfinClient(entry.url, ident, token=entry.token, user_id=entry.user_id,
                          ca_bundle=entry.ca_bundle, insecure=entry.insecure)


def _address(url: str) -> str:
    """scheme://host:port/path, lower-cased, default ports and trailing slashes dropped: what makes two URLs one."""
    parts = urlsplit(url.strip().lower())
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}{parts.path.rstrip('/')}"


def insecure_notices(entries: Iterable[ServerEntry]) -> list[str]:
    return [f"TLS verification is OFF for server '{e.name}' ({e.url}): insecure = true in the config"
            for e in entries if e.insecure]


class PairSync:
    """Both clients of one pair, open for a plan and the runs that follow it. Use `async with`."""

    def __init__(self, config: Config, pair_name: str, journal: Journal, *,
                 client_factory: ClientFactory = default_client_factory) -> None:
        self.config = config
        self.pair: PairEntry = config.pair(pair_name)
        self.source_entry = config.server(self.pair.source)
        self.destination_entry = config.server(self.pair.destination)
        self.journal = journal
        if self.pair.users is None:
            for entry in (self.source_entry, self.destination_entry):
                if entry.api_key and not entry.user_id:
                    raise UsageError(
                        f"server '{entry.name}' has no user of its own (an API key saved without --as-user), so it "
                        f"serves only pairs with a user map", hint=f"add users = \"by-name\" (or a list of "
                        f"{{ source = ..., destination = ... }}) to [pairs.{self.pair.name}], or log in to "
                        f"'{entry.name}' with --as-user")
        self.source = client_factory(self.source_entry, config.device_id_for(self.source_entry))
        self.destination = client_factory(self.destination_entry, config.device_id_for(self.destination_entry))
        self.source_info: ServerInfo | None = None
        self.destination_info: ServerInfo | None = None
        self.why_not_writable: str | None = None
        self.source_why_not: str | None = None
        self.mode = ONE_WAY
        self.bases = BaseStore(journal.directory.parent)
        self.base: Base | None = None
        """A two-way plan's agreed state, read once per plan."""

    async def __aenter__(self) -> PairSync:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(self.source.aclose(), self.destination.aclose(), return_exceptions=True)

    async def plan(self, progress: Progress | None = None, users: Iterable[str] | None = None,
                   seed: str | None = None) -> Plan:
        """Index both sides and decide every row. Raises CwtuiError for anything that stops the whole plan.

        `users` (household pairs): only these source users, by name or id. `seed` ("source" or "destination"):
        plan one-way from that side, whatever the pair's direction, to record a first agreed state."""
        say = progress or (lambda _msg: None)
        say("Contacting both servers")
        self.source_info, self.destination_info = await asyncio.gather(
            self.source.public_info(), self.destination.public_info())
        for entry, info in ((self.source_entry, self.source_info), (self.destination_entry, self.destination_info)):
            if not info.startup_complete:
                raise UsageError(f"server '{entry.name}' has not finished its startup wizard; refusing to sync")
        if self.source_entry.snapshot and self.pair.users is None:  # the file's one user is the source user
            me = await self.source.me()
            self.source_entry = replace(self.source_entry, user_id=me.id, user_name=me.name)
        same_server, matching = self._matching_mode()
        if same_server and self.pair.users is None and self.source_entry.user_id == self.destination_entry.user_id:
            raise UsageError(f"pair '{self.pair.name}' has the same server and user on both sides "
                             f"({self.source_info.name}, {self.source_entry.user_name}); nothing to sync",
                             hint=f"if these are two machines (a copied data folder), set pairs.{self.pair.name}"
                                  ".same_server = false" if matching else
                                  "point the destination at another user or server")
        self.mode = _mode(self.pair, seed)
        self.base = self.bases.load(self.pair.name) if self.mode == TWO_WAY else None  # once, for every user
        settings = self.pair.progress
        notices = insecure_notices([self.source_entry, self.destination_entry])
        if matching:
            notices.append(matching)
        await self._writability(notices)
        rules = await self._server_rules(notices) if settings.enable else {}
        if self.pair.direction == BOTH:
            notices += self._two_way_notices()
        rows: list = []
        user_pairs: list[UserPair] = []
        if self.pair.users is not None:
            user_pairs = await self._household(same_server, notices, users)
        if not settings.enable:
            notices.append(f"the progress feature is off for pair '{self.pair.name}' (enable = false): "
                           "nothing is planned")
        elif not user_pairs:
            rows = await self._plan_user(self.source, self.destination, same_server, rules, say)
        else:
            rows = await self._plan_household(user_pairs, same_server, rules, say)
        for client, entry in ((self.source, self.source_entry), (self.destination, self.destination_entry)):
            if client.skipped_malformed:
                notices.append(f"{client.skipped_malformed} items from '{entry.name}' had a shape cwtui could not "
                               "read and were left out")
        log.info("plan %s (%s): %s -> %s, %d rows, %s", self.pair.name, self.mode, self.source_info.name,
                 self.destination_info.name, len(rows), sum(1 for r in rows if r.writes))
        return Plan(
            pair=self.pair.name,
            source=self._side(self.source_entry, self.source_info, self.source_why_not or (
                await self.source.why_cannot_write() if self.source_entry.snapshot else None)),
            destination=self._side(self.destination_entry, self.destination_info, self.why_not_writable),
            settings=settings,
            effective_max_percent=effective_max_percent(settings, rules.get(TO_DESTINATION)) or 0,
            rules=rules.get(TO_DESTINATION),
            rows=tuple(rows),
            notices=tuple(notices),
            users=tuple(user_pairs),
            two_way=self.pair.direction == BOTH,
        )

    async def _writability(self, notices: list[str]) -> None:
        """Why each side that this plan may write cannot take writes (None when it can), said in the notices."""
        sides = [("destination", self.destination, self.destination_entry, self.destination_info)]
        if self.pair.direction == BOTH or self.mode == SEED_DESTINATION:
            sides.append(("source", self.source, self.source_entry, self.source_info))
        both = "; a two-way pair writes nothing unless both sides can" if self.pair.direction == BOTH else ""
        for side, client, entry, info in sides:
            why = await client.why_cannot_write()
            if side == "destination":
                self.why_not_writable = why
            else:
                self.source_why_not = why
            if not info.writable:
                notices.append(str(DestinationTooOld(info.name, info.version)) + f"; this plan is for reading only{both}")
            elif why:
                notices.append(f"'{entry.name}' cannot take writes: {why}; this plan is for reading only{both}")

    async def _server_rules(self, notices: list[str]) -> dict[str, ResumeRules | None]:
        """The resume rules of each side this plan may write, by direction (only while they are respected)."""
        if not self.pair.progress.respect_server_resume_rules:
            return {}
        out: dict[str, ResumeRules | None] = {}
        sides = [(TO_DESTINATION, self.destination, "destination")]
        if self.pair.direction == BOTH or self.mode == SEED_DESTINATION:
            sides.append((TO_SOURCE, self.source, "source"))
        for direction, client, side in sides:
            try:
                out[direction] = await client.resume_rules()
            except ServerError as exc:
                out[direction] = ResumeRules()
                notices.append(f"could not read the {side}'s resume rules ({exc.message}); "
                               "using Jellyfin's defaults (5%, 90%, 300 s)")
        return out

    def _two_way_notices(self) -> list[str]:
        """Clock skew between the two servers, and a two-way pair with no agreed state yet (a renamed pair?)."""
        out = []
        skew = clock_skew(self.source, self.destination)
        if skew is not None and abs(skew) > self.pair.progress.timestamp_tolerance_seconds:
            ahead = self.source_entry.name if skew > 0 else self.destination_entry.name
            out.append(f"the clocks of the two servers differ by {abs(skew):.0f} s ('{ahead}' is ahead, judged from "
                       "their Date headers), more than the tolerance: last-played times may pick the wrong side; "
                       "set both servers' clocks (NTP)")
        if self.mode == TWO_WAY and not self.bases.exists(self.pair.name):
            words = (f"pair '{self.pair.name}' has no agreed state yet, so no item is written either way "
                     f"(`no_base`); the first apply records the items whose sides already agree, and "
                     f"`cwtui apply {self.pair.name} --seed source|destination` picks the side that wins once")
            others = [p for p in self.bases.others() if p not in self.config.pairs]
            if others:
                words += (f". Agreed states exist for pairs no longer in the config ({', '.join(others)}): renaming "
                          "a pair starts a new base")
            out.append(words)
        return out

    async def _plan_user(self, source: JellyfinClient, destination: JellyfinClient, same_server: bool,
                         rules: dict[str, ResumeRules | None], say: Progress, shared=None) -> list[PlanRow]:
        """The rows of one source user and one destination user, in the way this plan goes."""
        if self.mode == SEED_DESTINATION:  # one-way, from the destination to the source, inside the pair's libraries
            library_ids = await self._library_ids(source)
            indexed = await index_pair(destination, source, same_server=same_server, progress=say,
                                       shared=(shared[1], shared[0]) if shared else None,
                                       library_ids=library_ids if same_server else None,
                                       destination_library_ids=library_ids)
            rows = plan_rows(indexed.matches, indexed.zeros, self.pair.progress, rules.get(TO_SOURCE),
                             shared_rows=self.source_info.version_tuple < (10, 11))
            return [reversed_row(r) for r in rows]
        library_ids = await self._library_ids(source)
        indexed = await index_pair(source, destination, same_server=same_server, library_ids=library_ids,
                                   progress=say, shared=shared,
                                   played=self.pair.progress.played and self.mode != TWO_WAY)
        if self.mode == TWO_WAY:
            base = self.base
            seen = {(m.source.id, d.id) for m in indexed.matches for d in m.destinations}
            seen |= {(z.source.id, z.destination.id) for z in indexed.zeros if z.source is not None}
            gone = [p for p in base.pairs_of(source.user_id, destination.user_id) if p not in seen]
            extra = await agreed_matches(source, destination, gone)
            rows = two_way_rows(indexed.matches + extra, indexed.zeros, self.pair.progress, rules,
                                lambda s_id, d_id: base.get(item_key(source.user_id, destination.user_id, s_id, d_id)),
                                shared_rows={TO_DESTINATION: self.destination_info.version_tuple < (10, 11),
                                             TO_SOURCE: self.source_info.version_tuple < (10, 11)})
            # Agreed items in no resume list are read for a change (a finish, an unwatch); unchanged ones stay out.
            quiet = {m.source.id for m in extra}
            return [r for r in rows if r.source_item_id not in quiet or r.reason not in (Reason.IN_SYNC,
                                                                                          Reason.UNCHANGED)]
        rows = plan_rows(indexed.matches, indexed.zeros, self.pair.progress, rules.get(TO_DESTINATION),
                         shared_rows=self.destination_info.version_tuple < (10, 11), played=indexed.played,
                         played_on_destination=indexed.played_on_destination)
        if self.mode == SEED_SOURCE:  # a two-way pair's plan: its writes say their direction, as a seed back does
            rows = [replace(r, direction=TO_DESTINATION) for r in rows]
        return rows

    async def _household(self, same_server: bool, notices: list[str], wanted: Iterable[str] | None) -> list[UserPair]:
        """The pair's user map, resolved against both servers' users and checked against what each token may do."""
        (src_token, src_users), (dst_token, dst_users) = await asyncio.gather(
            self._who(self.source), self._who(self.destination))
        pairs, said = household.resolve(self.pair, src_users, dst_users, same_server=same_server,
                                        path=self.config.path)
        notices += said
        pairs = household.select(pairs, wanted)
        household.check_token(self.source_entry.name, "source", src_token, (p.source for p in pairs))
        household.check_token(self.destination_entry.name, "destination", dst_token, (p.destination for p in pairs))
        return pairs

    @staticmethod
    async def _who(client: JellyfinClient) -> tuple[User | None, list[User]]:
        return await asyncio.gather(client.token_user(), client.users())

    async def _plan_household(self, user_pairs: list[UserPair], same_server: bool,
                              rules: dict[str, ResumeRules | None], say: Progress) -> list[PlanRow]:
        """Every mapped user, USERS_AT_ONCE at a time. Each server's library is read once, as a whole, and shared
        by all of them (SharedIndex); per user only the resume lists and that user's data are read."""
        shared = (SharedIndex(self.source.library_view()), SharedIndex(self.destination.library_view()))
        gate = asyncio.Semaphore(USERS_AT_ONCE)

        async def one(up: UserPair) -> list[PlanRow]:
            src, dst = self.source.for_user(up.source.id), self.destination.for_user(up.destination.id)
            async with gate:
                try:
                    rows = await self._plan_user(src, dst, same_server, rules,
                                                 lambda msg: say(f"{up.source.name}: {msg}"), shared)
                finally:  # a view counts its own skipped items: the plan's notice speaks for every user's reads
                    self.source.skipped_malformed += src.skipped_malformed
                    self.destination.skipped_malformed += dst.skipped_malformed
            return [household.tag(row, up) for row in rows]

        try:
            per_user = await asyncio.gather(*(one(up) for up in user_pairs))
        finally:  # the shared library reads are counted too
            self.source.skipped_malformed += shared[0].reader.skipped_malformed
            self.destination.skipped_malformed += shared[1].reader.skipped_malformed
        return [row for rows in per_user for row in rows]

    def _matching_mode(self) -> tuple[bool, str | None]:
        """One server (match items by id) or two (match by provider ids), and a sentence when that is not obvious.

        A data folder copied to a new machine keeps its server id, so the same id at two addresses may be two
        servers; the pair's `same_server` key settles it.
        """
        src, dst = self.source_info, self.destination_info
        if self.source_entry.snapshot:
            return False, (f"'{self.source_entry.name}' is a snapshot of {src.name} (file "
                           f"{self.source_entry.snapshot}): items are matched by provider ids, never by id, even on "
                           "the server it was taken from (a rebuilt server gives its items new ids)")
        same_id = src.id == dst.id
        same_url = _address(self.source_entry.url) == _address(self.destination_entry.url)
        key = f"pairs.{self.pair.name}.same_server"
        if self.pair.same_server is False:
            return False, (f"matching by provider ids: {key} = false says these are two servers"
                           + (f" (both report server id {src.id})" if same_id else ""))
        if self.pair.same_server is True and not same_id:
            raise UsageError(f"{key} = true, but the servers report different ids ({src.id} vs {dst.id})",
                             hint=f"remove {key} or set it to false")
        if same_id and not same_url:
            return True, (f"'{self.source_entry.name}' and '{self.destination_entry.name}' report the same server id "
                          f"({src.id}) at different addresses, so cwtui treats them as one server and matches items "
                          f"by id. If one is a copy of the other's data folder on another machine, set {key} = "
                          "false to match by provider ids")
        return same_id, None

    async def _library_ids(self, source: JellyfinClient) -> list[str] | None:
        wanted = self.pair.progress.libraries
        if not wanted:
            return None
        libraries = await source.libraries()
        ids = []
        for name in wanted:
            as_id = norm_id(name)  # an id may be written with or without dashes, in any case
            hit = [lib.id for lib in libraries if name.casefold() == lib.name.casefold() or as_id == lib.id]
            if not hit:
                have = ", ".join(lib.name for lib in libraries) or "none"
                raise UsageError(f"pair '{self.pair.name}': library '{name}' is not on the source (have: {have})",
                                 hint=f"fix pairs.{self.pair.name}.features.progress.libraries")
            ids.extend(hit)
        return ids

    @staticmethod
    def _side(entry: ServerEntry, info: ServerInfo, why_not_writable: str | None = None) -> SideInfo:
        return SideInfo(name=entry.name, server_name=info.name, version=info.version, user_name=entry.user_name,
                        user_id=entry.user_id, server_id=info.id, writable=info.writable and not why_not_writable,
                        why_not_writable=why_not_writable or "")

    def settle(self, plan: Plan) -> None:
        """An apply with nothing to write still records the items whose sides agree (a two-way pair's first base),
        under the pair's lock like any run (RunLocked while another run holds it)."""
        with pair_lock(self.journal.directory.parent, plan.pair):
            base.record(self.journal.directory.parent, plan, None, {})

    def start_apply(self, plan: Plan, *, only: Iterable[str] | None = None, force: Iterable[str] = (),
                    dry_run: bool = False, concurrency: int | None = None, chunk_size: int | None = None,
                    prefer: dict[str, str] | None = None) -> ApplyRun:
        """A run over the chosen rows. Raises before any write when a side it writes cannot take them."""
        tasks = select_tasks(plan, only, force, prefer)
        return ApplyRun(plan, self.destination, self.journal, tasks, dry_run=dry_run,
                        concurrency=concurrency or self.config.concurrency, chunk_size=chunk_size,
                        source_client=self.source)


def _mode(pair: PairEntry, seed: str | None) -> str:
    if seed is None:
        return TWO_WAY if pair.direction == BOTH else ONE_WAY
    if seed not in ("source", "destination"):
        raise UsageError(f"--seed {seed}: expected source or destination")
    if pair.direction != BOTH:
        raise UsageError(f"--seed is for two-way pairs; pair '{pair.name}' is one-way (it never writes its source)",
                         hint=f'set direction = "both" in [pairs.{pair.name}] first')
    return SEED_SOURCE if seed == "source" else SEED_DESTINATION


def find_run(journal: Journal, run_id: str | None) -> RunRecord:
    """The run to undo: the one named, or the latest apply run that wrote something."""
    if run_id:
        return journal.load(run_id)
    record = journal.latest_written()
    if record is None:
        raise UsageError("no apply run has written anything yet, so there is nothing to undo",
                         hint="`cwtui runs` lists the journal")
    return record


async def open_undo(config: Config, journal: Journal, record: RunRecord, *, force: bool = False,
                    client_factory: ClientFactory = default_client_factory, chunk_size: int | None = None,
                    users: Iterable[str] | None = None) -> UndoRun:
    """An UndoRun against the run's destination (and its source, for a two-way run that wrote there), after
    checking each is still the same server and user(s)."""
    sides = [record.destination]
    if record.destination.get("source") and any(i.server for i in record.intents):
        sides.append(record.destination["source"])
    clients: list[JellyfinClient] = []
    try:
        for side in sides:
            entry = config.server(side.get("name", ""))
            clients.append(client_factory(entry, config.device_id_for(entry)))
            await _check_undo_side(record, entry, clients[-1], side)
        return UndoRun(record, clients[0], journal, force=force, concurrency=config.concurrency, owns_client=True,
                       chunk_size=chunk_size, users=users,
                       clients={sides[1]["name"]: clients[1]} if len(clients) > 1 else None)
    except CwtuiError:
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        raise


async def _check_undo_side(record: RunRecord, entry: ServerEntry, client: JellyfinClient, side: dict) -> None:
    name = entry.name
    info = await client.public_info()
    if side.get("server_id") and info.id != side["server_id"]:
        raise UsageError(f"server '{name}' is not the server run {record.run_id} wrote to "
                         f"(server id {info.id} vs {side['server_id']})")
    mapped = record.destination.get("users") or []
    if mapped:  # a household run: the token must still act for every user it wrote for
        end = "destination" if side is record.destination else "source"
        household.check_token(name, end, await client.token_user(),
                              [User(str(m[end].get("id")), str(m[end].get("name"))) for m in mapped])
    elif side.get("user_id") and entry.user_id != side["user_id"]:
        raise UsageError(f"server '{name}' now acts as user {entry.user_name}, not the user run "
                         f"{record.run_id} wrote for")
    why_not = await client.why_cannot_write()
    if why_not:
        raise UsageError(f"cannot restore run {record.run_id} on '{name}': {why_not}")
