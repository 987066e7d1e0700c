"""UserMapEditor: a pair's household map (`users`): none, by name, or a list picked from both servers' users."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Label, Select, Static

from cwtui.core.config_model import BY_NAME, UserLink
from cwtui.core.dto import norm_id
from cwtui.core.models import User
from cwtui.core.text import safe_text

NONE, LIST = "none", "list"
MODES = [
    ("None: the server entries' own users", NONE),
    ("By name: every source user to the destination user of the same name", BY_NAME),
    ("A list: pick a destination user for each source user", LIST),
]
NOT_SYNCED = "— not synced"


def suggest(source: User, destination_users: list[User], *, same_server: bool) -> User | None:
    """The destination user of the same name (any case), never the user themselves on one server."""
    return next((d for d in destination_users if d.name.casefold() == source.name.casefold()
                 and not (same_server and d.id == source.id)), None)


def saved_pick(source: User, links: tuple[UserLink, ...], destination_users: list[User]) -> User | None:
    """The destination user a saved link gives `source` (ids decide when saved; else names, any case)."""
    def names(user: User, written: str, written_id: str | None) -> bool:
        if written_id:
            return norm_id(written_id) == user.id
        return written.casefold() == user.name.casefold() or norm_id(written) == user.id

    for link in links:
        if names(source, link.source, link.source_id):
            return next((d for d in destination_users if names(d, link.destination, link.destination_id)), None)
    return None


class UserMapEditor(Vertical):
    """Both servers' users side by side: one row per source user with a pick of destination user (or none).

    The screen reads the users (`show_users`) and asks `value()` when saving. Until the users are read, a list
    that was saved is kept as it was, so a server that does not answer cannot make a save drop the map.
    """

    DEFAULT_CSS = """
    UserMapEditor, UserMapEditor #users-rows {
        height: auto;
    }
    """

    def __init__(self, users: str | tuple[UserLink, ...] | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.saved = users
        self.source_users: list[User] = []
        self.destination_users: list[User] = []
        self.same_server = False
        self.loaded = False
        self.lines: list[str] = []
        """What the tokens may do, shown unless the map is off (then each entry acts for its own user)."""

    @property
    def mode(self) -> str:
        value = self.query_one("#users-mode", Select).value
        return str(value) if value is not Select.NULL else NONE

    def compose(self) -> ComposeResult:
        mode = NONE if self.saved is None else (BY_NAME if self.saved == BY_NAME else LIST)
        with Horizontal(classes="field-row"):
            yield Label("Users", classes="field-label")
            yield Select(MODES, id="users-mode", allow_blank=False, value=mode, compact=True)
        yield Static("", id="users-msg", classes="hint", markup=False)
        yield Static("", id="users-preview", markup=False)
        yield Vertical(id="users-rows")

    def on_mount(self) -> None:
        self._show_mode()

    @on(Select.Changed, "#users-mode")
    def _mode_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._show_mode()

    def _show_mode(self) -> None:
        mode = self.mode
        self.query_one("#users-rows").display = mode == LIST and self.loaded
        preview = self.query_one("#users-preview", Static)
        text = ""
        if mode == BY_NAME and self.loaded:
            pairs = [f"{s.name} → {d.name}" if (d := suggest(s, self.destination_users, same_server=False))
                     else f"{s.name} → (no one)" for s in self.source_users]
            text = "By name: " + ", ".join(pairs)
        elif mode == LIST and self.loaded:
            text = ("Source user → destination user (destination users: "
                    f"{', '.join(d.name for d in self.destination_users)})")
        elif mode != NONE:
            text = "The users show here once both servers are chosen and read."
        preview.update(safe_text(text))
        preview.display = bool(text)
        message = self.query_one("#users-msg", Static)
        message.update("\n".join(self.lines))
        message.display = bool(self.lines) and mode != NONE

    def say(self, lines: list[str]) -> None:
        """What the tokens may do, or why the users could not be read: one line each."""
        self.lines = [safe_text(line) for line in lines]  # per line: the filter would drop the newlines
        self._refresh()

    def _refresh(self) -> None:
        """_show_mode from a worker's answer: the form may have been left meanwhile, its widgets being removed."""
        try:
            self._show_mode()
        except NoMatches:
            pass

    async def show_users(self, source_users: list[User], destination_users: list[User], *,
                         same_server: bool) -> None:
        """One row per source user; picks come from the saved list, else the suggestion by name."""
        self.source_users, self.destination_users = source_users, destination_users
        self.same_server, self.loaded = same_server, True
        links = self.saved if isinstance(self.saved, tuple) else ()
        try:
            rows = self.query_one("#users-rows", Vertical)
        except NoMatches:
            return  # the form was left while the servers answered
        await rows.remove_children()
        widgets = []
        for n, source in enumerate(source_users):
            hint = suggest(source, destination_users, same_server=same_server)
            choices = [(f"{d.name} (same name)" if d is hint else d.name, d.id) for d in destination_users
                       if not (same_server and d.id == source.id)]
            chosen = saved_pick(source, links, destination_users) if links else hint
            pick = chosen.id if chosen else Select.NULL
            select = Select([(safe_text(label), value) for label, value in choices], prompt=NOT_SYNCED,
                            value=pick if any(v == pick for _, v in choices) else Select.NULL,
                            id=f"user-{n}", compact=True)
            widgets.append(Horizontal(Label(safe_text(source.name), classes="field-label"), select,
                                      classes="field-row user-row"))
        if rows.is_attached:
            await rows.mount_all(widgets)
        self._refresh()

    def picks(self) -> dict[str, str | None]:
        """Source user id -> the destination user id picked (None: not synced)."""
        out: dict[str, str | None] = {}
        for n, source in enumerate(self.source_users):
            value = self.query_one(f"#user-{n}", Select).value
            out[source.id] = None if value is Select.NULL else str(value)
        return out

    def value(self) -> str | tuple[UserLink, ...] | None:
        """The `users` value to save. Raises ValueError with the words to show when it cannot be saved."""
        mode = self.mode
        if mode == NONE:
            return None
        if mode == BY_NAME:
            if self.same_server:
                raise ValueError("Users: \"by name\" on one server would pair every user with themselves; "
                                 "pick a list.")
            return BY_NAME
        if not self.loaded:
            if isinstance(self.saved, tuple):
                return self.saved  # not read: keep the list as it was saved
            raise ValueError("Users: the servers' users are not read yet, so no list can be made.")
        by_id = {d.id: d for d in self.destination_users}
        picks = self.picks()
        chosen = [(s, by_id[picks[s.id]]) for s in self.source_users if picks[s.id] in by_id]
        if not chosen:
            raise ValueError("Users: pick a destination user for at least one source user, or choose None.")
        taken: dict[str, str] = {}
        for s, d in chosen:
            if d.id in taken:
                raise ValueError(f"Users: {d.name} is picked for both {taken[d.id]} and {s.name}; "
                                 "one source user per destination user.")
            taken[d.id] = s.name
        return tuple(UserLink(s.name, d.name, index=n, source_id=s.id, destination_id=d.id)
                     for n, (s, d) in enumerate(chosen))
