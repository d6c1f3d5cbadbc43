"""The usage-event contract: every malformed kind is rejected with its own reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from billing.rules.events import (
    NotCounted,
    NotCountedCode,
    RejectCode,
    Rejection,
    UsageEvent,
    validate_event,
)
from billing.rules.meters import Aggregation, Meter, MeterDefinitionError, meters_by_event_type
from tests.conftest import TEST_METERS, cloud_event

NOW = datetime(2026, 11, 10, 12, 0, 0)
INDEX = meters_by_event_type(list(TEST_METERS))
VALUE_SUM_ONLY = meters_by_event_type([m for m in TEST_METERS if m.key == "value_sum"])
VALUE_METERS = ("value_latest", "value_max", "value_sum")


def check(payload) -> UsageEvent | Rejection:
    if isinstance(payload, dict):
        payload = orjson.dumps(payload)
    return validate_event(payload, INDEX, NOW)


def good(**changes) -> dict:
    event = cloud_event(
        "e-1", "tenant-a", "2026-11-02T10:00:00Z", {"value": 10, "user_id": "u1", "region": "eu"}
    )
    event.update(changes)
    return event


def test_valid_event_is_normalised_to_naive_utc():
    event = check(good(time="2026-11-02T12:30:00+02:00", traceparent="00-abc"))
    assert isinstance(event, UsageEvent)
    assert event.event_at == datetime(2026, 11, 2, 10, 30)
    assert event.tenant_id == "tenant-a"
    assert event.period_start.isoformat() == "2026-11-01"
    assert orjson.loads(event.extensions_json) == {"traceparent": "00-abc"}
    assert orjson.loads(event.data_json) == {"value": 10, "user_id": "u1", "region": "eu"}


@pytest.mark.parametrize(
    ("payload", "code", "fragment"),
    [
        (b"{not json", RejectCode.INVALID_JSON, "not valid JSON"),
        (b"[1, 2]", RejectCode.NOT_AN_OBJECT, "JSON object"),
        (b"x" * (64 * 1024 + 1), RejectCode.TOO_LARGE, "larger than"),
        ({k: v for k, v in good().items() if k != "subject"}, RejectCode.MISSING_FIELD, "subject"),
        (
            {k: v for k, v in good().items() if k not in ("id", "time")},
            RejectCode.MISSING_FIELD,
            "id, time",
        ),
        (good(specversion="0.3"), RejectCode.UNSUPPORTED_SPECVERSION, "1.0"),
        (good(id=""), RejectCode.INVALID_FIELD, "id must be"),
        (good(subject="has spaces"), RejectCode.INVALID_FIELD, "subject"),
        (good(data="text"), RejectCode.INVALID_FIELD, "data must be a JSON object"),
        (good(datacontenttype="text/plain"), RejectCode.INVALID_FIELD, "datacontenttype"),
        (good(time="yesterday"), RejectCode.BAD_TIME, "RFC 3339"),
        (good(time="2026-11-02T10:00:00"), RejectCode.BAD_TIME, "no UTC offset"),
        (good(time="2019-12-31T23:59:59Z"), RejectCode.BAD_TIME, "before 2020"),
        (good(time="2026-11-10T13:00:00Z"), RejectCode.BAD_TIME, "future"),
        (good(type="unknown.thing"), RejectCode.UNKNOWN_METER, "unknown.thing"),
        # PostgreSQL's text and jsonb cannot hold U+0000: refused wherever it appears.
        (good(id="a\u0000b"), RejectCode.INVALID_FIELD, "NUL character"),
        (good(source="s\u0000"), RejectCode.INVALID_FIELD, "NUL character"),
        (good(data={"value": 1, "user_id": "u\u0000"}), RejectCode.INVALID_FIELD, "NUL"),
        (good(tracecontext="\u0000"), RejectCode.INVALID_FIELD, "NUL character"),
    ],
)
def test_malformed_events_are_rejected_with_their_reason(payload, code, fragment):
    result = check(payload)
    assert isinstance(result, Rejection), result
    assert result.code == code
    assert fragment in result.message


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        ({"user_id": "u1"}, NotCountedCode.MISSING_PROPERTY, "data.value is missing (required by"),
        ({"value": "ten", "user_id": "u1"}, NotCountedCode.BAD_QUANTITY, "plain decimal"),
        ({"value": -1, "user_id": "u1"}, NotCountedCode.BAD_QUANTITY, "negative"),
        ({"value": True, "user_id": "u1"}, NotCountedCode.BAD_QUANTITY, "boolean"),
        ({"value": None, "user_id": "u1"}, NotCountedCode.BAD_QUANTITY, "null"),
        ({"value": "0.0000000001", "user_id": "u1"}, NotCountedCode.BAD_QUANTITY, "places"),
        ({"value": 2**53, "user_id": "u1"}, NotCountedCode.BAD_QUANTITY, "JSON string"),
        ({"value": 0.30000000000000004, "user_id": "u1"}, NotCountedCode.BAD_QUANTITY, "digits"),
        ({"value": 1, "user_id": {"nested": 1}}, NotCountedCode.BAD_VALUE, "string or an integer"),
        ({"value": 1}, NotCountedCode.MISSING_PROPERTY, "data.user_id is missing"),
    ],
)
def test_a_meter_level_problem_is_decided_per_meter(data, code, fragment):
    """Lago / OpenMeter semantics: the event counts for the meters it satisfies; only when no
    meter of its type can count it is it rejected whole."""
    event = check(good(data=data))
    assert isinstance(event, UsageEvent), event
    missed = {n.meter_key: n for n in event.not_counted}
    users_only = code == NotCountedCode.BAD_VALUE or fragment.startswith("data.user_id")
    expected = {"users"} if users_only else set(VALUE_METERS)
    assert set(missed) == expected
    for key, n in missed.items():
        assert n.code == code
        assert fragment in n.reason and f"'{key}'" in n.reason, n.reason
    # "calls" (a count) and the meters whose property is fine still count it.
    affected = meters_by_event_type([m for m in TEST_METERS if m.key in expected])
    rejected = validate_event(orjson.dumps(good(data=data)), affected, NOW)
    assert isinstance(rejected, Rejection), rejected
    assert rejected.code == RejectCode.BAD_QUANTITY and fragment in rejected.message
    assert rejected.message.count("(meter '") + rejected.message.count("(required by") == len(
        expected
    )


def test_an_escaped_backslash_before_u0000_is_plain_text():
    result = check(good(id="a\\u0000b"))  # the text a\u0000b: no NUL in it
    assert isinstance(result, UsageEvent), result
    assert result.event_id == "a\\u0000b"


def test_api_request_without_response_gb_counts_for_api_calls_only():
    meters = [
        Meter("api_calls", "api.request", Aggregation.COUNT, None, "call"),
        Meter("egress_gb", "api.request", Aggregation.SUM, "response_gb", "GB"),
    ]
    event = validate_event(good(type="api.request", data={"endpoint": "/v1"}), meters, NOW)
    assert isinstance(event, UsageEvent)
    assert event.not_counted == (
        NotCounted(
            "egress_gb",
            "missing_property",
            "data.response_gb is missing (required by meter 'egress_gb')",
        ),
    )
    both = validate_event(good(type="api.request", data={"response_gb": "0.5"}), meters, NOW)
    assert isinstance(both, UsageEvent) and both.not_counted == ()
    # Other event types are not judged by these meters' properties.
    other = validate_event(good(data={"value": 1, "user_id": "u"}), [*meters, *TEST_METERS], NOW)
    assert isinstance(other, UsageEvent) and other.not_counted == ()


def test_every_reject_code_is_known_to_the_dead_letter_tests():
    # The dbt accepted_values test on dead letters lists these codes; keep them in step.
    import pathlib

    yml = (
        pathlib.Path(__file__).parents[2] / "dbt_project/models/marts/usage/_usage__models.yml"
    ).read_text()
    codes = [v for k, v in vars(RejectCode).items() if k.isupper()]
    for code in codes:
        if code != RejectCode.FORBIDDEN_TENANT:  # API-only: never reaches the landing
            assert code in yml, code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, "10"),
        (0.1, "0.1"),
        ("12.500000001", "12.500000001"),
        ("99999999999999999999999999999.5", "99999999999999999999999999999.5"),
        ("100000000000000000000000000000", "too large"),
        ("12345678901234567890123.1234567891", "decimal places"),
        ("12345678901234567890123.123456789", "12345678901234567890123.123456789"),
        ("+3", "+3"),
        (1e3, "1000.0"),
        ("1e3", "not a plain decimal"),
        (1e-7, "1e-07"),
        (1e-10, "decimal places"),
        (12345678901234.5, "12345678901234.5"),
        (123456789012345.6, "significant digits"),
        (-0.5, "negative"),
        ([1], "must be a number, got array"),
        ({"a": 1}, "must be a number, got object"),
    ],
)
def test_quantities_are_exact_decimals(value, expected):
    # One meter reads `value`: a value it cannot count rejects the event (nothing else counts it).
    result = validate_event(good(data={"value": value, "user_id": "u1"}), VALUE_SUM_ONLY, NOW)
    if expected[0].isdigit() or expected[0] == "+":
        assert isinstance(result, UsageEvent), result
        # what is stored is what dbt casts to decimal(38, 9): the exact text
        stored = orjson.loads(result.data_json)["value"]
        assert Decimal(str(stored)) == Decimal(expected)
    else:
        assert isinstance(result, Rejection) and result.code == RejectCode.BAD_QUANTITY
        assert expected in result.message, result.message


def test_lenient_json_that_would_corrupt_data_is_refused():
    assert (
        check(
            b'{"specversion": "1.0", "id": "x", "source": "s", "type": "test.call", '
            b'"time": "2026-11-02T10:00:00Z", "subject": "t", '
            b'"data": {"value": 1, "user_id": "u", "other": NaN}}'
        ).code
        == "invalid_json"
    )
    duplicated = (
        b'{"specversion": "1.0", "id": "x", "source": "s", "type": "test.call", '
        b'"time": "2026-11-02T10:00:00Z", "subject": "t", '
        b'"data": {"value": 1, "value": 2, "user_id": "u"}}'
    )
    assert check(duplicated).code == "invalid_field"
    # A string that merely mentions NaN is fine.
    assert isinstance(check(good(data={"value": 1, "user_id": "u", "note": "x:NaN,"})), UsageEvent)


def test_count_meters_need_no_value_property():
    index = meters_by_event_type([Meter("n", "x.y", Aggregation.COUNT)])
    event = validate_event(orjson.dumps(good(type="x.y", data={})), index, NOW)
    assert isinstance(event, UsageEvent)


def test_future_skew_is_configurable():
    event = orjson.dumps(good(time=(NOW + timedelta(hours=2)).isoformat() + "Z"))
    assert isinstance(validate_event(event, INDEX, NOW), Rejection)
    assert isinstance(validate_event(event, INDEX, NOW, timedelta(hours=3)), UsageEvent)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "Bad Key", "event_type": "a", "aggregation": "sum", "value_property": "v"}, "key"),
        ({"key": "k", "event_type": "a", "aggregation": "sum"}, "value_property"),
        ({"key": "k", "event_type": "", "aggregation": "count"}, "event_type"),
        (
            {"key": "k", "event_type": "a", "aggregation": "median", "value_property": "v"},
            "aggregation",
        ),
        (
            {"key": "k", "event_type": "a", "aggregation": "count", "group_by": ("x", "x")},
            "group_by",
        ),
        (
            {"key": "k", "event_type": "a", "aggregation": "sum", "value_property": "a.b"},
            "value_property",
        ),
    ],
)
def test_meter_definitions_are_checked(kwargs, field):
    with pytest.raises(MeterDefinitionError) as info:
        Meter(**kwargs)
    assert info.value.field == field
