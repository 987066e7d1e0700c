"""Plain data shared by the client, the planner, apply and the UI: frozen dataclasses and enums only."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

TICKS_PER_MS = 10_000
TICKS_PER_SECOND = 10_000_000


def ticks_to_ms(ticks: int | None) -> int:
    """Whole milliseconds from .NET ticks (100 ns each); None counts as 0."""
    return (ticks or 0) // TICKS_PER_MS


def format_ms(ms: int | None) -> str:
    """1:02:03 or 2:03 for a position; an em dash for unknown."""
    if ms is None:
        return "\u2014"
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    hours, rest = divmod(ms // 1000, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{sign}{minutes}:{seconds:02d}"


def parse_version(text: str | None) -> tuple[int, ...]:
    """'10.11.11' -> (10, 11, 11), '12.0-rc5' -> (12, 0); an unreadable version is ()."""
    parts: list[int] = []
    for piece in (text or "").strip().split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
        if match.end() != len(piece):
            break
    return tuple(parts)


class ItemKind(StrEnum):
    MOVIE = "movie"
    EPISODE = "episode"


@dataclass(frozen=True)
class UserData:
    """One user's play state for one item, as Jellyfin's UserItemDataDto has it."""

    position_ticks: int = 0
    played: bool = False
    play_count: int = 0
    last_played: datetime | None = None
    """Aware UTC, or None when the server sent none."""
    key: str | None = field(default=None, compare=False)
    """The user-data key of the row read (`UserData.Key`). Below 10.11 equal keys mean one shared stored row."""

    @property
    def position_ms(self) -> int:
        return ticks_to_ms(self.position_ticks)


@dataclass(frozen=True)
class Item:
    """A movie or an episode as the client reads it (ids normalised, provider-id keys lower-cased)."""

    id: str
    kind: ItemKind
    name: str
    runtime_ticks: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    production_year: int | None = None
    series_id: str | None = None
    series_name: str | None = None
    season: int | None = None
    """ParentIndexNumber; season 0 holds specials and is a real season."""
    episode: int | None = None
    """IndexNumber."""
    user_data: UserData | None = None
    virtual: bool = False
    """A missing-episode placeholder (`LocationType: "Virtual"`): nobody can play it, so nothing is written to it."""
    version_ids: tuple[str, ...] = ()
    """12.0: the ids of this item's versions (`MediaSources`), when it has more than one and they were asked for."""

    @property
    def runtime_ms(self) -> int | None:
        return None if not self.runtime_ticks or self.runtime_ticks <= 0 else ticks_to_ms(self.runtime_ticks)

    @property
    def display_title(self) -> str:
        if self.kind is ItemKind.EPISODE:
            s = "??" if self.season is None else f"{self.season:02d}"
            e = "??" if self.episode is None else f"{self.episode:02d}"
            return f"{self.series_name or '?'} S{s}E{e} {self.name}".rstrip()
        return f"{self.name} ({self.production_year})" if self.production_year else self.name


@dataclass(frozen=True)
class Series:
    id: str
    name: str
    provider_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerInfo:
    """From GET /System/Info/Public (anonymous)."""

    id: str
    name: str
    version: str
    product: str = "Jellyfin Server"
    startup_complete: bool = True

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return parse_version(self.version)

    @property
    def writable(self) -> bool:
        """Position writes need POST /UserItems/{id}/UserData, added in 10.9.0."""
        return self.version_tuple >= (10, 9)


@dataclass(frozen=True)
class ResumeRules:
    """The server's own resume thresholds (GET /System/Configuration); defaults are Jellyfin's."""

    min_resume_pct: float = 5
    max_resume_pct: float = 90
    min_resume_duration_seconds: int = 300


@dataclass(frozen=True)
class User:
    id: str
    name: str
    is_admin: bool = False
    may_edit_user_data: bool = True
    """Policy `EnableUserPreferenceAccess`: off means the UserData GET and POST answer 403 for this user's own data
    (administrators and API keys skip that check)."""
    last_activity: datetime | None = None


@dataclass(frozen=True)
class UserPair:
    """One line of a household map, resolved: whose positions go to whom."""

    source: User
    destination: User


@dataclass(frozen=True)
class AuthResult:
    """A successful login: the token is the caller's to keep; the password is never kept."""

    token: str
    user: User
    server_id: str

    def __repr__(self) -> str:  # keep tokens out of logs and tracebacks
        return f"AuthResult(user={self.user!r}, server_id={self.server_id!r}, token=<hidden>)"


