"""`cwtui login`: password, API key or Quick Connect; saves the server with its token, never the password."""

from __future__ import annotations

import asyncio
import getpass
import os
import secrets
import socket
import time
from argparse import Namespace

from cwtui.cli.commands import Context
from cwtui.cli.render import ProgressLine
from cwtui.core.config_model import NAME_RE, ServerEntry
from cwtui.core.errors import EXIT_OK, ConfigError, UsageError
from cwtui.core.http import ClientIdentity
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.paths import ensure_private_dir
from cwtui.core.text import safe_text
from cwtui.core.urls import USERINFO_HINT, shown_url, url_problem

QUICK_CONNECT_SECONDS = 600
POLL_SECONDS = 2.0


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


def _check_can_save(ctx: Context, name: str) -> None:
    """Before anything is asked or sent: a login that cannot be saved must not happen at all, since a re-login
    with the same DeviceId revokes the token saved earlier (Jellyfin 10.9+)."""
    if not NAME_RE.fullmatch(name):
        raise UsageError(f"{name!r} cannot name a server entry: use letters, digits, '-', '_' and '.' only")
    folder = ctx.config_file.path.parent
    probe = folder / f".{ctx.config_file.path.name}.{secrets.token_hex(6)}.probe"
    try:
        ensure_private_dir(folder)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # what the atomic save will do
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot save the config there: {exc.strerror or exc}", path=str(ctx.config_file.path),
                          hint="choose a writable place with --config PATH") from None
    ctx.config_file.load()  # a broken config stops here too


async def cmd_login(ctx: Context, args: Namespace) -> int:
    if args.api_key_stdin and not args.as_user:
        raise UsageError("--api-key-stdin needs --as-user U (the user to act as)")
    if args.password_stdin and not args.user:
        raise UsageError("--password-stdin goes with --user")
    problem = url_problem(args.url)
    if problem is not None:
        hint = "give the server's address, like https://jf.example.org or http://10.0.0.2:8096"
        raise UsageError(f"--url {shown_url(args.url)}: {problem}",
                         hint=USERINFO_HINT if "password" in problem else hint)
    _check_can_save(ctx, args.name)
    device_id = ctx.config_file.ensure_device_id()
    ident = ClientIdentity(device_id=device_id, device_name=socket.gethostname() or "cwtui")
    async with JellyfinClient(args.url, ident, ca_bundle=args.ca_bundle, insecure=args.insecure) as client:
        info = await client.public_info()
        ctx.err.write(f"{safe_text(info.name)}: Jellyfin {safe_text(info.version)}"
                      + ("" if info.writable else " (older than 10.9: can be a source, not a destination)")
                      + (" — TLS NOT VERIFIED (--insecure)" if args.insecure else "") + "\n")
        if args.user:
            password = _read_secret(ctx, args.password_stdin, f"Password for {args.user}: ")
            auth = await client.login_password(args.user, password)
            del password
            token, user = auth.token, auth.user
        elif args.api_key_stdin:
            token = _read_secret(ctx, True, "")
            user = await client.login_api_key(token, args.as_user)
        else:
            auth = await _quick_connect(ctx, client)
            token, user = auth.token, auth.user
    ctx.config_file.save_server(ServerEntry(args.name, args.url.rstrip("/"), user.id, user.name, token,
                                            ca_bundle=args.ca_bundle, insecure=args.insecure))
    ctx.out.write(f"Logged in to {safe_text(info.name)} as {safe_text(user.name)}; "
                  f"saved server '{args.name}' in {ctx.config_file.path}\n")
    return EXIT_OK


async def _quick_connect(ctx: Context, client: JellyfinClient):
    if not await client.quick_connect_enabled():
        raise UsageError("Quick Connect is disabled on this server", hint="log in with --user instead")
    code = await client.quick_connect_initiate()
    ctx.err.write(f"Quick Connect code: {safe_text(code.code)}\nEnter it in a signed-in Jellyfin client "
                  "(user menu > Quick Connect). Ctrl+C cancels.\n")
    progress = ProgressLine(ctx.err)
    deadline = time.monotonic() + QUICK_CONNECT_SECONDS
    try:
        while time.monotonic() < deadline:
            left = int(deadline - time.monotonic())
            progress.show(f"waiting for code {safe_text(code.code)}: {left // 60}:{left % 60:02d} left")
            if await client.quick_connect_poll(code):
                return await client.quick_connect_login(code)
            await asyncio.sleep(POLL_SECONDS)
    finally:
        progress.done()
    raise UsageError("Quick Connect timed out after 10 minutes", hint="run the command again for a new code")
