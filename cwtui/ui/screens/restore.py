"""RestoreScreen: pick a snapshot file and a destination server, then plan and apply the restore in the usual diff.

Nothing is saved to the config: the restore's snapshot entry and pair live only in an in-memory copy of it, made
afresh (from the file on disk) each time the diff plans, so the journal names the real destination entry and undo
works from the runs list like for any run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Select, Static

from cwtui.core import household
from cwtui.core.config_model import BY_NAME, Config, PairEntry, ServerEntry
from cwtui.core.errors import CwtuiError
from cwtui.core.models import ProgressSettings
from cwtui.core.snapshot import Snapshot, SnapshotError, iter_snapshot
from cwtui.core.snapshot_take import snapshot_dir
from cwtui.core.text import safe_text
from cwtui.ui.errors import explain
from cwtui.ui.screens.keys_first import AppKeysFirst
from cwtui.ui.widgets.key_table import KeyTable

MAX_FILES = 200
"""The picker lists at most this many files of the snapshots folder (the newest)."""
PROBLEM_WIDTH = 36
"""A damaged file's error in the list is cut to this many cells."""
RESTORE_SETTINGS = ProgressSettings(add=True, played=True)
"""A restore brings back positions and played marks."""


@dataclass(frozen=True)
class FileCheck:
    """One snapshot file read through: its header and item count, or the one-line reason it cannot be used."""

    path: Path
    header: Snapshot | None = None
    items: int = 0
    problem: str = ""


def check_file(path: Path) -> FileCheck:
    """Read the whole file (a cut-short file is only known at its end), keeping only the header: memory stays flat."""
    header, count = None, 0
    try:
        for line in iter_snapshot(path):
            if header is None:
                header = line
            else:
                count += 1
    except SnapshotError as exc:
        where = f"snapshot {exc.path}" + (f", line {exc.line}" if exc.line is not None else "") + ": "
        problem = exc.message.removeprefix(where)  # the file is named in its own row
        return FileCheck(path, problem=(f"line {exc.line}: " if exc.line is not None else "") + problem)
    assert isinstance(header, Snapshot)
    return FileCheck(path, header, count)


