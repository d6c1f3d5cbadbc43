"""Text the databases cannot store is refused at the door: a NUL character (``\\u0000``) in a
path or query parameter or in a JSON body is a 422 naming the field (PostgreSQL text columns
cannot hold it; the driver would fail with a 500 deep in a request)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError

MESSAGE = "must not contain the NUL character (\\u0000)"


def _nul_path(value: Any, path: tuple) -> tuple | None:
    """The location of the first string in ``value`` holding a NUL (for a key: its object)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return path
            found = _nul_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, (*path, index))
            if found is not None:
                return found
    return None


def _refuse(loc: tuple, value: Any) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "string_nul_character", "loc": loc, "msg": MESSAGE, "input": value}]
    )


async def refuse_nul_characters(request: Request) -> None:
    """A router dependency: path, query and (for operations with a JSON body model) body."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise _refuse(("path", name), value)
    for name, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in name:
            raise _refuse(("query", name), value)
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None:
        return  # no body model (the raw CloudEvents of POST /usage are checked per event)
    content_type = request.headers.get("content-type")
    if content_type and "json" not in content_type:
        return  # a file upload (multipart): its parser checks the file's own text
    body = await request.body()
    # JSON can only carry a NUL as the escape \u0000: a cheap test before any parsing.
    if b"\\u0000" not in body:
        return
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # FastAPI answers that one (422 json_invalid)
    found = _nul_path(parsed, ("body",))
    if found is not None:
        raise _refuse(found, None)
