"""Benchmark: plan and apply against two emulated servers with generated libraries (run by hand, not by pytest).

    python tests/bench_sync.py --size small|medium|large [--users 1] [--latency-ms 10] [--concurrency 4]
                               [--detail] [--json]
    python tests/bench_sync.py --snapshot --size medium|large [--played-fraction 0.5]   (also plans its restore)

The emulated servers run in a child process (as a real server would run elsewhere), so the figures are those
of the cwtui process alone: its time, the requests it sends and its peak memory. Every request to either
server is delayed by --latency-ms. Each timing comes with the lower bound the design allows, the requests
that cannot be avoided times the latency divided by the concurrency, and the ratio to it.

--users N (N > 1): N users of the same names on each side, each with the size's resume rows, and a household
pair (users = "by-name", API-key entries). The issue 12 target: planning 5 users takes at most 1.5x the time of
planning one, and the plan's requests grow only by the per-user reads. --detail adds the plan's CPU time (this
process, and the emulated servers' process), the time of the same plan made again (the emulators' query caches
then warm), and the plan's requests to each server by kind (from the emulators' request logs), with how many
users they were made for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cwtui.core.config import ConfigFile  # noqa: E402
from cwtui.core.config_model import BY_NAME, PairEntry, ServerEntry  # noqa: E402
from cwtui.core.journal import Journal  # noqa: E402
from cwtui.core.models import ProgressSettings  # noqa: E402
from cwtui.core.sync import PairSync, open_undo  # noqa: E402

PLAN_CONCURRENCY = 4
"""What the bound assumes for planning: the episode lists go 8 at a time, library pages one after another."""


def serve_child(size: str, latency_ms: float, seed: int, users: int, played_fraction: float = 0.0) -> None:
    """In the child: populate both servers, print how to reach them, then answer each "requests" line on stdin
    with the requests each server saw since the last one (by kind) and the CPU time both used, until stdin closes.

    `played_fraction` of the source's other movies and episodes are marked played (a snapshot reads those too)."""
    from cwtui.emulator import Emulator, EmulatorState
    from cwtui.emulator.generate import populate_household

    started = time.perf_counter()
    src, dst = EmulatorState(server_name="Home", version="10.11.11"), EmulatorState(server_name="Cabin",
                                                                                     version="10.10.7")
    pair = populate_household(src, dst, seed=seed, size=size, users=users)
    if played_fraction > 0:
        resumable, step = set(pair.source.resumable_ids), max(1, round(1 / played_fraction))
        for n, item_id in enumerate(pair.source.movie_ids + pair.source.episode_ids):
            if n % step == 0 and item_id not in resumable:
                src.set_user_data(pair.source.user_id, item_id, played=True, play_count=1,
                                  last_played=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n))
    emulators = [Emulator(src).start(), Emulator(dst).start()]
    for emulator in emulators:
        emulator.faults.latency_ms = latency_ms
    print(json.dumps({
        "source": {"url": emulators[0].url, "user_id": pair.source.user_id, "api_key": pair.source.api_key,
                   "token": src.issue_token(pair.source.user_id, device_id="bench")},
        "destination": {"url": emulators[1].url, "user_id": pair.destination.user_id,
                        "api_key": pair.destination.api_key,
                        "token": dst.issue_token(pair.destination.user_id, device_id="bench")},
        "populate_s": round(time.perf_counter() - started, 2), "series": len(pair.source.series_ids),
    }), flush=True)
    for _line in sys.stdin:  # one per "requests" question; ends when the parent closes stdin
        kinds = {side: request_kinds(e.requests) for side, e in zip(("source", "destination"), emulators)}
        print(json.dumps({"kinds": kinds, "cpu_s": time.process_time()}), flush=True)
        for emulator in emulators:
            emulator.reset_requests()
    for emulator in emulators:
        emulator.stop()


def request_kind(method: str, path: str, query: dict[str, list[str]]) -> str:
    """A request named by what it reads: the route with ids as {id}, and for /Items what the query asks for."""
    route = re.sub(r"/[0-9a-f]{32}(?=/|$)", "/{id}", path)
    q = {k.lower(): v[0] for k, v in query.items() if v}
    if route == "/Items":
        if "ids" in q:
            route += "?ids" + (" (resumable)" if q.get("filters") == "IsResumable" else "")
        elif q.get("filters") == "IsResumable":
            route += "?filters=IsResumable"
        elif "includeitemtypes" in q:
            route += f"?includeItemTypes={q['includeitemtypes']}"
    return f"{method} {route}"


