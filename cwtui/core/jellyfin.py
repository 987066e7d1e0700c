"""JellyfinClient: the async calls cwtui makes to one Jellyfin server, with version-dependent routes chosen here."""

from __future__ import annotations

import copy

from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import httpx

from cwtui.core import dto
from cwtui.core.errors import BadRequest, BadResponse, DestinationTooOld, NotFound, ServerError, UsageError
from cwtui.core.http import ClientIdentity, HttpSession, Messages
from cwtui.core.urls import shown_url
from cwtui.core.text import safe_text
from cwtui.core.models import (
    AuthResult,
    Item,
    Library,
    QuickConnectCode,
    ResumeRules,
    Series,
    ServerInfo,
    Session,
    User,
    UserData,
)

__all__ = ["ClientIdentity", "JellyfinClient"]

T = TypeVar("T")

LOGIN = Messages(
    on_401="wrong user name or password",
    on_403="the server refused this login: the account may be disabled or locked out, "
           "or not allowed remote access or this device",
)
API_KEY = Messages(on_401="API key rejected: check it in Dashboard -> API Keys")
QUICK_CONNECT = Messages(on_401="Quick Connect is disabled on this server",
                         on_404="the Quick Connect request expired or is unknown: start again")
QUICK_CONNECT_LOGIN = Messages(on_401="Quick Connect was not authorized: enter the code in a signed-in client",
                               on_403="Quick Connect was not authorized: enter the code in a signed-in client",
                               on_404="the Quick Connect request expired or is unknown: start again")
READ = Messages(on_403="administrator rights needed to act for another user")
LIBRARY_READ = Messages(on_401="token rejected, or the library is not visible to this user: "
                               "log in again with `cwtui login`",
                        on_403="administrator rights needed to act for another user")
USER_DATA = Messages(
    on_403="this user may not change play state: the user's policy has EnableUserPreferenceAccess off, "
           "or administrator rights needed to act for another user",
    on_404="item not found on the server, or hidden from this user",
)

RESUME_TYPES = "Movie,Episode"
IDS_BATCH = 100
MAX_PAGED_ITEMS = 2_000_000
"""More items than any real library holds: a paged read that goes past it is a server that never ends a list."""


