"""Small modal dialogs: an error that stops the flow, a yes/no question, the key help and a row's details."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from cwtui.core.text import safe_lines, safe_text


class ErrorModal(ModalScreen[None]):
    """A failure that stopped the flow. The text is shown as is (markup=False): it may quote server answers."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="cwtui.modal.close"),
        Binding("enter", "close", "Close", show=False),
    ]

    def __init__(self, message: str, title: str = "Error") -> None:
        super().__init__(classes="dialog-screen")
        self.message = safe_lines(message)
        self.title_text = safe_text(title)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.message, id="error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="error")

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """Ask before a step that writes or deletes; escape means no."""

    BINDINGS = [
        Binding("escape", "answer(False)", "No", id="cwtui.modal.no"),
        Binding("y", "answer(True)", "Yes", id="cwtui.modal.yes"),
        Binding("n", "answer(False)", "No", show=False),
        Binding("left,up", "app.focus_previous", "Previous button", show=False),
        Binding("right,down", "app.focus_next", "Next button", show=False),
    ]

    def __init__(self, question: str, *, title: str = "Are you sure?", yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog-screen")
        self.question, self.title_text, self.yes, self.no = question, title, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.question, id="question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, id="yes", variant="warning")
                yield Button(self.no, id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class HelpModal(ModalScreen[None]):
    """The keys of the screen underneath, as (key, description) lines."""

    BINDINGS = [Binding("escape", "close", "Close", id="cwtui.help.close"),
                Binding("question_mark,q", "close", "Close", show=False)]

    def __init__(self, screen_title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.screen_title = screen_title
        self.keys = keys

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.keys), default=4)
        lines = [f"{key:>{width}}  {what}" for key, what in self.keys]
        with Vertical(classes="dialog help-dialog"):
            yield Static(f"Keys: {self.screen_title}", classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static("\n".join(lines), id="help-keys", markup=False)
            yield Static("escape closes this help; ctrl+p opens the command palette", classes="hint", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


class DetailModal(ModalScreen[None]):
    """Everything known about one row, as plain text (titles and server values are never markup)."""

    BINDINGS = [Binding("escape", "close", "Close", id="cwtui.detail.close"),
                Binding("enter,q", "close", "Close", show=False)]

    def __init__(self, title: str, body: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.body = safe_text(title), safe_lines(body)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog detail-dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(id="detail-scroll"):
                yield Static(self.body, id="detail-body", markup=False)
            yield Static("↑/↓ PgUp/PgDn scroll · escape closes", classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").focus()  # so the arrow keys scroll a body taller than the terminal

    def action_close(self) -> None:
        self.dismiss(None)


class PickModal(ModalScreen[str | None]):
    """Pick one of a few choices (label, value) with the arrows and enter; escape picks nothing."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="cwtui.pick.close")]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.choices = title, choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog pick-dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield OptionList(*(Option(label, id=value) for label, value in self.choices), id="choices")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)


class ConflictModal(ModalScreen[str | None]):
    """A two-way conflict: which side wins ("source" or "destination"); escape or Cancel answers None."""

    BINDINGS = [
        Binding("escape", "answer('')", "Cancel", id="cwtui.conflict.cancel"),
        Binding("s", "answer('source')", "Source wins", id="cwtui.conflict.source"),
        Binding("d", "answer('destination')", "Destination wins", id="cwtui.conflict.destination"),
        Binding("left,up", "app.focus_previous", "Previous button", show=False),
        Binding("right,down", "app.focus_next", "Next button", show=False),
    ]

    def __init__(self, question: str, *, source: str, destination: str) -> None:
        super().__init__(classes="dialog-screen")
        self.question = safe_lines(question)
        self.labels = (safe_text(f"{source} wins (s)"), safe_text(f"{destination} wins (d)"))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Which side wins?", classes="dialog-title", markup=False)
            yield Static(self.question, id="question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.labels[0], id="source", variant="warning")
                yield Button(self.labels[1], id="destination", variant="warning")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer("" if event.button.id == "cancel" else str(event.button.id))

    def action_answer(self, side: str) -> None:
        self.dismiss(side or None)
