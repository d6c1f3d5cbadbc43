"""Usage events sent to the API: validated one by one with the landing consumer's rules (and
the caller's tenant), the valid ones produced to the usage topic, each answered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from billing.errors import Unavailable
from billing.ports import BrokerUnavailable, MessageProducer
from billing.rules.events import EventValidator, RejectCode, Rejection, UsageEvent


@dataclass(frozen=True)
class MeterVerdict:
    """Whether an accepted event counts for one meter of its type, and if not, why."""

    counted: bool
    code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class IngestResult:
    index: int
    id: str | None
    status: str  # accepted or rejected
    code: str | None = None
    reason: str | None = None
    meters: dict[str, MeterVerdict] | None = None


@dataclass(frozen=True)
class IngestOutcome:
    accepted: int
    rejected: int
    not_counted: int
    results: list[IngestResult]


def ingest_events(
    events: Sequence[Any],
    can_see: Callable[[str], bool],
    validator: EventValidator,
    producer: MessageProducer,
    topic: str,
    now: datetime,
) -> IngestOutcome:
    """Accept or reject each event on its own (not an object, invalid, or another tenant's
    than the caller may send), produce the accepted ones keyed by tenant, and say which meters
    each accepted event counts for. Nothing is accepted if the broker is unreachable."""
    payloads = [orjson.dumps(e) if isinstance(e, dict) else b"" for e in events]
    checked = validator.validate(payloads, now)
    results: list[IngestResult] = []
    outgoing: list[tuple[bytes, bytes]] = []
    for i, (event, verdict) in enumerate(zip(events, checked, strict=True)):
        if not isinstance(event, dict):
            verdict = Rejection(RejectCode.NOT_AN_OBJECT, "event must be a JSON object")
        elif isinstance(verdict, UsageEvent) and not can_see(verdict.tenant_id):
            verdict = Rejection(
                RejectCode.FORBIDDEN_TENANT,
                f"this key may not send events for tenant {verdict.tenant_id!r}",
            )
        if isinstance(verdict, UsageEvent):
            results.append(_accepted(i, verdict, validator.meter_keys(verdict.event_type)))
            outgoing.append((verdict.tenant_id.encode(), payloads[i]))
        else:
            event_id = event.get("id") if isinstance(event, dict) else None
            results.append(
                IngestResult(
                    index=i,
                    id=event_id if isinstance(event_id, str) else None,
                    status="rejected",
                    code=verdict.code,
                    reason=verdict.message,
                )
            )
    if outgoing:
        try:
            producer.send(topic, outgoing)
        except BrokerUnavailable as exc:
            raise Unavailable(f"events were not accepted: {exc}") from None
    return IngestOutcome(
        accepted=len(outgoing),
        rejected=len(results) - len(outgoing),
        not_counted=sum(len(e.not_counted) for e in checked if isinstance(e, UsageEvent)),
        results=results,
    )


def _accepted(index: int, event: UsageEvent, meter_keys: tuple[str, ...]) -> IngestResult:
    """An accepted event's answer: counted or not, per meter of its type (Lago, OpenMeter)."""
    missed = {n.meter_key: n for n in event.not_counted}
    meters = {
        key: MeterVerdict(counted=True)
        if key not in missed
        else MeterVerdict(counted=False, code=missed[key].code, reason=missed[key].reason)
        for key in meter_keys
    }
    reason = None
    if missed:
        counted = ", ".join(k for k in meter_keys if k not in missed)
        reason = f"accepted for {counted}; " + "; ".join(
            f"not counted for {n.meter_key}: {n.reason}" for n in event.not_counted
        )
    return IngestResult(
        index=index, id=event.event_id, status="accepted", reason=reason, meters=meters
    )
