"""`python -m cwtui.emulator`: run an emulated Jellyfin by hand (demo side or a generated library)."""

from __future__ import annotations

import argparse
import sys
import threading

from cwtui.emulator.generate import SIZES, populate
from cwtui.emulator.server import Emulator
from cwtui.emulator.state import EmulatorState

VERSIONS = ("10.8.13", "10.9.11", "10.10.7", "10.11.11", "12.0.0")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cwtui.emulator",
                                description="Serve an emulated Jellyfin server on this machine until Ctrl+C.")
    p.add_argument("--version", default=None, help=f"Jellyfin version to act as ({', '.join(VERSIONS)}); "
                   "default 10.11.11, or the demo side's own version")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8096, help="port (0 = any free port; default 8096)")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--demo", choices=("source", "destination"), help="serve one side of the demo data set")
    data.add_argument("--size", choices=tuple(SIZES), help="serve a generated library of that size")
    p.add_argument("--seed", type=int, default=1, help="seed for --size (default 1)")
    p.add_argument("--latency-ms", type=int, default=0, help="delay every request by this many ms")
    p.add_argument("--name", default=None, help="server name (default: Home, or the demo side's)")
    return p


def make_state(args: argparse.Namespace) -> tuple[EmulatorState, list[str]]:
    """The state to serve and the lines that tell a person how to sign in."""
    if args.demo:
        from cwtui.emulator.demo import build_demo

        demo = build_demo()
        state = demo.source if args.demo == "source" else demo.destination
        key = demo.source_api_key if args.demo == "source" else demo.destination_api_key
        if args.version and args.version != state.version:
            sys.exit("--version cannot be changed for a demo side (its routes were chosen for its version)")
        if args.name:
            state.server_name = args.name
        return state, [f"user: {demo.user_name} / password: {demo.password}", f"API key: {key}"]
    state = EmulatorState(server_name=args.name or "Home", version=args.version or "10.11.11")
    lines = []
    if args.size:
        sz = SIZES[args.size]
        pop = populate(state, seed=args.seed, movies=sz.movies, series=sz.series,
                       episodes_per_series=sz.episodes_per_series, users=("alice",), password="pw",
                       resumable_movies=sz.resumable_movies, resumable_episodes=sz.resumable_episodes)
        lines.append(f"library: {len(pop.movie_ids)} movies, {len(pop.episode_ids)} episodes, "
                     f"{len(pop.resumable_ids)} resumable for alice")
        key = pop.api_key
    else:
        state.add_user("alice", password="pw")
        key = state.add_api_key("cwtui-emulator")
    lines[:0] = ["user: alice / password: pw", f"API key: {key}"]
    return state, lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.version and args.version not in VERSIONS:
        print(f"note: {args.version} is not one of {', '.join(VERSIONS)}; routes follow its number", file=sys.stderr)
    state, lines = make_state(args)
    emu = Emulator(state, host=args.host, port=args.port)
    emu.faults.latency_ms = args.latency_ms
    try:
        emu.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{state.server_name} (Jellyfin {state.version}) at {emu.url}", flush=True)
    for line in lines:
        print("  " + line, flush=True)
    print("Ctrl+C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
