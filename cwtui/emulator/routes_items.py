"""Routes that list and fetch items (/Items, views, resume, episodes) and the query engine behind them."""

from __future__ import annotations

from datetime import UTC, datetime

from cwtui.emulator import versions
from cwtui.emulator.dto import item_dto, norm_guid, query_result
from cwtui.emulator.routes_base import HttpError, Request, Response, json_response, not_found, route, text, v
from cwtui.emulator.state import EmulatorState, ItemRec

BASE_ITEM_KINDS = frozenset({
    "AggregateFolder", "Audio", "AudioBook", "BasePluginFolder", "Book", "BoxSet", "Channel", "ChannelFolderItem",
    "CollectionFolder", "Episode", "Folder", "Genre", "ManualPlaylistsFolder", "Movie", "LiveTvChannel",
    "LiveTvProgram", "MusicAlbum", "MusicArtist", "MusicGenre", "MusicVideo", "Person", "Photo", "PhotoAlbum",
    "Playlist", "PlaylistsFolder", "Program", "Recording", "Season", "Series", "Studio", "Trailer", "TvChannel",
    "TvProgram", "UserRootFolder", "UserView", "Video", "Year"})
SORT_KEYS = frozenset({
    "Default", "AiredEpisodeOrder", "Album", "AlbumArtist", "Artist", "DateCreated", "OfficialRating", "DatePlayed",
    "PremiereDate", "StartDate", "SortName", "Name", "Random", "Runtime", "CommunityRating", "ProductionYear",
    "PlayCount", "CriticRating", "IsFolder", "IsUnplayed", "IsPlayed", "SeriesSortName", "VideoBitRate", "AirTime",
    "Studio", "IsFavoriteOrLiked", "DateLastContentAdded", "SeriesDatePlayed", "ParentIndexNumber", "IndexNumber"})
FILTERS = frozenset({"IsFolder", "IsNotFolder", "IsUnplayed", "IsPlayed", "IsFavorite", "IsResumable", "Likes",
                     "Dislikes", "IsFavoriteOrLikes"})
_CONTENT_TYPES = ("Movie", "Series", "Season", "Episode")
_FOLDERS = frozenset({"Series", "Season", "CollectionFolder"})
_MIN_DATE = datetime.min.replace(tzinfo=UTC)


def _enum_list(values: list[str], allowed: frozenset[str]) -> list[str]:
    """Enum-array binding: case-insensitive, unknown values silently dropped (as the real binder does)."""
    by_lower = {a.lower(): a for a in allowed}
    return [by_lower[x.lower()] for x in values if x.lower() in by_lower]


def _type_index(state: EmulatorState) -> dict[str, list[ItemRec]]:
    """Items per type in (SortName, Id) order, rebuilt only when the library's structure changes."""
    cached = state.query_cache.get(("__types__",))
    if cached and cached[0] == state.structure_generation:
        return cached[1]  # type: ignore[return-value]
    index: dict[str, list[ItemRec]] = {}
    for rec in state.items.values():
        index.setdefault(rec.type, []).append(rec)
    for recs in index.values():
        recs.sort(key=lambda r: (r.sort_name, r.id))
    state.query_cache[("__types__",)] = (state.structure_generation, index)  # type: ignore[assignment]
    return index


def _under(rec: ItemRec, parent: ItemRec) -> bool:
    """Is rec a descendant of parent (library, series or season)?"""
    if parent.type == "CollectionFolder":
        return rec.library_id == parent.id and rec.id != parent.id
    if parent.type == "Series":
        return rec.series_id == parent.id and rec.type in ("Season", "Episode")
    if parent.type == "Season":
        return rec.season_id == parent.id
    return False


def _sort(state: EmulatorState, recs: list[ItemRec], sort_by: list[str], orders: list[str],
          user_id: str | None) -> list[ItemRec]:
    rows = _user_rows(state, user_id)

    def date_played(r: ItemRec):
        row = rows(r)
        return row.last_played if row and row.last_played else _MIN_DATE

    keys = {
        "SortName": lambda r: r.sort_name,
        "Name": lambda r: r.name.lower(),
        "ProductionYear": lambda r: r.year or 0,
        "IndexNumber": lambda r: -1 if r.index_number is None else r.index_number,
        "ParentIndexNumber": lambda r: -1 if r.parent_index_number is None else r.parent_index_number,
        "DatePlayed": date_played,
        "DateCreated": lambda r: r.date_created or _MIN_DATE,
        "Runtime": lambda r: r.runtime_ticks or 0,
        "SeriesSortName": lambda r: (r.series_name or "").lower(),
        "PremiereDate": lambda r: r.year or 0,
        "PlayCount": lambda r: (row.play_count if (row := rows(r)) else 0),
        "IsFolder": lambda r: r.type in _FOLDERS,
    }
    chosen = [(k, keys[k]) for k in sort_by if k in keys]
    if not chosen:
        return recs
    out = list(recs)
    first_desc = bool(orders) and orders[0].lower() == "descending"
    for i in range(len(chosen) - 1, -1, -1):
        desc = (orders[i].lower() == "descending") if i < len(orders) else first_desc
        out.sort(key=chosen[i][1], reverse=desc)
    return out