def request_kinds(records) -> dict[str, dict[str, int]]:
    """Requests by kind: how many, and for how many users (the userId each was made for)."""
    out: dict[str, dict] = {}
    for record in records:
        kind = out.setdefault(request_kind(record.method, record.path, record.query), {"requests": 0, "users": set()})
        kind["requests"] += 1
        user = {k.lower(): v for k, v in record.query.items()}.get("userid") or re.findall(
            r"/Users/([0-9a-f]{32})", record.path)
        if user:
            kind["users"].add(user[0].replace("-", "").lower())
    return {k: {"requests": v["requests"], "users": len(v["users"])} for k, v in sorted(out.items())}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def measure(servers: dict, workdir: Path, latency_ms: float, concurrency: int, users: int,
                  server_log: Callable[[], dict]) -> tuple[dict, dict]:
    """The figures, and the --detail ones."""
    cf = ConfigFile(workdir / "config.toml")
    cf.ensure_device_id()
    for name, side in (("home", servers["source"]), ("cabin", servers["destination"])):
        if users > 1:  # a household pair: API-key entries with no user of their own
            cf.save_server(ServerEntry(name, side["url"], "", "", side["api_key"], api_key=True))
        else:
            cf.save_server(ServerEntry(name, side["url"], side["user_id"], "alice", side["token"]))
    cf.save_pair(PairEntry("bench", "home", "cabin", ProgressSettings(), users=BY_NAME if users > 1 else None))
    journal = Journal(workdir / "state")
    latency = latency_ms / 1000

    async with PairSync(cf.load(), "bench", journal) as sync:
        servers_cpu = server_log()["cpu_s"]  # and forget the requests before the plan
        started, cpu = time.perf_counter(), time.process_time()
        plan = await sync.plan()
        plan_s, plan_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        plan_requests = {"source": sync.source.requests_sent, "destination": sync.destination.requests_sent}
        log = server_log()
        detail = {"plan_cpu_s": round(plan_cpu_s, 3), "plan_servers_cpu_s": round(log["cpu_s"] - servers_cpu, 3),
                  "plan_requests_by_kind": log["kinds"]}

    async with PairSync(cf.load(), "bench", journal) as sync:
        started = time.perf_counter()
        plan_again = await sync.plan()
        detail["plan_again_s"] = round(time.perf_counter() - started, 3)  # the same data, the servers' caches warm
        before = sync.destination.requests_sent
        run = sync.start_apply(plan_again, concurrency=concurrency)
        started = time.perf_counter()
        results = [r async for r in run.results()]
        apply_s = time.perf_counter() - started
        apply_requests = sync.destination.requests_sent - before

    async with PairSync(cf.load(), "bench", journal) as sync:
        started = time.perf_counter()
        replan = await sync.plan()
        replan_s = time.perf_counter() - started
        replan_requests = sync.source.requests_sent + sync.destination.requests_sent

    undo = await open_undo(cf.load(), journal, journal.load(run.run_id))
    started = time.perf_counter()
    undone = [r async for r in undo.results()]
    undo_s = time.perf_counter() - started
    undo_requests = undo.client.requests_sent

    writes = len(results)
    plan_bound = (plan_requests["source"] + plan_requests["destination"]) * latency / PLAN_CONCURRENCY
    apply_bound = writes * latency / concurrency  # one write each cannot be avoided
    replan_bound = replan_requests * latency / PLAN_CONCURRENCY
    # One restore each, plus the unplayed route first wherever a last-played time must be cleared (the only way).
    unplays = sum(1 for i in undo.candidates if i.prior.last_played is None)
    undo_bound = (len(undone) + unplays) * latency / concurrency
    figures = {
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "plan_s": round(plan_s, 3),
        "plan_rows": len(plan.rows),
        "plan_writes": len(plan.writes),
        "plan_requests": plan_requests,
        "apply_s": round(apply_s, 3),
        "apply_items": writes,
        "apply_items_per_s": round(writes / apply_s, 1) if apply_s else None,
        "apply_requests": apply_requests,
        "apply_status": {k: v for k, v in run.summary.items() if v},
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "replan_s": round(replan_s, 3),
        "replan_requests": replan_requests,
        "replan_writes": len(replan.writes),
        "undo_s": round(undo_s, 3),
        "undo_items": len(undone),
        "undo_requests": undo_requests,
        "undo_status": {k: v for k, v in undo.summary.items() if v},
        "bounds": {"plan_s": round(plan_bound, 3), "apply_s": round(apply_bound, 3),
                   "replan_s": round(replan_bound, 3), "undo_s": round(undo_bound, 3)},
        "ratios": {"plan": round(plan_s / plan_bound, 2) if plan_bound else None,
                   "apply": round(apply_s / apply_bound, 2) if apply_bound else None,
                   "replan": round(replan_s / replan_bound, 2) if replan_bound else None,
                   "undo": round(undo_s / undo_bound, 2) if undo_bound else None,
                   "undo_vs_apply": round(undo_s / apply_s, 2) if apply_s else None},
    }
    if users > 1:
        figures = {"users": len(plan.users), **figures}
    return figures, detail


