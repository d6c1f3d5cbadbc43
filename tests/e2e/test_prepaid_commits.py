"""Prepaid commits end to end, on DuckDB and PostgreSQL: contracts through the API, events on
Kafka -> `billing run` -> September to November finalized, the commits drawn down through the
wallet ledger; invoices through the API, computed by hand.

  std: base fee 20 (in advance); calls per unit 0.10.

  tenant-p  VAT 10%; contract Sep 1 - Dec 1 2026, prepaid commit 100 in 2 instalments, expires.
            Calls: 100 in September, 300 in October, 50 in November.
    Sep  base 20.00, usage 10.00, commit 1 of 2 50.00 (untaxed), VAT 30 x 10% = 3.00: 83.00;
         the commit's wallet pays the charges and their tax, 33.00 -> 50.00 due (67 left)
    Oct  base 20.00, usage 30.00, commit 2 of 2 50.00, VAT 5.00: 105.00; wallet 55.00 -> 50.00
         (12 left)
    Nov  base 20.00, usage 5.00, VAT 2.50: 27.50; wallet 12.00 (drawn to zero) -> 15.50 overage
    Dec  after the term: base 20.00, VAT 2.00 -> 22.00 (a draft)
  tenant-q  no tax; contract Sep 1 - Nov 1, prepaid commit 60, expires. 50 calls in September.
    Sep  20.00 + 5.00 + commit 60.00 = 85.00; wallet 25.00 -> 60.00 (35 left)
    Oct  20.00 + 0.00; wallet 20.00 -> 0.00; the 15.00 left expires at the term's end (breakage)
    Nov  20.00 + 0.00 -> 20.00
  tenant-r  no tax; contract Sep 1 - Oct 1, prepaid commit 30, rolls over. No calls.
    Sep  20.00 + 0.00 + commit 30.00 = 50.00; wallet 20.00 -> 30.00 (10 left)
    Oct  after the term, the 10 left still pays: 20.00 - 10.00 -> 10.00
    Nov  20.00
"""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from tests.conftest import admin_api, clocked_app, month_events, produce, run_pipeline
from tests.e2e.test_invoices import due_until, invoices_by_tenant, lines
from tests.e2e.test_overrides import ties_out
from tests.plans import per_unit, plan

SEP, OCT, NOV, DEC = "2026-09-01", "2026-10-01", "2026-11-01", "2026-12-01"
STD = plan("std", "Standard", "20", per_unit("calls", "0.10"))


def until_december(settings):
    """Settings under which September to November are due for finalization, December not."""
    return due_until(settings, datetime(2026, 12, 1))


def contract(call, tenant: str, ends_on: str, amount: str, **prepaid) -> dict:
    body = {"tenant_id": tenant, "starts_on": SEP, "ends_on": ends_on, "currency": "USD"}
    return call("POST", "/contracts", {**body, "prepaid_commit_amount": amount, **prepaid}, 201)


