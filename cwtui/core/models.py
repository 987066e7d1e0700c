"""Plain data shared by the client, the planner, apply and the UI: frozen dataclasses and enums only."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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

    def is_playing(self, user_id: str, item_id: str) -> bool:
        """True when this session plays item_id for user_id (a session with no user never counts)."""
        if not self.user_id or self.now_playing_item_id != item_id:
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
    libraries: tuple[str, ...] = ()
    """Source library names or ids; empty means all."""


class Action(StrEnum):
    UPSERT = "upsert"
    CLEAR = "clear"
    SKIP = "skip"


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
    def forceable(self) -> bool:
        """A skipped row the user may force: it must have both a source position and somewhere to go."""
        return (
            self.action is Action.SKIP
            and self.reason not in (Reason.UNRESOLVED, Reason.AMBIGUOUS)
            and bool(self.destination_item_ids)
            and self.source is not None
            and self.source.position_ticks > 0
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

    @property
    def writes(self) -> tuple[PlanRow, ...]:
        return tuple(row for row in self.rows if row.writes)

    def summary(self) -> dict[str, dict[str, int]]:
        by_action: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        for row in self.rows:
            by_action[row.action.value] = by_action.get(row.action.value, 0) + 1
            by_reason[row.reason.value] = by_reason.get(row.reason.value, 0) + 1
        return {"by_action": by_action, "by_reason": by_reason}


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
