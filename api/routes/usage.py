"""Usage: read aggregates from the serving snapshot; ingest events onto Kafka."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.warehouse.serving import MissingTable, NoSnapshot
from api.deps import (
    AdminDep,
    CallerDep,
    MeterCacheDep,
    ProducerDep,
    ReaderDep,
    SessionDep,
    SettingsDep,
    scoped_tenant,
)
from api.schemas.common import Error
from api.schemas.usage import (
    DeadLettersPublic,
    IngestResponse,
    NotCountedsPublic,
    UsagePublic,
    UsagesPublic,
)
from api.serving import row_of
from billing.control_plane.commands import MAX_DB_INTEGER
from billing.rules.events import utc_now
from billing.rules.periods import next_period
from billing.services import usage
from billing.timeutil import IsoDate

router = APIRouter(prefix="/usage", tags=["usage"])

MAX_BATCH = 1000
INGEST_EXAMPLE = {
    "specversion": "1.0",
    "id": "evt-0001",
    "source": "api-gateway",
    "type": "api.request",
    "time": "2026-11-02T10:15:00Z",
    "subject": "tenant-042",
    "data": {"endpoint": "/v1/search", "user_id": "u-17", "response_gb": "0.002"},
}


def _where(filters: list[tuple[str, str, Any]]) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    for i, (column, op, value) in enumerate(filters):
        if value is None:
            continue
        clauses.append(f"{column} {op} :p{i}")
        params[f"p{i}"] = value
    return (" where " + " and ".join(clauses)) if clauses else "", params


def _page(reader, table: str, columns: str, filters, order: str, limit: int, offset: int):
    """One page of a mart and the count of all its matching rows: (count, rows, snapshot info).
    Raises NoSnapshot before anything is published."""
    where, params = _where(filters)
    counted, _ = reader.query(f"select count(*) as n from {{{table}}}{where}", params)
    rows, info = reader.query(
        f"select {columns} from {{{table}}}{where} order by {order} limit {limit} offset {offset}",
        params,
    )
    return counted[0]["n"], rows, info


@router.get("", response_model=UsagesPublic)
def read_usage(
    caller: CallerDep,
    reader: ReaderDep,
    tenant_id: str | None = None,
    meter: str | None = None,
    start: Annotated[IsoDate | None, Query(description="First day (inclusive).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day (exclusive).")] = None,
    granularity: Literal["day", "period"] = "day",
    group_by: Annotated[
        bool, Query(description="Break period usage down by each meter's group-by properties.")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    """Usage per tenant and meter, per UTC day or per billing period (calendar month, UTC)."""
    tenant = scoped_tenant(caller, tenant_id)
    if start and end and end <= start:
        raise HTTPException(422, "end must be after start")
    if group_by and granularity != "period":
        raise HTTPException(422, "group_by is only available with granularity=period")
    if granularity == "day":
        table, order = "fct_usage_daily", "usage_date, tenant_id, meter_key"
        day_column, first_day = "usage_date", start
        columns = (
            "tenant_id, meter_key, usage_date as start_date, aggregation, quantity, unit, "
            "event_count, late_event_count"
        )
    else:
        table = "fct_usage_period_by_group" if group_by else "fct_usage_period"
        order = "period_start, tenant_id, meter_key" + (", group_key" if group_by else "")
        # Periods overlapping [start, end).
        day_column, first_day = "period_start", date(start.year, start.month, 1) if start else None
        columns = (
            "tenant_id, meter_key, period_start as start_date, aggregation, quantity, "
            "event_count, "
            + (
                "group_key, null as unit, null as late_event_count"
                if group_by
                else "unit, late_event_count"
            )
        )
    filters = [
        ("tenant_id", "=", tenant),
        ("meter_key", "=", meter),
        (day_column, ">=", first_day),
        (day_column, "<", end),
    ]
    try:
        count, rows, info = _page(reader, table, columns, filters, order, limit, offset)
    except NoSnapshot:
        return UsagesPublic(data=[], count=0, limit=limit, offset=offset, as_of=None)
    data = [
        row_of(
            UsagePublic,
            {
                **r,
                "granularity": granularity,
                "end": (r["start_date"] + timedelta(days=1))
                if granularity == "day"
                else next_period(r["start_date"]),
                "group_key": r.get("group_key"),
            },
            meter="meter_key",
            start="start_date",
        )
        for r in rows
    ]
    return UsagesPublic(data=data, count=count, limit=limit, offset=offset, as_of=info.published_at)


@router.post(
    "",
    status_code=202,
    response_model=IngestResponse,
    responses={
        400: {"description": "The body is not JSON.", "model": Error},
        413: {"description": f"More than {MAX_BATCH} events.", "model": Error},
        422: {
            "description": "No event was valid; the body lists each reason (or an empty batch).",
            "model": IngestResponse | Error,
        },
        503: {"description": "Kafka is unreachable; nothing was accepted.", "model": Error},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"type": "object", "description": "One CloudEvent 1.0"},
                            {"type": "array", "items": {"type": "object"}, "maxItems": MAX_BATCH},
                        ]
                    },
                    "example": INGEST_EXAMPLE,
                }
            },
        }
    },
)
async def ingest_usage(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    producer: ProducerDep,
    meters: MeterCacheDep,
):
    """Validate CloudEvents (one, or a batch of up to 1,000) and produce the valid ones to Kafka.

    Each event is accepted or rejected on its own, with the same rules and reasons the landing
    consumer applies. A tenant key may only send events whose `subject` is its tenant.
    """
    body = await request.body()
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc}") from None
    events = parsed if isinstance(parsed, list) else [parsed]
    if not events:
        raise HTTPException(422, "the batch is empty")
    if len(events) > MAX_BATCH:
        raise HTTPException(413, f"at most {MAX_BATCH} events per request, got {len(events)}")
    return await run_in_threadpool(_ingest, events, caller, session, settings, producer, meters)


def _ingest(events, caller, session, settings, producer, meters):
    outcome = usage.ingest_events(
        events, caller.can_see, meters.validator(session), producer, settings.usage_topic, utc_now()
    )
    response = IngestResponse.model_validate(asdict(outcome))
    if not outcome.accepted:
        return JSONResponse(status_code=422, content=response.model_dump(mode="json"))
    return response


@router.get("/dead-letters", response_model=DeadLettersPublic)
def read_dead_letters(
    _admin: AdminDep,
    reader: ReaderDep,
    reason_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    """Messages rejected at landing, newest first (admin only)."""
    try:
        count, rows, info = _page(
            reader,
            "fct_dead_lettered_events",
            "kafka_topic, kafka_partition, kafka_offset, kafka_key, payload, payload_encoding, "
            "reason_code, reason, dead_lettered_at",
            [("reason_code", "=", reason_code)],
            "dead_lettered_at desc, kafka_partition, kafka_offset",
            limit,
            offset,
        )
    except NoSnapshot:
        return DeadLettersPublic(data=[], count=0, limit=limit, offset=offset, as_of=None)
    return DeadLettersPublic(
        data=rows, count=count, limit=limit, offset=offset, as_of=info.published_at
    )


@router.get("/not-counted", response_model=NotCountedsPublic)
def read_not_counted(
    caller: CallerDep,
    reader: ReaderDep,
    tenant_id: str | None = None,
    meter: str | None = None,
    reason_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    """Accepted events not counted for one meter of their type, and why (the property that meter
    reads was missing or unusable), newest first. A tenant key lists its own tenant's."""
    tenant = scoped_tenant(caller, tenant_id)
    try:
        count, rows, info = _page(
            reader,
            "fct_usage_not_counted",
            "event_source as source, event_id, tenant_id, event_type, meter_key as meter, "
            "event_at, reason_code, reason, recorded_at",
            [
                ("tenant_id", "=", tenant),
                ("meter_key", "=", meter),
                ("reason_code", "=", reason_code),
            ],
            "recorded_at desc, event_source, event_id, meter_key",
            limit,
            offset,
        )
    except (NoSnapshot, MissingTable):  # nothing published yet, or before this mart
        return NotCountedsPublic(data=[], count=0, limit=limit, offset=offset, as_of=None)
    return NotCountedsPublic(
        data=rows, count=count, limit=limit, offset=offset, as_of=info.published_at
    )
