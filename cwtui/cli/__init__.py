"""The `cwtui` command: parse arguments, run a command, turn errors into clear messages and exit codes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from argparse import Namespace

from cwtui.cli.commands import Context, cmd_apply, cmd_pairs, cmd_plan, cmd_runs, cmd_servers, cmd_undo, cmd_users
from cwtui.cli.parser import build_parser
from cwtui.cli.snapshot import cmd_snapshot
from cwtui.core.config import ConfigFile, default_config_path, state_dir
from cwtui.core.errors import CwtuiError, UsageError
from cwtui.core.journal import Journal
from cwtui.core.log import setup_logging
from cwtui.core.text import safe_text

ASYNC_COMMANDS = {"plan": cmd_plan, "apply": cmd_apply, "undo": cmd_undo, "users": cmd_users, "snapshot": cmd_snapshot}
SYNC_COMMANDS = {"runs": cmd_runs, "servers": cmd_servers, "pairs": cmd_pairs}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CwtuiError as exc:
        logging.getLogger("cwtui.cli").error("%s failed: %s", args.command, safe_text(exc))
        sys.stderr.write(f"cwtui: {safe_text(exc)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("cwtui: interrupted\n")
        return 130


def run(args: Namespace) -> int:
    if args.command == "demo":
        return run_demo(no_tui=args.no_tui)
    config_path = default_config_path(args.config)
    if args.config and args.command != "login" and not config_path.exists():  # login creates it
        raise UsageError(f"config file {config_path} does not exist (from --config)",
                         hint="check the path; `cwtui login NAME --url URL --user U --config PATH` creates it")
    ctx = Context(ConfigFile(config_path), Journal(state_dir(create=False)))
    if args.command not in (None, "servers", "pairs", "runs"):
        setup_logging(state_dir(create=False))
    warning = ctx.config_file.permission_warning()
    if warning:
        logging.getLogger("cwtui.cli").warning("%s", warning)
        sys.stderr.write(f"cwtui: warning: {warning}\n")
    if args.command is None:
        from cwtui.ui.app import run_tui  # the TUI's imports are paid only when it is wanted

        ctx.config_file.load()  # a broken config is reported here, in plain text
        return run_tui(config_path)
    if args.command == "login":
        from cwtui.cli.login import cmd_login

        return asyncio.run(cmd_login(ctx, args))
    if args.command in SYNC_COMMANDS:
        return SYNC_COMMANDS[args.command](ctx, args)
    return asyncio.run(ASYNC_COMMANDS[args.command](ctx, args))


def run_demo(*, no_tui: bool) -> int:
    """Two emulated servers and a throwaway config; removed again on exit."""
    from cwtui.demo import start_demo

    demo = start_demo()
    try:
        os.environ["CWTUI_STATE_DIR"] = str(demo.state_dir)
        os.environ["CWTUI_CONFIG"] = str(demo.config_path)
        if no_tui:
            print(demo_instructions(demo), flush=True)
            _wait_for_interrupt()
            return 0
        from cwtui.ui.app import run_tui

        return run_tui(demo.config_path, open_pair=demo.pair_name)
    finally:
        demo.stop()


def demo_instructions(demo) -> str:
    """Everything needed to use the demo servers by hand: these are throwaway loopback servers, so the demo's
    password and API keys are printed on purpose (a real server's secrets never are)."""
    data = demo.demo
    return (f"config: {demo.config_path}\npair: {demo.pair_name}\n"
            f"source (home, Jellyfin {data.source.version}): {demo.source_url}\n"
            f"destination (cabin, Jellyfin {data.destination.version}): {demo.destination_url}\n"
            f"user: {data.user_name}\npassword: {data.password}\n"
            f"API key (source): {data.source_api_key}\nAPI key (destination): {data.destination_api_key}\n"
            f"restricted user (destination only; may not edit user data, pair {demo.restricted_pair_name}): "
            f"{data.restricted_user_name}\nrestricted password: {data.restricted_password}\n"
            "household pairs (API-key entries home-key, cabin-key): family (home alice -> cabin alice, home bob -> "
            "cabin robert) and share (home alice -> home carol); bob, carol and robert's password: demo\n"
            "try, in another shell:\n"
            f"  export CWTUI_CONFIG={demo.config_path} CWTUI_STATE_DIR={demo.state_dir}\n"
            f"  cwtui plan {demo.pair_name} --all\n"
            f"  cwtui login mine --url {demo.source_url} --user {data.user_name}    (password: {data.password})\n"
            "serving until Ctrl+C")


def _wait_for_interrupt() -> None:
    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a plain kill also cleans up
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
