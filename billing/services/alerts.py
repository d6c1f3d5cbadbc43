"""Alerts: quota, budget and milestone crossings fired once, and their delivery.

A crossing is fired by inserting its key ``(kind, scope, tenant, meter, period, threshold)``
into ``billing_alerts`` if absent, together with its outbox row, in the caller's transaction.
The real-time consumer fires from its running totals and the warehouse sensor from the serving
snapshot; whichever inserts first wins, the other's insert does nothing.

The delivery worker (:func:`deliver_due`) publishes each outbox row's CloudEvent to the
billing-events topic and POSTs it, HMAC-signed, to ``BILLING_NOTIFY_URL``, retrying with
exponential backoff; every attempt's outcome is recorded on the row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.control_plane.db import session_scope
from billing.control_plane.models import (
    BillingAlert,
    NotificationDelivery,
    ResourceQuota,
    TenantBudget,
    UsageMilestone,
)
from billing.ports import MartReader, MissingTable
from billing.rules.alerts import (
    SIGNATURE_HEADER,
    Crossing,
    alert_cloud_event,
    backoff,
    milestone_levels,
    period_bounds,
    reached,
    sign,
    threshold_levels,
)
from billing.settings import Settings
from billing.timeutil import utc_text

log = logging.getLogger(__name__)


def decimal_text(value: Decimal | str) -> str:
    """A decimal as text without trailing zeros (``80.0`` -> ``80``): the threshold key."""
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _insert_if_absent(session: Session, values: dict) -> int | None:
    """Insert an alert unless its key exists; return its id when this call inserted it."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(BillingAlert)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["kind", "scope", "tenant_id", "meter_key", "period_start", "threshold"]
        )
        .returning(BillingAlert.id)
    )
    return session.execute(statement).scalar()


