"""Pure rules of quotas, milestones and alerts (no database, no Kafka, no HTTP).

* Threshold crossing: a threshold is *reached* when the period's value is at least the level
  (``percent / 100 * limit`` for quotas and budgets, the level itself for milestones). Whether
  it fires is decided by the control plane's unique alert key ``(kind, scope, tenant, meter,
  period, threshold)`` with insert-if-absent, so a crossing fires once per period however often
  and in whatever order events arrive, and whichever process (real-time consumer or warehouse
  sensor) sees it first.
* Projection to the end of the month: linear by elapsed time. ``projected = value × (period
  length / elapsed)`` for additive aggregations (sum, count); the current value for max, latest
  and unique_count (they do not grow with time in proportion). Elapsed time is at least one
  hour so the first minutes of a month do not project absurd figures.
* Notification signing: ``X-Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
  "<t>.<body>" with the secret>`` (Stripe's scheme, so receivers can reject replays).
* Retry backoff: exponential, ``base × 2^(attempt-1)`` capped at ``max``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson

ADDITIVE_AGGREGATIONS = frozenset({"sum", "count"})
MIN_ELAPSED = timedelta(hours=1)
SIGNATURE_HEADER = "X-Billing-Signature"


@dataclass(frozen=True)
class Crossing:
    threshold: Decimal  # percent for quotas and budgets, the usage level for milestones
    level: Decimal  # the value at which it is reached


def threshold_levels(limit: Decimal, percents: Iterable[Decimal]) -> list[Crossing]:
    """Each alert percentage of a limit as the value that reaches it."""
    return [Crossing(Decimal(p), Decimal(limit) * Decimal(p) / 100) for p in sorted(set(percents))]


def reached(value: Decimal, crossings: Iterable[Crossing]) -> list[Crossing]:
    """The thresholds the value has reached (value >= level)."""
    return [c for c in crossings if value >= c.level]


def milestone_levels(levels: Iterable[Decimal]) -> list[Crossing]:
    return [Crossing(Decimal(v), Decimal(v)) for v in sorted(set(levels))]


def period_bounds(moment: datetime) -> tuple[date, date]:
    """The UTC calendar month [start, end) containing ``moment``."""
    start = date(moment.year, moment.month, 1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def project_month_end(
    value: Decimal, aggregation: str, period_start: date, period_end: date, now: datetime
) -> Decimal:
    """The value projected linearly to the end of the period (see the module docstring)."""
    start = datetime(period_start.year, period_start.month, period_start.day)
    end = datetime(period_end.year, period_end.month, period_end.day)
    if aggregation not in ADDITIVE_AGGREGATIONS or now >= end:
        return value
    elapsed = max(now - start, MIN_ELAPSED)
    total = end - start
    projected = value * Decimal(total.total_seconds()) / Decimal(elapsed.total_seconds())
    if aggregation == "count":
        return projected.to_integral_value()
    return projected.quantize(Decimal("0.000000001"))


def remaining(limit: Decimal, used: Decimal) -> Decimal:
    return max(limit - used, Decimal(0))


def quota_decision(
    enforcement: str, limit: Decimal, used: Decimal, quantity: Decimal
) -> tuple[bool, bool]:
    """(allowed, warning) for a request of ``quantity`` more units: a hard quota refuses what
    would take usage above the limit; a soft one allows it and warns."""
    over = used + quantity > limit
    if enforcement == "hard":
        return not over, over
    return True, over


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The signature header value for ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(body: bytes, header: str, secret: str, tolerance: int = 300, now: int | None = None):
    """True if ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    now = int(time.time()) if now is None else now
    if abs(now - ts) > tolerance:
        return False
    expected = sign(body, secret, ts).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempt: int, base: float, maximum: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    return min(maximum, base * 2 ** max(attempt - 1, 0))


def alert_cloud_event(
    alert: dict, source: str = "billing/alerts", event_id: str | None = None
) -> bytes:
    """The CloudEvent 1.0 (JSON) published on the billing-events topic and posted to the
    notification URL."""
    event = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": f"billing.alert.{alert['kind']}",
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "subject": alert["tenant_id"],
        "datacontenttype": "application/json",
        "data": alert,
    }
    # A datetime in the data is UTC with its offset (naive ones are UTC by convention).
    return orjson.dumps(event, default=str, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
