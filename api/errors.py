"""Domain errors, mapped to HTTP answers in ``api.main`` (never a 500)."""

from __future__ import annotations


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field

    @property
    def detail(self) -> str:
        return str(self)


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Invalid(ApiError):
    """422: the request is well-formed but a field's value is not acceptable."""

    status = 422
