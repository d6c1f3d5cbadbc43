"""The usage-event contract: CloudEvents 1.0 JSON, validated once, the same way everywhere.

The ingest endpoint and the landing consumer both call :func:`validate_event`, so an event is
accepted or rejected for the same reason on either path. Rejections carry a stable ``code``
(stored in the dead-letter table) and a human message.

Quantities are exact decimals. A JSON number is accepted when it is exactly representable the
way JSON parsers read it (integers below 2**53, at most 15 significant digits otherwise); larger
or longer values must be sent as JSON strings such as ``"12.500000001"``. At most 9 decimal
places, never negative.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from ingestion.meters import NUMERIC_AGGREGATIONS, Aggregation, Meter

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_QUANTITY_SCALE = 9
MAX_QUANTITY_INTEGER_DIGITS = 29  # decimal(38, 9)
MAX_FLOAT_SIGNIFICANT_DIGITS = 15
MAX_EXACT_JSON_INT = 2**53
EARLIEST_EVENT_TIME = datetime(2020, 1, 1)  # the first billing period Dagster knows

CORE_ATTRIBUTES = frozenset(
    {
        "id",
        "source",
        "specversion",
        "type",
        "time",
        "subject",
        "data",
        "datacontenttype",
        "dataschema",
    }
)
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
DECIMAL_STRING_RE = re.compile(r"^\+?\d+(\.\d+)?$")


class RejectCode:
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    TOO_LARGE = "too_large"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    UNSUPPORTED_SPECVERSION = "unsupported_specversion"
    BAD_TIME = "bad_time"
    UNKNOWN_METER = "unknown_meter"
    BAD_QUANTITY = "bad_quantity"
    FORBIDDEN_TENANT = "forbidden_tenant"


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    message: str


@dataclass(slots=True)
class UsageEvent:
    """A validated event, ready to land. ``event_at`` is naive UTC."""

    event_id: str
    source: str
    spec_version: str
    event_type: str
    tenant_id: str
    event_at: datetime
    data_json: str
    extensions_json: str | None

    @property
    def period_start(self) -> date:
        return date(self.event_at.year, self.event_at.month, 1)


def _trimmed(value: Decimal) -> tuple[tuple[int, ...], int]:
    """Digits and exponent without trailing zeros (exact: no context rounding)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    while len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return digits, exponent


def _scale(value: Decimal) -> int:
    _, exponent = _trimmed(value)
    return max(0, -exponent)


def _significant_digits(value: Decimal) -> int:
    digits, _ = _trimmed(value)
    return len(digits)


def parse_quantity(value: Any) -> Decimal | str:
    """Return the exact quantity, or a message saying why ``value`` is not one."""
    if isinstance(value, bool):
        return "must be a number, not a boolean"
    if isinstance(value, int):
        if abs(value) >= MAX_EXACT_JSON_INT:
            return "integers of 2**53 or more must be sent as a JSON string"
        quantity = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return "must be finite"
        quantity = Decimal(repr(value))
        if _significant_digits(quantity) > MAX_FLOAT_SIGNIFICANT_DIGITS:
            return (
                f"has more than {MAX_FLOAT_SIGNIFICANT_DIGITS} significant digits; "
                "send it as a JSON string"
            )
    elif isinstance(value, str):
        text = value.strip()
        if not DECIMAL_STRING_RE.match(text):
            return f"{value[:40]!r} is not a plain decimal number"
        try:
            quantity = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return f"{value[:40]!r} is not a decimal number"
    elif value is None:
        return "is null"
    else:
        return f"must be a number, got {type(value).__name__}"
    if quantity < 0:
        return "must not be negative"
    if _scale(quantity) > MAX_QUANTITY_SCALE:
        return f"has more than {MAX_QUANTITY_SCALE} decimal places"
    if quantity >= Decimal(10) ** MAX_QUANTITY_INTEGER_DIGITS:
        return "is too large"
    return quantity


