"""One pair's sync session: open both servers, check the pair makes sense, plan, and start apply and undo runs.

This is the single entry point the CLI and the TUI share, so both show exactly the same decisions.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import replace
from urllib.parse import urlsplit
from collections.abc import Callable, Iterable

from cwtui.core import household
from cwtui.core.apply import ApplyRun, select_tasks
from cwtui.core.config_model import Config, PairEntry, ServerEntry
from cwtui.core.dto import norm_id
from cwtui.core.errors import CwtuiError, DestinationTooOld, ServerError, UsageError
from cwtui.core.http import ClientIdentity
from cwtui.core.index import Progress, SharedIndex, index_pair
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.journal import Journal, RunRecord
from cwtui.core.models import Plan, PlanRow, ResumeRules, ServerInfo, SideInfo, User, UserPair
from cwtui.core.planner import effective_max_percent, plan_rows
from cwtui.core.snapshot_source import SnapshotSource
from cwtui.core.undo import UndoRun

ClientFactory = Callable[[ServerEntry, str], JellyfinClient]
USERS_AT_ONCE = 4
"""Household plans: users planned at the same time once the first has read both libraries."""
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
        self.source = client_factory(self.source_entry, config.device_id_for(self.source_entry))
        self.destination = client_factory(self.destination_entry, config.device_id_for(self.destination_entry))
        if self.pair.users is None:
            for end, entry in (("source", self.source_entry), ("destination", self.destination_entry)):
                if not entry.user_id and not entry.snapshot:  # a snapshot's own user is read from the file
                    raise UsageError(
                        f"server '{entry.name}' has no user of its own (an API key saved without --as-user), so it "
                        f"serves only pairs with a user map", hint=f"add users = \"by-name\" (or a list of "
                        f"{{ source = ..., destination = ... }}) to [pairs.{self.pair.name}], or log in to "
                        f"'{entry.name}' with --as-user")
        self.source_info: ServerInfo | None = None
        self.destination_info: ServerInfo | None = None
        self.why_not_writable: str | None = None

    async def __aenter__(self) -> PairSync:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(self.source.aclose(), self.destination.aclose(), return_exceptions=True)

    async def plan(self, progress: Progress | None = None, users: Iterable[str] | None = None) -> Plan:
        """Index both sides and decide every row. Raises CwtuiError for anything that stops the whole plan.

        `users` (household pairs): only these source users, by name or id."""
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
        settings = self.pair.progress
        notices = insecure_notices([self.source_entry, self.destination_entry])
        if matching:
            notices.append(matching)
        self.why_not_writable = await self.destination.why_cannot_write()
        if not self.destination_info.writable:
            notices.append(str(DestinationTooOld(self.destination_info.name, self.destination_info.version))
                           + "; this plan is for reading only")
        elif self.why_not_writable:
            notices.append(f"'{self.destination_entry.name}' cannot take writes: {self.why_not_writable}; "
                           "this plan is for reading only")
        rules: ResumeRules | None = None
        if settings.enable and settings.respect_server_resume_rules:
            try:
                rules = await self.destination.resume_rules()
            except ServerError as exc:
                rules = ResumeRules()
                notices.append(f"could not read the destination's resume rules ({exc.message}); "
                               "using Jellyfin's defaults (5%, 90%, 300 s)")
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
        log.info("plan %s: %s -> %s, %d rows, %s", self.pair.name, self.source_info.name,
                 self.destination_info.name, len(rows), sum(1 for r in rows if r.writes))
        return Plan(
            pair=self.pair.name,
            source=self._side(self.source_entry, self.source_info,
                              await self.source.why_cannot_write() if self.source_entry.snapshot else None),
            destination=self._side(self.destination_entry, self.destination_info, self.why_not_writable),
            settings=settings,
            effective_max_percent=effective_max_percent(settings, rules) or 0,
            rules=rules,
            rows=tuple(rows),
            notices=tuple(notices),
            users=tuple(user_pairs),
        )

    async def _plan_user(self, source: JellyfinClient, destination: JellyfinClient, same_server: bool,
                         rules: ResumeRules | None, say: Progress, shared=None) -> list[PlanRow]:
        """The rows of one source user and one destination user."""
        library_ids = await self._library_ids(source)
        indexed = await index_pair(source, destination, same_server=same_server, library_ids=library_ids,
                                   progress=say, shared=shared)
        return plan_rows(indexed.matches, indexed.zeros, self.pair.progress, rules,
                         shared_rows=self.destination_info.version_tuple < (10, 11))

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

    async def _plan_household(self, user_pairs: list[UserPair], same_server: bool, rules: ResumeRules | None,
                              say: Progress) -> list[PlanRow]:
        """Every mapped user: the first alone, which reads each server's library once; the others at once, reading
        only their own resume lists and user data."""
        first = user_pairs[0]
        shared = (SharedIndex(first.source.id), SharedIndex(first.destination.id))

        async def one(up: UserPair) -> list[PlanRow]:
            rows = await self._plan_user(self.source.for_user(up.source.id), self.destination.for_user(up.destination.id),
                                         same_server, rules, lambda msg: say(f"{up.source.name}: {msg}"), shared)
            return [household.tag(row, up) for row in rows]

        gate = asyncio.Semaphore(USERS_AT_ONCE)

        async def bounded(up: UserPair) -> list[PlanRow]:
            async with gate:
                return await one(up)

        per_user = [await one(first)] + list(await asyncio.gather(*(bounded(up) for up in user_pairs[1:])))
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

    def start_apply(self, plan: Plan, *, only: Iterable[str] | None = None, force: Iterable[str] = (),
                    dry_run: bool = False, concurrency: int | None = None, chunk_size: int | None = None) -> ApplyRun:
        """A run over the chosen rows. Raises before any write when the destination cannot take them."""
        tasks = select_tasks(plan, only, force)
        return ApplyRun(plan, self.destination, self.journal, tasks, dry_run=dry_run,
                        concurrency=concurrency or self.config.concurrency, chunk_size=chunk_size)


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
    """An UndoRun against the run's destination, after checking it is still the same server and user(s)."""
    name = record.destination.get("name", "")
    entry = config.server(name)
    client = client_factory(entry, config.device_id_for(entry))
    mapped = record.destination.get("users") or []
    try:
        info = await client.public_info()
        if record.destination.get("server_id") and info.id != record.destination["server_id"]:
            raise UsageError(f"server '{name}' is not the server run {record.run_id} wrote to "
                             f"(server id {info.id} vs {record.destination['server_id']})")
        if mapped:  # a household run: the token must still act for every user it wrote for
            household.check_token(name, "destination", await client.token_user(),
                                  [User(str(m["destination"].get("id")), str(m["destination"].get("name")))
                                   for m in mapped])
        elif record.destination.get("user_id") and entry.user_id != record.destination["user_id"]:
            raise UsageError(f"server '{name}' now acts as user {entry.user_name}, not the user run "
                             f"{record.run_id} wrote for")
        why_not = await client.why_cannot_write()
        if why_not:
            raise UsageError(f"cannot restore run {record.run_id} on '{name}': {why_not}")
        return UndoRun(record, client, journal, force=force, concurrency=config.concurrency, owns_client=True,
                       chunk_size=chunk_size, users=users)
    except CwtuiError:
        await client.aclose()
        raise
