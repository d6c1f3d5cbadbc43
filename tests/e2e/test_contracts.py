"""A contract end to end, on DuckDB and PostgreSQL: a 3-month term (Sep-Nov 2026) with a ramp
and a postpaid commit, through the API; events on Kafka -> `billing run` -> invoices through the
API, computed by hand.

  std: base fee 20 (in advance); calls per unit 0.10. VAT 10% on tenant-a.

  tenant-a  contract Sep 1 - Dec 1 2026, postpaid commit 150; ramps: September calls at 0.20
            (base fee the plan's 20), October-November base fee 30 and calls at 0.05
  tenant-b  std, no contract (the plan's prices)

Calls: tenant-a 50 in September, 40 in October, 20 in November (20 more land later);
tenant-b 50 in September.
"""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from tests.conftest import admin_api, clocked_app, month_events, produce, run_pipeline
from tests.e2e.test_invoices import due_until, in_grace, invoices_by_tenant, lines
from tests.e2e.test_overrides import ties_out
from tests.plans import per_unit, plan

SEP, OCT, NOV, DEC = "2026-09-01", "2026-10-01", "2026-11-01", "2026-12-01"
STD = plan("std", "Standard", "20", per_unit("calls", "0.10"))  # base fee in advance (default)


def until_november(settings):
    """Settings under which September and October are due for finalization, November not."""
    return due_until(settings, datetime(2026, 11, 1))


def test_a_contract_with_a_ramp_and_a_postpaid_commit(target_settings):
    settings = target_settings
    app, clock = clocked_app(settings, datetime(2026, 9, 1, 0, 0))
    with TestClient(app) as client:
        call = admin_api(client)
        call("POST", "/plans", STD, 201)
        call("POST", "/tax-rates", {"code": "VAT10", "name": "VAT", "percentage": "10"}, 201)
        call("PUT", "/tenants/tenant-a", {"name": "A", "tax_rates": ["VAT10"]})
        sub = call("POST", "/subscriptions", {"tenant_id": "tenant-a", "plan_code": "std"}, 201)
        call("POST", "/subscriptions", {"tenant_id": "tenant-b", "plan_code": "std"}, 201)
        contract = call(
            "POST",
            "/contracts",
            {
                "tenant_id": "tenant-a",
                "starts_on": SEP,
                "ends_on": DEC,
                "currency": "USD",
                "postpaid_commit_amount": "150",
                "ramps": [
                    {"starts_on": SEP, "charges": [{"meter": "calls", "unit_amount": "0.20"}]},
                    {
                        "starts_on": OCT,
                        "base_fee_amount": "30",
                        "charges": [{"meter": "calls", "unit_amount": "0.05"}],
                    },
                ],
            },
            201,
        )
        assert (contract["subscription_id"], contract["last_period_start"]) == (sub["id"], NOV)

        produce(
            settings,
            month_events("tenant-a", 9, 50)
            + month_events("tenant-a", 10, 40)
            + month_events("tenant-a", 11, 20)
            + month_events("tenant-b", 9, 50),
        )
        run_pipeline(in_grace(settings))
        a = {p: invoices_by_tenant(client, p)["tenant-a"] for p in (SEP, OCT, NOV, DEC)}
        # September (ramp 1): base 20; calls 50 x 0.20 = 10.00; VAT 3.00 -> 33.00
        assert lines(a[SEP]) == [("base_fee", "20.00"), ("usage", "10.00"), ("tax", "3.00")]
        assert a[SEP]["total"] == "33.00"
        # October (ramp 2): base 30; calls 40 x 0.05 = 2.00; VAT 3.20 -> 35.20
        assert lines(a[OCT]) == [("base_fee", "30.00"), ("usage", "2.00"), ("tax", "3.20")]
        assert a[OCT]["total"] == "35.20"
        # November, the term's last period: base 30; calls 20 x 0.05 = 1.00; the term billed
        # 30.00 + 32.00 + 31.00 = 93.00 before tax, short of 150 by 57.00; taxed:
        # (31.00 + 57.00) x 10% = 8.80 -> 96.80
        assert lines(a[NOV]) == [
            ("base_fee", "30.00"),
            ("usage", "1.00"),
            ("commit_true_up", "57.00"),
            ("tax", "8.80"),
        ]
        assert a[NOV]["lines"][2]["description"] == (
            "Postpaid commit true-up (term 2026-09-01 to 2026-12-01)"
        )
        assert a[NOV]["total"] == "96.80"
        # December, after the term: the plan's prices again (no override before the contract).
        assert lines(a[DEC]) == [("base_fee", "20.00"), ("usage", "0.00"), ("tax", "2.00")]
        # tenant-b, no contract: 20 + 50 x 0.10 = 25.00
        assert invoices_by_tenant(client, SEP)["tenant-b"]["total"] == "25.00"
        assert all(ties_out(i) for i in a.values())

        # September and October finalized; 20 more November calls land: November is rebuilt
        # from the finalized invoices (30.00 + 32.00) and its draft: calls 40 x 0.05 = 2.00,
        # billed 94.00, true-up 56.00, VAT (32.00 + 56.00) x 10% = 8.80 -> 96.80.
        clock.now = datetime(2026, 11, 3)
        produce(settings, month_events("tenant-a", 11, 20, first=20))
        run_pipeline(until_november(settings))
        final = {p: invoices_by_tenant(client, p, "finalized")["tenant-a"] for p in (SEP, OCT)}
        assert (final[SEP]["total"], final[OCT]["total"]) == ("33.00", "35.20")
        november = invoices_by_tenant(client, NOV)["tenant-a"]
        assert lines(november) == [
            ("base_fee", "30.00"),
            ("usage", "2.00"),
            ("commit_true_up", "56.00"),
            ("tax", "8.80"),
        ]
        assert november["total"] == "96.80"
        assert ties_out(november)