class JellyfinClient:
    """Talks to one server as one user. Use as `async with JellyfinClient(...) as c:`.

    The server version comes from `public_info()`, fetched lazily and cached, and picks the routes:
    10.8 has no user-data write, and its user-scoped routes live under /Users/{userId}/...
    """

    resume_page_size = 200

    def __init__(self, base_url: str, ident: ClientIdentity, token: str | None = None, user_id: str | None = None,
                 *, ca_bundle: str | None = None, insecure: bool = False, timeout: float = 15.0,
                 get_retries: int = 3, retry_delay: float = 0.2,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not base_url.lower().startswith(("http://", "https://")):
            raise UsageError(f"server URL must start with http:// or https://: {shown_url(base_url)!r}")
        self.insecure = insecure
        self.token = token
        self.user_id = dto.norm_id(user_id)
        self.skipped_malformed = 0
        """Items dropped by list calls because they had no Id or an unexpected Type."""
        self._library_wide = False
        self._info: ServerInfo | None = None
        self._http = HttpSession(base_url, ident, ca_bundle=ca_bundle, insecure=insecure, timeout=timeout,
                                 get_retries=get_retries, retry_delay=retry_delay, transport=transport)

    # --- plumbing ------------------------------------------------------------------------------------

    async def __aenter__(self) -> JellyfinClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def for_user(self, user_id: str) -> JellyfinClient:
        """The same connection acting for another user (household runs). Needs a token that may act for that user:
        an API key or an administrator's (the server answers 403 otherwise). Closing the original closes it too."""
        view = copy.copy(self)
        view.user_id = dto.norm_id(user_id)
        view.skipped_malformed = 0
        return view

    def library_view(self) -> JellyfinClient:
        """The same connection reading the library as a whole, for indexes shared by every user of a household:
        library reads leave out userId, so an API key sees every item (items then carry no user data, §2.1) and a
        user token sees its own user's view. Never used to read or write anyone's play state."""
        view = self.for_user("")
        view.user_id = None
        view._library_wide = True
        return view

    async def token_user(self) -> User | None:
        """Who the token belongs to: a user, or None for an API key (which acts for any user, like an admin)."""
        try:
            return await self._get("/Users/Me", parse=dto.parse_user)
        except BadRequest:
            return None

    def __repr__(self) -> str:
        return f"JellyfinClient({self.base_url!r}, user_id={self.user_id!r}, token={'<hidden>' if self.token else None})"

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def clock_offset(self) -> float | None:
        """The server's clock minus ours (seconds), from its last Date header."""
        return self._http.clock_offset

    @property
    def requests_sent(self) -> int:
        """Every HTTP request sent, retries included."""
        return self._http.requests_sent

    async def _get(self, path: str, params: dict[str, Any] | None = None, *, parse: Callable[[Any], T],
                   messages: Messages = READ, anonymous: bool = False) -> T:
        return await self._http.send("GET", path, params=params, messages=messages, parse=parse,
                                     token=None if anonymous else self.token)

    async def _write(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
                     parse: Callable[[Any], T] | None = None, messages: Messages = USER_DATA,
                     anonymous: bool = False) -> T:
        return await self._http.send(method, path, params=params, body=body, messages=messages, parse=parse,
                                     token=None if anonymous else self.token, retry=False)

    def _uid(self) -> str:
        if not self.user_id:
            raise UsageError("not logged in: no user id for this server", hint="run `cwtui login` first")
        return self.user_id

    def _library_user(self) -> str | None:
        """The userId of a library read: none for a library_view (the library as a whole)."""
        return None if self._library_wide else self._uid()

    def _items(self, data: Any) -> list[Item]:
        """Movies and episodes of a QueryResult; anything else (no Id, another Type) is skipped and counted.

        Virtual (missing-episode) placeholders are dropped too: nobody can play them, so nothing may be written to
        them, and a placeholder beside a real episode would look like a second version (gotcha 24).
        """
        items = [dto.parse_item(entry) for entry in dto.query_items(data)]
        self.skipped_malformed += sum(1 for item in items if item is None)
        return [item for item in items if item is not None and not item.virtual]

    async def _legacy(self) -> bool:
        """True on servers before 10.9 (older routes); an unreadable version counts as new."""
        version = (await self.public_info()).version_tuple
        return bool(version) and version < (10, 9)

    # --- server and login ----------------------------------------------------------------------------

    async def public_info(self) -> ServerInfo:
        """GET /System/Info/Public (anonymous); cached after the first answer."""
        if self._info is None:
            self._info = await self._get("/System/Info/Public", parse=dto.parse_server_info, anonymous=True)
        return self._info

    def _login_done(self, result: AuthResult) -> AuthResult:
        self.token, self.user_id = result.token, result.user.id
        return result

    async def login_password(self, user_name: str, password: str) -> AuthResult:
        """POST /Users/AuthenticateByName. Never retried: failed logins count toward the account's lockout."""
        result = await self._write("POST", "/Users/AuthenticateByName", body={"Username": user_name, "Pw": password},
                                   parse=dto.parse_auth_result, messages=LOGIN, anonymous=True)
        return self._login_done(result)

    async def check_api_key(self, key: str) -> list[User]:
        """Adopt an API key to act for users named later (households); its user list proves it works. A user's
        access token is refused here: it acts only for its own user."""
        users = await self._http.send("GET", "/Users", token=key, messages=API_KEY, parse=dto.parse_users)
        self.token = key
        if await self.token_user() is not None:
            raise UsageError("that is a user's access token, not an API key",
                             hint="log in with --user, or make an API key in Dashboard -> API Keys")
        return users

    async def login_api_key(self, key: str, as_user: str) -> User:
        """Adopt an API key and act for `as_user` (a name, case-insensitively, or an id) found in GET /Users.

        An API key has no user of its own, so every user-scoped call then passes that user's id.
        """
        if not as_user or not as_user.strip():
            raise UsageError("an API key acts for no user: name the user to act for")
        users = await self._http.send("GET", "/Users", token=key, messages=API_KEY, parse=dto.parse_users)
        wanted, wanted_id = as_user.strip().casefold(), dto.norm_id(as_user)
        match = next((u for u in users if u.name.casefold() == wanted), None) or next(
            (u for u in users if u.id == wanted_id), None)
        if match is None:
            raise NotFound(f"no user {as_user!r} on this server", hint="check the user name")
        self.token, self.user_id = key, match.id
        return match

    async def quick_connect_enabled(self) -> bool:
        return await self._get("/QuickConnect/Enabled", parse=dto.parse_bool, anonymous=True)

    async def quick_connect_initiate(self) -> QuickConnectCode:
        """Start Quick Connect: POST on 10.9+, GET on 10.8 (12.0 accepts only POST). Not retried: each call
        creates a new request on the server."""
        method = "GET" if await self._legacy() else "POST"
        return await self._write(method, "/QuickConnect/Initiate", parse=dto.parse_quick_connect,
                                 messages=QUICK_CONNECT, anonymous=True)

    async def quick_connect_poll(self, qc: QuickConnectCode) -> bool:
        """True once a signed-in user has authorized the code."""
        return await self._get("/QuickConnect/Connect", {"secret": qc.secret}, parse=dto.parse_quick_connect_state,
                               messages=QUICK_CONNECT, anonymous=True)

    async def quick_connect_login(self, qc: QuickConnectCode) -> AuthResult:
        result = await self._write("POST", "/Users/AuthenticateWithQuickConnect", body={"Secret": qc.secret},
                                   parse=dto.parse_auth_result, messages=QUICK_CONNECT_LOGIN, anonymous=True)
        return self._login_done(result)

    async def logout(self) -> None:
        """POST /Sessions/Logout deletes the token on the server; the client forgets it either way."""
        try:
            if self.token:
                await self._write("POST", "/Sessions/Logout", messages=Messages())
        finally:
            self.token = None

    async def resume_rules(self) -> ResumeRules:
        return await self._get("/System/Configuration", parse=dto.parse_resume_rules)

    async def me(self) -> User:
        """The user this client acts for: GET /Users/Me, or GET /Users/{user_id} for an API key.

        /Users/Me answers 400 to an API key (it has no user of its own), so that case falls back to the id.
        """
        try:
            user = await self._get("/Users/Me", parse=dto.parse_user)
        except BadRequest:
            if not self.user_id:
                raise
            user = await self._get(f"/Users/{self.user_id}", parse=dto.parse_user)
        if self.user_id is None:
            self.user_id = user.id
        return user

    async def why_cannot_write(self) -> str | None:
        """Why this client cannot write play state, in a sentence, or None when it can.

        A server before 10.9 has no UserData write. A user whose policy has EnableUserPreferenceAccess off gets 403
        from the UserData POST even for their own data (administrators and API keys skip that check, and /Users/Me
        answers 400 to an API key). Found before any write, so a run never starts that cannot finish.
        """
        info = await self.public_info()
        if not info.writable:
            return f"Jellyfin {info.version} has no way to write a position (10.9 or newer is needed)"
        user = await self.token_user()
        if user is None:
            return None  # an API key: it acts with administrator rights
        if user.is_admin or user.may_edit_user_data:
            return None
        return (f"user {user.name} may not change their own play state on this server (the user's policy has "
                "\"Allow user to edit their own data\" (EnableUserPreferenceAccess) off); an administrator can allow "
                "it in Dashboard -> Users, or log in with an API key")

    async def users(self) -> list[User]:
        return await self._get("/Users", parse=dto.parse_users)

    # --- reading -------------------------------------------------------------------------------------

    async def libraries(self) -> list[Library]:
        uid = self._uid()
        if await self._legacy():
            raw = await self._get(f"/Users/{uid}/Views", parse=dto.query_items)
        else:
            raw = await self._get("/UserViews", {"userId": uid}, parse=dto.query_items)
        return [lib for lib in (dto.parse_library(entry) for entry in raw) if lib is not None]

    async def _paged(self, params: dict[str, Any], page_size: int, path: str = "/Items", *,
                     remember_all: bool = True) -> AsyncIterator[list[Any]]:
        """Raw `Items` pages of GET `path` (/Items, or /UserItems/Resume) until a short page.

        A server that does not page as asked ends in a BadResponse, never a loop: a full page that brings no
        id not seen before (it ignores startIndex), a page past the TotalRecordCount it reported itself, or
        more than MAX_PAGED_ITEMS items in all. `remember_all=False` compares each page with the previous one only,
        so memory stays flat over a long read (a snapshot); MAX_PAGED_ITEMS still bounds it.
        """
        start, seen, total = 0, set(), None
        for _ in range(MAX_PAGED_ITEMS // max(1, page_size) + 2):
            raw, count = await self._get(path, {**params, "startIndex": start, "limit": page_size},
                                         parse=_page, messages=LIBRARY_READ)
            total = count if count is not None else total
            page_ids = {dto.norm_id(e.get("Id")) if isinstance(e, dict) else None for e in raw}
            if len(raw) >= page_size and seen and page_ids <= seen:
                raise BadResponse(f"the server sent the same {len(raw)} items again for the page at {start} "
                                  "(it ignores startIndex?); stopped reading the library",
                                  hint="a proxy may be caching /Items, or the server is not Jellyfin")
            if total is not None and start >= total and raw:
                raise BadResponse(f"the server keeps sending items past the {total} it reported; stopped reading",
                                  hint="is this a Jellyfin server?")
            if remember_all:
                seen.update(page_ids)
            else:
                seen = page_ids
            yield raw
            if len(raw) < page_size:
                return
            start += len(raw)
        raise BadResponse(f"the server sent more than {MAX_PAGED_ITEMS} items without a last page; stopped reading",
                          hint="is this a Jellyfin server?")

    async def resume_items(self, library_ids: Iterable[str] | None = None) -> list[Item]:
        """Every resumable movie and episode of this user (position > 0), one pass per library if given.

        On 12.0 `/Items?filters=IsResumable` leaves out alternate versions (and the whole movie when an alternate
        was played last), so 12.0 is read from /UserItems/Resume, which lists the version played (gotcha 19).
        """
        base = {"userId": self._uid(), "recursive": True, "filters": "IsResumable", "includeItemTypes": RESUME_TYPES,
                "fields": "ProviderIds", "enableImages": False, "enableTotalRecordCount": False,
                "sortBy": "SortName"}
        path = "/Items"
        if await self.has_versions():
            path, base = "/UserItems/Resume", {k: v for k, v in base.items() if k not in ("filters", "sortBy")}
        parents: list[str | None] = list(library_ids) if library_ids is not None else [None]
        seen: dict[str, Item] = {}
        for parent in parents:
            params = base if parent is None else {**base, "parentId": parent}
            async for raw in self._paged(params, self.resume_page_size, path=path):
                _fresh(self._items(raw), seen)
        return list(seen.values())

    async def played_pages(self, library_ids: Iterable[str] | None = None,
                           page_size: int = 500) -> AsyncIterator[list[Item]]:
        """This user's played movies and episodes (`/Items?filters=IsPlayed`), a page at a time, each item once; one
        pass per library if given.

        `filters=IsPlayed` is answered from the stored rows (gotcha 17), the same place a restore writes to. Pages
        rather than a list, and only the previous page's ids kept, so a snapshot of a large library streams in flat
        memory. Sort keys are not unique, so a page may repeat the end of the one before: those are dropped (a
        repeat further away would be a second line for the item; a restore reads it as the same item)."""
        base = {"userId": self._uid(), "recursive": True, "filters": "IsPlayed", "includeItemTypes": RESUME_TYPES,
                "fields": "ProviderIds", "enableImages": False, "isMissing": False, "enableTotalRecordCount": False,
                "sortBy": "SortName", "sortOrder": "Ascending"}
        for parent in list(library_ids) if library_ids is not None else [None]:
            params = base if parent is None else {**base, "parentId": parent}
            previous: set[str] = set()
            async for raw in self._paged(params, page_size, remember_all=False):
                new = [item for item in self._items(raw) if item.id not in previous]
                previous = {item.id for item in new}
                if new:
                    yield new

    async def played_items(self, library_ids: Iterable[str] | None = None, page_size: int = 500) -> list[Item]:
        """Every movie and episode this user has marked played (setting `played`), one pass per library if given,
        each once."""
        seen: dict[str, Item] = {}
        async for page in self.played_pages(library_ids, page_size):
            _fresh(page, seen)
        return list(seen.values())

    async def has_versions(self) -> bool:
        """12.0 keeps progress per version of a movie and hides alternate versions from /Items (§2.6)."""
        return (await self.public_info()).version_tuple >= (12,)

    def _library_params(self, types: str, parent_id: str | None) -> dict[str, Any]:
        return {"userId": self._library_user(), "recursive": True, "includeItemTypes": types, "fields": "ProviderIds",
                "enableImages": False, "isMissing": False, "sortBy": "SortName,ProductionYear",
                "sortOrder": "Ascending", "enableTotalRecordCount": False, "parentId": parent_id}

    async def library_pages(self, types: Iterable[str] = ("Movie",), parent_id: str | None = None,
                            page_size: int = 500) -> AsyncIterator[list[Item]]:
        """The matching index, one page of new (de-duplicated) items at a time; for series use series_list()."""
        seen: dict[str, Item] = {}
        async for raw in self._paged(self._library_params(",".join(types), parent_id), page_size):
            new = _fresh(self._items(raw), seen)
            if new:
                yield new

    async def series_list(self, parent_id: str | None = None, page_size: int = 500) -> list[Series]:
        seen: dict[str, Series] = {}
        async for raw in self._paged(self._library_params("Series", parent_id), page_size):
            parsed = [dto.parse_series(entry) for entry in raw]
            self.skipped_malformed += sum(1 for s in parsed if s is None)
            _fresh([s for s in parsed if s is not None], seen)
        return list(seen.values())

    async def episodes(self, series_id: str) -> list[Item]:
        """Every episode of a series, with provider ids and this user's data."""
        items = await self._get(f"/Shows/{self._item_id(series_id)}/Episodes",
                                {"userId": self._library_user(), "fields": "ProviderIds", "enableImages": False,
                                 "isMissing": False},
                                parse=self._items)
        return _fresh(items, {})

    async def items_by_ids(self, ids: Iterable[str], *, versions: bool = False,
                           resumable_only: bool = False) -> list[Item]:
        """Items with this user's data, fetched ~100 ids per request; unknown or hidden ids are simply absent.

        `versions` also asks for MediaSources (12.0 alternate versions). `resumable_only` adds filters=IsResumable,
        which the server answers from its stored rows, not from its per-item cache (gotcha 17): the way to verify a
        write against what is really stored.
        """
        wanted = list(dict.fromkeys(i for i in (dto.norm_id(x) for x in ids) if i))
        uid = self._uid()
        params = {"userId": uid, "fields": "ProviderIds,MediaSources" if versions else "ProviderIds",
                  "enableImages": False, "enableTotalRecordCount": False,
                  "filters": "IsResumable" if resumable_only else None}
        seen: dict[str, Item] = {}
        for start in range(0, len(wanted), IDS_BATCH):
            batch = wanted[start:start + IDS_BATCH]
            _fresh(await self._get("/Items", {**params, "ids": ",".join(batch)}, parse=self._items), seen)
        return list(seen.values())

    async def version_items(self, primary: Item) -> list[Item]:
        """The other versions of a 12.0 movie (`primary.version_ids`), each with its own user data.

        /Items drops alternate versions, so each is read by its id (GET /Items/{id} works for any version); one that
        cannot be read is left out.
        """
        out = []
        for vid in primary.version_ids:
            if vid == primary.id:
                continue
            try:
                out.append(await self.item(vid))
            except ServerError:
                continue
        return out

    async def item(self, item_id: str) -> Item:
        """One movie or episode with this user's data; NotFound when it is gone or hidden."""
        uid, iid = self._uid(), self._item_id(item_id)
        if await self._legacy():
            return await self._get(f"/Users/{uid}/Items/{iid}", parse=_one_item, messages=USER_DATA)
        return await self._get(f"/Items/{iid}", {"userId": uid}, parse=_one_item, messages=USER_DATA)

    async def user_data(self, item_id: str) -> UserData:
        """This user's play state for one item (10.8 has no UserData route, so it reads the whole item)."""
        if await self._legacy():
            item = await self.item(item_id)
            if item.user_data is None:
                raise BadResponse(f"item {item.id} came back without UserData")
            return item.user_data
        return await self._get(f"/UserItems/{self._item_id(item_id)}/UserData", {"userId": self._uid()},
                               parse=dto.require_user_data, messages=USER_DATA)

    async def sessions(self) -> list[Session]:
        raw = await self._get("/Sessions", parse=_array)
        return [s for s in (dto.parse_session(entry) for entry in raw) if s is not None]

    # --- writing (never retried) ---------------------------------------------------------------------

    async def write_user_data(self, item_id: str, position_ticks: int | None = None, played: bool | None = None,
                              play_count: int | None = None, last_played: datetime | None = None) -> UserData:
        """POST /UserItems/{id}/UserData with only the fields given; returns what the server stored.

        The server copies fields as sent (no resume rules). 10.8 has no such route and the only other way,
        playback reports, has side effects, so a 10.8 server raises DestinationTooOld.
        """
        if await self._legacy():
            info = await self.public_info()
            raise DestinationTooOld(info.name or self.base_url, info.version)
        body: dict[str, Any] = {}
        if position_ticks is not None:
            body["PlaybackPositionTicks"] = int(position_ticks)
        if played is not None:
            body["Played"] = bool(played)
        if play_count is not None:
            body["PlayCount"] = int(play_count)
        if last_played is not None:
            body["LastPlayedDate"] = dto.format_date(last_played)
        return await self._write("POST", f"/UserItems/{self._item_id(item_id)}/UserData", {"userId": self._uid()},
                                 body, parse=dto.require_user_data)

    async def mark_played(self, item_id: str, date_played: datetime | None = None) -> UserData:
        """Played=true and position 0 (the server's MarkPlayed); PlayCount grows only when date_played is given."""
        date = dto.format_date(date_played) if date_played is not None else None
        return await self._played("POST", item_id, {"datePlayed": date})

    async def mark_unplayed(self, item_id: str) -> UserData:
        """Played=false, PlayCount 0, position 0, LastPlayedDate cleared."""
        return await self._played("DELETE", item_id, {})

    async def _played(self, method: str, item_id: str, params: dict[str, Any]) -> UserData:
        uid, iid = self._uid(), self._item_id(item_id)
        if await self._legacy():
            return await self._write(method, f"/Users/{uid}/PlayedItems/{iid}", params,
                                     parse=dto.require_user_data)
        return await self._write(method, f"/UserPlayedItems/{iid}", {"userId": uid, **params},
                                 parse=dto.require_user_data)

    @staticmethod
    def _item_id(item_id: str) -> str:
        """An id fit for a URL path: `.`/`..` or any path, query or escape character is refused, so a server's
        id can never point a request at another route."""
        iid = dto.url_id(item_id)
        if iid is None:
            raise UsageError(f"not an item id: {safe_text(repr(item_id))}")
        return iid


def _page(data: Any) -> tuple[list[Any], int | None]:
    """A QueryResult's items and, when the server counted them anyway, its TotalRecordCount (with
    enableTotalRecordCount=false a server sends the page size, which says nothing)."""
    items = dto.query_items(data)
    count = dto.parse_int(data.get("TotalRecordCount")) if isinstance(data, dict) else None
    return items, (count if count is not None and count > len(items) else None)


def _fresh(items: list[T], seen: dict[str, Any]) -> list[T]:
    """The items whose id is not in `seen` yet, added to it (sort keys are not unique, so pages overlap)."""
    new = [item for item in items if item.id not in seen]  # type: ignore[attr-defined]
    for item in new:
        seen[item.id] = item  # type: ignore[attr-defined]
    return new


def _one_item(data: Any) -> Item:
    if not isinstance(data, dict):
        raise BadResponse(f"expected a JSON object, got {type(data).__name__}")
    item = dto.parse_item(data)
    if item is None:
        raise BadResponse(f"item is a {data.get('Type') or 'thing without an Id'}, not a movie or an episode")
    return item


def _array(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise BadResponse(f"expected a JSON array, got {type(data).__name__}")
    return data