def test_prepaid_commits_draw_down_expire_and_roll_over(target_settings):
    settings = target_settings
    app, _ = clocked_app(settings, datetime(2026, 9, 1, 0, 0))
    with TestClient(app) as client:
        call = admin_api(client)
        call("POST", "/plans", STD, 201)
        call("POST", "/tax-rates", {"code": "VAT10", "name": "VAT", "percentage": "10"}, 201)
        call("PUT", "/tenants/tenant-p", {"name": "P", "tax_rates": ["VAT10"]})
        for tenant in ("tenant-p", "tenant-q", "tenant-r"):
            call("POST", "/subscriptions", {"tenant_id": tenant, "plan_code": "std"}, 201)
        p = contract(call, "tenant-p", DEC, "100", prepaid_commit_instalments=2)
        q = contract(call, "tenant-q", NOV, "60")
        r = contract(call, "tenant-r", OCT, "30", prepaid_commit_rollover=True)
        assert p["prepaid_commit_instalments"] == [
            {"period_start": SEP, "amount": "50"},
            {"period_start": OCT, "amount": "50"},
        ]
        assert (q["prepaid_commit_rollover"], r["prepaid_commit_rollover"]) == (False, True)
        wallet = call("GET", f"/tenants/tenant-p/wallets/{p['prepaid_wallet_id']}")
        assert (wallet["name"], wallet["granted"], wallet["balance"]) == (
            f"contract {p['id']}",
            "100",
            "100",
        )

        produce(
            settings,
            month_events("tenant-p", 9, 100)
            + month_events("tenant-p", 10, 300)
            + month_events("tenant-p", 11, 50)
            + month_events("tenant-q", 9, 50),
        )
        run_pipeline(until_december(settings))
        final = {
            period: invoices_by_tenant(client, period, "finalized") for period in (SEP, OCT, NOV)
        }
        pay = ("wallet", None)

        def kinds(invoice):
            return [pay if kind == "wallet" else (kind, amount) for kind, amount in lines(invoice)]

        def wallet_paid(invoice):
            return [amount for kind, amount in lines(invoice) if kind == "wallet"]

        tp = {period: final[period]["tenant-p"] for period in final}
        assert lines(tp[SEP]) == [
            ("base_fee", "20.00"),
            ("usage", "10.00"),
            ("prepaid_commit", "50.00"),
            ("tax", "3.00"),
            ("wallet", "-33.00"),
        ]
        assert tp[SEP]["lines"][2]["description"] == (
            "Prepaid commit instalment 1 of 2 (term 2026-09-01 to 2026-12-01)"
        )
        assert tp[SEP]["lines"][4]["description"] == f"Wallet contract {p['id']} applied"
        assert lines(tp[OCT]) == [
            ("base_fee", "20.00"),
            ("usage", "30.00"),
            ("prepaid_commit", "50.00"),
            ("tax", "5.00"),
            ("wallet", "-55.00"),
        ]
        assert kinds(tp[NOV]) == [("base_fee", "20.00"), ("usage", "5.00"), ("tax", "2.50"), pay]
        assert wallet_paid(tp[NOV]) == ["-12.00"]
        totals = [tp[period]["total"] for period in (SEP, OCT, NOV)]
        assert totals == ["50.00", "50.00", "15.50"]
        december = invoices_by_tenant(client, DEC)["tenant-p"]
        assert (lines(december), december["total"]) == (
            [("base_fee", "20.00"), ("usage", "0.00"), ("tax", "2.00")],
            "22.00",
        )

        tq = {period: final[period]["tenant-q"] for period in final}
        assert lines(tq[SEP]) == [
            ("base_fee", "20.00"),
            ("usage", "5.00"),
            ("prepaid_commit", "60.00"),
            ("wallet", "-25.00"),
        ]
        assert tq[SEP]["lines"][2]["description"] == (
            "Prepaid commit (term 2026-09-01 to 2026-11-01)"
        )
        assert wallet_paid(tq[OCT]) == ["-20.00"] and wallet_paid(tq[NOV]) == []
        assert [tq[period]["total"] for period in (SEP, OCT, NOV)] == ["60.00", "0.00", "20.00"]

        tr = {period: final[period]["tenant-r"] for period in final}
        assert wallet_paid(tr[SEP]) == ["-20.00"] and wallet_paid(tr[OCT]) == ["-10.00"]
        assert [tr[period]["total"] for period in (SEP, OCT, NOV)] == ["30.00", "10.00", "20.00"]
        assert all(ties_out(i) for f in final.values() for i in f.values())

        def balance(tenant: str, body: dict) -> tuple:
            w = call("GET", f"/tenants/{tenant}/wallets/{body['prepaid_wallet_id']}")
            return w["granted"], w["consumed"], w["expired"], w["balance"]

        assert balance("tenant-p", p) == ("100", "100", "0", "0")
        assert balance("tenant-q", q) == ("60", "45", "15", "0")
        assert balance("tenant-r", r) == ("30", "30", "0", "0")
        ledger = call("GET", f"/tenants/tenant-q/wallets/{q['prepaid_wallet_id']}/ledger")
        assert sorted((e["kind"], e["amount"]) for e in ledger["data"]) == [
            ("breakage", "-15"),
            ("consumption", "-20"),
            ("consumption", "-25"),
            ("grant", "60"),
        ]

        # A re-run finalizes nothing again and draws nothing twice.
        run_pipeline(until_december(settings))
        assert invoices_by_tenant(client, NOV, "finalized")["tenant-p"] == tp[NOV]
        assert balance("tenant-q", q) == ("60", "45", "15", "0")
