"""HomeScreen: the configured servers (checked live in the background) and pairs, and the ways into everything else."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from cwtui.core.config_model import Config, PairEntry, ServerEntry
from cwtui.core.errors import AuthError, CwtuiError
from cwtui.core.journal import RunSummary
from cwtui.core.text import safe_text
from cwtui.ui.errors import explain
from cwtui.core.urls import shown_url
from cwtui.ui.screens.modals import ConfirmModal, ErrorModal
from cwtui.ui.screens.runs import RunsScreen, run_counts
from cwtui.ui.widgets.key_table import KeyTable
from cwtui.ui.screens.keys_first import AppKeysFirst

NO_SERVERS = "No servers yet. Press s to log in to a Jellyfin server; add two, then press p to pair them."
NO_PAIRS = "No pairs yet. Press p to sync one server's resume positions to another."


class HomeScreen(AppKeysFirst, Screen):
    """Servers and pairs. Server reachability is checked in a worker so the screen paints at once."""

    TITLE = "Servers and pairs"
    BINDINGS = [
        Binding("s", "add_server", "Add server", tooltip="Log in to a Jellyfin server", id="cwtui.home.add_server"),
        Binding("p", "add_pair", "Add pair", tooltip="Pair a source server with a destination",
                id="cwtui.home.add_pair"),
        Binding("e", "edit_pair", "Edit pair", tooltip="Edit the selected pair's settings", id="cwtui.home.edit_pair"),
        Binding("enter", "open_selected", "Open diff", tooltip="Open the selected pair's diff (on a server: log in "
                "again)", id="cwtui.home.open"),
        Binding("x", "delete", "Delete", tooltip="Delete the selected server or pair (asks first)",
                id="cwtui.home.delete"),
        Binding("h", "runs", "Runs", tooltip="Every run in the journal: open, undo, resume an undo",
                id="cwtui.home.runs"),
        Binding("r", "refresh", "Recheck", tooltip="Reload the config and check the servers again",
                id="cwtui.home.refresh"),
        # last: at 100 columns the footer ends at Recheck; wider terminals, ? and the palette show it
        Binding("R", "restore", "Restore", tooltip="Restore a server's watch state from a snapshot file (plan "
                "first; nothing is saved to the config)", id="cwtui.home.restore"),
        Binding("q", "app.quit", "Quit", show=False, tooltip="Quit cwtui (asks first while a run writes)",
                id="cwtui.home.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.config = Config()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("Servers", classes="section-title")
        yield Static(NO_SERVERS, id="no-servers", classes="hint", markup=False)
        yield KeyTable(id="servers", cursor_type="row", classes="home-table")
        yield Static("Pairs", classes="section-title")
        yield Static(NO_PAIRS, id="no-pairs", classes="hint", markup=False)
        yield KeyTable(id="pairs", cursor_type="row", classes="home-table")
        yield Footer()

    def on_mount(self) -> None:
        servers = self.query_one("#servers", DataTable)
        for label, key in (("Name", "name"), ("URL", "url"), ("User", "user"), ("Server", "status"), ("TLS", "tls")):
            servers.add_column(label, key=key)
        pairs = self.query_one("#pairs", DataTable)
        for label, key in (("Name", "name"), ("Source → destination", "route"), ("Progress", "feature"),
                           ("Last run", "last")):
            pairs.add_column(label, key=key)
        self.reload()

    # --- data -----------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the config and the journal, refill both tables and re-check the servers."""
        try:
            self.config = self.app.load_config()
        except CwtuiError as exc:
            self.config = Config()
            self.app.push_screen(ErrorModal(str(exc), "The config file cannot be used"))
        self._fill_servers()
        self._fill_pairs()
        self.check_servers()

    def _fill_servers(self) -> None:
        table = self.query_one("#servers", DataTable)
        table.clear()
        for entry in self.config.servers.values():
            table.add_row(Text(entry.name), Text(entry.snapshot or shown_url(entry.url)),
                          Text(safe_text(entry.user_name) or _no_user(entry)),
                          Text("checking…", style="italic"), _tls_cell(entry), key=entry.name)
        self.query_one("#no-servers").display = not self.config.servers
        table.display = bool(self.config.servers)

    def _fill_pairs(self) -> None:
        table = self.query_one("#pairs", DataTable)
        table.clear()
        last = self._last_runs()
        for pair in self.config.pairs.values():
            on_off = Text("on", style="green") if pair.progress.enable else Text("off (enable = false)", style="dim")
            table.add_row(Text(pair.name), Text(f"{pair.source} → {pair.destination}{_users_hint(pair)}"), on_off,
                          Text(_describe_run(last.get(pair.name))), key=pair.name)
        self.query_one("#no-pairs").display = not self.config.pairs
        table.display = bool(self.config.pairs)

    def _last_runs(self) -> dict[str, RunSummary]:
        try:
            return {record.pair: record for record in self.app.journal.list_runs()}
        except CwtuiError as exc:
            self.notify(str(exc), title="Journal", severity="warning", markup=False)
            return {}

    @work(exclusive=True, group="check", description="Checking servers")
    async def check_servers(self) -> None:
        """public_info of every server at once; each answer fills its row as it comes."""
        device_id = self.config.client_device_id
        await asyncio.gather(*(self._check(entry, device_id) for entry in self.config.servers.values()))

    async def _check(self, entry: ServerEntry, device_id: str) -> None:
        try:
            client = self.app.client_factory(entry, device_id)
        except CwtuiError as exc:
            self._set_status(entry.name, Text(safe_text(exc), style="red"))
            return
        try:
            info = await client.public_info()
            if entry.snapshot:  # a file: checked whole by public_info, never written
                users = await client.users()
                self._set_status(entry.name, Text(safe_text(f"✓ snapshot of {info.name} {info.version}, "
                                                            f"{len(users)} users, read-only"), style="yellow"))
                return
            # the saved token, not only the address: a rejected token is not "ok" (an API key has no user of its own)
            await (client.token_user() if entry.api_key and not entry.user_id else client.me())
        except AuthError:
            self._set_status(entry.name, Text(f"✗ {entry.name}: token rejected; press enter here to log in again",
                                              style="bold red"))
        except CwtuiError as exc:
            self._set_status(entry.name, Text(f"✗ {explain(exc, self.app, entry.name)}", style="red"))
        else:
            note = "writes ok" if info.writable else "read-only (< 10.9)"
            style = "green" if info.writable else "yellow"
            self._set_status(entry.name, Text(safe_text(f"✓ {info.name} {info.version}, {note}"), style=style))
        finally:
            await client.aclose()

    def _set_status(self, name: str, text: Text) -> None:
        table = self.query_one("#servers", DataTable)
        if name in table.rows:
            text.truncate(70, overflow="ellipsis")
            table.update_cell(name, "status", text, update_width=True)

    # --- selection ------------------------------------------------------------------------------------

    def _selected(self, table_id: str) -> str | None:
        table = self.query_one(table_id, DataTable)
        if not table.row_count or not table.display:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _focused_kind(self) -> str:
        focused = self.focused
        return "servers" if focused is not None and focused.id == "servers" else "pairs"

    @on(DataTable.RowSelected, "#pairs")
    def _pair_chosen(self, event: DataTable.RowSelected) -> None:
        self.open_pair(event.row_key.value)

    @on(DataTable.RowSelected, "#servers")
    def _server_chosen(self, event: DataTable.RowSelected) -> None:
        self._login(event.row_key.value)

    # --- actions --------------------------------------------------------------------------------------

    def action_add_server(self) -> None:
        self._login(None)

    def _login(self, name: str | None) -> None:
        from cwtui.ui.screens.login import LoginScreen

        entry = self.config.servers.get(name) if name else None
        self.app.push_screen(LoginScreen(entry), self._after_edit)

    def action_add_pair(self) -> None:
        if len(self.config.servers) < 2:
            self.notify("A pair needs two servers (or two users): press s to add another server.",
                        title="Add pair", severity="warning")
            return
        from cwtui.ui.screens.pair import PairScreen

        self.app.push_screen(PairScreen(None), self._after_edit)

    def action_edit_pair(self) -> None:
        from cwtui.ui.screens.pair import PairScreen

        name = self._selected("#pairs")
        if name is None:
            self.notify("No pair selected.", title="Edit pair", severity="warning")
            return
        self.app.push_screen(PairScreen(self.config.pairs[name]), self._after_edit)

    def action_open_selected(self) -> None:
        if self._focused_kind() == "servers":
            name = self._selected("#servers")
            if name:
                self._login(name)
            return
        name = self._selected("#pairs")
        if name is None:
            self.notify("No pair to open: press p to add one.", title="Open diff", severity="warning")
            return
        self.open_pair(name)

    def open_pair(self, name: str) -> None:
        from cwtui.ui.screens.diff import DiffScreen

        self.app.push_screen(DiffScreen(name), lambda _wrote: self.reload())

    def action_restore(self) -> None:
        from cwtui.ui.screens.restore import RestoreScreen

        self.app.push_screen(RestoreScreen(), lambda _: self.reload())

    def action_refresh(self) -> None:
        self.reload()

    def action_runs(self) -> None:
        self.app.push_screen(RunsScreen(), lambda _: self.reload())

    def action_delete(self) -> None:
        kind = self._focused_kind()
        name = self._selected(f"#{kind}")
        if name is None:
            self.notify("Nothing selected to delete.", title="Delete", severity="warning")
            return
        what = "server" if kind == "servers" else "pair"
        extra = " Its saved token is forgotten (it stays valid on the server)." if what == "server" else ""
        question = f"Delete {what} '{name}' from the config?{extra}"

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                if what == "server":
                    self.app.config_file.remove_server(name)
                else:
                    self.app.config_file.remove_pair(name)
            except CwtuiError as exc:
                self.app.push_screen(ErrorModal(str(exc), f"Cannot delete {what} '{name}'"))
                return
            self.notify(f"Deleted {what} '{name}'.", title="Delete", markup=False)
            self.reload()

        self.app.push_screen(ConfirmModal(question, title=f"Delete {what}", yes="Delete"), done)

    def _after_edit(self, saved: bool | None) -> None:
        if saved:
            self.reload()


def _no_user(entry: ServerEntry) -> str:
    if entry.snapshot:
        return "(in the file)"
    return "(API key)" if entry.api_key else "(not logged in)"


def _tls_cell(entry: ServerEntry) -> Text:
    if entry.snapshot:
        return Text("file", style="dim")
    if entry.insecure:
        return Text("TLS OFF", style="bold red")
    if entry.url.lower().startswith("http://"):
        return Text("plain http", style="yellow")
    return Text("verified" + (" (own CA)" if entry.ca_bundle else ""), style="green")


def _describe_run(record: RunSummary | None) -> str:
    if record is None:
        return "never"
    when = record.started_at[:16].replace("T", " ")
    counts = run_counts(record)
    state = "cancelled" if record.cancelled else ("incomplete" if not record.complete else counts)
    return f"{when} UTC {record.kind.replace('_', ' ')}: {state}"


def _users_hint(pair: PairEntry) -> str:
    """A household pair's map in a few words, after its servers."""
    if pair.users is None:
        return ""
    if isinstance(pair.users, str):
        return " (users by name)"
    return f" ({len(pair.users)} user{'' if len(pair.users) == 1 else 's'})"
