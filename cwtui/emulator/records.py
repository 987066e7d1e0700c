"""The emulator's table rows: users, tokens, items, user data, sessions and Quick Connect requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class UserRec:
    id: str
    name: str
    password: str = field(repr=False)
    is_admin: bool = False
    enable_user_preference_access: bool = True
    login_attempts_before_lockout: int = 0
    invalid_attempts: int = 0
    is_disabled: bool = False
    hidden_items: set[str] = field(default_factory=set)
    hidden_libraries: set[str] = field(default_factory=set)
    last_login: datetime | None = None
    last_activity: datetime | None = None
    display_missing_episodes: bool = False
    """Configuration.DisplayMissingEpisodes: episode lists include virtual (missing) episodes for this user."""


@dataclass
class TokenRec:
    token: str = field(repr=False)
    user_id: str | None
    device_id: str = ""
    device_name: str = ""
    client: str = ""
    app_version: str = ""
    api_key_name: str | None = None
    date_created: datetime | None = None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_name is not None


@dataclass
class ItemRec:
    id: str
    type: str  # Movie | Episode | Series | Season | CollectionFolder
    name: str
    library_id: str | None
    parent_id: str | None
    sort_name: str
    runtime_ticks: int | None = None
    year: int | None = None
    index_number: int | None = None
    parent_index_number: int | None = None
    series_id: str | None = None
    series_name: str | None = None
    season_id: str | None = None
    season_name: str | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    collection_type: str | None = None
    date_created: datetime | None = None
    path: str | None = None
    location_type: str = "FileSystem"
    """"Virtual" marks a missing-episode placeholder (jellyfin-api.md §3)."""
    primary_version_id: str | None = None
    """12.0: set on an owned alternate version (it is also its OwnerId), the primary's id."""


@dataclass
class UserDataRec:
    position_ticks: int = 0
    played: bool = False
    play_count: int = 0
    last_played: datetime | None = None
    is_favorite: bool = False
    likes: bool | None = None
    rating: float | None = None


@dataclass
class SessionRec:
    id: str
    user_id: str | None
    client: str
    device_id: str
    device_name: str
    app_version: str
    now_playing_item_id: str | None = None
    position_ticks: int = 0
    is_paused: bool = False
    last_activity: datetime | None = None
    last_check_in: datetime | None = None
    media_source_id: str | None = None
    additional_users: list[str] = field(default_factory=list)
    supports_remote_control: bool = False
    """A player with remote control (start_session makes one); the sync tool's own sessions have none."""


@dataclass
class QuickConnectRec:
    secret: str = field(repr=False)
    code: str
    device_id: str
    device_name: str
    app_name: str
    app_version: str
    date_added: datetime
    authenticated: bool = False
    user_id: str | None = None
    result: dict | None = field(default=None, repr=False)
    """The AuthenticationResult made at authorization (it holds the token)."""