def _user_rows(state: EmulatorState, user_id: str | None):
    """The stored row each user-data filter and sort reads (jellyfin-api.md §2.3), not the DTO cache."""
    if not user_id:
        return lambda r: None
    stored = state.store.stored
    return lambda r: (found[1] if (found := stored(user_id, r)) else None)


def run_query(req: Request, *, user_id: str | None, parent_id: str | None, recursive: bool,
              resume: bool = False) -> tuple[list[ItemRec], int]:
    """Everything /Items and /UserItems/Resume share: scope, filters, sort. Returns (all matches, count)."""
    state = req.state
    types = _enum_list(req.q_list("includeItemTypes"), BASE_ITEM_KINDS)
    exclude = set(_enum_list(req.q_list("excludeItemTypes"), BASE_ITEM_KINDS))
    filters = set(_enum_list(req.q_list("filters"), FILTERS))
    if resume:
        filters.add("IsResumable")
    sort_by = _enum_list(req.q_list("sortBy"), SORT_KEYS) if state.at_least(10, 9) else req.q_list("sortBy")
    orders = req.q_list("sortOrder")
    if resume:
        sort_by, orders = ["DatePlayed"], ["Descending"]
    elif not sort_by:
        sort_by = ["SortName"]
    ids = [i for i in (req.q_list("ids")) if i]
    search = (req.q("searchTerm") or "").strip().lower()
    is_played = req.q_bool("isPlayed")
    parent_index = req.q_int("parentIndexNumber")
    index = req.q_int("indexNumber") if state.at_least(10, 10) else None
    media_types = {m.lower() for m in req.q_list("mediaTypes")}
    has = {k: req.q_bool(f"has{k}Id") for k in ("Imdb", "Tmdb", "Tvdb")}
    exclude_active = resume and bool(req.q_bool("excludeActiveSessions"))
    is_missing = False if resume else req.q_bool("isMissing")  # the resume list sets IsVirtualItem=false
    no_virtual = "virtual" in {t.lower() for t in req.q_list("excludeLocationTypes")}
    owned = _owned_mode(req, resume, filters)
    user_dependent = bool(filters & {"IsResumable", "IsPlayed", "IsUnplayed", "IsFavorite", "Likes", "Dislikes",
                                     "IsFavoriteOrLikes"}) or is_played is not None or "DatePlayed" in sort_by \
        or "PlayCount" in sort_by or exclude_active
    key = ("q", user_id, parent_id, recursive, tuple(types), tuple(sorted(exclude)), tuple(sorted(filters)),
           tuple(sort_by), tuple(orders), tuple(ids), search, is_played, parent_index, index,
           tuple(sorted(media_types)), tuple(has.items()), exclude_active, is_missing, no_virtual, owned)
    parent = state.items.get(parent_id) if parent_id else None
    if parent is not None and parent.type not in _FOLDERS:
        parent = None  # not a folder: the server falls back to the user's root folder
    if parent is not None and user_id and not state.visible(user_id, parent) and not req.caller_is_api_key:
        user = state.users[user_id]
        raise HttpError(text(401, f"{user.name} is not permitted to access Library {parent.name}."))
    gen = state.generation if user_dependent else state.structure_generation
    cached = state.query_cache.get(key)
    if cached and cached[0] == gen:
        return cached[1], len(cached[1])

    rows = _user_rows(state, user_id)
    # IsResumable starts from the user's rows, as the database's join does, not from every item of the library.
    from_rows = bool(user_id) and "IsResumable" in filters and recursive and not ids and not resume
    if ids:
        wanted = [norm_guid(i) for i in ids]
        cands = [state.items[i] for i in dict.fromkeys(w for w in wanted if w) if i in state.items]
    elif resume and user_id:
        cands = [state.items[iid] for iid in dict.fromkeys(state.store.resume_candidates(user_id))]
    elif from_rows:  # the user's rows with a position, in the order the type scan below would give
        rank = {t: n for n, t in enumerate(types or _CONTENT_TYPES)}
        cands = sorted((r for iid in dict.fromkeys(state.store.resume_candidates(user_id))
                        if (r := state.items.get(iid)) is not None and r.type in rank),
                       key=lambda r: (rank[r.type], r.sort_name, r.id))
    elif parent is None and not recursive:
        cands = [state.items[lid] for lid in state.libraries]
    else:
        tindex = _type_index(state)
        pool_types = [t for t in (types or _CONTENT_TYPES) if t in tindex]
        cands = [r for t in pool_types for r in tindex[t]]
        if parent is not None:
            if recursive:
                cands = [r for r in cands if _under(r, parent)]
            else:
                kids = set(state.children.get(parent.id, ()))
                cands = [r for r in cands if r.id in kids]
    out: list[ItemRec] = []
    playing = state.playing_item_ids(user_id) if exclude_active and user_id else set()
    type_set = set(types)
    for r in cands:
        if type_set and r.type not in type_set:
            continue
        if r.type in exclude or (user_id and not state.visible(user_id, r)):
            continue
        virtual = r.location_type == "Virtual"
        if (is_missing is not None and virtual != is_missing) or (no_virtual and virtual):
            continue
        if owned and r.type == "Movie" and not _keep_version(state, r, owned, user_id):
            continue
        if parent is not None and (ids or resume or from_rows) and not _under(r, parent):
            continue
        if search and search not in r.name.lower():
            continue
        if parent_index is not None and r.parent_index_number != parent_index:
            continue
        if index is not None and r.index_number != index:
            continue
        if media_types and ("video" if r.type in ("Movie", "Episode") else "unknown") not in media_types:
            continue
        if any(want is not None and (k.lower() in {p.lower() for p in r.provider_ids}) != want
               for k, want in has.items()):
            continue
        if "IsFolder" in filters and r.type not in _FOLDERS or "IsNotFolder" in filters and r.type in _FOLDERS:
            continue
        if user_dependent:
            if not user_id:
                continue  # these filters need a user; without one nothing matches
            row = rows(r)
            played = bool(row and row.played)
            if "IsResumable" in filters and not state.store.resumable(user_id, r):
                continue
            if "IsPlayed" in filters and not played or "IsUnplayed" in filters and played:
                continue
            if is_played is not None and played != is_played:
                continue
            if "IsFavorite" in filters and not (row and row.is_favorite):
                continue
            if r.id in playing:
                continue
        out.append(r)
    out = _sort(state, out, sort_by, orders, user_id)
    if len(state.query_cache) > 64:
        state.query_cache.clear()
    state.query_cache[key] = (gen, out)
    return out, len(out)


