"""LoginScreen: add or re-log a server: the address checked live, then password, API key or Quick Connect."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.validation import Regex
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Footer,
    Header,
    Input,
    Label,
    RadioSet,
    Select,
    Static,
)

from cwtui.core.config_model import NAME_RE, ServerEntry
from cwtui.core.errors import CwtuiError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.login import LoginFlow
from cwtui.core.models import QuickConnectCode, format_ms
from cwtui.core.text import safe_lines, safe_text
from cwtui.ui.widgets.forms import MarkedCheckbox, MarkedRadioButton, compact_form
from cwtui.ui.screens.keys_first import AppKeysFirst

"""Jellyfin forgets a Quick Connect request after 10 minutes."""


class LoginScreen(AppKeysFirst, Screen[bool]):
    """Nothing is saved until a login succeeds, and then only the token: never the password."""

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Leave without saving", id="cwtui.login.back"),
    ]
    PROBE_DELAY = 0.6
    """Seconds of quiet typing in the address before it is checked."""
    """How often Quick Connect asks whether the code was authorized."""

    def __init__(self, entry: ServerEntry | None = None) -> None:
        super().__init__()
        self.entry = entry
        self.title = f"Log in again: {entry.name}" if entry else "Add a server"
        self._probe_timer: Timer | None = None
        self._probed_url: str | None = None

    def compose(self) -> ComposeResult:
        entry = self.entry
        yield Header(show_clock=False)
        with VerticalScroll(classes="form"):
            yield Label("Name (how cwtui calls this server and user)")
            yield Input(entry.name if entry else "", id="name", placeholder="home",
                        validators=[Regex(NAME_RE.pattern, failure_description="use letters, digits, '-', '_' "
                                          "and '.' only")])
            yield Static("", id="name-msg", classes="field-error", markup=False)
            yield Label("Server address")
            yield Input(entry.url if entry else "", id="url", placeholder="https://jellyfin.example.org")
            yield MarkedCheckbox("Skip TLS certificate checks (insecure; only for a server you trust)",
                           entry.insecure if entry else False, id="insecure")
            yield Static("", id="server-info", markup=False)
            yield Label("How to log in")
            with RadioSet(id="method"):
                yield MarkedRadioButton("User and password", value=True, id="m-password")
                yield MarkedRadioButton("API key", id="m-apikey")
                yield MarkedRadioButton("Quick Connect", id="m-qc")
            with ContentSwitcher(initial="password-pane", id="methods"):
                with Vertical(id="password-pane"):
                    yield Input(entry.user_name if entry else "", id="user", placeholder="user name")
                    yield Input(id="password", password=True, placeholder="password (never saved)")
                    yield Button("Log in", id="login-password", variant="primary")
                with Vertical(id="apikey-pane"):
                    yield Input(id="apikey", password=True, placeholder="API key (Dashboard → API Keys); enter lists "
                                "the users")
                    yield Select([], id="as-user", prompt="the user to act for")
                    yield Button("Use this key", id="login-apikey", variant="primary")
                with Vertical(id="qc-pane"):
                    with Horizontal(classes="field-row"):
                        yield Button("Start Quick Connect", id="qc-start", variant="primary")
                        yield Button("Cancel", id="qc-cancel", disabled=True)
                    yield Static("", id="qc-code", markup=False)
                    yield Static("", id="qc-countdown", markup=False)
            yield Static("", id="error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        compact_form(self)
        if self.entry:
            self.probe()
            self.query_one("#password", Input).focus()
        else:
            self.query_one("#name", Input).focus()

    # --- the address ----------------------------------------------------------------------------------

    def _candidate(self, token: str = "") -> ServerEntry:
        name = self.query_one("#name", Input).value.strip() or "new"
        return ServerEntry(name, self.query_one("#url", Input).value.strip(), "", "", token,
                           ca_bundle=self.entry.ca_bundle if self.entry else None,
                           insecure=self.query_one("#insecure", Checkbox).value)

    def _client(self, token: str = "") -> JellyfinClient:
        device_id = self.app.load_config().client_device_id
        return self.app.client_factory(self._candidate(token), device_id)

    @on(Input.Changed, "#url")
    def _url_typed(self) -> None:
        if self._probe_timer is not None:
            self._probe_timer.stop()
        self._probe_timer = self.set_timer(self.PROBE_DELAY, self.probe)

    @on(Input.Submitted, "#url")
    @on(Input.Blurred, "#url")
    @on(Checkbox.Changed, "#insecure")
    def _url_done(self, event: Input.Submitted | Input.Blurred | Checkbox.Changed) -> None:
        if isinstance(event, Checkbox.Changed):
            self._probed_url = None
        self.probe()

    @work(exclusive=True, group="probe", description="Checking the server")
    async def probe(self) -> None:
        """GET /System/Info/Public: who answers at this address and whether it can take position writes."""
        if self._probe_timer is not None:
            self._probe_timer.stop()
        url = self.query_one("#url", Input).value.strip()
        info_line = self.query_one("#server-info", Static)
        key = f"{url}|{self.query_one('#insecure', Checkbox).value}"
        if not url or key == self._probed_url:
            return
        self._probed_url = key
        info_line.update("checking…")
        try:
            client = self._client()
        except CwtuiError as exc:
            info_line.update(safe_text(f"✗ {exc}"))
            return
        try:
            info = await client.public_info()
        except CwtuiError as exc:
            info_line.update(safe_text(f"✗ {exc}"))
            self._probed_url = None  # try again on the next blur
        else:
            writes = ("accepts position writes (10.9+)" if info.writable else
                      "cannot take position writes (before 10.9): usable as a source only")
            info_line.update(safe_text(f"✓ {info.name} · Jellyfin {info.version} · {writes}"))
        finally:
            await client.aclose()

    # --- method switch --------------------------------------------------------------------------------

    @on(RadioSet.Changed, "#method")
    def _method_changed(self, event: RadioSet.Changed) -> None:
        pane = {"m-password": "password-pane", "m-apikey": "apikey-pane", "m-qc": "qc-pane"}[event.pressed.id or ""]
        self.query_one("#methods", ContentSwitcher).current = pane
        self._error("")

    def _error(self, text: str) -> None:
        self.query_one("#error", Static).update(safe_lines(text))

    def _check_form(self) -> bool:
        name = self.query_one("#name", Input)
        if not name.value.strip() or not NAME_RE.fullmatch(name.value.strip()):
            self._error("Give the server a name: letters, digits, '-', '_' and '.' only.")
            name.focus()
            return False
        if not self.query_one("#url", Input).value.strip():
            self._error("Enter the server address, like https://jellyfin.example.org")
            self.query_one("#url", Input).focus()
            return False
        return True

    @on(Input.Changed, "#name")
    def _name_typed(self, event: Input.Changed) -> None:
        result = event.validation_result
        self.query_one("#name-msg", Static).update(
            "" if result is None or result.is_valid or not event.value else "; ".join(result.failure_descriptions))

    # --- password -------------------------------------------------------------------------------------

    @on(Button.Pressed, "#login-password")
    @on(Input.Submitted, "#password")
    def _password_login(self) -> None:
        if self._check_form():
            self.login_password(self.query_one("#user", Input).value.strip(), self.query_one("#password", Input).value)

    @work(exclusive=True, group="login", description="Logging in")
    async def login_password(self, user: str, password: str) -> None:
        """One attempt only: failed logins count toward the account's lockout, so nothing is retried."""
        if not user:
            self._error("Enter the user name.")
            return
        self._error("Logging in…")
        await self._login(lambda flow: flow.password(user, password))

    def _flow(self) -> LoginFlow:
        candidate = self._candidate()
        return LoginFlow(self.app.config_file, candidate.name, candidate.url, self.app.client_factory,
                         ca_bundle=candidate.ca_bundle, insecure=candidate.insecure)

    async def _login(self, attempt: Callable[[LoginFlow], Awaitable[ServerEntry]],
                     flow: LoginFlow | None = None) -> bool:
        """The core login flow (the CLI's too): name, URL and a writable config are checked before anything is
        sent, then one attempt, then the entry is saved with its own DeviceId."""
        flow = flow or self._flow()
        try:
            flow.check()
            entry = await attempt(flow)
        except CwtuiError as exc:
            self._error(f"Login failed: {exc}")
            return False
        self.notify(f"Logged in to '{entry.name}' as {safe_text(entry.user_name)}.", title="Server saved",
                    markup=False)
        self.dismiss(True)
        return True

    # --- API key --------------------------------------------------------------------------------------

    @on(Input.Submitted, "#apikey")
    @on(Input.Blurred, "#apikey")
    def _key_entered(self) -> None:
        if self.query_one("#apikey", Input).value.strip() and self._check_form():
            self.list_users(self.query_one("#apikey", Input).value.strip())

    @work(exclusive=True, group="users", description="Listing users")
    async def list_users(self, key: str) -> None:
        self._error("Reading the users with this key…")
        client = self._client(token=key)
        try:
            users = await client.users()
        except CwtuiError as exc:
            self._error(f"The key does not work: {exc}")
            return
        finally:
            await client.aclose()
        select = self.query_one("#as-user", Select)
        select.set_options([(u.name + (" (admin)" if u.is_admin else ""), u.id) for u in users])
        self._error("" if users else "This server has no users.")
        if users:
            select.focus()

    @on(Button.Pressed, "#login-apikey")
    def _key_login(self) -> None:
        key = self.query_one("#apikey", Input).value.strip()
        user_id = self.query_one("#as-user", Select).value
        if not self._check_form():
            return
        if not key:
            self._error("Enter the API key.")
        elif user_id is Select.NULL:
            self._error("Pick the user to act for (the list fills after the key is entered).")
        else:
            self.login_api_key(key, str(user_id))

    @work(exclusive=True, group="login", description="Checking the key")
    async def login_api_key(self, key: str, user_id: str) -> None:
        await self._login(lambda flow: flow.api_key(key, user_id))

    # --- Quick Connect --------------------------------------------------------------------------------

    @on(Button.Pressed, "#qc-start")
    def _qc_start(self) -> None:
        if self._check_form():
            self.quick_connect()

    @on(Button.Pressed, "#qc-cancel")
    def _qc_cancel(self) -> None:
        self.workers.cancel_group(self, "qc")
        self._qc_idle("Quick Connect cancelled.")

    def _qc_idle(self, message: str) -> None:
        self.query_one("#qc-start", Button).disabled = False
        self.query_one("#qc-cancel", Button).disabled = True
        self.query_one("#qc-code", Static).update("")
        self.query_one("#qc-countdown", Static).update(message)

    @work(exclusive=True, group="qc", description="Quick Connect")
    async def quick_connect(self) -> None:
        """Show the code, then ask (every core POLL_SECONDS) whether it was authorized, for at most 10 minutes."""
        self._error("")
        code_line = self.query_one("#qc-code", Static)
        countdown = self.query_one("#qc-countdown", Static)

        def on_code(code: QuickConnectCode) -> None:
            self.query_one("#qc-start", Button).disabled = True
            self.query_one("#qc-cancel", Button).disabled = False
            code_line.update(f"Code: {safe_text(code.code)}   Enter it in a signed-in Jellyfin app: "
                             "user menu → Quick Connect.")

        def on_wait(left: int) -> None:
            countdown.update(f"Waiting for approval… {format_ms(left * 1000)} left")

        if not await self._login(lambda flow: flow.quick_connect(on_code, on_wait)):
            self._qc_idle("")

    def action_back(self) -> None:
        self.workers.cancel_group(self, "qc")
        self.dismiss(False)