def fire(
    session: Session,
    *,
    kind: str,
    tenant_id: str,
    period_start: date,
    threshold: Decimal | str,
    value: Decimal,
    source: str,
    now: datetime,
    meter_key: str = "",
    limit: Decimal | None = None,
    scope: str = "tenant",
    details: dict | None = None,
    known: set[tuple] | None = None,
) -> int | None:
    """Record a crossing and queue its notification, unless it was already recorded.

    ``known`` (optional) holds the keys a long-running caller already tried, to skip their
    database round trip; it must be discarded if the caller's transaction rolls back."""
    threshold_key = decimal_text(threshold)
    key = (kind, scope, tenant_id, meter_key, period_start, threshold_key)
    if known is not None:
        if key in known:
            return None
        known.add(key)  # recorded by this call, or already by someone else
    details = details or {}
    alert_id = _insert_if_absent(
        session,
        {
            "kind": kind,
            "scope": scope,
            "tenant_id": tenant_id,
            "meter_key": meter_key,
            "period_start": period_start,
            "threshold": threshold_key,
            "value": value,
            "limit": limit,
            "source": source,
            "fired_at": now,
            "details": details,
        },
    )
    if alert_id is None:
        return None
    event_id = f"billing-alert-{alert_id}"
    body = {
        "alert_id": alert_id,
        "kind": kind,
        "scope": scope,
        "tenant_id": tenant_id,
        "meter": meter_key or None,
        "period_start": period_start.isoformat(),
        "threshold": threshold_key,
        "value": decimal_text(value),
        "limit": decimal_text(limit) if limit is not None else None,
        "source": source,
        "fired_at": utc_text(now),
        **details,
    }
    session.add(
        NotificationDelivery(
            alert_id=alert_id,
            event_id=event_id,
            payload=alert_cloud_event(body, event_id=event_id).decode(),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    log.info("alert %s: %s %s %s %s", alert_id, kind, tenant_id, meter_key, threshold_key)
    return alert_id


def _fire_reached(
    session: Session, value: Decimal, levels: Iterable[Crossing], **alert
) -> list[int]:
    """Fire (see :func:`fire`) every one of ``levels`` that ``value`` has reached; the ids of
    the alerts this call recorded."""
    fired: list[int] = []
    for crossing in reached(value, levels):
        alert_id = fire(session, threshold=crossing.threshold, value=value, **alert)
        if alert_id is not None:
            fired.append(alert_id)
    return fired


@dataclass
class AlertRules:
    """Quotas, milestones and budgets, loaded once per batch or sensor tick."""

    quotas: dict[tuple[str, str], ResourceQuota]
    milestones: dict[str, list[UsageMilestone]]
    budgets: dict[str, TenantBudget]
    known: set[tuple] | None = None  # crossings already recorded (see ``fire``)

    @classmethod
    def load(cls, session: Session) -> AlertRules:
        quotas = {(q.tenant_id, q.meter_key): q for q in session.scalars(select(ResourceQuota))}
        milestones: dict[str, list[UsageMilestone]] = {}
        for m in session.scalars(select(UsageMilestone)):
            milestones.setdefault(m.meter_key, []).append(m)
        budgets = {b.tenant_id: b for b in session.scalars(select(TenantBudget))}
        return cls(quotas, milestones, budgets)


def evaluate_usage(
    session: Session,
    rules: AlertRules,
    tenant_id: str,
    meter_key: str,
    period_start: date,
    value: Decimal,
    source: str,
    now: datetime,
) -> list[int]:
    """Fire every quota threshold and milestone the period's usage has reached."""
    fired: list[int] = []
    quota = rules.quotas.get((tenant_id, meter_key))
    if quota is not None:
        levels = threshold_levels(quota.limit, [Decimal(p) for p in quota.alert_thresholds])
        fired += _fire_reached(
            session,
            value,
            levels,
            kind="quota",
            tenant_id=tenant_id,
            meter_key=meter_key,
            period_start=period_start,
            limit=quota.limit,
            source=source,
            now=now,
            details={"enforcement": quota.enforcement},
            known=rules.known,
        )
    levels = [
        Decimal(level)
        for m in rules.milestones.get(meter_key, ())
        if m.tenant_id is None or m.tenant_id == tenant_id
        for level in m.levels
    ]
    fired += _fire_reached(
        session,
        value,
        milestone_levels(levels),
        kind="milestone",
        tenant_id=tenant_id,
        meter_key=meter_key,
        period_start=period_start,
        source=source,
        now=now,
        known=rules.known,
    )
    return fired


def evaluate_budget(
    session: Session,
    rules: AlertRules,
    tenant_id: str,
    period_start: date,
    cost: Decimal,
    currency: str,
    source: str,
    now: datetime,
) -> list[int]:
    """Fire every budget threshold the period's cost (month to date) has reached."""
    budget = rules.budgets.get(tenant_id)
    if budget is None or budget.currency != currency:
        return []
    levels = threshold_levels(budget.amount, [Decimal(p) for p in budget.alert_thresholds])
    return _fire_reached(
        session,
        cost,
        levels,
        kind="budget",
        tenant_id=tenant_id,
        period_start=period_start,
        limit=budget.amount,
        source=source,
        now=now,
        details={"currency": currency},
        known=rules.known,
    )


# Cost centers carry a monthly budget (``/cost-centers``) but no alert percentages of their own.
COST_CENTER_BUDGET_PERCENTS = (Decimal(80), Decimal(100))


def evaluate_cost_center_budgets(
    session: Session, rows: Iterable[dict], source: str, now: datetime
) -> list[int]:
    """Fire the budget thresholds (80% and 100% of the monthly budget) each cost center's
    allocated cost has reached in a period, children rolled up. ``rows`` are those of
    ``fct_cost_center_costs``; a budget in another currency than the cost is not compared.
    The crossing's scope is ``cost_center:<code>`` (no tenant)."""
    fired: list[int] = []
    for row in rows:
        budget, currency = row.get("monthly_budget_amount"), row.get("budget_currency")
        if budget is None or not currency or currency != row["currency"]:
            continue
        budget = Decimal(str(budget))
        if budget <= 0:
            continue
        cost = Decimal(str(row["rolled_up_total_amount"]))
        period = row["billing_period_start"]
        period = period if isinstance(period, date) else date.fromisoformat(str(period)[:10])
        fired += _fire_reached(
            session,
            cost,
            threshold_levels(budget, COST_CENTER_BUDGET_PERCENTS),
            kind="budget",
            scope=f"cost_center:{row['cost_center_code']}",
            tenant_id="",
            period_start=period,
            limit=budget,
            source=source,
            now=now,
            details={"currency": currency, "cost_center": row["cost_center_code"]},
        )
    return fired


# ----------------------------------------------------------------------------- delivery
Post = Callable[[str, bytes, dict[str, str], float], int]


def deliver_due(
    settings: Settings,
    sessions: Callable[[], Session],
    now: datetime,
    publish: Callable[[Iterable[tuple[bytes, bytes]]], None] | None,
    post: Post,
    limit: int = 100,
) -> dict[str, int]:
    """One pass of a delivery worker over the due outbox rows.

    Each due row is first claimed (its next attempt moved past a lease, only if nobody moved it
    since), so concurrent workers never send the same row at once. ``publish`` sends ``(key,
    CloudEvent)`` messages to the billing-events topic (None: no Kafka). A row is delivered once
    it is on Kafka and, with a notification URL set, the URL answered 2xx; otherwise it is
    retried after the backoff until ``notify_max_attempts``.
    """
    lease = now + timedelta(seconds=settings.notify_timeout_seconds * 2 + 30)
    claimed: list[int] = []
    with sessions() as session:
        due = session.execute(
            select(NotificationDelivery.id, NotificationDelivery.next_attempt_at)
            .where(NotificationDelivery.status == "pending")
            .where(NotificationDelivery.next_attempt_at <= now)
            .order_by(NotificationDelivery.id)
            .limit(limit)
        ).all()
        for row_id, next_attempt_at in due:
            result = session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.id == row_id)
                .where(NotificationDelivery.status == "pending")
                .where(NotificationDelivery.next_attempt_at == next_attempt_at)
                .values(next_attempt_at=lease)
            )
            if result.rowcount == 1:
                claimed.append(row_id)
        session.commit()
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    if not claimed:
        return counts
    with sessions() as session:
        rows = session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.id.in_(claimed))
            .order_by(NotificationDelivery.id)
        ).all()
        _attempt(settings, rows, now, publish, post, counts)
        session.commit()
    return counts


