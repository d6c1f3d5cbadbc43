"""Wallets end to end, on DuckDB and PostgreSQL: wallets and grants through the API, events on
Kafka -> `billing run` -> September finalized, its wallet consumption and breakage in the
ledger, on the invoice and in the balance marts; totals computed by hand.

September 2026: tenant-w and tenant-x each send 50 calls on plan std (base fee 20 in advance;
calls 0.10 per unit with 10 free): 20 + 40 x 0.10 = 24.00; VAT 20% = 4.80; 28.80.

tenant-w (granted Sep 1, all in USD):
  credit (the old balance)  3.00            -> applied first: 28.80 - 3.00 = 25.80 owed
  wallet promo, priority 1: B 4.00 expires Oct 10; A 15.00 never; D 6.00 expires Sep 20
  wallet main,  priority 2: E 10.00 expires Nov 1; C 50.00 never
Burn of 25.80 (priority, then soonest expiry, then oldest): B 4.00, A 15.00 (D expired before
the period's end: unusable), then main: E 6.80 (expires before C, which never does).
Invoice: 20.00 + 4.00 + 4.80 - 3.00 - 19.00 (promo) - 6.80 (main) = 0.00.
Finalization runs on the real date (after Nov 1): D's 6.00 breaks (it expired before the end
of September, the period finalized); E's remaining 3.20 does not yet, since E can still pay
October, which is not finalized. Balances: promo 25 - 19 - 6 = 0; main 60 - 6.80 = 53.20.
tenant-x has no wallet: 28.80.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from adapters.warehouse.connection import Warehouse
from tests.conftest import ADMIN_KEY, admin_api, clocked_app, cloud_event, produce, run_pipeline
from tests.e2e.test_invoices import invoices_by_tenant, lines, past_grace
from tests.e2e.test_overrides import ties_out
from tests.plans import per_unit, plan

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
SEP = "2026-09-01"
VAT20 = {"code": "VAT20", "name": "VAT", "percentage": "20"}
STD = plan("std", "Standard", "20", per_unit("calls", "0.10", free_units="10"))  # fee in advance


def grant(call, wallet: int, kind: str, amount: str, expires: str | None = None) -> int:
    body = {"kind": kind, "amount": amount, "expires_at": expires}
    return call("POST", f"/tenants/tenant-w/wallets/{wallet}/grants", body, 201)["id"]


def test_wallets_end_to_end(target_settings):
    settings = target_settings
    with TestClient(clocked_app(settings, datetime(2026, 9, 1))[0]) as client:
        call = admin_api(client)
        for path, body in (("/plans", STD), ("/tax-rates", VAT20)):
            call("POST", path, body, 201)
        for tenant in ("tenant-w", "tenant-x"):
            client.put(f"{BASE}/tenants/{tenant}", json={"tax_rates": ["VAT20"]}, headers=ADMIN)
            call("POST", "/subscriptions", {"tenant_id": tenant, "plan_code": "std"}, 201)
        call("POST", "/tenants/tenant-w/credits", {"amount": "3", "currency": "USD"}, 201)
        wallets = "/tenants/tenant-w/wallets"
        promo = call("POST", wallets, {"currency": "USD", "name": "promo", "priority": 1}, 201)
        main = call("POST", wallets, {"currency": "USD", "name": "main", "priority": 2}, 201)
        b = grant(call, promo["id"], "promotional", "4", "2026-10-10T00:00:00Z")
        a = grant(call, promo["id"], "promotional", "15")
        d = grant(call, promo["id"], "promotional", "6", "2026-09-20T00:00:00Z")
        e = grant(call, main["id"], "paid", "10", "2026-11-01T00:00:00Z")
        c = grant(call, main["id"], "contract", "50")

        produce(
            settings,
            [
                cloud_event(f"{t}-{i}", t, datetime(2026, 9, 5, 12, i), {"value": 1})
                for t in ("tenant-w", "tenant-x")
                for i in range(50)
            ],
        )
        run_pipeline(past_grace(settings))
        final = invoices_by_tenant(client, SEP, "finalized")
        w = final["tenant-w"]
        assert lines(w) == [
            ("base_fee", "20.00"),
            ("usage", "4.00"),
            ("tax", "4.80"),
            ("credit", "-3.00"),
            ("wallet", "-19.00"),
            ("wallet", "-6.80"),
        ]
        assert [line["description"] for line in w["lines"][-2:]] == [
            "Wallet promo applied",
            "Wallet main applied",
        ]
        assert (w["credits"], w["total"]) == ("28.80", "0.00") and ties_out(w)
        assert (final["tenant-x"]["credits"], final["tenant-x"]["total"]) == ("0.00", "28.80")

        def wallet(wid: int) -> dict:
            return call("GET", f"{wallets}/{wid}")

        def ledger(wid: int) -> list[tuple]:
            page = call("GET", f"{wallets}/{wid}/ledger?limit=100")
            return [(x["kind"], x["grant_id"], x["amount"], x["invoice_id"]) for x in page["data"]]

        def totals(body: dict) -> tuple:
            return body["granted"], body["consumed"], body["expired"], body["balance"]

        assert totals(wallet(promo["id"])) == ("25", "19", "6", "0")
        assert totals(wallet(main["id"])) == ("60", "6.8", "0", "53.2")
        inv = w["id"]
        assert ledger(promo["id"]) == [
            ("grant", b, "4", None),
            ("grant", a, "15", None),
            ("grant", d, "6", None),
            ("breakage", d, "-6", None),
            ("consumption", b, "-4", inv),
            ("consumption", a, "-15", inv),
        ]
        assert ledger(main["id"]) == [
            ("grant", e, "10", None),
            ("grant", c, "50", None),
            ("consumption", e, "-6.8", inv),
        ]
        page = call("GET", f"{wallets}/{main['id']}/ledger?limit=1&offset=1")
        assert (page["count"], page["data"][0]["grant_id"]) == (3, c)

        # A re-run finalizes nothing again: the ledger and the invoice stay as they are.
        run_pipeline(past_grace(settings))
        assert invoices_by_tenant(client, SEP, "finalized")["tenant-w"] == w
        assert totals(wallet(main["id"])) == ("60", "6.8", "0", "53.2")
        with Warehouse(settings).connection() as con:
            entries = con.fetchall("select count(*) from raw.wallet_ledger_entries")
            daily = con.fetchall(
                "select wallet_id, cast(balance_date as varchar), granted_amount, "
                "consumed_amount, expired_amount, balance_amount "
                "from marts.fct_wallet_balances_daily order by wallet_id, balance_date"
            )
        assert entries == [(4,)]
        today = daily[1][1]
        assert [(r[0], r[1], *map(Decimal, r[2:])) for r in daily] == [
            (promo["id"], "2026-09-01", 25, 0, 0, 25),
            (promo["id"], today, 0, 19, 6, 0),
            (main["id"], "2026-09-01", 60, 0, 0, 60),
            (main["id"], today, 0, Decimal("6.8"), 0, Decimal("53.2")),
        ]
