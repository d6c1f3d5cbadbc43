"""Reconciliation: the real-time totals compared with the warehouse's period mart.

The warehouse is the source of truth. :func:`reconcile` reads ``fct_usage_period`` from the
serving snapshot (never the warehouse itself) and the real-time totals from the control plane,
for the periods the snapshot holds, and records one run with every (tenant, meter, period) whose
quantities differ. Real-time figures run ahead of the warehouse between pipeline runs, so drift
is meaningful for periods the pipeline has caught up with (``periods`` selects them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.db import session_scope
from billing.control_plane.models import RealtimeUsage, ReconciliationDrift, ReconciliationRun
from billing.ports import MartReader
from billing.rules.periods import closes_at
from billing.settings import Settings


@dataclass(frozen=True)
class Drift:
    tenant_id: str
    meter_key: str
    period_start: date
    realtime_quantity: Decimal | None
    warehouse_quantity: Decimal | None

    @property
    def difference(self) -> Decimal:
        return (self.realtime_quantity or Decimal(0)) - (self.warehouse_quantity or Decimal(0))


def compare(
    realtime: dict[tuple[str, str, date], Decimal],
    warehouse: dict[tuple[str, str, date], Decimal],
) -> list[Drift]:
    """Every key whose quantities differ (a missing side counts as absent, not zero)."""
    drifts = []
    for key in sorted(set(realtime) | set(warehouse)):
        rt, wh = realtime.get(key), warehouse.get(key)
        if rt is None or wh is None or rt != wh:
            drifts.append(Drift(*key, rt, wh))
    return drifts


def warehouse_totals(
    reader: MartReader, periods: Iterable[date] | None = None
) -> tuple[dict[tuple[str, str, date], Decimal], str]:
    rows, info = reader.query(
        "select tenant_id, meter_key, period_start, quantity from {fct_usage_period}"
    )
    wanted = set(periods) if periods is not None else None
    totals = {}
    for r in rows:
        period = r["period_start"]
        period = period if isinstance(period, date) else date.fromisoformat(str(period))
        if wanted is not None and period not in wanted:
            continue
        totals[(r["tenant_id"], r["meter_key"], period)] = Decimal(str(r["quantity"]))
    return totals, info.name


def realtime_totals(
    session: Session, periods: Iterable[date]
) -> dict[tuple[str, str, date], Decimal]:
    rows = session.scalars(
        select(RealtimeUsage).where(RealtimeUsage.period_start.in_(list(periods)))
    ).all()
    return {(r.tenant_id, r.meter_key, r.period_start): r.quantity for r in rows}


def reconcile(
    session: Session, reader: MartReader, now: datetime, periods: Iterable[date] | None = None
) -> tuple[ReconciliationRun, list[Drift]]:
    """Compare and record a run (the caller commits)."""
    warehouse, snapshot = warehouse_totals(reader, periods)
    if periods is None:
        periods = {key[2] for key in warehouse}
    periods = set(periods)
    realtime = realtime_totals(session, periods)
    drifts = compare(realtime, warehouse)
    run = ReconciliationRun(
        run_at=now,
        snapshot=snapshot,
        compared=len(set(realtime) | set(warehouse)),
        drifted=len(drifts),
    )
    session.add(run)
    session.flush()
    for d in drifts:
        session.add(
            ReconciliationDrift(
                run_id=run.id,
                tenant_id=d.tenant_id,
                meter_key=d.meter_key,
                period_start=d.period_start,
                realtime_quantity=d.realtime_quantity,
                warehouse_quantity=d.warehouse_quantity,
                difference=d.difference,
            )
        )
    session.flush()
    return run, drifts


def periods_to_reconcile(
    periods: list[date], now, grace_hours: int, include_open: bool
) -> list[date]:
    """Closed periods (end + grace passed): the real-time figures and the warehouse have both
    seen every event of them. Open periods only on request."""
    return [p for p in periods if include_open or closes_at(p, grace_hours) <= now]


@dataclass(frozen=True)
class Outcome:
    run_id: int
    compared: int
    snapshot: str | None
    periods: list[date]
    drifts: list[Drift]


def reconcile_caught_up(
    settings: Settings, reader: MartReader, now: datetime, include_open: bool = False
) -> Outcome:
    """Reconcile the periods of the serving snapshot that the pipeline has caught up with
    (closed ones; open ones too with ``include_open``) and record the run."""
    rows, _ = reader.query("select distinct period_start from {fct_usage_period}")
    periods = periods_to_reconcile(
        sorted(r["period_start"] for r in rows), now, settings.grace_period_hours, include_open
    )
    with session_scope(settings) as session:
        run, drifts = reconcile(session, reader, now, periods)
        return Outcome(run.id, run.compared, run.snapshot, periods, drifts)


def latest_report(session) -> tuple[ReconciliationRun, list[ReconciliationDrift]] | None:
    """The latest comparison of real-time totals with the warehouse and its drifts (by tenant,
    meter, period), or None before the first."""
    run = session.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id.desc())).first()
    if run is None:
        return None
    drifts = session.scalars(
        select(ReconciliationDrift)
        .where(ReconciliationDrift.run_id == run.id)
        .order_by(
            ReconciliationDrift.tenant_id,
            ReconciliationDrift.meter_key,
            ReconciliationDrift.period_start,
        )
    ).all()
    return run, list(drifts)
