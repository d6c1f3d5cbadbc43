"""The usage-event contract: CloudEvents 1.0 JSON, validated once, the same way everywhere.

The rules are written once, as one SQL statement run by an in-process DuckDB
(:class:`EventValidator`). The landing consumer validates each Kafka batch with it (vectorised:
it keeps up with the broker) and the ingest endpoint validates each request with it, so an event
is accepted or rejected for the same reason on either path, whatever the warehouse.

A rejection has a stable ``code`` (stored in the dead-letter table) and a human message.
Envelope problems (JSON, CloudEvents attributes, time, tenant, type) reject an event whole. A
meter-level problem (the property a meter reads is missing or unusable) is decided per meter, as
Lago and OpenMeter do: the event is accepted and counted for the meters it satisfies, and
``UsageEvent.not_counted`` says which meters it is not counted for and why. Only an event that
no meter of its type can count is rejected (``bad_quantity``).

Quantities are exact decimals. A JSON number is accepted when it survives the JSON parser's
double-precision reading unchanged (integers below 2**53, at most 15 significant digits
otherwise); larger or longer values must be sent as JSON strings such as ``"12.500000001"``.
At most 9 decimal places and 29 integer digits (``decimal(38, 9)``), never negative.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from billing.rules.meters import NUMERIC_AGGREGATIONS, Aggregation, Meter

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_QUANTITY_SCALE = 9
MAX_QUANTITY_INTEGER_DIGITS = 29  # decimal(38, 9)
MAX_FLOAT_SIGNIFICANT_DIGITS = 15
MAX_EXACT_JSON_INT = 2**53
EARLIEST_EVENT_TIME = datetime(2020, 1, 1)  # the first billing period Dagster knows

CORE_ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "data",
    "datacontenttype",
    "dataschema",
)
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject", "data")
TENANT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}"
# A JSON \u0000 escape (not preceded by an escaping backslash): PostgreSQL's text and jsonb cannot
# hold U+0000, so such an event is dead-lettered rather than left to stop the landing.
NUL_ESCAPE_PATTERN = r"(^|[^\\])(\\\\)*\\u0000"


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
    FORBIDDEN_TENANT = "forbidden_tenant"  # the ingest endpoint only


class NotCountedCode:
    """Why an accepted event is not counted for one meter of its type."""

    MISSING_PROPERTY = "missing_property"
    BAD_QUANTITY = "bad_quantity"  # not an exact non-negative number
    BAD_VALUE = "bad_value"  # not usable as a unique_count value


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class NotCounted:
    """An accepted event is not counted for ``meter_key``: its property is missing or unusable."""

    meter_key: str
    code: str
    reason: str


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
    not_counted: tuple[NotCounted, ...] = ()

    @property
    def period_start(self) -> date:
        return date(self.event_at.year, self.event_at.month, 1)


def utc_now() -> datetime:
    """Naive UTC now, the warehouse's time convention."""
    return datetime.now(UTC).replace(tzinfo=None)


# ----------------------------------------------------------------------------- the rules
def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(expr: str) -> str:
    """SQL for Python-style repr of a short text: 'text'."""
    return f"'''' || left({expr}, 40) || ''''"