_STREAM_FILTERS = ("hasSubtitles", "subtitleLanguages", "audioLanguages", "is3D", "isHD", "is4K", "videoTypes")


def _owned_mode(req: Request, resume: bool, filters: set[str]) -> str | None:
    """12.0 only: how a query treats owned alternate versions (jellyfin-api.md §2.6 table); None = as any item."""
    if not req.state.at_least(12):
        return None
    if resume:
        return "newest"       # /UserItems/Resume: IncludeOwnedItems, one version per movie
    if "IsResumable" in filters:
        return "primary"      # owned alternates dropped, the primary too when an alternate is newest
    if any(req.q(name) is not None for name in _STREAM_FILTERS):
        return None           # a media-stream filter turns IncludeOwnedItems on
    return "no_owned"         # every item with a PrimaryVersionId dropped, ids= included


def _keep_version(state: EmulatorState, r: ItemRec, mode: str, user_id: str | None) -> bool:
    if mode == "no_owned":
        return r.primary_version_id is None
    if mode == "primary" and r.primary_version_id is not None:
        return False
    if user_id is None or len(state.versions_of(r)) < 2:
        return True
    newest = versions.newest_in_progress(state, user_id, r)
    return newest is None or newest.id == r.id


def _page(req: Request, recs: list[ItemRec], *, user_id: str | None, all_fields: bool = False) -> Response:
    start = max(req.q_int("startIndex") or 0, 0)
    limit = req.q_int("limit")
    page = recs[start:] if limit is None else recs[start:start + max(limit, 0)]
    fields = frozenset(f.lower() for f in req.q_list("fields"))
    enable_ud = req.q_bool("enableUserData")
    items = [item_dto(req.state, r, user_id=user_id, fields=fields, enable_user_data=enable_ud is not False,
                      all_fields=all_fields) for r in page]
    total = len(recs) if req.q_bool("enableTotalRecordCount") is not False else len(items)
    return json_response(query_result(items, total, start))


