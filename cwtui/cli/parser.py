"""The command line: every command, flag and its help text (the contract scripts and tests rely on)."""

from __future__ import annotations

import argparse

import cwtui
from cwtui.core.http import MAX_IN_FLIGHT

EPILOG = """\
exit codes: 0 done (skips are fine), 1 some item failed, 2 usage or config error,
            3 a server unreachable or a login rejected, 4 apply or undo cancelled (Ctrl+C),
            5 the journal could not be written (the run stopped first), 70 cwtui itself failed (see the log)
files: config from --config, $CWTUI_CONFIG or the platform config dir; journal and logs
       under $CWTUI_STATE_DIR or the platform state dir
"""


USER_HELP = "household pairs: only this source user (name or id; repeatable)"
CONFIG_HELP = "config file (default: $CWTUI_CONFIG or the platform's); it must exist, except for login"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cwtui", description="Sync Jellyfin resume positions (Continue Watching) between servers and users. "
                                  "With no command, opens the TUI.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cwtui {cwtui.__version__}")
    parser.add_argument("--config", metavar="PATH", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # --config is also accepted after the command; SUPPRESS keeps a value given before it when it is not repeated.
    takes_config = argparse.ArgumentParser(add_help=False)
    takes_config.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=CONFIG_HELP)

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[takes_config], **kwargs)

    demo = sub.add_parser("demo", help="start two emulated servers with demo data and try cwtui on them")
    demo.add_argument("--no-tui", action="store_true",
                      help="only serve the demo servers and print how to use them (config, URLs, user, password, API keys)")

    login = command("login", help="log in to a server and save it (the password is never saved)")
    login.add_argument("name", metavar="NAME", help="a name for this server in the config, e.g. home")
    login.add_argument("--url", required=True, help="server URL, e.g. https://jf.example.org")
    how = login.add_mutually_exclusive_group(required=True)
    how.add_argument("--user", metavar="U", help="log in as this user with a password (asked, or --password-stdin)")
    how.add_argument("--api-key-stdin", action="store_true",
                     help="read an API key from standard input; with --as-user it acts for that user, without it the "
                          "entry serves pairs with a `users` map (every user of the household)")
    how.add_argument("--quick-connect", action="store_true",
                     help="log in with Quick Connect: shows a code to enter in a signed-in Jellyfin client")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.add_argument("--as-user", metavar="U", help="with --api-key-stdin: the user (name or id) to act as")
    login.add_argument("--ca-bundle", metavar="PATH", help="verify TLS with this CA bundle")
    login.add_argument("--insecure", action="store_true",
                       help="do NOT verify TLS (shown everywhere while it is on)")

    servers = command("servers", help="list configured servers (tokens are never printed)")
    servers.add_argument("--json", action="store_true", help="one JSON object per server, one per line")
    pairs = command("pairs", help="list configured pairs and their last run")
    pairs.add_argument("--json", action="store_true", help="one JSON object per pair, one per line")

    plan = command("plan", help="show what a sync would do, and why, without writing")
    plan.add_argument("pair", metavar="PAIR")
    plan.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    plan.add_argument("--all", action="store_true", help="include skipped rows")
    plan.add_argument("--user", action="append", metavar="NAME", dest="users", default=None, help=USER_HELP)
    plan.add_argument("--seed", choices=("source", "destination"),
                      help="two-way pairs: show what `apply --seed` would do (one-way from this side)")

    apply = command("apply", help="run the plan: journal, write, verify; one result per item")
    apply.add_argument("pair", metavar="PAIR")
    apply.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--dry-run", action="store_true", help="do every read and decision, write nothing")
    apply.add_argument("--json", action="store_true", help="JSON Lines: one per result, then a summary line")
    apply.add_argument("--only", nargs="+", metavar="KEY", default=None,
                       help="apply only these planned rows (keys from `plan`, or unique prefixes)")
    apply.add_argument("--force", nargs="+", metavar="KEY", default=[],
                       help="also write these skipped rows (e.g. near_complete), still checked live")
    apply.add_argument("--concurrency", type=_positive, metavar="N",
                       help="writes in flight at once (default 4); whatever the number, at most "
                            f"{MAX_IN_FLIGHT} requests are out to one server at a time")
    apply.add_argument("--user", action="append", metavar="NAME", dest="users", default=None, help=USER_HELP)
    apply.add_argument("--seed", choices=("source", "destination"),
                       help="two-way pairs: run once one-way from this side (the one-way rules), and record the "
                            "agreed state, so the side that wins is picked explicitly")
    apply.add_argument("--prefer", nargs="+", action="append", metavar=("SIDE", "KEY"), default=[],
                       help="two-way conflicts: `--prefer source|destination KEY...` writes these rows with that "
                            "side winning (repeatable; works with --only)")

    apply.add_argument("--snapshot-first", action="store_true",
                       help="before the first write, save the state of the users it writes to snapshots/RUN_ID.jsonl "
                            "under the state dir (a two-way run's source too, to RUN_ID-source.jsonl)")

    snapshot = command("snapshot", help="save users' watch state (in progress and played) to a portable file")
    snapshot.add_argument("server", metavar="SERVER")
    snapshot.add_argument("--user", action="append", metavar="NAME", default=[],
                          help="this user (name or id; repeatable); default: the server entry's own user")
    snapshot.add_argument("--all-users", action="store_true", help="every user of the server")
    snapshot.add_argument("-o", "--output", metavar="FILE",
                          help="where to write (default: snapshots/SERVER-TIME.jsonl under the state dir)")
    snapshot.add_argument("--json", action="store_true", help="one JSON object: path, users, items")

    undo = command("undo", help="restore what a run changed (default: the latest run that wrote)")
    undo.add_argument("run_id", metavar="RUN_ID", nargs="?", type=_run_id)
    undo.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    undo.add_argument("--force", action="store_true", help="also restore items changed since the run")
    undo.add_argument("--json", action="store_true", help="JSON Lines: one per result, then a summary line")
    undo.add_argument("--user", action="append", metavar="NAME", dest="users", default=None,
                      help="household runs: restore only this source user's items (repeatable); a later undo "
                           "restores the rest")

    users = command("users", help="list a server's users (id, name, administrator, last activity)")
    users.add_argument("server", metavar="SERVER")
    users.add_argument("--json", action="store_true", help="one JSON list of {id, name, is_admin, last_activity}")

    runs = command("runs", help="list journaled runs")
    runs.add_argument("--json", action="store_true", help="one JSON object per line")
    return parser


RUN_ID_MAX = 100


def _run_id(text: str) -> str:
    """A run id as `cwtui runs` shows them (20261120T210000Z-1a2b3c): refused here when it could not be a file
    name in the journal (too long, a path, control characters), instead of failing deep in the file system."""
    if len(text) > RUN_ID_MAX:
        raise argparse.ArgumentTypeError(f"not a run id: {len(text)} characters long (run ids look like "
                                         "20261120T210000Z-1a2b3c; `cwtui runs` lists them)")
    if not text or not text.isprintable() or "/" in text or "\\" in text or text.startswith("."):
        raise argparse.ArgumentTypeError("not a run id (run ids look like 20261120T210000Z-1a2b3c; "
                                         "`cwtui runs` lists them)")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 32:
        raise argparse.ArgumentTypeError("must be between 1 and 32")
    return value