def _numeric_problem(k: int) -> str:
    """SQL: why data property ``k`` is not an exact non-negative quantity, or null.

    Uses the per-property columns t_k (JSON type), s_k (text), d_k (double), r_k (the double's
    shortest text) computed once per row."""
    t, text, d, r = f"t_{k}", f"s_{k}", f"d_{k}", f"r_{k}"
    mantissa = f"split_part({r}, 'e', 1)"
    exponent = f"coalesce(try_cast(split_part({r}, 'e', 2) as integer), 0)"
    double_digits = f"length(trim(regexp_replace({mantissa}, '[^0-9]', '', 'g'), '0'))"
    double_scale = f"greatest(length(rtrim(split_part({mantissa}, '.', 2), '0')) - {exponent}, 0)"
    string_scale = f"length(rtrim(split_part({text}, '.', 2), '0'))"
    string_int_digits = f"length(ltrim(split_part(ltrim({text}, '+'), '.', 1), '0'))"
    return f"""case {t}
        when 'NULL' then 'is null'
        when 'BOOLEAN' then 'must be a number, not a boolean'
        when 'UBIGINT' then case
            when cast({text} as ubigint) >= {MAX_EXACT_JSON_INT}
                then 'integers of 2**53 or more must be sent as a JSON string' end
        when 'BIGINT' then case
            when cast({text} as hugeint) <= -{MAX_EXACT_JSON_INT}
                then 'integers of 2**53 or more must be sent as a JSON string'
            when cast({text} as hugeint) < 0 then 'must not be negative' end
        when 'DOUBLE' then case
            when not isfinite({d}) then 'must be finite'
            when {double_digits} > {MAX_FLOAT_SIGNIFICANT_DIGITS}
                then 'has more than {MAX_FLOAT_SIGNIFICANT_DIGITS} significant digits; '
                     || 'send it as a JSON string'
            when {d} < 0 then 'must not be negative'
            when {double_scale} > {MAX_QUANTITY_SCALE}
                then 'has more than {MAX_QUANTITY_SCALE} decimal places'
            when {d} >= 1e{MAX_QUANTITY_INTEGER_DIGITS} then 'is too large' end
        when 'VARCHAR' then case
            when not regexp_full_match({text}, '\\+?[0-9]+(\\.[0-9]+)?')
                then {_quoted(text)} || ' is not a plain decimal number'
            when {string_scale} > {MAX_QUANTITY_SCALE}
                then 'has more than {MAX_QUANTITY_SCALE} decimal places'
            when {string_int_digits} > {MAX_QUANTITY_INTEGER_DIGITS} then 'is too large' end
        else 'must be a number, got ' || lower({t})
    end"""


def _unique_problem(k: int) -> str:
    t, text = f"t_{k}", f"s_{k}"
    return f"""case {t}
        when 'VARCHAR' then case when length({text}) not between 1 and 256
            then 'must be 1 to 256 characters' end
        when 'UBIGINT' then null
        when 'BIGINT' then null
        else 'must be a string or an integer'
    end"""


