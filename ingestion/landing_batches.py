"""A consumed landing batch, validated in one pass and shaped for the warehouse: the events to
insert, the (event, meter) pairs not counted for a meter, and the dead letters."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from billing.rules.events import EventValidator, Rejection, finish_row

EVENT_COLUMNS = (
    ("source", "varchar", "text"),
    ("event_id", "varchar", "text"),
    ("spec_version", "varchar", "text"),
    ("event_type", "varchar", "text"),
    ("tenant_id", "varchar", "text"),
    ("event_at", "timestamp", "timestamp"),
    ("data", "varchar", "jsonb"),
    ("extensions", "varchar", "jsonb"),
    ("kafka_partition", "integer", "integer"),
    ("kafka_offset", "bigint", "bigint"),
    ("seq", "bigint", "bigint"),
)
NOT_COUNTED_COLUMNS = (
    ("source", "varchar", "text"),
    ("event_id", "varchar", "text"),
    ("kafka_partition", "integer", "integer"),
    ("kafka_offset", "bigint", "bigint"),
    ("meter_key", "varchar", "text"),
    ("reason_code", "varchar", "text"),
    ("reason", "varchar", "text"),
)
DEAD_LETTER_COLUMNS = (
    ("kafka_partition", "integer", "integer"),
    ("kafka_offset", "bigint", "bigint"),
    ("kafka_key", "varchar", "text"),
    ("kafka_timestamp", "timestamp", "timestamp"),
    ("payload", "varchar", "text"),
    ("payload_encoding", "varchar", "text"),
    ("reason_code", "varchar", "text"),
    ("reason", "varchar", "text"),
)


def _decode_payload(value: bytes | None) -> tuple[str, str]:
    if value is None:
        return "", "utf-8"
    try:
        text = value.decode("utf-8")
        if "\x00" not in text:
            return text, "utf-8"
    except UnicodeDecodeError:
        pass
    return base64.b64encode(value).decode("ascii"), "base64"


class Batch:
    """One landing transaction's messages, as consumed (no per-message parsing here)."""

    __slots__ = ("values", "partitions", "offsets", "messages", "next_offsets")

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.partitions: list[int] = []
        self.offsets: list[int] = []
        self.messages: list = []
        self.next_offsets: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Prepared:
    """A validated batch: Arrow columns of events to insert, the meters some of them are not
    counted for, and dead letters."""

    events: object  # pyarrow.Table with EVENT_COLUMNS
    not_counted: object  # pyarrow.Table with NOT_COUNTED_COLUMNS
    dead: dict[str, list]
    reasons: dict[str, int]


def _dead_letter_row(dead: dict[str, list], msg, code: str, reason: str) -> None:
    payload, encoding = _decode_payload(msg.value())
    key = msg.key()
    ts_type, ts_ms = msg.timestamp()
    dead["kafka_partition"].append(msg.partition())
    dead["kafka_offset"].append(msg.offset())
    dead["kafka_key"].append(key.decode("utf-8", "replace") if key is not None else None)
    dead["kafka_timestamp"].append(
        datetime.fromtimestamp(ts_ms / 1000, UTC).replace(tzinfo=None)
        if ts_type and ts_ms and ts_ms > 0
        else None
    )
    dead["payload"].append(payload)
    dead["payload_encoding"].append(encoding)
    dead["reason_code"].append(code)
    dead["reason"].append(reason[:1000])


def prepare_batch(validator: EventValidator, batch: Batch, now: datetime) -> Prepared:
    """Validate a whole batch at once and shape it for the warehouse."""
    import pyarrow as pa
    import pyarrow.compute as pc

    incoming = pa.table(
        {"seq": pa.array(range(len(batch)), pa.int64()), "raw": pa.array(batch.values, pa.binary())}
    )
    checked = validator.validate_arrow(incoming, now)
    seq = checked.column("seq")
    code = checked.column("code")
    dead: dict[str, list] = {name: [] for name, _, _ in DEAD_LETTER_COLUMNS}
    reasons: dict[str, int] = {}

    def reject(i: int, c: str, r: str) -> None:
        _dead_letter_row(dead, batch.messages[i], c, r)
        reasons[c] = reasons.get(c, 0) + 1

    bad = pc.is_valid(code)
    for row in checked.filter(bad).select(["seq", "code", "reason"]).to_pylist():
        reject(row["seq"], row["code"], row["reason"])
    keep = pc.invert(bad)
    # Rare rows checked again in Python: extension attributes, or NaN/Infinity suspected.
    recheck = pc.fill_null(
        pc.or_(checked.column("has_extensions"), checked.column("needs_strict_check")), False
    )
    extensions = pa.nulls(checked.num_rows, pa.string())
    if pc.any(recheck).as_py():
        values: list[str | None] = [None] * checked.num_rows
        mask = keep.to_pylist()
        for i in pc.indices_nonzero(recheck).to_pylist():
            row = checked.slice(i, 1).to_pylist()[0]
            finished = finish_row(row, batch.values[row["seq"]])
            if isinstance(finished, Rejection):
                mask[i] = False
                reject(row["seq"], finished.code, finished.message)
            else:
                values[i] = finished.extensions_json
        extensions = pa.array(values, pa.string())
        keep = pa.array(mask)
    events = pa.table(
        {
            "source": checked.column("source"),
            "event_id": checked.column("event_id"),
            "spec_version": checked.column("spec_version"),
            "event_type": checked.column("event_type"),
            "tenant_id": checked.column("tenant_id"),
            "event_at": checked.column("event_at").cast(pa.timestamp("us")),
            "data": checked.column("data_json"),
            "extensions": extensions,
            "kafka_partition": pc.take(pa.array(batch.partitions, pa.int32()), seq),
            "kafka_offset": pc.take(pa.array(batch.offsets, pa.int64()), seq),
            "seq": seq,
        }
    ).filter(keep)
    lists = checked.column("not_counted").filter(keep)
    return Prepared(events, _not_counted(lists, events), dead, reasons)


def _not_counted(lists, events):
    """One row per (kept event, meter it is not counted for), with the event's coordinates."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parents = pc.list_parent_indices(lists)
    flat = pc.list_flatten(lists)
    return pa.table(
        {
            "source": pc.take(events.column("source"), parents),
            "event_id": pc.take(events.column("event_id"), parents),
            "kafka_partition": pc.take(events.column("kafka_partition"), parents),
            "kafka_offset": pc.take(events.column("kafka_offset"), parents),
            "meter_key": pc.struct_field(flat, "meter_key"),
            "reason_code": pc.struct_field(flat, "code"),
            "reason": pc.struct_field(flat, "reason"),
        }
    )
