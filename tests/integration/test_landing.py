"""Landing from a real broker into a real warehouse (DuckDB and PostgreSQL): exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest

from adapters.kafka import PartitionState, TopicState, topic_state
from adapters.warehouse.connection import Warehouse
from billing.rules.meters import Aggregation, Meter
from billing.rules.periods import close_due_periods
from ingestion.landing import UsageLander
from ingestion.landing_store import (
    ConcurrentLandingError,
    LandingError,
    advance_offset,
    plan_start_offsets,
)
from tests.conftest import TEST_METERS, cloud_event, produce

WHEN = datetime(2026, 10, 5, 12, 0)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["duckdb", "postgres"])
def landing_settings(request, make_settings):
    if request.param == "duckdb":
        return make_settings(landing_batch_size=40)
    return make_settings(
        landing_batch_size=40, warehouse_url=request.getfixturevalue("pg_database")
    )


def events(n: int, prefix: str = "e", tenant: str = "tenant-a", start: int = 0) -> list[dict]:
    return [
        cloud_event(f"{prefix}-{i}", tenant, WHEN, {"value": i, "user_id": f"u{i % 3}"})
        for i in range(start, start + n)
    ]


# A meter whose event type nothing else counts: a value it cannot use rejects the event whole.
VALUE_ONLY = Meter("no_value_sum", "no.value", Aggregation.SUM, "value", "unit")


def land(settings, **kwargs):
    return UsageLander(settings, meters=[*TEST_METERS, VALUE_ONLY], **kwargs).run()


def scalar(settings, sql: str):
    with Warehouse(settings).connection() as con:
        return con.fetchone(sql)[0]


def test_lands_every_event_once_and_records_offsets(landing_settings):
    produce(landing_settings, events(100))
    result = land(landing_settings)
    assert result.total("landed") == 100
    assert result.total("duplicates") == 0
    assert len(result.batches) >= 3  # batch size 40: several transactions
    assert scalar(landing_settings, "select count(*) from raw.usage_events") == 100
    # The stored offsets are the end of every partition: a second run reads nothing.
    assert sum(result.next_offsets.values()) == 100
    again = land(landing_settings)
    assert again.total("messages") == 0
    assert scalar(landing_settings, "select count(*) from raw.usage_events") == 100


def test_duplicates_count_once_within_and_across_batches_and_runs(landing_settings):
    first = events(30)
    produce(landing_settings, first + first[:10])  # 10 re-sent, inside one run
    result = land(landing_settings)
    assert (result.total("landed"), result.total("duplicates")) == (30, 10)
    produce(landing_settings, first[5:25] + events(5, start=30))  # re-sent in a later run
    result = land(landing_settings)
    assert (result.total("landed"), result.total("duplicates")) == (5, 20)
    assert scalar(landing_settings, "select count(*) from raw.usage_events") == 35
    assert (
        scalar(
            landing_settings,
            "select count(*) from (select source, event_id from raw.usage_events "
            "group by 1, 2 having count(*) > 1) d",
        )
        == 0
    )


def test_same_id_from_another_source_is_a_different_event(landing_settings):
    produce(
        landing_settings,
        [
            cloud_event("same", "tenant-a", WHEN, {"value": 1, "user_id": "u"}, source="svc-1"),
            cloud_event("same", "tenant-a", WHEN, {"value": 1, "user_id": "u"}, source="svc-2"),
        ],
    )
    assert land(landing_settings).total("landed") == 2


def test_every_malformed_kind_is_dead_lettered_with_reason_and_coordinates(landing_settings):
    good = events(3)
    bad = [
        b"{broken",
        b'"a string"',
        {k: v for k, v in events(1, "m")[0].items() if k != "source"},
        {**events(1, "u")[0], "type": "nobody.meters.this"},
        {**events(1, "q")[0], "type": "no.value", "data": {"value": "a lot"}},
        {**events(1, "t")[0], "time": "2026-10-05 12:00"},
        b"\xff\xfe\x00binary",
    ]
    produce(landing_settings, good + bad)
    result = land(landing_settings)
    assert result.total("landed") == 3
    assert result.total("dead_lettered") == 7
    with Warehouse(landing_settings).connection() as con:
        rows = con.fetchall(
            "select reason_code, reason, kafka_topic, kafka_partition, kafka_offset, "
            "payload, payload_encoding from raw.usage_events_dead_letter order by reason_code"
        )
    codes = sorted(r[0] for r in rows)
    assert codes == sorted(
        [
            "invalid_json",
            "not_an_object",
            "missing_field",
            "unknown_meter",
            "bad_quantity",
            "bad_time",
            "invalid_json",
        ]
    )
    for _code, reason, topic, partition, offset, payload, encoding in rows:
        assert reason and topic == landing_settings.usage_topic
        assert partition >= 0 and offset >= 0
        assert payload
        if encoding == "base64":
            import base64

            assert base64.b64decode(payload) == b"\xff\xfe\x00binary"
    # Dead letters never stop landing and are themselves exactly once.
    assert land(landing_settings).total("dead_lettered") == 0


def test_events_for_a_closed_period_land_flagged_late(landing_settings):
    produce(landing_settings, events(2, "on-time"))
    land(landing_settings)
    with Warehouse(landing_settings).connection() as con:
        closed = close_due_periods(con, datetime(2026, 11, 2, 12), grace_hours=24)
    assert closed == [date(2026, 10, 1)]
    november = cloud_event(
        "nov-1", "tenant-a", datetime(2026, 11, 1, 1), {"value": 1, "user_id": "u"}
    )
    produce(landing_settings, events(3, "late") + [november])
    result = land(landing_settings)
    assert result.total("late") == 3
    with Warehouse(landing_settings).connection() as con:
        rows = dict(
            con.fetchall("select event_id, is_late from raw.usage_events order by event_id")
        )
    assert rows["on-time-0"] is False and rows["late-0"] is True and rows["nov-1"] is False


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from ingestion.landing import UsageLander
    from billing.settings import Settings
    from tests.conftest import TEST_METERS

    settings = Settings()
    calls = {"n": 0}

    def crash(stats):
        calls["n"] += 1
        if calls["n"] == int(sys.argv[1]):
            os._exit(17)  # the process dies between writing the batch and committing it

    UsageLander(settings, meters=list(TEST_METERS), before_commit=crash).run()
    """
)