def measure_snapshot(servers: dict, workdir: Path, latency_ms: float) -> dict:
    """`cwtui snapshot home` in a process of its own: its wall time and its peak RSS (from wait4), beside the peak
    RSS of `cwtui servers` on the same config (what importing cwtui costs), so the snapshot's own share shows."""
    cf = ConfigFile(workdir / "config.toml")
    cf.ensure_device_id()
    side = servers["source"]
    cf.save_server(ServerEntry("home", side["url"], side["user_id"], "alice", side["token"]))
    env = {**os.environ, "CWTUI_STATE_DIR": str(workdir / "state"), "CWTUI_CONFIG": str(cf.path)}
    out = workdir / "home.jsonl"

    def run(*argv: str) -> tuple[float, float, str]:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "cwtui", *argv], env=env, stdout=subprocess.PIPE,
                                 cwd=Path(__file__).resolve().parents[1])
        stdout = child.stdout.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"cwtui {' '.join(argv)} failed with exit {child.returncode}")
        return time.perf_counter() - started, usage.ru_maxrss / 1024, stdout

    base_s, base_rss, _ = run("servers")
    snap_s, snap_rss, stdout = run("snapshot", "home", "-o", str(out), "--json")
    report = json.loads(stdout)
    lines = out.read_text().splitlines()
    in_progress = sum(1 for line in lines[1:-1] if json.loads(line)["position_ms"] > 0)
    # Requests that cannot be avoided, one after another: the public info, the series list, the resume list and
    # the played pages (page sizes 500, 200, 500), each with the latency.
    items = report["items"]
    requests = 1 + servers["series"] // 500 + 1 + in_progress // 200 + 1 + (items - in_progress) // 500 + 1
    restore = asyncio.run(plan_restore(cf, servers["destination"], out, workdir))
    return {"latency_ms": latency_ms, "snapshot_s": round(snap_s, 3), "startup_s": round(base_s, 3),
            "items": items, "in_progress": in_progress, "file_mb": round(out.stat().st_size / 2**20, 2),
            "peak_rss_mb": round(snap_rss, 1), "baseline_rss_mb": round(base_rss, 1),
            "bound_s": round(requests * latency_ms / 1000 + base_s, 3), **restore}