def _validation_sql(meters: Sequence[Meter]) -> str:
    """One statement: every incoming message -> (code, reason) or the normalised event."""
    properties = sorted({m.value_property for m in meters if m.value_property})
    paths = [f"$.{a}" for a in REQUIRED_ATTRIBUTES] + ["$.datacontenttype"]
    paths += [f"$.data.{p}" for p in properties]
    path_list = "[" + ", ".join(_q(p) for p in paths) + "]"
    n_attrs = len(REQUIRED_ATTRIBUTES) + 1

    def attr(name: str) -> str:
        return f"a[{REQUIRED_ATTRIBUTES.index(name) + 1}]"

    # Per data property: its JSON type, text and double reading, computed once per row; then
    # per property the problem as a quantity / as a unique value; then per meter the message.
    value_columns, problem_columns = [], []
    numeric_props = {m.value_property for m in meters if m.aggregation in NUMERIC_AGGREGATIONS}
    unique_props = {m.value_property for m in meters if m.aggregation == Aggregation.UNIQUE_COUNT}
    for k, prop in enumerate(properties):
        jv = f"a[{n_attrs + k + 1}]"
        value_columns.append(
            f"json_type({jv}) as t_{k}, trim({jv} ->> '$') as s_{k}, "
            f"case when json_type({jv}) = 'DOUBLE' then cast({jv} as double) end as d_{k}, "
            f"{jv} is null as missing_{k}"
        )
        if prop in numeric_props:
            problem_columns.append(f"{_numeric_problem(k)} as numeric_problem_{k}")
        if prop in unique_props:
            problem_columns.append(f"{_unique_problem(k)} as unique_problem_{k}")
    double_reprs = [f"lower(cast(d_{k} as varchar)) as r_{k}" for k in range(len(properties))]
    verdicts, meter_counts = [], {}
    for meter in sorted(meters, key=lambda m: m.key):
        meter_counts[meter.event_type] = meter_counts.get(meter.event_type, 0) + 1
        if meter.aggregation == Aggregation.COUNT:
            continue
        k = properties.index(meter.value_property)
        kind = "numeric" if meter.aggregation in NUMERIC_AGGREGATIONS else "unique"
        code = NotCountedCode.BAD_QUANTITY if kind == "numeric" else NotCountedCode.BAD_VALUE
        prop, key = meter.value_property, meter.key
        verdicts.append(
            f"""case when type_text = {_q(meter.event_type)} then case
                when missing_{k} then {{'meter_key': {_q(key)},
                    'code': {_q(NotCountedCode.MISSING_PROPERTY)},
                    'reason': {_q(f"data.{prop} is missing (required by meter {key!r})")}}}
                when {kind}_problem_{k} is not null then {{'meter_key': {_q(key)},
                    'code': {_q(code)},
                    'reason': {_q(f"data.{prop} ")} || {kind}_problem_{k}
                              || {_q(f" (meter {key!r})")}}}
                end end"""
        )
    # Per meter of the event's type: why the event cannot be counted for it (Lago and OpenMeter
    # decide per meter). Only when no meter of its type can count it is the event rejected.
    not_counted = (
        f"list_filter([{', '.join(verdicts)}], lambda x: x is not null)"
        if verdicts
        else "cast([] as struct(meter_key varchar, code varchar, reason varchar)[])"
    )
    type_meters = (
        "case type_text "
        + " ".join(f"when {_q(t)} then {n}" for t, n in sorted(meter_counts.items()))
        + " else 0 end"
        if meter_counts
        else "0"
    )
    value_sql = (", " + ", ".join(value_columns)) if value_columns else ""
    repr_sql = (", " + ", ".join(double_reprs)) if double_reprs else ""
    problem_sql = (", " + ", ".join(problem_columns)) if problem_columns else ""
    event_types = ", ".join(sorted({_q(m.event_type) for m in meters})) or "null"
    missing = ", ".join(
        f"case when {attr(n)} is null or json_type({attr(n)}) = 'NULL' then {_q(n)} end"
        for n in REQUIRED_ATTRIBUTES
    )
    core = ", ".join(_q(a) for a in CORE_ATTRIBUTES)
    datetime_re = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    return f"""
with decoded as (
    select seq, try(decode(raw)) as payload, octet_length(raw) as size from incoming
),
parsed as (
    select seq, payload, size,
        payload is not null and size <= {MAX_PAYLOAD_BYTES} and json_valid(payload) as is_json
    from decoded
),
rooted as (
    select *, case when is_json then json_type(payload) end as root_type from parsed
),
extracted as (
    select *,
        case when root_type = 'OBJECT' then json_extract(payload, {path_list}) end as a,
        case when root_type = 'OBJECT' then json_keys(payload) end as top_keys
    from rooted
),
attributes as (
    select *,
        list_filter([{missing}], lambda x: x is not null) as missing,
        json_type({attr("specversion")}) as t_spec, {attr("specversion")} ->> '$' as spec_text,
        json_type({attr("id")}) as t_id, {attr("id")} ->> '$' as id_text,
        json_type({attr("source")}) as t_source, {attr("source")} ->> '$' as source_text,
        json_type({attr("type")}) as t_type, {attr("type")} ->> '$' as type_text,
        json_type({attr("subject")}) as t_subject, {attr("subject")} ->> '$' as subject_text,
        json_type({attr("time")}) as t_time, {attr("time")} ->> '$' as time_text,
        json_type({attr("data")}) as t_data,
        a[{n_attrs}] as content_type{value_sql}
    from extracted
),
reprs as (
    select *{repr_sql} from attributes
),
problems as (
    select *{problem_sql} from reprs
),
timed as (
    select *,
        case when t_time = 'VARCHAR'
             and regexp_full_match(time_text, '{datetime_re}([Zz]|[+-][0-9]{{2}}:[0-9]{{2}})')
            then timezone('UTC', try_cast(time_text as timestamptz)) end as event_at,
        {not_counted} as not_counted,
        {type_meters} as type_meters
    from problems
),
judged as (
    select *,
        case
            when payload is null and size <= {MAX_PAYLOAD_BYTES}
                then ['invalid_json', 'not valid JSON: the message is not UTF-8 text']
            when size > {MAX_PAYLOAD_BYTES}
                then ['too_large', 'event is larger than {MAX_PAYLOAD_BYTES} bytes']
            when not is_json then ['invalid_json', 'not valid JSON']
            when root_type <> 'OBJECT' then ['not_an_object', 'event must be a JSON object']
            when contains(payload, chr(0)) or regexp_matches(payload, {_q(NUL_ESCAPE_PATTERN)})
                then ['invalid_field', 'the event contains a NUL character (\\u0000), '
                      || 'which cannot be stored']
            when len(missing) > 0
                then ['missing_field', 'missing required field(s): ' || array_to_string(missing, ', ')]
            when len(top_keys) <> len(list_distinct(top_keys))
                then ['invalid_field', 'an attribute appears more than once']
            when t_spec <> 'VARCHAR' or spec_text <> '1.0'
                then ['unsupported_specversion',
                      'specversion must be "1.0", got ' || cast({attr("specversion")} as varchar)]
            when t_id <> 'VARCHAR' or length(id_text) not between 1 and 256
                then ['invalid_field', 'id must be a non-empty string of at most 256 characters']
            when t_source <> 'VARCHAR' or length(source_text) not between 1 and 512
                then ['invalid_field',
                      'source must be a non-empty string of at most 512 characters']
            when t_type <> 'VARCHAR' or length(type_text) not between 1 and 200
                then ['invalid_field', 'type must be a non-empty string of at most 200 characters']
            when t_subject <> 'VARCHAR' or not regexp_full_match(subject_text, '{TENANT_PATTERN}')
                then ['invalid_field', 'subject must be the tenant id (letters, digits and '
                      || '._:@-, at most 128 characters)']
            when content_type is not null and (json_type(content_type) <> 'VARCHAR'
                 or not contains(content_type ->> '$', 'json'))
                then ['invalid_field', 'datacontenttype must be application/json']
            when t_data <> 'OBJECT' then ['invalid_field', 'data must be a JSON object']
            when t_time <> 'VARCHAR'
                then ['bad_time', 'time must be an RFC 3339 timestamp string']
            when regexp_full_match(time_text, '{datetime_re}')
                then ['bad_time', 'time ' || {_quoted("time_text")}
                      || ' has no UTC offset (use Z or +hh:mm)']
            when event_at is null
                then ['bad_time', 'time ' || {_quoted("time_text")} || ' is not an RFC 3339 timestamp']
            when event_at < $earliest
                then ['bad_time', 'time ' || {_quoted("time_text")} || ' is before 2020-01-01']
            when event_at > $latest
                then ['bad_time', 'time ' || {_quoted("time_text")} || ' is in the future']
            when type_text not in ({event_types})
                then ['unknown_meter', 'no meter is defined for event type '
                      || {_quoted("type_text")}]
            when len(json_keys({attr("data")})) <> len(list_distinct(json_keys({attr("data")})))
                then ['invalid_field', 'data has a property more than once']
            when len(not_counted) > 0 and len(not_counted) >= type_meters
                then ['bad_quantity',
                      array_to_string(list_transform(not_counted, lambda x: x.reason), '; ')]
        end as verdict
    from timed
)
select
    seq,
    verdict[1] as code,
    verdict[2] as reason,
    id_text as event_id,
    source_text as source,
    spec_text as spec_version,
    type_text as event_type,
    subject_text as tenant_id,
    event_at,
    case when verdict is null then cast({attr("data")} as varchar) end as data_json,
    case when verdict is null then not_counted end as not_counted,
    verdict is null and len(list_filter(top_keys, lambda k: k not in ({core}))) > 0 as has_extensions,
    verdict is null and regexp_matches(cast({attr("data")} as varchar),
                                       '[\\[:,]-?(NaN|Infinity)[,\\]}}]') as needs_strict_check
from judged
"""