def _attempt(settings, rows, now, publish, post, counts) -> None:
    unpublished = [d for d in rows if d.published_at is None]
    if publish is not None and unpublished:
        try:
            publish([(d.event_id.encode(), d.payload.encode()) for d in unpublished])
            for d in unpublished:
                d.published_at = now
        except Exception as exc:  # noqa: BLE001 - recorded and retried
            log.warning("publishing %s alert events failed: %s", len(unpublished), exc)
    for d in rows:
        ok_kafka = publish is None or d.published_at is not None
        ok_http = True
        d.last_error = None
        if settings.notify_url:
            body = d.payload.encode()
            headers = {
                "Content-Type": "application/cloudevents+json",
                "X-Billing-Event-Id": d.event_id,
            }
            if settings.notify_secret:
                headers[SIGNATURE_HEADER] = sign(body, settings.notify_secret)
            try:
                status = post(settings.notify_url, body, headers, settings.notify_timeout_seconds)
                d.last_status_code = status
                ok_http = 200 <= status < 300
                d.last_error = None if ok_http else f"HTTP {status}"
            except Exception as exc:  # noqa: BLE001 - recorded and retried
                ok_http = False
                d.last_status_code = None
                d.last_error = str(exc)[:1000] or type(exc).__name__
        if not ok_kafka and d.last_error is None:
            d.last_error = "not published to Kafka"
        d.attempts += 1
        if ok_kafka and ok_http:
            d.status = "delivered"
            d.delivered_at = now
            counts["delivered"] += 1
        elif d.attempts >= settings.notify_max_attempts:
            d.status = "failed"
            d.next_attempt_at = now
            counts["failed"] += 1
        else:
            wait = backoff(
                d.attempts, settings.notify_backoff_seconds, settings.notify_backoff_max_seconds
            )
            d.next_attempt_at = now + timedelta(seconds=wait)
            counts["retrying"] += 1


# ----------------------------------------------------------------------------- warehouse
WAREHOUSE_SOURCE = "warehouse"


def recent_periods(now: datetime) -> tuple[date, date]:
    """The current period and the previous one: older crossings are history, not alerts."""
    current = period_bounds(now)[0]
    previous = period_bounds(datetime(current.year, current.month, 1) - timedelta(days=1))[0]
    return previous, current


def fire_from_snapshot(settings: Settings, reader: MartReader, now: datetime) -> list[int]:
    """Fire every quota threshold and milestone reached in the snapshot's period usage, and
    every cost-center budget threshold reached by its allocated cloud cost."""
    previous, current = recent_periods(now)
    rows, _ = reader.query(
        "select tenant_id, meter_key, period_start, quantity from {fct_usage_period} "
        "where period_start >= :since order by period_start, tenant_id, meter_key",
        {"since": previous},
    )
    try:
        cost_centers, _ = reader.query(
            "select billing_period_start, currency, cost_center_code, rolled_up_total_amount, "
            "monthly_budget_amount, budget_currency from {fct_cost_center_costs} "
            "where billing_period_start >= :since and monthly_budget_amount is not null",
            {"since": previous},
        )
    except MissingTable:  # a snapshot published before cost allocation existed
        cost_centers = []
    fired: list[int] = []
    with session_scope(settings) as session:
        fired += evaluate_cost_center_budgets(session, cost_centers, WAREHOUSE_SOURCE, now)
        rules = AlertRules.load(session)
        for r in rows:
            period = r["period_start"]
            period = period if isinstance(period, date) else date.fromisoformat(str(period))
            fired += evaluate_usage(
                session,
                rules,
                r["tenant_id"],
                r["meter_key"],
                period,
                Decimal(str(r["quantity"])),
                WAREHOUSE_SOURCE,
                now,
            )
    return fired
