"""RunViewScreen: one journaled run's results (Journal.load), with undo, or an undo started from the runs list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Header, Static

from cwtui.core.errors import CwtuiError
from cwtui.core.journal import KIND_APPLY, KIND_DRY_RUN, RunRecord
from cwtui.core.models import Action, ItemResult, Reason, Status
from cwtui.ui.errors import explain
from cwtui.ui.screens.modals import ErrorModal
from cwtui.ui.screens.run_panel import RunPanel


def record_results(record: RunRecord) -> list[ItemResult]:
    """The journal's result lines as ItemResults (titles come from the intents, when the item had one)."""
    intents = {i.seq: i for i in record.intents}
    mapped = _household(record)
    out = []
    for entry in record.results:
        intent = intents.get(entry.seq)
        # whose line it is: the intent names the users; a line with no intent (skipped at the live check) has
        # the source user's id at the end of its key
        users = (intent.source_user, intent.destination_user) if intent and intent.source_user else mapped.get(
            entry.key.rpartition(".")[2], ("", ""))
        try:
            action = Action(entry.action) if entry.action in Action._value2member_map_ else Action.UPSERT
            out.append(ItemResult(
                key=entry.key, title=(intent.title if intent else "") or entry.key, action=action,
                status=Status(entry.status), reason=Reason(entry.reason), destination_item_id=entry.item_id,
                before_ms=entry.before_ms, after_ms=entry.after_ms, dry_run=record.kind == KIND_DRY_RUN,
                detail=entry.detail, source_user=users[0], destination_user=users[1]))
        except ValueError:
            continue  # a line from a newer cwtui with a status this one does not know
    return out


def _household(record: RunRecord) -> dict[str, tuple[str, str]]:
    """Household runs: source user id -> (source name, destination name), from the run's header."""
    out: dict[str, tuple[str, str]] = {}
    for pair in record.destination.get("users") or []:
        try:
            out[str(pair["source"]["id"])] = (str(pair["source"]["name"]), str(pair["destination"]["name"]))
        except (KeyError, TypeError):
            continue  # a header this version cannot read: the lines are shown without users
    return out


class RunViewScreen(RunPanel):
    """Shows the run as the journal has it; `u` undoes it (an apply that wrote), `start_undo` does so at once."""

    def __init__(self, run_id: str, *, start_undo: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.start_undo = start_undo
        self.title = f"Run {run_id}"

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="mode", markup=False)
        yield from self.run_widgets()

    def on_mount(self) -> None:
        try:
            record = self.app.journal.load(self.run_id)
        except CwtuiError as exc:
            self.app.push_screen(ErrorModal(explain(exc, self.app), "Cannot read the run"))
            return
        dst = record.destination
        self.destination_name = dst.get("name", "")
        ended = "incomplete (no end line)" if not record.complete else (
            "cancelled" if record.cancelled else f"ended {record.ended_at[:19].replace('T', ' ')} UTC")
        of = f" of run {record.undo_of}" if record.undo_of else ""
        users = dst.get("users") or []
        whom = f"{len(users)} user{'' if len(users) == 1 else 's'}" if users else f"user {dst.get('user_name', '?')}"
        self.query_one("#mode", Static).update(
            f"{record.kind.replace('_', ' ')}{of} · pair {record.pair} · to '{dst.get('name', '?')}' "
            f"({dst.get('server_name', '?')}, {whom}) · started "
            f"{record.started_at[:19].replace('T', ' ')} UTC · {ended}")
        results = record_results(record)
        self._begin(len(results), "Reading", dry_run=record.kind == KIND_DRY_RUN)
        self._add(results)
        self.undo_target = record.run_id if record.kind == KIND_APPLY and record.wrote else None
        self._finish(record.run_id, record.kind.replace("_", " "), cancelled=record.cancelled)
        self.log_table.focus()
        if self.start_undo:
            self.run_undo(self.start_undo)