def list_files(state: Path) -> list[FileCheck]:
    """The files under `<state>/snapshots/`, newest first, each checked."""
    folder = snapshot_dir(state)
    try:
        paths = sorted(folder.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    except OSError:
        return []
    return [check_file(p) for p in paths[:MAX_FILES]]


def _free(name: str, taken: dict) -> str:
    out, n = name, 1
    while out in taken and n < 1000:
        n += 1
        out = f"{name}-{n}"
    return out


def restore_config(config: Config, path: Path, destination: str, by_name: bool) -> tuple[Config, str]:
    """`config` plus a transient snapshot entry for `path` and a pair from it to `destination`; the pair's name.

    Args:
        by_name: give the pair `users = "by-name"` (a file of several users, or a destination with no own user).
    """
    source = _free("snapshot-file", config.servers)
    pair = _free(f"restore-{destination}", config.pairs)
    entry = ServerEntry(source, "", "", "", "", snapshot=str(path))
    link = PairEntry(pair, source, destination, RESTORE_SETTINGS, users=BY_NAME if by_name else None)
    return replace(config, servers={**config.servers, source: entry}, pairs={**config.pairs, pair: link}), pair


class RestoreScreen(AppKeysFirst, Screen[None]):
    """The file picker, the destination and the user map; the plan and the run are the usual diff and apply panel."""

    TITLE = "Restore from a snapshot"
    BINDINGS = [
        Binding("ctrl+r", "plan", "Plan restore", tooltip="Plan the restore of the chosen file into the chosen "
                "server (nothing is written yet)", id="cwtui.restore.plan"),
        Binding("escape", "back", "Back", tooltip="Back to the servers and pairs", id="cwtui.restore.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.config = Config()
        self.files: dict[str, FileCheck] = {}
        self.chosen: FileCheck | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("Bring back watch state from a snapshot file (`cwtui snapshot SERVER`). Nothing is saved to "
                     "the config; you see the plan before anything is written.", classes="hint", markup=False)
        yield Static("Snapshot file", classes="section-title")
        yield Input(placeholder="path to a snapshot file (enter checks it), or pick one below", id="path")
        yield Static("", id="file", markup=False)
        yield KeyTable(id="files", cursor_type="row")
        yield Static("Restore into", classes="section-title")
        yield Select([], prompt="destination server", id="destination")
        yield Static("", id="map", markup=False)
        yield Button("Plan the restore", id="plan-restore", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#path", Input).cursor_blink = False
        table = self.query_one("#files", DataTable)
        for label, key in (("File", "file"), ("Server", "server"), ("Users", "users"), ("Taken (UTC)", "taken"),
                           ("Items", "items")):  # a damaged file's error goes under Items
            table.add_column(label, key=key)
        try:
            self.config = self.app.load_config()
        except CwtuiError as exc:
            self.query_one("#map", Static).update(explain(exc, self.app))
        options = [(safe_text(f"{e.name} ({e.user_name or 'API key'})"), e.name) for e in self.config.servers.values()
                   if not e.snapshot and e.token]
        self.query_one("#destination", Select).set_options(options)
        if len(options) == 1:
            self.query_one("#destination", Select).value = options[0][1]
        self.preview_map()
        self.load_files()

    @work(exclusive=True, group="files", description="Reading snapshot files")
    async def load_files(self) -> None:
        found = await asyncio.to_thread(list_files, self.app.journal.directory.parent)
        table = self.query_one("#files", DataTable)
        table.clear()
        self.files = {str(f.path): f for f in found}
        for f in found:
            if f.header is None:  # the error in the last column, cut short: the whole of it shows when picked
                problem = Text(f"✗ {safe_text(f.problem)}", style="red")
                problem.truncate(PROBLEM_WIDTH, overflow="ellipsis")
                table.add_row(Text(f.path.name), "", "", "", problem, key=str(f.path))
            else:
                table.add_row(Text(f.path.name), Text(safe_text(f.header.server.name)), Text(_users(f.header)),
                              Text(_when(f.header.taken_at)), Text(str(f.items)), key=str(f.path))
        if not found:
            self.query_one("#file", Static).update(f"No files in {snapshot_dir(self.app.journal.directory.parent)} "
                                                   "yet: type a path above.")
        table.display = bool(found)

    # --- the file ---------------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#files")
    def _file_picked(self, event: DataTable.RowSelected) -> None:
        found = self.files[event.row_key.value]
        self.query_one("#path", Input).value = str(found.path)
        self._take(found)

    @on(Input.Submitted, "#path")
    def _path_typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.check_typed(Path(event.value.strip()).expanduser())

    @on(Input.Changed, "#path")
    def _path_edited(self, event: Input.Changed) -> None:
        if self.chosen is not None and event.value.strip() != str(self.chosen.path):
            self.chosen = None  # an edited path is used only once enter has checked it
            self.query_one("#file", Static).update("Press enter to check this file.")

    @work(exclusive=True, group="file", description="Checking the snapshot file")
    async def check_typed(self, path: Path) -> None:
        self.query_one("#file", Static).update(f"Checking {path}…")
        self._take(await asyncio.to_thread(check_file, path))

    def _take(self, found: FileCheck) -> None:
        line = self.query_one("#file", Static)
        if found.header is None:
            self.chosen = None
            line.update(Text(safe_text(f"✗ {found.path.name} cannot be used: {found.problem}"), style="red"))
        else:
            self.chosen = found
            h = found.header
            line.update(Text(safe_text(f"✓ {found.path.name}: {h.server.name} {h.server.version}, {_users(h)}, "
                                       f"taken {_when(h.taken_at)} UTC, {found.items} items"), style="green"))
        self.preview_map()

    # --- the destination and the user map -----------------------------------------------------------------

    @on(Select.Changed, "#destination")
    def _destination_changed(self) -> None:
        self.preview_map()

    def _destination(self) -> ServerEntry | None:
        value = self.query_one("#destination", Select).value
        return self.config.servers.get(value) if isinstance(value, str) else None

    def _by_name(self, entry: ServerEntry) -> bool:
        assert self.chosen is not None and self.chosen.header is not None
        return len(self.chosen.header.users) > 1 or not entry.user_id

    @work(exclusive=True, group="map", description="Reading the destination's users")
    async def preview_map(self) -> None:
        """Which file user goes to which destination user, worked out as the plan will (the household map)."""
        out = self.query_one("#map", Static)
        entry = self._destination()
        if self.chosen is None or self.chosen.header is None or entry is None:
            out.update("Pick a file and a destination server.")
            return
        users = self.chosen.header.users
        if not self._by_name(entry):
            out.update(safe_text(f"User: {users[0].name} (in the file) → {entry.user_name} on '{entry.name}'."))
            return
        out.update(f"Reading the users of '{entry.name}'…")
        client = self.app.client_factory(entry, self.config.device_id_for(entry))
        try:
            config, name = restore_config(self.config, self.chosen.path, entry.name, True)
            pairs, notices = household.resolve(config.pair(name), list(users), await client.users(),
                                               same_server=False)
        except CwtuiError as exc:
            out.update(Text(safe_text(f"Users by name: {explain(exc, self.app, entry.name)}"), style="red"))
            return
        finally:
            await client.aclose()
        mapped = ", ".join(f"{p.source.name} → {p.destination.name}" for p in pairs)
        out.update(safe_text(f"Users by name: {mapped}." + "".join(f"\n⚠ {n}" for n in notices)))

    # --- on to the plan -----------------------------------------------------------------------------------

    @on(Button.Pressed, "#plan-restore")
    def _plan_pressed(self) -> None:
        self.action_plan()

    def action_plan(self) -> None:
        from cwtui.ui.screens.diff import DiffScreen

        entry = self._destination()
        if self.chosen is None or entry is None:
            self.notify("Pick a snapshot file that is not damaged and a destination server first.",
                        title="Restore", severity="warning", markup=False)
            return
        path, by_name, destination = self.chosen.path, self._by_name(entry), entry.name
        _, pair = restore_config(self.config, path, destination, by_name)

        def load() -> Config:  # the config as on disk now, plus the restore's entries (never saved)
            return restore_config(self.app.load_config(), path, destination, by_name)[0]

        self.app.push_screen(DiffScreen(pair, load_config=load))

    def action_back(self) -> None:
        self.dismiss(None)


def _users(header: Snapshot) -> str:
    return ", ".join(u.name for u in header.users)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")
