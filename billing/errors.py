"""Domain errors and the one error body every answer >= 400 carries (``api.main`` maps
exceptions to it: never a 500).

The body: ``{"code", "message", "field", "detail", "errors": [{"code", "message", "field"}]}``.
``detail`` is ``"<field>: <message>"`` (or the message alone), the text earlier versions
returned; ``field`` is the dotted path of the offending input (``amount``, ``query.tenant_id``)
or null; ``errors`` lists one entry per invalid input (one per validation error for 422)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field

    @property
    def detail(self) -> str:
        return str(self)


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unavailable(ApiError):
    """A dependency (the broker, a database) cannot be reached: nothing was done."""

    status = 503
    code = "unavailable"


class Invalid(ApiError):
    """422: the request is well-formed but a field's value is not acceptable."""

    status = 422
    code = "invalid"


# Codes of answers raised as plain HTTP errors (auth dependencies, routing, ...).
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid",
    503: "unavailable",
}


def status_code_name(status: int) -> str:
    """A stable snake_case code for an HTTP status (``not_found``, ``unauthorized``, ...)."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return f"http_{status}"


def error_body(
    code: str,
    message: str,
    field: str | None = None,
    errors: Iterable[Mapping[str, Any]] | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """The error body (see the module docstring)."""
    items = (
        [dict(e) for e in errors]
        if errors is not None
        else ([{"code": code, "message": message, "field": field}] if field else [])
    )
    return {
        "code": code,
        "message": message,
        "field": field,
        "detail": detail if detail is not None else (f"{field}: {message}" if field else message),
        "errors": items,
    }


def validation_field(loc: Iterable[Any]) -> str:
    """The dotted path of a validation error's location: the body's own fields without a
    ``body.`` prefix (``amount``, ``prices.0.unit_amount``); query, path and header fields
    with theirs (``query.tenant_id``)."""
    return ".".join(str(p) for p in loc if p != "body") or "body"


def validation_body(errors: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The 422 body for request validation errors (FastAPI's ``RequestValidationError``)."""
    items = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        kind = str(error.get("type", "invalid"))
        # A body that is not JSON at all: the field is the body, not a character offset.
        field = "body" if kind == "json_invalid" else validation_field(loc)
        items.append({"code": kind, "message": str(error.get("msg", "invalid")), "field": field})
    detail = "; ".join(
        f"{validation_field(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors
    )
    first = items[0] if items else {"message": "invalid request", "field": None}
    message = first["message"] if len(items) <= 1 else detail
    return error_body(
        "validation_error", message, first["field"], errors=items, detail=detail or message
    )
