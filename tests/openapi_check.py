"""Checks requests and responses against Jellyfin's 10.11.11 OpenAPI spec (structure, enums, formats)."""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator

__all__ = ["find_operation", "spec", "spec_path", "validate_request", "validate_response", "validate_schema"]

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_DASHED = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE)


DATA_SPEC = Path(__file__).resolve().parent / "data" / "jellyfin-openapi.json"


def spec_path() -> Path:
    """$CWTUI_OPENAPI when set (to check against another copy), else the copy in tests/data (see its README)."""
    override = os.environ.get("CWTUI_OPENAPI")
    candidate = Path(override) if override else DATA_SPEC
    if not candidate.is_file():
        raise FileNotFoundError(f"jellyfin-openapi.json not found at {candidate}"
                                + (" ($CWTUI_OPENAPI)" if override else " (tests/data is part of the repository)"))
    return candidate


@functools.cache
def spec() -> dict:
    """The spec, loaded once per process."""
    return json.loads(spec_path().read_text(encoding="utf-8"))


def _format_checker() -> FormatChecker:
    """Structure-level formats; `uuid` accepts the 32-hex form the server really writes (gotcha 13)."""
    checker = FormatChecker(formats=())

    @checker.checks("uuid")
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or bool(_HEX32.match(value) or _DASHED.match(value))

    @checker.checks("date-time")
    def _dt(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    @checker.checks("int32")
    def _i32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def _i64(value: object) -> bool:
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    return checker


_CHECKER = _format_checker()


def validate_schema(schema: dict, instance: Any, where: str = "") -> list[str]:
    """Errors from validating instance against a schema of the spec ($refs resolve into its components)."""
    root = {"components": spec()["components"], "allOf": [schema]}
    validator = OAS30Validator(root, format_checker=_CHECKER)
    errors = []
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        location = "/".join(str(p) for p in err.absolute_path)
        errors.append(f"{where}{'/' + location if location else ''}: {err.message[:300]}")
    return errors


@functools.cache
def _templates() -> list[tuple[str, tuple[str, ...]]]:
    return [(tpl, tuple(seg for seg in tpl.split("/") if seg)) for tpl in spec()["paths"]]


def find_operation(method: str, path_or_template: str) -> tuple[str, dict]:
    """(template, operation) for a concrete path or a template; matching is case-insensitive like the server."""
    path = urlsplit(path_or_template).path
    path = re.sub(r"^/(emby|mediabrowser)(?=/)", "", path, flags=re.IGNORECASE)
    segs = tuple(seg for seg in path.split("/") if seg)
    best: tuple[int, str] | None = None
    for tpl, tsegs in _templates():
        if len(tsegs) != len(segs):
            continue
        literal = 0
        for t, s in zip(tsegs, segs):
            if t.startswith("{") and t.endswith("}"):
                continue
            if t.lower() != s.lower():
                break
            literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, tpl)
    if best is None:
        raise LookupError(f"{method} {path} is not in the 10.11.11 spec (a legacy /Users/{{id}}/... route?)")
    operation = spec()["paths"][best[1]].get(method.lower())
    if operation is None:
        raise LookupError(f"{method} {best[1]} is not in the spec (wrong method)")
    return best[1], operation


def _content_schema(content: dict | None) -> dict | None:
    if not content:
        return None
    for ctype in ("application/json", 'application/json; profile="PascalCase"'):
        if ctype in content:
            return content[ctype].get("schema")
    return None


def validate_response(method: str, path_template_or_path: str, status: int, body_json: Any) -> None:
    """Raise AssertionError when the body does not fit the spec's schema for that operation and status."""
    template, op = find_operation(method, path_template_or_path)
    responses = op.get("responses", {})
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        raise AssertionError(f"{method} {template}: status {status} is not documented ({sorted(responses)})")
    schema = _content_schema(response.get("content"))
    if schema is None:
        if body_json not in (None, b"", ""):
            raise AssertionError(f"{method} {template} {status}: the spec documents no JSON body")
        return
    errors = validate_schema(schema, body_json, f"{method} {template} {status}")
    if errors:
        raise AssertionError("response does not fit the spec:\n" + "\n".join(errors[:20]))


def _coerce_param(value: str, schema: dict) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value.lower(), value)
    return value


def validate_request(method: str, url: str, headers: dict[str, str] | None = None, body: Any = None) -> None:
    """Raise AssertionError when a request would not bind as the spec describes it.

    Checks: the route exists; every query name is a documented parameter (ASP.NET silently ignores unknown
    ones, which hides typos such as `AnyProviderIdEquals`); values fit their schema (arrays may be comma lists
    or repeated); required parameters are present; a JSON body fits the request schema; operations that need
    authentication carry `Authorization: MediaBrowser ... Token=`.
    """
    template, op = find_operation(method, url)
    errors: list[str] = []
    params = {p["name"].lower(): p for p in op.get("parameters", []) if p.get("in") == "query"}
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    seen = set()
    for name, values in query.items():
        param = params.get(name.lower())
        if param is None:
            errors.append(f"query parameter {name!r} is not a parameter of {template} (ignored by the server)")
            continue
        seen.add(name.lower())
        schema = param.get("schema", {})
        if schema.get("type") == "array":
            items = [part for v in values for part in v.split(",") if part != ""]
            item_schema = schema.get("items", {})
            for item in items:
                errors += validate_schema(item_schema, _coerce_param(item, _resolve(item_schema)), f"?{name}")
        else:
            for value in values:
                errors += validate_schema(schema, _coerce_param(value, _resolve(schema)), f"?{name}")
    for name, param in params.items():
        if param.get("required") and name not in seen:
            errors.append(f"required query parameter {param['name']!r} is missing")
    request_body = op.get("requestBody")
    if body is not None:
        if request_body is None:
            errors.append(f"{method} {template} takes no body")
        else:
            payload = json.loads(body) if isinstance(body, (bytes, str)) else body
            schema = _content_schema(request_body.get("content"))
            if schema is not None:
                errors += validate_schema(schema, payload, "body")
    elif request_body is not None and request_body.get("required"):
        errors.append(f"{method} {template} requires a body")
    if op.get("security"):
        auth = {k.lower(): v for k, v in (headers or {}).items()}.get("authorization", "")
        if not auth.startswith("MediaBrowser ") or "Token=" not in auth:
            errors.append("an authenticated operation without 'Authorization: MediaBrowser ..., Token=...'")
    if errors:
        raise AssertionError(f"{method} {url} does not fit the spec:\n" + "\n".join(errors[:20]))


def _resolve(schema: dict) -> dict:
    """Follow a $ref (or a one-element allOf) to the schema that says the type."""
    seen = 0
    while seen < 5:
        seen += 1
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = spec()["components"]["schemas"][name]
        elif len(schema.get("allOf", [])) == 1:
            schema = schema["allOf"][0]
        else:
            break
    return schema