def _check_unique_value(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return "must be a string or an integer"
    if isinstance(value, str):
        if not value or len(value) > 256:
            return "must be 1 to 256 characters"
        return None
    if isinstance(value, int):
        return None
    return "must be a string or an integer"


def parse_event_time(value: Any, now: datetime, max_future: timedelta) -> datetime | str:
    """Parse an RFC 3339 time with an explicit offset into naive UTC."""
    if not isinstance(value, str) or not value:
        return "time must be an RFC 3339 timestamp string"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"time {value[:40]!r} is not an RFC 3339 timestamp"
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        return f"time {value[:40]!r} has no UTC offset (use Z or +hh:mm)"
    utc = parsed.astimezone(UTC).replace(tzinfo=None)
    if utc < EARLIEST_EVENT_TIME:
        return f"time {value[:40]!r} is before 2020-01-01"
    if utc > now + max_future:
        return f"time {value[:40]!r} is in the future"
    return utc


def validate_event(
    payload: bytes | str | dict[str, Any],
    meters: dict[str, tuple[Meter, ...]],
    now: datetime,
    max_future: timedelta = timedelta(minutes=5),
) -> UsageEvent | Rejection:
    """Validate one CloudEvent against the meters (indexed by event type).

    ``now`` is naive UTC. ``payload`` may be the raw message bytes or an already parsed object.
    """
    if isinstance(payload, dict):
        obj: Any = payload
    else:
        if len(payload) > MAX_PAYLOAD_BYTES:
            return Rejection(
                RejectCode.TOO_LARGE, f"event is larger than {MAX_PAYLOAD_BYTES} bytes"
            )
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return Rejection(RejectCode.INVALID_JSON, f"not valid JSON: {exc}")
        if not isinstance(obj, dict):
            return Rejection(RejectCode.NOT_AN_OBJECT, "event must be a JSON object")

    missing = [
        name
        for name in ("specversion", "id", "source", "type", "time", "subject", "data")
        if name not in obj or obj[name] is None
    ]
    if missing:
        return Rejection(
            RejectCode.MISSING_FIELD, f"missing required field(s): {', '.join(missing)}"
        )
    spec_version = obj["specversion"]
    if spec_version != "1.0":
        return Rejection(
            RejectCode.UNSUPPORTED_SPECVERSION, f'specversion must be "1.0", got {spec_version!r}'
        )
    for name, limit in (("id", 256), ("source", 512), ("type", 200)):
        value = obj[name]
        if not isinstance(value, str) or not value or len(value) > limit:
            return Rejection(
                RejectCode.INVALID_FIELD,
                f"{name} must be a non-empty string of at most {limit} characters",
            )
    subject = obj["subject"]
    if not isinstance(subject, str) or not TENANT_RE.match(subject):
        return Rejection(
            RejectCode.INVALID_FIELD,
            "subject must be the tenant id (letters, digits and ._:@-, at most 128 characters)",
        )
    content_type = obj.get("datacontenttype")
    if content_type is not None and (
        not isinstance(content_type, str) or "json" not in content_type
    ):
        return Rejection(RejectCode.INVALID_FIELD, "datacontenttype must be application/json")
    data = obj["data"]
    if not isinstance(data, dict):
        return Rejection(RejectCode.INVALID_FIELD, "data must be a JSON object")

    event_at = parse_event_time(obj["time"], now, max_future)
    if isinstance(event_at, str):
        return Rejection(RejectCode.BAD_TIME, event_at)

    event_type = obj["type"]
    matching = meters.get(event_type)
    if not matching:
        return Rejection(
            RejectCode.UNKNOWN_METER, f"no meter is defined for event type {event_type!r}"
        )
    for meter in matching:
        aggregation = meter.aggregation
        if aggregation == Aggregation.COUNT:
            continue
        prop = meter.value_property
        if prop not in data:
            return Rejection(
                RejectCode.BAD_QUANTITY,
                f"data.{prop} is missing (required by meter {meter.key!r})",
            )
        value = data[prop]
        if aggregation in NUMERIC_AGGREGATIONS:
            quantity = parse_quantity(value)
            if isinstance(quantity, str):
                return Rejection(
                    RejectCode.BAD_QUANTITY, f"data.{prop} {quantity} (meter {meter.key!r})"
                )
        else:
            problem = _check_unique_value(value)
            if problem:
                return Rejection(
                    RejectCode.BAD_QUANTITY, f"data.{prop} {problem} (meter {meter.key!r})"
                )

    extensions = {k: v for k, v in obj.items() if k not in CORE_ATTRIBUTES}
    return UsageEvent(
        event_id=obj["id"],
        source=obj["source"],
        spec_version=spec_version,
        event_type=event_type,
        tenant_id=subject,
        event_at=event_at,
        data_json=orjson.dumps(data).decode(),
        extensions_json=orjson.dumps(extensions).decode() if extensions else None,
    )


def utc_now() -> datetime:
    """Naive UTC now, the warehouse's time convention."""
    return datetime.now(UTC).replace(tzinfo=None)
