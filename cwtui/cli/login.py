"""`cwtui login`: password, API key or Quick Connect; saves the server with its token, never the password."""

from __future__ import annotations

import getpass
from argparse import Namespace

from cwtui.cli.commands import Context
from cwtui.cli.render import ProgressLine
from cwtui.core.errors import EXIT_OK, UsageError
from cwtui.core.login import LoginFlow
from cwtui.core.text import safe_text


def _read_secret(ctx: Context, from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        secret = ctx.stdin.readline().rstrip("\r\n")
    elif ctx.stdin.isatty():
        secret = getpass.getpass(prompt)
    else:
        raise UsageError("no terminal to ask for the password", hint="pipe it in with --password-stdin")
    if not secret:
        raise UsageError("empty secret on standard input")
    return secret


async def cmd_login(ctx: Context, args: Namespace) -> int:
    if args.as_user and not args.api_key_stdin:
        raise UsageError("--as-user goes with --api-key-stdin")
    if args.password_stdin and not args.user:
        raise UsageError("--password-stdin goes with --user")
    flow = LoginFlow(ctx.config_file, args.name, args.url, ctx.client_factory, ca_bundle=args.ca_bundle,
                     insecure=args.insecure)
    flow.check()  # name, URL and a writable config, before anything is asked or sent
    info = await flow.server_info()
    ctx.err.write(f"{safe_text(info.name)}: Jellyfin {safe_text(info.version)}"
                  + ("" if info.writable else " (older than 10.9: can be a source, not a destination)")
                  + (" — TLS NOT VERIFIED (--insecure)" if args.insecure else "") + "\n")
    if args.user:
        password = _read_secret(ctx, args.password_stdin, f"Password for {args.user}: ")
        entry = await flow.password(args.user, password)
        del password
    elif args.api_key_stdin:
        entry = await flow.api_key(_read_secret(ctx, True, ""), args.as_user)
    else:
        entry = await _quick_connect(ctx, flow)
    who = (f"as {safe_text(entry.user_name)}" if entry.user_id else
           "with an API key for any user (use it in pairs with a `users` map)")
    ctx.out.write(f"Logged in to {safe_text(info.name)} {who}; saved server '{entry.name}' in {ctx.config_file.path}\n")
    return EXIT_OK


async def _quick_connect(ctx: Context, flow: LoginFlow):
    progress = ProgressLine(ctx.err)
    shown: list[str] = []

    def on_code(code) -> None:
        shown.append(safe_text(code.code))
        ctx.err.write(f"Quick Connect code: {shown[0]}\nEnter it in a signed-in Jellyfin client "
                      "(user menu > Quick Connect). Ctrl+C cancels.\n")

    def on_wait(left: int) -> None:
        progress.show(f"waiting for code {shown[0]}: {left // 60}:{left % 60:02d} left")

    try:
        return await flow.quick_connect(on_code, on_wait)
    finally:
        progress.done()