@dataclass(frozen=True)
class QuickConnectCode:
    secret: str
    code: str

    def __repr__(self) -> str:
        return f"QuickConnectCode(code={self.code!r}, secret=<hidden>)"


@dataclass(frozen=True)
class Library:
    id: str
    name: str
    collection_type: str | None = None


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str | None
    now_playing_item_id: str | None = None
    additional_user_ids: tuple[str, ...] = ()
    media_source_id: str | None = None
    """`PlayState.MediaSourceId`: on 12.0 the version being played, while NowPlayingItem is the displayed item."""

    def is_playing(self, user_id: str, item_id: str) -> bool:
        """True when this session plays item_id (as the item shown or the version played) for user_id (a session
        with no user never counts)."""
        if not self.user_id or item_id not in (self.now_playing_item_id, self.media_source_id):
            return False
        return user_id == self.user_id or user_id in self.additional_user_ids


# --- settings, plan and results -------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressSettings:
    """`[pairs.NAME.features.progress]`; the defaults are the ones a key left out gets."""

    enable: bool = True
    add: bool = True
    remove: bool = False
    min_seconds: int = 60
    delta_seconds: int = 30
    max_percent: float = 95
    timestamp_tolerance_seconds: int = 30
    respect_server_resume_rules: bool = True
    replay_watched: bool = False
    finish: bool = False
    """A destination row the source finished later (played, at 0) is marked played at 0, not left half-watched."""
    played: bool = False
    """Items the source has played and the destination has neither played nor started are marked played (restores)."""
    libraries: tuple[str, ...] = ()
    """Source library names or ids; empty means all."""


TO_DESTINATION = "to_destination"
TO_SOURCE = "to_source"
"""A two-way row's direction: which side is written."""


@dataclass(frozen=True)
class Agreed:
    """Two-way: what each side held when the two last agreed (recorded after every apply of the pair)."""

    source: UserData
    destination: UserData
    at: datetime | None = None
    """When it was recorded."""


class Action(StrEnum):
    UPSERT = "upsert"
    CLEAR = "clear"
    SKIP = "skip"
    RESTORE = "restore"
    """Undo: give an item back its journaled prior state."""
    FINISH = "finish"
    """Played, position 0, the destination's play count (at least 1) and the source's last-played time: one POST."""
    MARK_PLAYED = "mark_played"
    """Played with the source's play count and last-played time (setting `played`): one POST."""
    MARK_UNPLAYED = "mark_unplayed"
    """Two-way: the other side was marked unplayed since the two agreed: Played false and position 0, one POST."""


class Reason(StrEnum):
    """Why a row got its action; the values are the stable codes the CLI and JSON print."""

    BELOW_MIN_SECONDS = "below_min_seconds"
    SHORT_ITEM = "short_item"
    BELOW_MIN_PERCENT = "below_min_percent"
    NEAR_COMPLETE = "near_complete"
    UNRESOLVED = "unresolved"
    AMBIGUOUS = "ambiguous"
    ALREADY_WATCHED = "already_watched"
    DESTINATION_MISSING = "destination_missing"
    IN_SYNC = "in_sync"
    WITHIN_DELTA = "within_delta"
    DESTINATION_NEWER = "destination_newer"
    SOURCE_AHEAD = "source_ahead"
    SOURCE_NEWER = "source_newer"
    NO_TIMESTAMPS = "no_timestamps"
    EXPLICIT_ZERO = "explicit_zero"
    ABSENT_ON_SOURCE = "absent_on_source"
    ADD_DISABLED = "add_disabled"
    REMOVE_DISABLED = "remove_disabled"
    FORCED = "forced"
    SUPERSEDED_BY_COPY = "superseded_by_copy"
    """Another copy of the title on the source was played more recently (or is further along) and is synced."""
    SHARED_ROW = "shared_row"
    """10.8-10.10: this destination item shares one stored row with another, which is written instead."""
    ALTERNATE_VERSIONS = "alternate_versions"
    """12.0: the item has alternate versions; clearing one is refused until proven safe on a real 12.0 server."""
    FINISHED_ON_SOURCE = "finished_on_source"
    """The source finished it (played, at 0) later than the destination last played it: finish it there too."""
    PLAYED_ON_SOURCE = "played_on_source"
    """The source has it played; the destination has neither played nor started it (setting `played`)."""
    FINISH_DISABLED = "finish_disabled"
    """The source finished it, but `finish` (and `remove`) are off, so nothing is written."""
    # decided live, at apply time
    ACTIVE_SESSION = "active_session"
    SESSION_CHECK_FAILED = "session_check_failed"
    TARGET_NEWER = "target_newer"
    PROGRESS_UNCHANGED = "progress_unchanged"
    VERIFY_MISMATCH = "verify_mismatch"
    WRITE_FAILED = "write_failed"
    READ_FAILED = "read_failed"
    CANCELLED = "cancelled"
    WRITTEN = "written"
    RESTORED = "restored"
    CHANGED_SINCE_RUN = "changed_since_run"
    # two-way pairs: the three-way merge against the last agreed state
    NO_BASE = "no_base"
    """Two-way: the sides disagree and no agreed state is recorded for the item, so neither side is trusted."""
    UNCHANGED = "unchanged"
    CHANGED_ON_SOURCE = "changed_on_source"
    CHANGED_ON_DESTINATION = "changed_on_destination"
    NEWER_ON_SOURCE = "newer_on_source"
    NEWER_ON_DESTINATION = "newer_on_destination"
    MARKED_UNPLAYED = "marked_unplayed"
    """Two-way: the winning side was marked unplayed since the two agreed (a deliberate unwatch, not absence)."""
    CONFLICT = "conflict"
    """Both sides changed since they agreed and their last-played times do not say which is newer: the user picks."""


