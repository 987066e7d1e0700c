"""Routes for system info, users, sign-in (password and Quick Connect), API keys and logout."""

from __future__ import annotations

from cwtui.emulator.dto import EMPTY_GUID, format_date, session_dto, user_dto
from cwtui.emulator.routes_base import (
    HttpError, Request, Response, empty, json_response, not_found, problem, route, text, v,
)
from cwtui.emulator.state import QuickConnectAlreadyAuthorized, UserRec

# --- system --------------------------------------------------------------------------------------------


def _public_info(req: Request) -> dict:
    s = req.state
    host = req.headers.get("host", "127.0.0.1")
    return {"LocalAddress": f"http://{host}", "ServerName": s.server_name, "Version": s.version,
            "ProductName": "Jellyfin Server", "OperatingSystem": "", "Id": s.server_id,
            "StartupWizardCompleted": True}


@route("GET", "/System/Info/Public", anonymous=True)
def public_info(req: Request) -> Response:
    return json_response(_public_info(req))


@route("GET", "/System/Info")
def system_info(req: Request) -> Response:
    info = {"OperatingSystemDisplayName": "", "HasPendingRestart": False, "IsShuttingDown": False,
            "SupportsLibraryMonitor": True, "WebSocketPortNumber": 8096, "CompletedInstallations": [],
            "CanSelfRestart": True, "CanLaunchWebBrowser": False, "ProgramDataPath": "/config",
            "WebPath": "/jellyfin/jellyfin-web", "ItemsByNamePath": "/config/metadata", "CachePath": "/cache",
            "LogPath": "/config/log", "InternalMetadataPath": "/config/metadata",
            "TranscodingTempPath": "/cache/transcodes", "CastReceiverApplications": [],
            "HasUpdateAvailable": False, "EncoderLocation": "System", "SystemArchitecture": "X64"}
    info.update(_public_info(req))
    return json_response(info)


@route("GET", "/System/Ping", anonymous=True)
@route("POST", "/System/Ping", anonymous=True)
def ping(req: Request) -> Response:
    return json_response("Jellyfin Server")


@route("GET", "/System/Configuration")
def configuration(req: Request) -> Response:
    cfg = req.state.config
    out = {"LogFileRetentionDays": 3, "IsStartupWizardCompleted": True, "EnableMetrics": False,
           "EnableNormalizedItemByNameIds": True, "IsPortAuthorized": True, "QuickConnectAvailable":
           bool(cfg["QuickConnectAvailable"]), "EnableCaseSensitiveItemIds": True,
           "DisableLiveTvChannelUserDataName": True, "MetadataPath": "", "PreferredMetadataLanguage": "en",
           "MetadataCountryCode": "US", "SortReplaceCharacters": [".", "+", "%"],
           "SortRemoveCharacters": [",", "&", "-", "{", "}", "'"], "SortRemoveWords": ["the", "a", "an"],
           "MinResumePct": cfg["MinResumePct"], "MaxResumePct": cfg["MaxResumePct"],
           "MinResumeDurationSeconds": cfg["MinResumeDurationSeconds"],
           "MinAudiobookResume": cfg["MinAudiobookResume"], "MaxAudiobookResume": cfg["MaxAudiobookResume"],
           "InactiveSessionThreshold": 0, "LibraryMonitorDelay": 60, "LibraryUpdateDuration": 30,
           "ServerName": req.state.server_name, "UICulture": "en-US", "SaveMetadataHidden": False,
           "RemoteClientBitrateLimit": 0, "EnableFolderView": False,
           "DisplaySpecialsWithinSeasons": True}
    if "EnableLegacyAuthorization" in cfg:
        out["EnableLegacyAuthorization"] = bool(cfg["EnableLegacyAuthorization"])
    return json_response(out)


# --- users ---------------------------------------------------------------------------------------------


@route("GET", "/Users/Me")
def users_me(req: Request) -> Response:
    user = req.state.users.get(req.caller_user_id or "")
    if user is None:
        return text(400, "Error processing request.")  # an API key has no user
    return json_response(user_dto(req.state, user))


@route("GET", "/Users")
def users_list(req: Request) -> Response:
    disabled = req.q_bool("isDisabled")
    users = [u for u in req.state.users.values() if disabled is None or u.is_disabled == disabled]
    return json_response([user_dto(req.state, u) for u in users])


@route("GET", "/Users/Public", anonymous=True)
def users_public(req: Request) -> Response:
    # Our UserDto says IsHidden=false, so every enabled user shows on the login screen (as in sample 4).
    return json_response([user_dto(req.state, u) for u in req.state.users.values() if not u.is_disabled])


@route("GET", "/Users/{userId}")
def user_by_id(req: Request) -> Response:
    user = req.state.users.get(req.p_guid("userId"))
    if user is None:
        raise not_found()
    return json_response(user_dto(req.state, user))


# --- sign-in -------------------------------------------------------------------------------------------

_REQUIRED = ("Client", "Device", "DeviceId", "Version")


def _device_fields(req: Request) -> dict[str, str]:
    """10.9+ refuses a sign-in whose header lacks Client, Device, DeviceId or Version (ArgumentException)."""
    fields = req.auth_fields
    if req.state.at_least(10, 9):
        for key in _REQUIRED:
            if not fields.get(key):
                raise HttpError(text(400, f"{key} is required."))
    return fields


def _auth_result(req: Request, user: UserRec) -> Response:
    fields = req.auth_fields
    token, session = req.state.login(user, client=fields.get("Client", ""), device=fields.get("Device", ""),
                                     device_id=fields.get("DeviceId", ""), version=fields.get("Version", ""))
    return json_response({"User": user_dto(req.state, user), "SessionInfo": session_dto(req.state, session),
                          "AccessToken": token, "ServerId": req.state.server_id})


