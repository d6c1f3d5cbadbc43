"""Shared response schemas: the error body, pages, messages."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class ErrorItem(BaseModel):
    code: str = Field(description="Stable snake_case code, e.g. `decimal_parsing`, `missing`.")
    message: str
    field: str | None = Field(description="Dotted path of the input, e.g. `query.tenant_id`.")


class Error(BaseModel):
    """The body of every answer >= 400 (400, 401, 403, 404, 409, 422, 503, ...)."""

    code: str = Field(
        description="Stable snake_case code: `bad_request`, `unauthorized`, `forbidden`, "
        "`not_found`, `conflict`, `validation_error`, `invalid`, `unavailable`, ..."
    )
    message: str = Field(description="What is wrong, for a person.")
    field: str | None = Field(
        description="Dotted path of the offending input (`amount`, `query.tenant_id`), if any."
    )
    detail: str = Field(description="`<field>: <message>` (or the message): the earlier text.")
    errors: list[ErrorItem] = Field(description="One entry per invalid input (422).")


ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": Error, "description": description}
    for status, description in {
        400: "Bad request: the body or a parameter cannot be read.",
        401: "No key, or an invalid or revoked key.",
        403: "The key may not do this.",
        404: "Not found.",
        409: "Conflict with the current state.",
        422: "A field's value is not acceptable (`field` names it).",
        503: "The warehouse or control-plane database is not available yet.",
    }.items()
}


# The same for operations whose success is not JSON (an HTML page): errors still are.
JSON_ERROR_RESPONSES: dict[int | str, dict] = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for status, response in ERROR_RESPONSES.items()
}


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="Rows matching the filters, across all pages.")
    limit: int
    offset: int


class Message(BaseModel):
    detail: str


M = TypeVar("M", bound=BaseModel)


def from_attrs(model: type[M], obj: object, **values: Any) -> M:
    """A response model from an object's attributes of the same names (an ORM row, a
    dataclass); ``values`` gives the fields named otherwise or computed."""
    taken = {
        name: getattr(obj, name)
        for name in model.model_fields
        if name not in values and hasattr(obj, name)
    }
    return model.model_validate({**taken, **values})
