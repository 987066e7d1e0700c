"""CwtuiApp: wires the config file, the journal and the client factory to the screens; app-wide keys."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import WorkerFailed

from cwtui.core.config import ConfigFile
from cwtui.core.config_model import Config
from cwtui.core.errors import EXIT_CRASH, CwtuiError
from cwtui.core.journal import Journal
from cwtui.core.log import scrubbed_traceback, setup_logging
from cwtui.core.paths import state_dir
from cwtui.core.text import safe_text
from cwtui.core.sync import ClientFactory, default_client_factory
from cwtui.ui.commands import screen_commands
from cwtui.ui.screens.home import HomeScreen
from cwtui.ui.screens.run_panel import RunPanel
from cwtui.ui.screens.runs import RunsScreen
from cwtui.ui.screens.modals import ConfirmModal, HelpModal


log = logging.getLogger("cwtui.ui")


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

    log_path: Path | None = None
    """The log file, named in the last-resort sentence (run_tui sets it)."""

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

    def _handle_exception(self, error: Exception) -> None:
        """The last resort, in place of Textual's crash screen (pinned by tests/reliability/test_crash.py).

        Textual prints a traceback WITH local variables there, and in this app locals hold tokens, typed
        passwords and the parsed config. This shows one sentence, logs the traceback without locals and with
        every secret it knows hidden, and exits non-zero. Under run_test the error is still re-raised, so an
        unexpected exception keeps failing its test.
        """
        real = error.error if isinstance(error, WorkerFailed) else error
        self._return_code = real.exit_code if isinstance(real, CwtuiError) else EXIT_CRASH
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        log.error("the TUI stopped on an unexpected error:\n%s", scrubbed_traceback(real, self._known_secrets()))
        self._exit_renderables.append(Text(self._crash_sentence(real)))
        self._close_messages_no_wait()

    def _crash_sentence(self, error: BaseException) -> str:
        where = f"in {self.log_path}" if self.log_path else "in cwtui.log under the state directory"
        if isinstance(error, CwtuiError):
            return f"cwtui: {safe_text(error)}"
        return (f"cwtui stopped on an unexpected error ({type(error).__name__}); the details, with secrets hidden, "
                f"are {where}. Please report it.")

    def _known_secrets(self) -> list[str]:
        """Every token in the config and every password field's text, to hide in the logged traceback."""
        secrets: list[str] = []
        try:
            secrets += [s.token for s in self.config_file.load().servers.values()]
        except Exception:  # noqa: BLE001 - the last resort must not fail itself
            pass
        for screen in self.screen_stack:
            try:
                secrets += [i.value for i in screen.query(Input) if i.password]
            except Exception:  # noqa: BLE001
                pass
        return secrets

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


def run_tui(config_path: Path, *, open_pair: str | None = None) -> int:
    """Run the TUI on `config_path` (the CLI's entry point); `open_pair` opens that pair's diff straight away.
    It logs to the same `cwtui.log` as the CLI, in the same state dir as the journal. Returns the exit code: 0, or
    non-zero after the last-resort handler stopped it."""
    state = state_dir()
    app = CwtuiApp(ConfigFile(config_path), Journal(state), open_pair=open_pair)
    app.log_path = setup_logging(state)
    logging.getLogger("cwtui.ui").info("tui started on %s", config_path)
    app.run()
    logging.getLogger("cwtui.ui").info("tui ended")
    return app.return_code or 0
