"""The headless commands: plan, apply, undo, runs, servers, pairs. Same engine as the TUI, no screen."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from argparse import Namespace
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from typing import TextIO
from urllib.parse import urlsplit

from cwtui.cli.render import (
    ProgressLine,
    plan_json,
    print_notices,
    print_plan,
    result_json,
    result_line,
    table,
)
from cwtui.cli.snapshot import snapshot_first
from cwtui.core.config import ConfigFile, ServerEntry
from cwtui.core.errors import EXIT_CANCELLED, EXIT_ITEM_FAILED, EXIT_OK, RunInterrupted, UsageError
from cwtui.core.journal import Journal, RunSummary
from cwtui.core.models import ItemResult, PlanRow, Status
from cwtui.core.sync import ClientFactory, PairSync, default_client_factory, find_run, open_undo

log = logging.getLogger(__name__)


class Context:
    """What every command needs: the config file, the journal, where to write, how to make clients."""

    def __init__(self, config_file: ConfigFile, journal: Journal, *, out: TextIO | None = None,
                 err: TextIO | None = None, stdin: TextIO | None = None,
                 client_factory: ClientFactory = default_client_factory) -> None:
        self.config_file = config_file
        self.journal = journal
        self.out, self.err, self.stdin = out or sys.stdout, err or sys.stderr, stdin or sys.stdin
        self.client_factory = client_factory

    def confirm(self, question: str) -> bool:
        """Ask on the terminal; with no terminal, refuse (scripts pass --yes)."""
        if not self.stdin.isatty():
            raise UsageError("no terminal to ask for confirmation", hint="pass --yes to run without asking")
        self.err.write(f"{question} [y/N] ")
        self.err.flush()
        return self.stdin.readline().strip().lower() in ("y", "yes")


@contextmanager
def _cancel_on_sigint(run, err: TextIO):
    """The first Ctrl+C cancels safely: nothing new is sent, writes in flight get a few seconds and are read back.
    A second one stops at once: the journal is closed as it stands (every intent is on disk, so undo still
    sees every write that may have landed)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    presses = [0]

    def on_sigint() -> None:
        presses[0] += 1
        if presses[0] == 1:
            run.cancel()
            err.write("\nCancelling: nothing new is sent; writes in flight finish. Ctrl+C again stops at once.\n")
        elif task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        installed = False
    try:
        yield presses
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)


def _open_pair(ctx: Context, pair: str) -> PairSync:
    return PairSync(ctx.config_file.load(), pair, ctx.journal, client_factory=ctx.client_factory)


async def _plan_with_progress(ctx: Context, sync: PairSync, args: Namespace):
    progress = ProgressLine(ctx.err)
    try:
        return await sync.plan(progress.show, users=args.users, seed=args.seed)
    finally:
        progress.done()


async def cmd_plan(ctx: Context, args: Namespace) -> int:
    async with _open_pair(ctx, args.pair) as sync:
        plan = await _plan_with_progress(ctx, sync, args)
    if args.json:
        ctx.out.write(json.dumps(plan_json(plan, include_skipped=True)) + "\n")
    else:
        print_plan(plan, ctx.out, show_all=args.all)
    return EXIT_OK