WRITES = (Action.UPSERT, Action.CLEAR, Action.FINISH, Action.MARK_PLAYED, Action.MARK_UNPLAYED)
"""The actions a plan row or version can write (RESTORE belongs to undo, SKIP writes nothing)."""


@dataclass(frozen=True)
class VersionPlan:
    """What one destination item of a row gets, decided against that item's own state."""

    item_id: str
    state: UserData | None
    """The item's user data as the plan read it: the live re-check compares against exactly this."""
    action: Action
    reason: Reason
    rule: str = ""

    @property
    def writes(self) -> bool:
        return self.action in WRITES


@dataclass(frozen=True)
class PlanRow:
    """One item's decision. `destination` is the counterpart the decision was made against."""

    key: str
    """Stable row key: the source item id, or the destination item id for rows with no source item."""
    kind: ItemKind
    title: str
    action: Action
    reason: Reason
    rule: str
    """The rule that decided the row, in words (shown in the detail pane)."""
    series: str | None = None
    season: int | None = None
    episode: int | None = None
    source_item_id: str | None = None
    destination_item_ids: tuple[str, ...] = ()
    source: UserData | None = None
    destination: UserData | None = None
    runtime_ticks: int | None = None
    source_runtime_ticks: int | None = None
    destination_runtime_ticks: int | None = None
    name: str = ""
    """The item's Jellyfin `Name` exactly (an episode's own name); `title` is the display form."""
    year: int | None = None
    """ProductionYear, None when unknown."""
    matched_by: str = ""
    """How the destination item(s) were found ("by imdb=tt0133093", "series X, S01E02"), or why not."""
    versions: tuple[VersionPlan, ...] = ()
    """One entry per destination item, in `destination_item_ids` order (empty for unmatched rows)."""
    source_user: str = ""
    """Household runs: the source user's name (empty when the pair has no user map)."""
    destination_user: str = ""
    destination_user_id: str = ""
    """The destination user (empty: the destination entry's own user)."""
    source_user_id: str = ""
    two_way: bool = False
    direction: str = ""
    """Two-way rows that write: TO_DESTINATION or TO_SOURCE (`versions` then name the item written, on that side)."""
    agreed: Agreed | None = None
    """Two-way: the state both sides last agreed on, if recorded."""
    choices: tuple[PlanRow, ...] = field(default=(), compare=False, repr=False)
    """A conflict's two ways out (one per direction), for `--prefer` and the TUI's choice."""

    @property
    def source_ms(self) -> int | None:
        return None if self.source is None else self.source.position_ms

    @property
    def destination_ms(self) -> int | None:
        return None if self.destination is None else self.destination.position_ms

    @property
    def duration_ms(self) -> int | None:
        return ticks_to_ms(self.runtime_ticks) if self.runtime_ticks else None

    @property
    def writes(self) -> bool:
        return self.action is not Action.SKIP

    @property
    def winner(self) -> UserData | None:
        """The state a write copies: the destination's for a two-way row going to the source, else the source's."""
        return self.destination if self.direction == TO_SOURCE else self.source

    @property
    def forceable(self) -> bool:
        """A skipped row the user may force: it must have both a source position and somewhere to go. A two-way row
        with no direction (no base, a conflict) is resolved with --prefer or --seed instead."""
        return (
            self.action is Action.SKIP
            and (not self.two_way or bool(self.direction))
            and self.reason not in (Reason.UNRESOLVED, Reason.AMBIGUOUS)
            and bool(self.destination_item_ids)
            and self.winner is not None
            and self.winner.position_ticks > 0
        )


