"""One login flow for the CLI and the TUI: password, API key or Quick Connect, then the entry is saved with its
token and its own DeviceId. The password is never kept.

Before anything is sent, the entry name and the URL are checked and the config is proven writable: on 10.9+ a new
login with a DeviceId revokes that user's older tokens on it, so a login that could not be saved would lose a
working token for nothing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable

from cwtui.core.config import ConfigFile
from cwtui.core.config_model import NAME_RE, ServerEntry
from cwtui.core.errors import ConfigError, UsageError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.models import QuickConnectCode, ServerInfo, User
from cwtui.core.paths import ensure_private_dir
from cwtui.core.urls import USERINFO_HINT, shown_url, url_problem

QUICK_CONNECT_SECONDS = 600
"""The server forgets a Quick Connect request after 10 minutes (§1.4)."""
POLL_SECONDS = 2.0

ClientFactory = Callable[[ServerEntry, str], JellyfinClient]


def check_name(name: str, what: str = "server") -> str:
    """The one rule for server and pair names (the config's table keys)."""
    name = name.strip()
    if not name or not NAME_RE.fullmatch(name):
        raise UsageError(f"{name!r} cannot name a {what} entry: use letters, digits, '-', '_' and '.' only")
    return name


def device_id_for(install_id: str, url: str, user: str | None) -> str:
    """One DeviceId per server and user, stable across re-logins of that user.

    Jellyfin keys sessions and tokens by DeviceId: on 10.8 a login with a DeviceId another user holds logs that user
    out, and on every version one DeviceId is one session for all its users (§1.2). Quick Connect does not know the
    user before the token is made, so it gets a fresh id.
    """
    if not user:
        return uuid.uuid4().hex
    return uuid.uuid5(uuid.NAMESPACE_URL, f"cwtui|{install_id}|{url.rstrip('/').lower()}|{user.casefold()}").hex


class LoginFlow:
    """One login to one server entry. `check()` first, then one of `password`, `api_key`, `quick_connect`."""

    def __init__(self, config_file: ConfigFile, name: str, url: str, client_factory: ClientFactory, *,
                 ca_bundle: str | None = None, insecure: bool = False) -> None:
        self.config_file = config_file
        self.name = name
        self.url = url.strip().rstrip("/")
        self.client_factory = client_factory
        self.ca_bundle = ca_bundle
        self.insecure = insecure
        self.info: ServerInfo | None = None

    def check(self) -> None:
        """Everything that can fail before the server is contacted: the name, the URL, a writable config."""
        self.name = check_name(self.name)
        problem = url_problem(self.url)
        if problem is not None:
            raise UsageError(f"URL {shown_url(self.url)}: {problem}",
                             hint=USERINFO_HINT if "password" in problem else
                             "give the server's address, like https://jf.example.org or http://10.0.0.2:8096")
        folder = self.config_file.path.parent
        probe = folder / f".{self.config_file.path.name}.{secrets.token_hex(6)}.probe"
        try:  # what the atomic save will do: a new 0600 file beside the config
            ensure_private_dir(folder)
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"cannot save the config there: {exc.strerror or exc}", path=str(self.config_file.path),
                              hint="choose a writable place with --config PATH") from None
        self.config_file.load()  # a broken config stops here
        self.config_file.ensure_device_id()  # the install's id, from which each entry's own is derived

    def client(self, user: str | None, token: str = "") -> tuple[JellyfinClient, str]:
        install_id = self.config_file.load().client_device_id
        device_id = device_id_for(install_id, self.url, user)
        entry = ServerEntry(self.name, self.url, "", "", token, ca_bundle=self.ca_bundle, insecure=self.insecure,
                            device_id=device_id)
        return self.client_factory(entry, device_id), device_id

    async def server_info(self) -> ServerInfo:
        client, _ = self.client(None)
        try:
            self.info = await client.public_info()
            return self.info
        finally:
            await client.aclose()

    async def password(self, user: str, password: str) -> ServerEntry:
        """POST /Users/AuthenticateByName, once: failed logins count toward the account's lockout."""
        if not user.strip():
            raise UsageError("enter the user name")
        client, device_id = self.client(user.strip())
        try:
            result = await client.login_password(user.strip(), password)
        finally:
            await client.aclose()
        return self._save(result.user, result.token, device_id)

    async def api_key(self, key: str, as_user: str | None) -> ServerEntry:
        """Act for `as_user` (a name or an id) with an API key; nothing is revoked, so any DeviceId would do.

        Without `as_user` the entry holds only the URL and the key: it serves pairs with a user map (households)."""
        client, _ = self.client(None, token=key)
        try:
            if as_user is None:
                await client.check_api_key(key)
                return self._save(None, key, device_id_for(self.config_file.load().client_device_id, self.url, ""))
            user = await client.login_api_key(key, as_user)
        finally:
            await client.aclose()
        return self._save(user, key, device_id_for(self.config_file.load().client_device_id, self.url, user.name),
                          api_key=True)

    async def quick_connect(self, on_code: Callable[[QuickConnectCode], None],
                            on_wait: Callable[[int], None] = lambda _left: None,
                            sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> ServerEntry:
        """Show the code (`on_code`), then ask every POLL_SECONDS whether it was authorized, for at most 10 minutes;
        `on_wait` gets the seconds left. Cancelling the awaiting task stops it."""
        client, device_id = self.client(None)
        try:
            if not await client.quick_connect_enabled():
                raise UsageError("Quick Connect is switched off on this server",
                                 hint="log in with a user name and password, or an API key")
            code = await client.quick_connect_initiate()
            on_code(code)
            deadline = time.monotonic() + QUICK_CONNECT_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                on_wait(int(left))
                if await client.quick_connect_poll(code):
                    result = await client.quick_connect_login(code)
                    return self._save(result.user, result.token, device_id)
                await sleep(POLL_SECONDS)
        finally:
            await client.aclose()
        raise UsageError("Quick Connect timed out after 10 minutes", hint="start again for a new code")

    def _save(self, user: User | None, token: str, device_id: str, *, api_key: bool = False) -> ServerEntry:
        entry = ServerEntry(self.name, self.url, user.id if user else "", user.name if user else "", token,
                            ca_bundle=self.ca_bundle, insecure=self.insecure, device_id=device_id,
                            api_key=api_key or user is None)
        self.config_file.save_server(entry)
        return entry
