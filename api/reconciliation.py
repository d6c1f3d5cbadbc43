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

from api.models import RealtimeUsage, ReconciliationDrift, ReconciliationRun
from ingestion.serving import ServingReader


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
    reader: ServingReader, periods: Iterable[date] | None = None
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
    session: Session, reader: ServingReader, now: datetime, periods: Iterable[date] | None = None
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