def _items(req: Request, requested_user: str | None) -> Response:
    """An unknown userId: 10.9+ ResourceNotFoundException (404 text/plain); 10.8 treats it as no user (§2.1)."""
    uid = req.resolve_user_id(requested_user)
    if uid is not None and uid not in req.state.users:
        if req.state.at_least(10, 9):
            raise HttpError(text(404))
        uid = None
    recs, _ = run_query(req, user_id=uid, parent_id=req.q_guid("parentId"), recursive=bool(req.q_bool("recursive")))
    return _page(req, recs, user_id=uid)


@route("GET", "/Items")
def get_items(req: Request) -> Response:
    return _items(req, req.q_guid("userId"))


@route("GET", "/Users/{userId}/Items")
def get_user_items(req: Request) -> Response:
    return _items(req, req.p_guid("userId"))


def _resume(req: Request, requested_user: str | None) -> Response:
    user = req.require_user(requested_user)
    recs, _ = run_query(req, user_id=user.id, parent_id=req.q_guid("parentId"), recursive=True, resume=True)
    return _page(req, recs, user_id=user.id)


@route("GET", "/UserItems/Resume", when=v(10, 9))
def resume(req: Request) -> Response:
    return _resume(req, req.q_guid("userId"))


@route("GET", "/Users/{userId}/Items/Resume")
def user_resume(req: Request) -> Response:
    return _resume(req, req.p_guid("userId"))


def _one(req: Request, requested_user: str | None) -> Response:
    user = req.require_user(requested_user)
    rec = req.state.items.get(req.p_guid("itemId"))
    if rec is None or not req.state.visible(user.id, rec):
        raise not_found()
    return json_response(item_dto(req.state, rec, user_id=user.id, all_fields=True))


@route("GET", "/Items/{itemId}", when=v(10, 9))
def get_item(req: Request) -> Response:
    return _one(req, req.q_guid("userId"))


@route("GET", "/Users/{userId}/Items/{itemId}")
def get_user_item(req: Request) -> Response:
    return _one(req, req.p_guid("userId"))


def _views(req: Request, requested_user: str | None) -> Response:
    user = req.require_user(requested_user)
    s = req.state
    recs = [s.items[lid] for lid in s.libraries if s.visible(user.id, s.items[lid])]
    fields = frozenset(f.lower() for f in req.q_list("fields"))
    items = [item_dto(s, r, user_id=user.id, fields=fields) for r in recs]
    return json_response(query_result(items, len(items), 0))


@route("GET", "/UserViews", when=v(10, 9))
def user_views(req: Request) -> Response:
    return _views(req, req.q_guid("userId"))


@route("GET", "/Users/{userId}/Views")
def user_views_legacy(req: Request) -> Response:
    return _views(req, req.p_guid("userId"))


@route("GET", "/Shows/{seriesId}/Episodes")
def episodes(req: Request) -> Response:
    s = req.state
    uid = req.resolve_user_id(req.q_guid("userId"))
    if uid is not None and uid not in s.users:
        uid = None
    series = s.items.get(req.p_guid("seriesId"))
    if series is None or series.type != "Series" or (uid and not s.visible(uid, series)):
        raise not_found()
    season_id = req.q_guid("seasonId")
    season_no = req.q_int("season")
    if season_id is not None:
        season = s.items.get(season_id)
        if season is None or season.type != "Season":
            raise not_found()
    recs = [s.items[e] for sid in s.children.get(series.id, ()) for e in s.children.get(sid, ())]
    recs = [r for r in recs if r.type == "Episode" and (uid is None or s.visible(uid, r))
            and (season_id is None or r.season_id == season_id)
            and (season_no is None or r.parent_index_number == season_no)]
    show_missing = _display_missing(req, uid)
    is_missing = req.q_bool("isMissing")
    recs = [r for r in recs if (show_missing or r.location_type != "Virtual")
            and (is_missing is None or (r.location_type == "Virtual") == is_missing)]
    recs.sort(key=lambda r: (r.parent_index_number or 0, r.index_number or 0, r.sort_name))
    return _page(req, recs, user_id=uid)


def _display_missing(req: Request, uid: str | None) -> bool:
    """Virtual episodes in the list: for API-key callers and DisplayMissingEpisodes users (10.9+); 10.8 by the
    user's setting alone (TvShowsController / Series.GetEpisodes, jellyfin-api.md §3)."""
    user = req.state.users.get(uid or "")
    by_setting = bool(user and user.display_missing_episodes)
    return by_setting or (req.state.at_least(10, 9) and req.caller_is_api_key)