@route("POST", "/Users/AuthenticateByName", anonymous=True)
def authenticate_by_name(req: Request) -> Response:
    body = req.json_body()
    if not isinstance(body, dict):
        raise HttpError(problem(400, {"$": ["The JSON value could not be converted."]}))
    _device_fields(req)
    name, password = body.get("Username") or "", body.get("Pw") or ""
    user = req.state.user_by_name(name)
    if user is None:
        return text(401, "Invalid username or password entered.")
    if user.is_disabled:
        return text(403, f"The {user.name} account is currently disabled. Please consult with your administrator.")
    if password != user.password:
        user.invalid_attempts += 1
        limit = user.login_attempts_before_lockout
        limit = 3 if limit == 0 else limit  # jellyfin-api.md §1.2: a policy value of 0 means 3; -1 never locks
        if limit > 0 and user.invalid_attempts >= limit:
            user.is_disabled = True
        req.state._touch()
        return text(401, "Invalid username or password entered.")
    return _auth_result(req, user)


def _quick_connect_on(req: Request) -> None:
    if not req.state.config.get("QuickConnectAvailable"):
        raise HttpError(text(401, "Quick connect is disabled"))


@route("GET", "/QuickConnect/Enabled", anonymous=True)
def qc_enabled(req: Request) -> Response:
    return json_response(bool(req.state.config.get("QuickConnectAvailable")))


def _qc_result(rec) -> dict:
    return {"Authenticated": rec.authenticated, "Secret": rec.secret, "Code": rec.code, "DeviceId": rec.device_id,
            "DeviceName": rec.device_name, "AppName": rec.app_name, "AppVersion": rec.app_version,
            "DateAdded": format_date(rec.date_added)}


def _initiate(req: Request) -> Response:
    _quick_connect_on(req)
    fields = req.auth_fields
    for key in _REQUIRED:
        if not fields.get(key):
            return text(400, f"{key} is required.")
    rec = req.state.quick_connect_initiate(device_id=fields["DeviceId"], device_name=fields["Device"],
                                           app_name=fields["Client"], app_version=fields["Version"])
    return json_response(_qc_result(rec))


route("POST", "/QuickConnect/Initiate", anonymous=True, when=v(10, 9))(_initiate)
route("GET", "/QuickConnect/Initiate", anonymous=True, when=lambda s: not s.at_least(12))(_initiate)


@route("GET", "/QuickConnect/Connect", anonymous=True)
def qc_connect(req: Request) -> Response:
    _quick_connect_on(req)
    rec = req.state.quick_connect_lookup(req.q("secret") or "")
    if rec is None:
        return text(404, "Unknown secret")
    return json_response(_qc_result(rec))


@route("POST", "/QuickConnect/Authorize")
def qc_authorize(req: Request) -> Response:
    _quick_connect_on(req)
    uid = req.resolve_user_id(req.q_guid("userId")) if req.state.at_least(10, 9) else req.caller_user_id
    if uid is None or uid not in req.state.users:
        raise not_found()
    try:
        if not req.state.quick_connect_authorize(req.q("code") or "", uid):
            return text(404)  # ResourceNotFoundException: unknown or expired code
    except QuickConnectAlreadyAuthorized:
        return text(500)
    return json_response(True)


@route("POST", "/Users/AuthenticateWithQuickConnect", anonymous=True)
def authenticate_quick_connect(req: Request) -> Response:
    """The AuthenticationResult stored at authorization: no header fields read, repeatable for 10 minutes, 404
    (text, ResourceNotFoundException) for an unknown, expired or not yet authorized secret (§1.4)."""
    body = req.json_body()
    secret = body.get("Secret") if isinstance(body, dict) else None
    _quick_connect_on(req)
    rec = req.state.quick_connect_lookup(secret or "") if isinstance(secret, str) else None
    if rec is None or not rec.authenticated or rec.result is None:
        return text(404)
    return json_response(rec.result)


# --- API keys (admin only) -----------------------------------------------------------------------------


def _require_admin(req: Request) -> None:
    if not req.caller_is_admin:
        raise HttpError(empty(403))  # a policy failure: empty body


@route("GET", "/Auth/Keys")
def list_keys(req: Request) -> Response:
    _require_admin(req)
    keys = [t for t in req.state.tokens.values() if t.is_api_key]
    items = [{"Id": n, "AccessToken": t.token, "DeviceId": "", "AppName": t.api_key_name, "AppVersion": "",
              "DeviceName": "", "UserId": EMPTY_GUID, "IsActive": True, "DateCreated": format_date(t.date_created),
              "DateLastActivity": "0001-01-01T00:00:00.0000000Z"} for n, t in enumerate(keys, 1)]
    return json_response({"Items": items, "TotalRecordCount": len(items), "StartIndex": 0})


@route("POST", "/Auth/Keys")
def create_key(req: Request) -> Response:
    _require_admin(req)
    app = req.q("app")
    if not app:
        raise HttpError(problem(400, {"app": ["The app field is required."]}))
    req.state.add_api_key(app)
    return empty(204)


@route("DELETE", "/Auth/Keys/{key}")
def delete_key(req: Request) -> Response:
    _require_admin(req)
    rec = req.state.tokens.get(req.params["key"])
    if rec is not None and rec.is_api_key:
        req.state.revoke_token(rec.token)
    return empty(204)


@route("POST", "/Sessions/Logout")
def logout(req: Request) -> Response:
    if req.token is not None:
        req.state.revoke_token(req.token.token)
    return empty(204)