@dataclass(frozen=True)
class SideInfo:
    """One side of a pair as the plan reports it."""

    name: str
    server_name: str
    version: str
    user_name: str
    user_id: str
    server_id: str
    writable: bool
    why_not_writable: str = ""
    """When `writable` is false: why, in a sentence (an old server, or a user not allowed to edit play state)."""


@dataclass(frozen=True)
class Plan:
    pair: str
    source: SideInfo
    destination: SideInfo
    settings: ProgressSettings
    effective_max_percent: float
    rules: ResumeRules | None
    """The destination's resume rules (None when they are not respected or not readable)."""
    rows: tuple[PlanRow, ...]
    notices: tuple[str, ...] = ()
    users: tuple[UserPair, ...] = ()
    """The household map as resolved (empty when the pair has none: the entries' own users)."""
    two_way: bool = False
    """A two-way pair's plan (direction = "both"): rows may go either way."""

    @property
    def writes(self) -> tuple[PlanRow, ...]:
        return tuple(row for row in self.rows if row.writes)

    def summary(self) -> dict:
        """Totals by action and by reason; a household plan adds the same per source user (`by_user`), a two-way
        plan the writes per direction (`by_direction`)."""
        out: dict = _totals(self.rows)
        if self.two_way or any(r.direction for r in self.rows):
            out["by_direction"] = {way: sum(1 for r in self.rows if r.writes and r.direction == way)
                                   for way in (TO_DESTINATION, TO_SOURCE)}
        if self.users:
            out["by_user"] = {u.source.name: _totals(r for r in self.rows if r.source_user == u.source.name)
                              for u in self.users}
        return out


def _totals(rows) -> dict[str, dict[str, int]]:
    by_action: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for row in rows:
        by_action[row.action.value] = by_action.get(row.action.value, 0) + 1
        by_reason[row.reason.value] = by_reason.get(row.reason.value, 0) + 1
    return {"by_action": by_action, "by_reason": by_reason}


@dataclass(frozen=True)
class Target:
    """What one write sends: each field None is not sent. `unplay_first` (undo only) clears a last-played time,
    which no UserData POST can do, through the unplayed route before the POST."""

    position_ticks: int
    played: bool | None = None
    play_count: int | None = None
    last_played: datetime | None = None
    unplay_first: bool = False

    @classmethod
    def restoring(cls, prior: UserData, now: UserData | None = None) -> Target:
        """Everything back to `prior`; with the live state `now`, also whether the unplayed route must go first."""
        target = cls(prior.position_ticks, prior.played, prior.play_count, prior.last_played)
        return target if now is None else target.against(now)

    def against(self, now: UserData) -> Target:
        """A restore as the live state wants it: the unplayed route first only when a last-played time must go."""
        return replace(self, unplay_first=self.last_played is None and now.last_played is not None)


class Status(StrEnum):
    APPLIED = "applied"
    SKIPPED = "skipped"
    UNRESOLVED = "unresolved"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ItemResult:
    """What happened to one destination item of one planned write."""

    key: str
    title: str
    action: Action
    status: Status
    reason: Reason
    destination_item_id: str
    before_ms: int | None = None
    after_ms: int | None = None
    dry_run: bool = False
    detail: str = ""
    name: str = ""
    """The item's Jellyfin Name exactly; `title` is the display form."""
    year: int | None = None
    source_user: str = ""
    destination_user: str = ""
    """Household runs: whose item this is, by name on each side (empty otherwise)."""
    direction: str = ""
    """Two-way runs: TO_DESTINATION or TO_SOURCE (`destination_item_id` is then the item written, on that side)."""
    after: UserData | None = field(default=None, compare=False, repr=False)
    """The item's state read back after the write, when it was read."""
