"""CwtuiApp: wires the config file, the journal and the client factory to the screens; app-wide keys."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from cwtui.core.config import ConfigFile
from cwtui.core.config_model import Config
from cwtui.core.journal import Journal
from cwtui.core.log import setup_logging
from cwtui.core.paths import state_dir
from cwtui.core.sync import ClientFactory, default_client_factory
from cwtui.ui.commands import screen_commands
from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.run_panel import RunPanel
from cwtui.ui.screens.runs import RunsScreen
from cwtui.ui.screens.modals import ConfirmModal, HelpModal


class CwtuiApp(App[None]):
    """The TUI. Everything it talks to is injected, so tests hand it a temporary config and emulated servers."""

    CSS_PATH = "app.tcss"
    TITLE = "cwtui"
    SUB_TITLE = "Jellyfin Continue Watching sync"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="cwtui.quit", priority=True),
        Binding("question_mark", "help", "Help", key_display="?", id="cwtui.help"),
        # Priority, so focus moves the moment Tab is read: as an ordinary binding Tab waits to bubble up from the
        # focused field, and keys typed right after it (a paste, a laggy link) land in the old field.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="cwtui.focus_next"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True,
                id="cwtui.focus_previous"),
    ]

    def __init__(self, config_file: ConfigFile, journal: Journal, client_factory: ClientFactory = default_client_factory,
                 open_pair: str | None = None) -> None:
        super().__init__()
        self.config_file = config_file
        self.journal = journal
        self.client_factory = client_factory
        self.open_pair = open_pair
        self.apply_dry_run = True
        """The mode the apply panel opens in: the one last chosen with `d`, dry run until then."""
        self.quit_after_run = False

    def load_config(self) -> Config:
        """The config as it is on disk now (other processes may have changed it). Raises ConfigError."""
        return self.config_file.load()

    def get_default_screen(self) -> Screen:
        return HomeScreen()

    def on_mount(self) -> None:
        if self.open_pair:
            self.home.open_pair(self.open_pair)

    @property
    def home(self) -> HomeScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpModal):
            return
        # the screen's own keys first (as declared, so enter shows as the screen means it, not the table),
        # then the app's, then the focused widget's (cursor movement and such)
        own = [b for b in type(screen).BINDINGS if isinstance(b, Binding)
               and screen.check_action(b.action.split("(")[0], ()) is not False]
        rank = {id(self): 0}
        others = sorted(screen.active_bindings.values(), key=lambda a: rank.get(id(a.node), 1))
        keys: list[tuple[str, str]] = []
        seen: set[str] = set()
        for binding in own + [a.binding for a in others if a.enabled and a.node is not screen]:
            shown = binding.key_display or self.get_key_display(binding)
            if not binding.description or shown in seen:
                continue
            seen.add(shown)
            keys.append((shown, binding.tooltip or binding.description))
        self.push_screen(HelpModal(screen.title or type(screen).__name__, keys))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from screen_commands(screen)
        if not isinstance(screen, RunsScreen):
            yield SystemCommand("Runs", "Every run in the journal: open, undo, resume an undo", self.show_runs)
        yield from super().get_system_commands(screen)

    def show_runs(self) -> None:
        self.push_screen(RunsScreen())

    # --- quitting while a run writes ------------------------------------------------------------------

    def running_panel(self) -> RunPanel | None:
        """The screen whose apply or undo is writing right now, if any."""
        return next((s for s in self.screen_stack if isinstance(s, RunPanel) and s.applying), None)

    async def action_quit(self) -> None:
        panel = self.running_panel()
        if panel is None:
            self.exit()
            return
        if isinstance(self.screen, ConfirmModal):
            return
        question = ("A run is writing to the destination right now. Quitting now could stop it between a write "
                    "and its journal line.\n\nPress n, then c on the run screen to cancel it cleanly: the writes "
                    "in flight finish, the rest is recorded as cancelled and the journal stays consistent.\n\n"
                    "Or answer y: cwtui cancels the run the same way and quits once the writes in flight finish.")

        def answer(yes: bool | None) -> None:
            if yes and (running := self.running_panel()) is not None:
                self.quit_after_run = True
                running.action_cancel()

        self.push_screen(ConfirmModal(question, title="Quit during a run?", yes="Cancel and quit", no="Keep running"),
                         answer)

    def run_ended(self) -> None:
        """Called by run screens when a run stops; quits if the user asked to quit during it."""
        if self.quit_after_run:
            self.exit()


def run_tui(config_path: Path, *, open_pair: str | None = None) -> None:
    """Run the TUI on `config_path` (the CLI's entry point); `open_pair` opens that pair's diff straight away.

    It logs to the same `cwtui.log` as the CLI, in the same state dir as the journal.
    """
    state = state_dir()
    setup_logging(state)
    logging.getLogger("cwtui.ui").info("tui started on %s", config_path)
    app = CwtuiApp(ConfigFile(config_path), Journal(state), open_pair=open_pair)
    app.run()
    logging.getLogger("cwtui.ui").info("tui ended")