async def plan_restore(cf: ConfigFile, destination: dict, snapshot: Path, workdir: Path) -> dict:
    """The plan of a restore of that snapshot into the other server (same titles, other ids), `played` on."""
    cf.save_server(ServerEntry("cabin", destination["url"], destination["user_id"], "alice", destination["token"]))
    cf.save_server(ServerEntry("saved", "", "", "", "", snapshot=str(snapshot)))
    cf.save_pair(PairEntry("restore", "saved", "cabin", ProgressSettings(played=True)))
    async with PairSync(cf.load(), "restore", Journal(workdir / "state")) as sync:
        started = time.perf_counter()
        plan = await sync.plan()
        return {"restore_plan_s": round(time.perf_counter() - started, 3),
                "restore_plan_writes": plan.summary()["by_action"],
                "restore_plan_requests": sync.destination.requests_sent}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("small", "medium", "large"), default="small")
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=1, help="users on each side (more than 1: a household pair)")
    parser.add_argument("--detail", action="store_true", help="the plan's CPU time and requests by kind")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--snapshot", action="store_true",
                        help="measure `cwtui snapshot` of the source instead of plan/apply/undo")
    parser.add_argument("--played-fraction", type=float, default=None,
                        help="with --snapshot: this share of the source library is marked played (default 0.5)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    played = args.played_fraction if args.played_fraction is not None else (0.5 if args.snapshot else 0.0)
    if args.child:
        serve_child(args.size, args.latency_ms, args.seed, args.users, played)
        return 0
    if args.users < 1:
        parser.error("--users must be at least 1")

    child = subprocess.Popen([sys.executable, __file__, "--child", "--size", args.size, "--latency-ms",
                              str(args.latency_ms), "--seed", str(args.seed), "--users", str(args.users),
                              "--played-fraction", str(played)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def server_log() -> dict:
        child.stdin.write("requests\n")
        child.stdin.flush()
        return json.loads(child.stdout.readline())

    try:
        servers = json.loads(child.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="cwtui-bench-") as tmp:
            if args.snapshot:
                figures = measure_snapshot(servers, Path(tmp), args.latency_ms)
            else:
                figures, detail = asyncio.run(measure(servers, Path(tmp), args.latency_ms, args.concurrency,
                                                      args.users, server_log))
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    if args.snapshot:
        print(json.dumps({"size": args.size, "played_fraction": played, **figures,
                          "populate_s": servers["populate_s"]}))
        return 0
    figures = {"size": args.size, **figures, "populate_s": servers["populate_s"]}
    if args.detail:
        figures.update(detail)
    if args.json:
        print(json.dumps(figures))
        return 0
    b, r = figures["bounds"], figures["ratios"]
    users = f", {figures['users']} users" if "users" in figures else ""
    print(f"size {args.size}{users}, latency {args.latency_ms:g} ms, concurrency {args.concurrency}")
    print(f"{'figure':<28}{'value':>12}{'bound':>10}{'ratio':>8}")
    print(f"{'plan (s)':<28}{figures['plan_s']:>12}{b['plan_s']:>10}{r['plan']!s:>8}")
    print(f"{'  rows / writes':<28}{figures['plan_rows']:>6} / {figures['plan_writes']:<5}")
    print(f"{'  requests src / dst':<28}{figures['plan_requests']['source']:>6} / "
          f"{figures['plan_requests']['destination']:<5}")
    print(f"{'apply (s)':<28}{figures['apply_s']:>12}{b['apply_s']:>10}{r['apply']!s:>8}")
    print(f"{'  items, items/s':<28}{figures['apply_items']:>6}, {figures['apply_items_per_s']}")
    print(f"{'  requests':<28}{figures['apply_requests']:>12}   {figures['apply_status']}")
    print(f"{'replan (s)':<28}{figures['replan_s']:>12}{b['replan_s']:>10}{r['replan']!s:>8}")
    print(f"{'  writes found':<28}{figures['replan_writes']:>12}")
    print(f"{'undo (s)':<28}{figures['undo_s']:>12}{b['undo_s']:>10}{r['undo']!s:>8}")
    print(f"{'  items, vs apply time':<28}{figures['undo_items']:>6}, {r['undo_vs_apply']}x")
    print(f"{'  requests':<28}{figures['undo_requests']:>12}   {figures['undo_status']}")
    print(f"{'peak RSS (MB)':<28}{figures['peak_rss_mb']:>12}")
    if args.detail:
        print(f"{'plan CPU (s) cwtui':<28}{figures['plan_cpu_s']:>12}")
        print(f"{'plan CPU (s) servers':<28}{figures['plan_servers_cpu_s']:>12}")
        print(f"{'plan again (s)':<28}{figures['plan_again_s']:>12}")
    for side, kinds in figures.get("plan_requests_by_kind", {}).items():
        print(f"plan requests to the {side}{'requests':>{60 - len(side)}}{'users':>7}")
        for kind, n in kinds.items():
            print(f"  {kind:<70}{n['requests']:>6}{n['users']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
