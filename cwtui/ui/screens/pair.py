"""PairScreen: create or edit a pair: its two servers, the progress settings (validated as typed), libraries and
the household user map."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.validation import Integer, Number, Regex
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, Static

from cwtui.core.config_model import NAME_RE, Config, PairEntry
from cwtui.core.errors import CwtuiError
from cwtui.core.jellyfin import JellyfinClient
from cwtui.core.models import Library, ProgressSettings, ResumeRules, User
from cwtui.core.planner import effective_max_percent
from cwtui.ui.widgets.forms import MarkedCheckbox, MarkedSelectionList, compact_form
from cwtui.ui.widgets.user_map import UserMapEditor
from cwtui.ui.screens.keys_first import AppKeysFirst

SWITCHES = (
    ("enable", "Sync resume positions (the progress feature)"),
    ("add", "Add: copy positions to the destination"),
    ("remove", "Remove: clear positions the source finished or dropped"),
    ("respect_server_resume_rules", "Respect the destination's own resume rules"),
    ("replay_watched", "Replay: resume items the destination marks as played"),
)
NUMBERS = (  # key, label, validator, hint
    ("min_seconds", "Ignore positions under (seconds)", Integer(minimum=0, failure_description="a whole number of "
     "seconds, 0 or more"), ""),
    ("delta_seconds", "Ignore differences under (seconds)", Integer(minimum=0, failure_description="a whole number "
     "of seconds, 0 or more"), ""),
    ("max_percent", "Never resume past (percent)", Number(minimum=0, maximum=100, failure_description="a percent "
     "from 0 to 100 (0 removes the cap)"), ""),
    ("timestamp_tolerance_seconds", "Clock tolerance (seconds)", Integer(minimum=0, failure_description="a whole "
     "number of seconds, 0 or more"), ""),
)


class PairScreen(AppKeysFirst, Screen[bool]):
    """Saves with ConfigFile.save_pair, which keeps the user's comments and the keys they wrote by hand."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", tooltip="Save the pair", id="cwtui.pair.save"),
        Binding("escape", "back", "Back", tooltip="Leave without saving", id="cwtui.pair.back"),
    ]

    def __init__(self, pair: PairEntry | None) -> None:
        super().__init__()
        self.pair = pair
        self.title = f"Pair: {pair.name}" if pair else "Add a pair"
        self.config = Config()
        self.rules: ResumeRules | None = None
        self.libraries: list[Library] = []

    def compose(self) -> ComposeResult:
        pair = self.pair
        settings = pair.progress if pair else ProgressSettings()
        yield Header(show_clock=False)
        with VerticalScroll(classes="form"):
            with Horizontal(classes="field-row"):
                yield Label("Name", classes="field-label")
                yield Input(pair.name if pair else "", id="name", placeholder="home-to-cabin",
                            validators=[Regex(NAME_RE.pattern, failure_description="use letters, digits, '-', '_' "
                                              "and '.' only")])
            yield Static("", id="name-msg", classes="field-error", markup=False)
            with Horizontal(classes="field-row"):
                yield Label("Source", classes="field-label")
                yield Select([], id="source", prompt="copy positions from")
            with Horizontal(classes="field-row"):
                yield Label("Destination", classes="field-label")
                yield Select([], id="destination", prompt="copy positions to")
            for key, label in SWITCHES:
                yield MarkedCheckbox(label, getattr(settings, key), id=key, classes="switch-row")
            for key, label, validator, _ in NUMBERS:
                with Horizontal(classes="field-row"):
                    yield Label(label, classes="field-label")
                    yield Input(f"{getattr(settings, key):g}", id=key, validators=[validator])
                yield Static("", id=f"{key}-msg", classes="field-error", markup=False)
            yield Static("", id="rules", markup=False)
            yield Static("", id="dest-warning", markup=False)
            yield Label("Libraries on the source (none ticked: all of them)")
            yield MarkedSelectionList(id="libraries")
            yield Static("", id="libraries-msg", classes="hint", markup=False)
            yield UserMapEditor(pair.users if pair else None, id="user-map")
            yield Static("", id="error", markup=False)
            yield Button("Save", id="save", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        compact_form(self)
        try:
            self.config = self.app.load_config()
        except CwtuiError as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        options = [(f"{e.name} ({e.user_name or ('API key' if e.api_key else 'not logged in')} @ {e.url})", e.name)
                   for e in self.config.servers.values()]
        for select_id in ("#source", "#destination"):
            self.query_one(select_id, Select).set_options(options)
        if self.pair:
            self.query_one("#source", Select).value = self.pair.source
            self.query_one("#destination", Select).value = self.pair.destination
        self.query_one("#name", Input).focus()
        self._show_rules()

    # --- live checks ----------------------------------------------------------------------------------

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.id is None:
            return
        result = event.validation_result
        message = "" if result is None or result.is_valid else "; ".join(result.failure_descriptions)
        self.query_one(f"#{event.input.id}-msg", Static).update(message)
        if event.input.id == "max_percent":
            self._show_rules()

    @on(Checkbox.Changed, "#respect_server_resume_rules")
    def _respect_changed(self) -> None:
        self._show_rules()

    @on(Select.Changed, "#destination")
    def _destination_changed(self, event: Select.Changed) -> None:
        self.rules = None
        self._show_rules()
        if event.value is not Select.NULL:
            self.read_rules(str(event.value))

    @on(Select.Changed, "#source")
    def _source_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.read_libraries(str(event.value))

    @on(Select.Changed, "#source, #destination")
    def _ends_changed(self) -> None:
        source, destination = self.query_one("#source", Select).value, self.query_one("#destination", Select).value
        if source is not Select.NULL and destination is not Select.NULL:
            self.read_users(str(source), str(destination))

    def _client(self, server: str):
        return self.app.client_factory(self.config.server(server), self.config.client_device_id)

    @work(exclusive=True, group="rules", description="Reading the destination's resume rules")
    async def read_rules(self, server: str) -> None:
        client = self._client(server)
        self.query_one("#rules", Static).update("Reading the destination's resume rules…")
        warning = self.query_one("#dest-warning", Static)
        warning.update("")
        try:
            why_not = await client.why_cannot_write()  # an old server, or a user not allowed to edit play state
            if why_not:
                warning.update(f"⚠ '{server}' cannot take writes: {why_not}. This pair can only make plans and "
                               "dry runs.")
            self.rules = await client.resume_rules()
        except CwtuiError as exc:
            self.query_one("#rules", Static).update(f"The destination's resume rules cannot be read: {exc}")
            return
        finally:
            await client.aclose()
        self._show_rules()

    def _show_rules(self) -> None:
        try:
            ours = float(self.query_one("#max_percent", Input).value)
        except ValueError:
            return
        respect = self.query_one("#respect_server_resume_rules", Checkbox).value
        if self.rules is None:
            text = "The destination's MaxResumePct shows here once it is read."
        else:
            cap = effective_max_percent(ProgressSettings(max_percent=ours, respect_server_resume_rules=respect),
                                        self.rules)
            used = "respected" if respect else "not respected"
            text = (f"Destination MaxResumePct: {self.rules.max_resume_pct:g}% ({used}); "
                    f"effective cap: {'none' if cap is None else f'{cap:g}%'}")
        self.query_one("#rules", Static).update(text)

    @work(exclusive=True, group="libraries", description="Reading the source's libraries")
    async def read_libraries(self, server: str) -> None:
        libraries = self.query_one("#libraries", MarkedSelectionList)
        message = self.query_one("#libraries-msg", Static)
        client = self._client(server)
        seen_by = ""
        try:
            if not self.config.server(server).user_id:  # an API key: libraries as one of the server's users sees them
                users = sorted(await client.users(), key=lambda u: not u.is_admin)
                if users:
                    client, seen_by = client.for_user(users[0].id), users[0].name
            self.libraries = await client.libraries()
        except CwtuiError as exc:
            message.update(f"The source's libraries cannot be read: {exc}")
            return
        finally:
            await client.aclose()
        wanted = {w.lower() for w in (self.pair.progress.libraries if self.pair else ())}
        libraries.clear_options()
        libraries.add_options([(lib.name, lib.name, lib.name.lower() in wanted or lib.id in wanted)
                               for lib in self.libraries])
        if not self.libraries:
            message.update("The source shows this user no libraries.")
        else:
            message.update(f"As {seen_by} sees them (the entry is an API key)." if seen_by else "")

    @work(exclusive=True, group="users", description="Reading both servers' users")
    async def read_users(self, source: str, destination: str) -> None:
        """Both servers' users for the map editor, and one line per side a token cannot serve a map on.

        The form may be left while the servers answer: nothing after an await assumes the widgets are there."""
        editor = self.query_one("#user-map", UserMapEditor)
        ends = [source] if source == destination else [source, destination]
        clients = [self._client(name) for name in ends]
        try:
            found = await asyncio.gather(*(_who(c) for c in clients))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        if not editor.is_attached:
            return
        lines, users = [], []
        for name, (token_user, listed, problem) in zip(ends, found):
            users.append(listed)
            if problem:
                lines.append(f"'{name}': the users cannot be read: {problem}")
            elif token_user is not None and not token_user.is_admin:
                lines.append(f"'{name}' can act only for {token_user.name} (not an administrator; an API key acts "
                             "for anyone)")
        editor.say(lines)
        if all(users):
            await editor.show_users(users[0], users[-1], same_server=source == destination)

    # --- saving ---------------------------------------------------------------------------------------

    def _entry(self) -> PairEntry | str:
        """The pair as typed, or the first problem in words."""
        name = self.query_one("#name", Input).value.strip()
        if not name or not NAME_RE.fullmatch(name):
            return "Name: use letters, digits, '-', '_' and '.' only."
        source, destination = self.query_one("#source", Select).value, self.query_one("#destination", Select).value
        if source is Select.NULL or destination is Select.NULL:
            return "Pick a source and a destination server."
        try:
            users = self.query_one("#user-map", UserMapEditor).value()
        except ValueError as exc:
            return str(exc)
        if source == destination and not isinstance(users, tuple):
            return ("Source and destination are the same server entry: sharing between users of one server needs "
                    "a list of users.")
        values: dict[str, object] = {key: self.query_one(f"#{key}", Checkbox).value for key, _ in SWITCHES}
        for key, label, _validator, _ in NUMBERS:
            field = self.query_one(f"#{key}", Input)
            result = field.validate(field.value)
            if result is not None and not result.is_valid:
                return f"{label}: {'; '.join(result.failure_descriptions)}."
            values[key] = float(field.value) if key == "max_percent" else int(field.value)
        values["libraries"] = tuple(self.query_one("#libraries", MarkedSelectionList).selected)
        # settings this form does not show (set in the file by hand) keep their values
        base = self.pair.progress if self.pair else ProgressSettings()
        progress = replace(base, **values)  # type: ignore[arg-type]
        if self.pair is None:
            return PairEntry(name, str(source), str(destination), progress, users=users)
        # and so do the pair's keys it does not edit (same_server, direction)
        return replace(self.pair, name=name, source=str(source), destination=str(destination), progress=progress,
                       users=users)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        entry = self._entry()
        error = self.query_one("#error", Static)
        if isinstance(entry, str):
            error.update(entry)
            return
        if (self.pair is None or entry.name != self.pair.name) and entry.name in self.config.pairs:
            error.update(f"There is already a pair called '{entry.name}'.")
            return
        try:
            self.app.config_file.save_pair(entry)
            if self.pair is not None and entry.name != self.pair.name:
                self.app.config_file.remove_pair(self.pair.name)
        except CwtuiError as exc:
            error.update(str(exc))
            return
        self.notify(f"Saved pair '{entry.name}'.", title="Pair saved", markup=False)
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)


async def _who(client: JellyfinClient) -> tuple[User | None, list[User], str]:
    """(the token's user, None for an API key; the server's users; why they could not be read, or "")."""
    try:
        return (*await asyncio.gather(client.token_user(), client.users()), "")
    except CwtuiError as exc:
        return None, [], str(exc)