class EventValidator:
    """Validates batches of raw messages against a set of meters.

    Not thread-safe (one DuckDB connection each); the ingest endpoint keeps one per thread.
    """

    def __init__(self, meters: Iterable[Meter], max_future: timedelta = timedelta(minutes=5)):
        import duckdb

        self.meters = tuple(meters)
        self.max_future = max_future
        self._sql = _validation_sql(self.meters)
        self._keys: dict[str, tuple[str, ...]] = {}
        for m in sorted(self.meters, key=lambda m: m.key):
            self._keys[m.event_type] = (*self._keys.get(m.event_type, ()), m.key)
        self._con = duckdb.connect(":memory:", config={"threads": 2})

    def meter_keys(self, event_type: str) -> tuple[str, ...]:
        """The keys of the meters an event of ``event_type`` is counted for (when it can be)."""
        return self._keys.get(event_type, ())

    def validate_arrow(self, raw: Any, now: datetime):
        """Validate an Arrow table ``incoming(seq int64, raw binary)``; return an Arrow table
        with ``seq, code, reason`` and the normalised event columns (see the SQL), in no
        particular order."""
        import pyarrow as pa

        # Several record batches let DuckDB validate them on all its threads.
        chunk = max(1024, -(-raw.num_rows // 8))
        raw = pa.Table.from_batches(raw.to_batches(max_chunksize=chunk), schema=raw.schema)
        self._con.register("incoming", raw)
        try:
            result = self._con.sql(
                self._sql,
                params={"earliest": EARLIEST_EVENT_TIME, "latest": now + self.max_future},
            ).to_arrow_table()
        finally:
            self._con.unregister("incoming")
        return result

    def validate(self, payloads: Sequence[bytes], now: datetime) -> list[UsageEvent | Rejection]:
        """Validate raw payloads one by one (small batches: the ingest endpoint, tests)."""
        import pyarrow as pa

        table = pa.table(
            {
                "seq": pa.array(range(len(payloads)), pa.int64()),
                "raw": pa.array(payloads, pa.binary()),
            }
        )
        rows = sorted(self.validate_arrow(table, now).to_pylist(), key=lambda r: r["seq"])
        out: list[UsageEvent | Rejection] = []
        for row, payload in zip(rows, payloads, strict=True):
            out.append(finish_row(row, payload))
        return out

    def close(self) -> None:
        self._con.close()


def finish_row(row: dict[str, Any], payload: bytes) -> UsageEvent | Rejection:
    """Turn one validated row into an event or a rejection.

    The rare rows that carry extension attributes, or that DuckDB's lenient parser let through
    with NaN/Infinity, are parsed strictly here.
    """
    if row["code"] is not None:
        return Rejection(row["code"], row["reason"])
    extensions = None
    if row["has_extensions"] or row["needs_strict_check"]:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return Rejection(RejectCode.INVALID_JSON, f"not valid JSON: {exc}")
        extra = {k: v for k, v in obj.items() if k not in CORE_ATTRIBUTES}
        extensions = orjson.dumps(extra).decode() if extra else None
    return UsageEvent(
        event_id=row["event_id"],
        source=row["source"],
        spec_version=row["spec_version"],
        event_type=row["event_type"],
        tenant_id=row["tenant_id"],
        event_at=row["event_at"],
        data_json=row["data_json"],
        extensions_json=extensions,
        not_counted=tuple(
            NotCounted(n["meter_key"], n["code"], n["reason"]) for n in row["not_counted"] or ()
        ),
    )


_cache = threading.local()


def validate_event(
    payload: bytes | str | dict[str, Any],
    meters: Iterable[Meter] | dict[str, tuple[Meter, ...]],
    now: datetime,
    max_future: timedelta = timedelta(minutes=5),
) -> UsageEvent | Rejection:
    """Validate one event (convenience wrapper around :class:`EventValidator`)."""
    if isinstance(meters, dict):
        meters = [m for group in meters.values() for m in group]
    meters = tuple(meters)
    key = (meters, max_future)
    validator = getattr(_cache, "validators", {}).get(key)
    if validator is None:
        validator = EventValidator(meters, max_future)
        _cache.validators = {key: validator}
    if isinstance(payload, dict):
        payload = orjson.dumps(payload)
    elif isinstance(payload, str):
        payload = payload.encode()
    return validator.validate([payload], now)[0]
