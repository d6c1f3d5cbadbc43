"""Warehouse-driven alerts and reconciliation, after a real pipeline run: the sensor fires only
crossings the real-time consumer has not fired, and an injected drift is flagged (stored, in the
Dagster asset check and in the API)."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.main import create_app
from billing.control_plane.db import session_scope
from billing.control_plane.models import BillingAlert, RealtimeUsage
from billing.rules.events import utc_now
from billing.services.alerts import decimal_text
from dagster_project.alerts.sensors import warehouse_alerts_sensor
from dagster_project.reconciliation.assets import realtime_reconciliation
from dagster_project.reconciliation.sensors import reconciliation_sensor
from dagster_project.resources import BillingSettings
from ingestion.realtime_consumer import RealtimeConsumer
from tests.conftest import ADMIN_KEY, cloud_event, produce, run_pipeline, seed_meters

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"


def test_warehouse_alerts_never_double_fire_and_reconciliation_flags_drift(make_settings):
    settings = make_settings(grace_period_hours=0)
    seed_meters(settings)
    now = utc_now()
    this_month = datetime(now.year, now.month, 1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    events = [
        cloud_event(
            f"w{i}", "t1", last_month + timedelta(days=1, hours=i), {"value": 2, "user_id": "u"}
        )
        for i in range(5)
    ] + [
        cloud_event(
            f"x{i}", "t2", last_month + timedelta(days=2, hours=i), {"value": 1, "user_id": "u"}
        )
        for i in range(3)
    ]
    current = [cloud_event("now-1", "t1", now - timedelta(minutes=2), {"value": 1, "user_id": "u"})]
    app = create_app(settings)
    with TestClient(app) as client:
        client.post(
            f"{BASE}/quotas",
            headers=ADMIN,
            json={"tenant_id": "t1", "meter": "calls", "limit": "4", "alert_thresholds": [50, 100]},
        )
        client.post(f"{BASE}/milestones", headers=ADMIN, json={"meter": "value_sum", "levels": [6]})
        # The real-time consumer has seen only t1's first two calls of last month: 50% fires.
        consumer = RealtimeConsumer(settings)
        consumer.process([orjson.dumps(e) for e in events[:2]], {}, {})
        produce(settings, events + current)
        run_pipeline(settings)

        resources = {"billing": BillingSettings()}
        with dg.DagsterInstance.ephemeral() as instance:
            context = dg.build_sensor_context(instance=instance, resources=resources)
            result = warehouse_alerts_sensor(context)
            assert "2 new alert(s)" in result.skip_message  # t1: quota 100%, milestone 6
            again = warehouse_alerts_sensor(
                dg.build_sensor_context(
                    instance=instance, resources=resources, cursor=context.cursor
                )
            )
            assert "already evaluated" in again.skip_message
            request = reconciliation_sensor(
                dg.build_sensor_context(instance=instance, resources=resources)
            )
            assert isinstance(request, dg.RunRequest) and request.run_key.startswith("reconcile-")

        # The rest reaches the real-time consumer: every crossing is already recorded.
        consumer.process([orjson.dumps(e) for e in events[2:] + current], {}, {})
        with session_scope(settings) as session:
            alerts = session.scalars(select(BillingAlert).order_by(BillingAlert.id)).all()
            fired = [
                (a.kind, a.tenant_id, a.threshold, a.source, decimal_text(a.value)) for a in alerts
            ]
        period = last_month.date()
        assert fired == [
            ("quota", "t1", "50", "realtime", "2"),
            ("quota", "t1", "100", "warehouse", "5"),
            ("milestone", "t1", "6", "warehouse", "10"),
        ]
        assert all(a.period_start == period for a in alerts)

        # Reconciliation: the closed period agrees; an injected drift is flagged.
        result = dg.materialize([realtime_reconciliation], resources=resources)
        assert result.success
        check = result.get_asset_check_evaluations()[0]
        assert check.passed
        materialization = result.asset_materializations_for_node("realtime__reconciliation")[0]
        assert materialization.metadata["drifted"].value == 0
        assert materialization.metadata["compared"].value == 10  # 2 tenants x 5 meters
        with session_scope(settings) as session:
            session.execute(
                update(RealtimeUsage)
                .where(RealtimeUsage.tenant_id == "t2")
                .where(RealtimeUsage.meter_key == "calls")
                .where(RealtimeUsage.period_start == period)
                .values(quantity="4")
            )
        result = dg.materialize([realtime_reconciliation], resources=resources)
        assert result.success  # a warning check: reported, does not fail the run
        check = result.get_asset_check_evaluations()[0]
        assert not check.passed and check.metadata["drifted"].value == 1
        report = client.get(f"{BASE}/reconciliation", headers=ADMIN).json()
        assert (report["compared"], report["drifted"]) == (10, 1)
        assert report["drifts"] == [
            {
                "tenant_id": "t2",
                "meter": "calls",
                "period_start": period.isoformat(),
                "realtime_quantity": "4",
                "warehouse_quantity": "3",
                "difference": "1",
            }
        ]