async def _stream(ctx: Context, run, total: int, *, as_json: bool, verb: str,
                  rows: Mapping[str, PlanRow] | None = None) -> list[ItemResult]:
    """Print each result as it comes; `rows` (apply) names each item as its plan row does."""
    progress = ProgressLine(ctx.err)
    seen: list[ItemResult] = []
    out_open = True
    with _cancel_on_sigint(run, ctx.err) as presses:
        try:
            async for result in run.results():
                seen.append(result)
                if out_open:
                    try:
                        if as_json:
                            ctx.out.write(json.dumps(result_json(result, (rows or {}).get(result.key))) + "\n")
                            ctx.out.flush()
                        else:
                            progress.done()
                            ctx.out.write(result_line(result) + "\n")
                    except BrokenPipeError:
                        # `cwtui apply ... | head`: nobody reads the results any more, so stop sending writes;
                        # the run still ends properly in the journal, and the log says what happened.
                        out_open = False
                        _silence_stdout(ctx)
                        run.cancel()
                        log.warning("run %s: the output was closed (broken pipe); the run was cancelled, see "
                                    "`cwtui runs`", run.run_id)
                counts = run.summary
                progress.show(f"{verb} {len(seen)}/{total}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        except asyncio.CancelledError:
            if presses[0] < 2:
                raise
            log.warning("run %s stopped at once by a second Ctrl+C", run.run_id)
            raise RunInterrupted(f"stopped at once: run {run.run_id} is closed in the journal as it stood",
                                 hint=f"`cwtui undo {run.run_id}` restores whatever it may have written") from None
        finally:
            progress.done()
    if not out_open:
        raise RunInterrupted(f"the output was closed, so run {run.run_id} was cancelled after "
                             f"{sum(1 for r in seen if r.status is Status.APPLIED)} writes",
                             hint=f"`cwtui undo {run.run_id}` restores them; `cwtui runs` lists the run")
    return seen


def _silence_stdout(ctx: Context) -> None:
    """After a broken pipe, point stdout at /dev/null so nothing else (nor Python at exit) fails on it."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError):
        pass
    ctx.out = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the command)


def _finish(ctx: Context, run, *, as_json: bool, label: str, extra: dict | None = None, left: str,
            failed: str = "", wrote: str = "") -> int:
    """The summary line, one sentence on what to do next, and the exit code.

    Args:
        left: for a cancelled run, what is left and how to finish it ({n} is the number of items not done).
        failed: when some items failed, how to retry or reverse them.
        wrote: after a run that wrote (not in JSON mode, where `run_id` says it): how to reverse it.
    """
    summary = {k: v for k, v in run.summary.items() if v}
    remaining = summary.get(Status.CANCELLED.value, 0)
    cancelled = run.cancelled or remaining > 0
    any_failed = summary.get(Status.FAILED.value, 0) > 0
    if as_json:
        ctx.out.write(json.dumps({"summary": summary, "run_id": run.run_id,
                                  **({"cancelled": True} if cancelled else {}), **(extra or {})}) + "\n")
    else:
        text = ", ".join(f"{v} {k}" for k, v in summary.items()) or "nothing"
        ctx.out.write(f"{label}{' (cancelled)' if cancelled else ''}: {text}. Run id: {run.run_id}\n")
    note = ctx.err if as_json else ctx.out  # in JSON mode stdout stays JSON Lines; the advice goes to stderr
    if cancelled:
        note.write(f"Cancelled: {left.format(n=remaining)}\n")
    elif any_failed and failed:
        note.write(f"Some items failed; the lines above say why. {failed}\n")
    elif wrote and summary.get(Status.APPLIED.value) and not as_json:
        note.write(wrote + "\n")
    if cancelled:
        return EXIT_CANCELLED
    return EXIT_ITEM_FAILED if any_failed else EXIT_OK


async def cmd_apply(ctx: Context, args: Namespace) -> int:
    async with _open_pair(ctx, args.pair) as sync:
        plan = await _plan_with_progress(ctx, sync, args)
        if args.json:  # stdout stays JSON Lines; notices (insecure TLS above all) still reach the user
            print_notices(plan.notices, ctx.err)
        if not plan.settings.enable:
            if args.json:
                ctx.out.write(json.dumps({"summary": {}, "run_id": None, "notices": list(plan.notices)}) + "\n")
            else:
                print_notices(plan.notices, ctx.out)
            return EXIT_OK
        run = sync.start_apply(plan, only=args.only, force=args.force, dry_run=args.dry_run,
                               concurrency=args.concurrency, prefer=_prefer(args.prefer))
        if not run.tasks:
            if not args.dry_run:
                sync.settle(plan)
            if args.json:
                ctx.out.write(json.dumps({"summary": {}, "run_id": None}) + "\n")
            else:
                print_plan(plan, ctx.out, show_all=False)
            return EXIT_OK
        if not args.json:
            print_plan(plan, ctx.out, show_all=False)
        taken = snapshot_first(ctx, sync, plan, run) if args.snapshot_first and not args.dry_run else {}
        if not args.yes and not args.dry_run:
            forced = sum(1 for t in run.tasks if t.forced)
            who = (f"for {len(plan.users)} users" if plan.users else f"as {plan.destination.user_name}")
            back = sum(1 for t in run.tasks if t.server)
            where = (f"{len(run.tasks) - back} on {plan.destination.server_name} and {back} on "
                     f"{plan.source.server_name}" if back else f"on {plan.destination.server_name}")
            question = (f"Write {len(run.tasks)} items {where} {who}" + (f" ({forced} forced)" if forced else "")
                        + "?")
            if not ctx.confirm(question):
                ctx.err.write("Nothing written.\n")
                return EXIT_OK
        await _stream(ctx, run, len(run.tasks), as_json=args.json, verb="dry run" if args.dry_run else "applying",
                      rows={row.key: row for row in plan.rows})
        if args.dry_run:
            return _finish(ctx, run, as_json=args.json, label="Dry run (nothing written)",
                           left="{n} items were not checked; nothing was written.")
        undo = f"cwtui undo {run.run_id}"
        return _finish(ctx, run, as_json=args.json, label="Applied", wrote=f"To reverse this run: {undo}",
                       extra=taken or None,
                       failed=f"`{undo}` restores what this run wrote.",
                       left=f"{{n}} items were not written. `cwtui apply {plan.pair}` plans again and writes what is "
                            f"still needed; `{undo}` reverses what this run wrote.")


def _prefer(groups: list[list[str]]) -> dict[str, str]:
    """`--prefer source K1 K2 --prefer destination K3` -> {K1: source, K2: source, K3: destination}."""
    out: dict[str, str] = {}
    for side, *keys in groups:
        if side not in ("source", "destination"):
            raise UsageError(f"--prefer {side}: expected source or destination, then row keys")
        if not keys:
            raise UsageError(f"--prefer {side}: name the conflict rows (keys from `cwtui plan PAIR --all`)")
        out.update(dict.fromkeys(keys, side))
    return out


async def cmd_undo(ctx: Context, args: Namespace) -> int:
    config = ctx.config_file.load()
    record = find_run(ctx.journal, args.run_id)
    undo = await open_undo(config, ctx.journal, record, force=args.force, client_factory=ctx.client_factory,
                           users=args.users)
    try:
        if undo.already_undone_by and undo.others_left:
            ctx.out.write(f"Nothing of {', '.join(args.users)} is left to undo in run {record.run_id}; "
                          f"{undo.others_left} writes of other users remain: `cwtui undo {record.run_id}` "
                          "restores them.\n")
            return EXIT_OK
        if undo.already_undone_by:
            left = [{"key": i.key, "title": i.title, "destination_item_id": i.item_id, "detail": why}
                    for i, why in undo.left_alone]
            if args.json:
                ctx.out.write(json.dumps({"summary": {}, "run_id": None, "already_undone_by": undo.already_undone_by,
                                          "left_alone": left}) + "\n")
                return EXIT_OK
            ctx.out.write(f"Run {record.run_id} was already undone by run {undo.already_undone_by}; "
                          "nothing written.\n")
            if left:
                ctx.out.write(f"{len(left)} items were left alone because they changed since the run "
                              f"(`cwtui undo {record.run_id} --force` restores them anyway):\n")
                table(["key", "title", "why"], [[e["key"][:8], e["title"], e["detail"]] for e in left], ctx.out, flex=1)
            return EXIT_OK
        count = len(undo.candidates)
        if not count:
            if args.json:
                ctx.out.write(json.dumps({"summary": {}, "run_id": None}) + "\n")
            else:
                whose = f" for {', '.join(args.users)}" if args.users else ""
                ctx.out.write(f"Run {record.run_id} wrote nothing{whose}; nothing to undo.\n")
            return EXIT_OK
        if not args.json:
            back = sum(1 for i in undo.candidates if i.server)  # a two-way run wrote to its source too
            where = (f"({count - back} on '{record.destination.get('name')}' and {back} on '{_source_name(record)}')"
                     if back else f"on '{record.destination.get('name')}'")
            ctx.out.write(f"Run {record.run_id} ({record.pair}, {record.started_at}) changed up to {count} items "
                          f"{where}.\n")
            _say_unplay_route(ctx, undo.needs_unplay)
        if not args.yes and not ctx.confirm(f"Restore their prior state ({count} items)?"):
            ctx.err.write("Nothing written.\n")
            return EXIT_OK
        await _stream(ctx, undo, count, as_json=args.json, verb="undoing")
        return _finish(ctx, undo, as_json=args.json, label=f"Undid run {record.run_id}",
                       extra={"undo_of": record.run_id},
                       failed=f"`cwtui undo {record.run_id}` again retries the items not restored.",
                       left=f"{{n}} items still hold what run {record.run_id} wrote; "
                            f"`cwtui undo {record.run_id}` again restores them.")
    finally:
        await undo.aclose()


def _source_name(record) -> str:
    return str((record.destination.get("source") or {}).get("name", "source"))


def _say_unplay_route(ctx: Context, intents: list, shown: int = 10) -> None:
    """Name the items whose restore needs Jellyfin's mark-unplayed route (the only way to clear a last-played
    time): plugins such as Trakt see that call as "removed from history", so the user should know first."""
    if not intents:
        return
    ctx.out.write(f"{len(intents)} of them had no last-played time before the run; restoring that marks them "
                  "unplayed first, which plugins such as Trakt may report as removed from history:\n")
    table(["key", "title"], [[i.key[:8], i.title] for i in intents[:shown]], ctx.out, flex=1)
    if len(intents) > shown:
        ctx.out.write(f"and {len(intents) - shown} more\n")


async def cmd_users(ctx: Context, args: Namespace) -> int:
    """A server's users, read with the entry's token (a user token may see only some of them)."""
    config = ctx.config_file.load()
    entry = config.server(args.server)
    client = ctx.client_factory(entry, config.device_id_for(entry))
    try:
        users = await client.users()
    finally:
        await client.aclose()
    if args.json:
        ctx.out.write(json.dumps([{"id": u.id, "name": u.name, "is_admin": u.is_admin,
                                   "last_activity": u.last_activity.isoformat().replace("+00:00", "Z")
                                   if u.last_activity else None} for u in users]) + "\n")
        return EXIT_OK
    table(["id", "name", "admin", "last activity"],
          [[u.id, u.name, "yes" if u.is_admin else "", u.last_activity.isoformat()[:19] if u.last_activity else ""]
           for u in users], ctx.out, flex=1)
    return EXIT_OK


def _json_lines(ctx: Context, objects: Iterable[dict]) -> int:
    for obj in objects:
        ctx.out.write(json.dumps(obj) + "\n")
    return EXIT_OK


def cmd_runs(ctx: Context, args: Namespace) -> int:
    runs = ctx.journal.list_runs()
    if args.json:
        return _json_lines(ctx, ({"run_id": r.run_id, "kind": r.kind, "pair": r.pair,
                                  "destination": r.destination.get("name"), "started_at": r.started_at,
                                  "ended_at": r.ended_at, "complete": r.complete, "summary": r.summary,
                                  "cancelled": r.cancelled, "undo_of": r.undo_of, "wrote": r.wrote,
                                  "undone_by": list(r.undone_by), "problem": r.problem, "snapshot": r.snapshot,
                                  "snapshot_source": r.snapshot_source}
                                 for r in runs))
    if not runs:
        ctx.out.write(f"No runs yet (journal: {ctx.journal.directory}).\n")
        return EXIT_OK
    table(["run id", "kind", "pair", "started", "result"],
          [[r.run_id, r.kind + (f" of {r.undo_of}" if r.undo_of else ""), r.pair, r.started_at[:19],
            _run_result(r)] for r in runs], ctx.out)
    return EXIT_OK


def _run_result(r: RunSummary) -> str:
    if r.problem:
        return r.problem
    words = [] if r.complete else ["incomplete"]
    if r.cancelled:
        words.append("cancelled")
    words += [f"{v} {k}" for k, v in (r.summary or {}).items() if v]
    if r.undone_by:
        words.append("undone by " + ", ".join(r.undone_by))
    if r.snapshot:
        words.append(f"snapshot before: {r.snapshot}")
    if r.snapshot_source:
        words.append(f"source snapshot before: {r.snapshot_source}")
    return ", ".join(words)


def _tls(entry: ServerEntry) -> tuple[str, str]:
    """(JSON word, words for the table): an http URL has no TLS at all, so it is never "verified"."""
    if entry.snapshot:
        return "none", "a snapshot file (read-only)"
    if urlsplit(entry.url).scheme.lower() == "http":  # the flag still shows: it would apply after a redirect
        return "plain_http", "plain http (not encrypted)" + (", INSECURE (insecure = true)" if entry.insecure else "")
    if entry.insecure:
        return "not_verified", "INSECURE (not verified)"
    return "verified", f"verified with {entry.ca_bundle}" if entry.ca_bundle else "verified"


def cmd_servers(ctx: Context, args: Namespace) -> int:
    config = ctx.config_file.load()
    if args.json:
        return _json_lines(ctx, ({"name": s.name, "url": s.url, "user_name": s.user_name or None,
                                  "user_id": s.user_id or None, "logged_in": bool(s.token), "tls": _tls(s)[0],
                                  "ca_bundle": s.ca_bundle, "insecure": s.insecure,
                                  **({"snapshot": s.snapshot} if s.snapshot else {})}
                                 for s in config.servers.values()))
    if not config.servers:
        ctx.out.write(f"No servers in {ctx.config_file.path}. Add one with `cwtui login NAME --url URL --user U`.\n")
        return EXIT_OK
    table(["name", "url", "user", "tls"],
          [[s.name, s.snapshot or s.url, s.user_name or ("(from the file)" if s.snapshot else "(not logged in)"),
            _tls(s)[1]] for s in config.servers.values()], ctx.out)
    return EXIT_OK


def cmd_pairs(ctx: Context, args: Namespace) -> int:
    config = ctx.config_file.load()
    last: dict[str, RunSummary] = {r.pair: r for r in ctx.journal.list_runs()}  # oldest first: the last one wins
    if args.json:
        return _json_lines(ctx, ({"name": p.name, "source": p.source, "destination": p.destination,
                                  "progress": {**asdict(p.progress), "libraries": list(p.progress.libraries)},
                                  "last_run": None if p.name not in last else {
                                      "run_id": last[p.name].run_id, "kind": last[p.name].kind,
                                      "started_at": last[p.name].started_at}}
                                 for p in config.pairs.values()))
    if not config.pairs:
        ctx.out.write(f"No pairs in {ctx.config_file.path}. Add one in the TUI (`cwtui`) or the config file.\n")
        return EXIT_OK
    table(["pair", "source -> destination", "progress", "last run"],
          [[p.name, f"{p.source} -> {p.destination}",
            ("on" if p.progress.enable else "OFF") + f" add={'on' if p.progress.add else 'off'}"
            f" remove={'on' if p.progress.remove else 'off'}",
            f"{last[p.name].run_id} ({last[p.name].kind})" if p.name in last else "never"]
           for p in config.pairs.values()], ctx.out)
    return EXIT_OK