def test_crash_between_write_and_commit_loses_and_duplicates_nothing(landing_settings, tmp_path):
    produce(landing_settings, events(200))
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    crashed = subprocess.run(
        [sys.executable, str(script), "3"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 17, crashed.stderr
    # Two batches committed before the crash; the third was lost with its offsets.
    assert scalar(landing_settings, "select count(*) from raw.usage_events") == 80
    assert scalar(landing_settings, "select count(*) from raw.landing_batches") == 2
    # Restart: resumes from the stored offsets.
    produce(landing_settings, events(20, start=200))
    result = land(landing_settings)
    assert result.total("duplicates") == 0
    assert scalar(landing_settings, "select count(*) from raw.usage_events") == 220
    assert scalar(landing_settings, "select count(distinct event_id) from raw.usage_events") == 220
    assert sum(result.next_offsets.values()) == 220


def test_a_second_lander_cannot_commit_offsets_it_did_not_own(landing_settings):
    produce(landing_settings, events(10))
    lander = UsageLander(landing_settings, meters=list(TEST_METERS))
    result = lander.run()
    partition, stored = next(iter(result.next_offsets.items()))
    state = topic_state(landing_settings, landing_settings.usage_topic)
    con = Warehouse(landing_settings).connect()
    try:
        con.begin()
        # This lander believes the partition is still at 0; the store says otherwise.
        with pytest.raises(ConcurrentLandingError):
            advance_offset(con, lander.consumer_name, partition, stored + 5, 0, state, 1, WHEN)
        con.rollback()
    finally:
        con.close()
    assert result.next_offsets == land(landing_settings).next_offsets


def test_landing_refuses_to_run_without_meters(landing_settings):
    produce(landing_settings, events(1))
    with pytest.raises(LandingError, match="no meters"):
        UsageLander(landing_settings, meters=[]).run()
    assert land(landing_settings).total("landed") == 1  # nothing was consumed meanwhile


def test_start_offsets_follow_the_stored_ones_and_a_recreated_topic():
    state = TopicState("t", "id-2", (PartitionState(0, 0, 50), PartitionState(1, 10, 20)))
    start, expected = plan_start_offsets(state, {0: (30, "id-2")})
    assert start == {0: 30, 1: 10} and expected == {0: 30, 1: None}
    # The memory broker restarted: same name, new topic id -> read the new log from its start.
    start, expected = plan_start_offsets(state, {0: (30, "id-1"), 1: (25, "id-1")})
    assert start == {0: 0, 1: 10} and expected == {0: 30, 1: 25}
    # Retention deleted messages that were never landed: refuse rather than skip them.
    with pytest.raises(LandingError, match="retention"):
        plan_start_offsets(state, {1: (5, "id-2")})


def test_landers_can_share_a_topic_by_partition(landing_settings):
    many = [e for t in range(12) for e in events(5, f"p{t}", tenant=f"tenant-{t}")]
    produce(landing_settings, many)  # keyed by tenant: spread over the partitions
    first = UsageLander(landing_settings, meters=list(TEST_METERS), partitions=[0, 1]).run()
    second = UsageLander(landing_settings, meters=list(TEST_METERS), partitions=[2, 3]).run()
    assert first.total("landed") > 0 and second.total("landed") > 0
    assert first.total("landed") + second.total("landed") == 60
    assert land(landing_settings).total("messages") == 0


def test_a_nul_character_bound_for_postgresql_is_named_not_a_copy_error(pg_database):
    import pyarrow as pa

    from adapters.warehouse.connection import PostgresConnection

    con = PostgresConnection(pg_database)
    try:
        columns = (("event_id", "varchar", "text"),)
        with pytest.raises(ValueError, match=r"events\.event_id row 1 contains a NUL"):
            con.load_temp_table("events", columns, pa.table({"event_id": ["ok", "b\x00c"]}))
        con.load_temp_table("events", columns, pa.table({"event_id": ["ok", "bc"]}))
        assert con.fetchall("select event_id from events order by 1") == [("bc",), ("ok",)]
    finally:
        con.close()
