"""Per-subscription price overrides end to end, on DuckDB and PostgreSQL: overrides through the
API, events on Kafka -> `billing run` -> invoices through the API, totals computed by hand.

September 2026 (30 days) is the period under test; every tenant sends the same 50 events of
value 10 in it: calls = 50, value_sum = 500.

  std:  base fee 20 (in advance); calls per unit 0.10 with 10 free; value_sum graduated
        (up to 100 at 0.05, then 0.02)
  plus: base fee 30; calls per unit 0.08 (no value_sum charge)

  tenant-a  std; override calls: unit 0.05 (half), 20 free
  tenant-b  std; no override
  tenant-c  std; override base fee 12, value_sum tiers (up to 200 at 0.03, then 0.01) and a
            minimum of 10
  tenant-d  std; override calls unit 0.05 and value_sum tiers; on Sep 16 changes to plus, which
            keeps the calls override and drops the value_sum one
  tenant-e  std; override base fee 8; on Sep 16 changes to plus (the base-fee override goes):
            the credit for the unused half is of the overridden 8, not the plan's 20
  tenant-f  std; on Sep 16 at 09:00 changes to plus-s (plus, its base fee prorated by the
            second): std's credit by days (15/30), plus-s's charge by seconds (1263600/2592000)
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from tests.conftest import (
    ADMIN_KEY,
    admin_api,
    clocked_app,
    month_events,
    produce,
    run_pipeline,
)
from tests.e2e.test_invoices import in_grace, invoices_by_tenant, lines, past_grace
from tests.plans import per_unit, plan, tiered, tiers

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
SEP, OCT = "2026-09-01", "2026-10-01"  # the periods under test

STD = plan(
    "std",
    "Standard",
    "20",
    per_unit("calls", "0.10", free_units="10"),
    tiered("value_sum", "graduated", ("100", "0.05"), (None, "0.02")),
)
PLUS = plan("plus", "Plus", "30", per_unit("calls", "0.08"))  # base fees in advance (default)
PLUS_S = plan(
    "plus-s",
    "Plus by the second",
    {"amount": "30", "proration": "second"},
    per_unit("calls", "0.08"),
)
CHEAP_TIERS = tiers(("200", "0.03"), (None, "0.01"))


def ties_out(invoice: dict) -> bool:
    return sum(Decimal(line["amount"]) for line in invoice["lines"]) == Decimal(invoice["total"])


def test_overrides_end_to_end(target_settings):
    settings = target_settings
    app, clock = clocked_app(settings, datetime(2026, 9, 1, 0, 0))
    with TestClient(app) as client:
        call = admin_api(client)

        call("POST", "/plans", STD, 201)
        call("POST", "/plans", PLUS, 201)
        assert call("POST", "/plans", PLUS_S, 201)["base_fee"]["proration"] == "second"
        subs = {
            t: call("POST", "/subscriptions", {"tenant_id": t, "plan_code": "std"}, 201)["id"]
            for t in ("tenant-a", "tenant-b", "tenant-c", "tenant-d", "tenant-e", "tenant-f")
        }
        a = call(
            "PUT",
            f"/subscriptions/{subs['tenant-a']}/overrides",
            {"charges": [{"meter": "calls", "unit_amount": "0.05", "free_units": "20"}]},
        )
        assert (a["version"], a["effective_from"], a["base_fee_amount"]) == (
            1,
            "2026-09-01T00:00:00Z",
            None,
        )
        assert a["charges"][0]["price"] == {
            "model": "per_unit",
            "unit_amount": "0.05",
            "free_units": "20",
        }
        call(
            "PUT",
            f"/subscriptions/{subs['tenant-c']}/overrides",
            {
                "base_fee_amount": "12",
                "charges": [{"meter": "value_sum", "tiers": CHEAP_TIERS, "minimum_amount": "10"}],
            },
        )
        call(
            "PUT",
            f"/subscriptions/{subs['tenant-d']}/overrides",
            {
                "charges": [
                    {"meter": "calls", "unit_amount": "0.05"},
                    {"meter": "value_sum", "tiers": CHEAP_TIERS},
                ]
            },
        )
        call("PUT", f"/subscriptions/{subs['tenant-e']}/overrides", {"base_fee_amount": "8"})
        # An override of a charge std does not have is a 422 naming it.
        bad = client.put(
            f"{BASE}/subscriptions/{subs['tenant-b']}/overrides",
            json={"charges": [{"meter": "users", "unit_amount": "1"}]},
            headers=ADMIN,
        )
        assert (bad.status_code, bad.json()["field"]) == (422, "charges[0].meter")

        clock.now = datetime(2026, 9, 16, 9, 0)
        changed = call(
            "POST", f"/subscriptions/{subs['tenant-d']}/change-plan", {"plan_code": "plus"}
        )
        assert changed["dropped_overrides"] == ["value_sum"]
        # std 20 -> plus 30 on Sep 16: 15/30 days left: credit -10.00, charge 15.00
        assert [p["amount"] for p in changed["proration"]] == ["-10.00", "15.00"]
        changed_e = call(
            "POST", f"/subscriptions/{subs['tenant-e']}/change-plan", {"plan_code": "plus"}
        )
        assert changed_e["dropped_overrides"] == ["base_fee"]
        assert [p["amount"] for p in changed_e["proration"]] == ["-4.00", "15.00"]
        # 30 x (14 days 15 h = 1,263,600 s) / (30 days = 2,592,000 s) = 14.625 -> 14.63
        changed_f = call(
            "POST", f"/subscriptions/{subs['tenant-f']}/change-plan", {"plan_code": "plus-s"}
        )
        assert [(p["amount"], p["description"]) for p in changed_f["proration"]] == [
            ("-10.00", "Unused time on std v1 (15/30 days)"),
            ("14.63", "Remaining time on plus-s v1 (1263600/2592000 s)"),
        ]
        d_overrides = call("GET", f"/subscriptions/{subs['tenant-d']}/overrides")
        assert d_overrides["current_version"] == 2
        assert [
            (v["plan_code"], [c["meter"] for c in v["charges"]]) for v in d_overrides["data"]
        ] == [
            ("std", ["calls", "value_sum"]),
            ("plus", ["calls"]),
        ]

        produce(settings, [e for t in subs for e in month_events(t, 9, 50, value=10)])
        run_pipeline(in_grace(settings))
        drafts = invoices_by_tenant(client, SEP)
        expected = {
            # base 20; calls (50 - 20) x 0.05 = 1.50 (plan: (50 - 10) x 0.10 = 4.00);
            # value_sum 100 x 0.05 + 400 x 0.02 = 13.00
            "tenant-a": ("34.50", [("base_fee", "20.00"), ("usage", "1.50"), ("usage", "13.00")]),
            # same plan, no override: 20 + 4.00 + 13.00
            "tenant-b": ("37.00", [("base_fee", "20.00"), ("usage", "4.00"), ("usage", "13.00")]),
            # base 12 (override); calls 4.00; value_sum 200 x 0.03 + 300 x 0.01 = 9.00,
            # minimum 10 -> true-up 1.00
            "tenant-c": (
                "26.00",
                [
                    ("base_fee", "12.00"),
                    ("usage", "4.00"),
                    ("usage", "9.00"),
                    ("minimum_commitment", "1.00"),
                ],
            ),
            # std base 20, credit -10.00, plus charge 15.00; the period's usage on plus (the
            # plan at the period end): calls 50 x 0.05 (kept override; plus has no free units)
            # = 2.50, value_sum not charged by plus
            "tenant-d": (
                "27.50",
                [
                    ("base_fee", "20.00"),
                    ("proration_credit", "-10.00"),
                    ("proration_charge", "15.00"),
                    ("usage", "2.50"),
                ],
            ),
            # base 8 (override), credit 8 x 15/30 = -4.00, plus 30 x 15/30 = 15.00; calls on
            # plus 50 x 0.08 = 4.00
            "tenant-e": (
                "23.00",
                [
                    ("base_fee", "8.00"),
                    ("proration_credit", "-4.00"),
                    ("proration_charge", "15.00"),
                    ("usage", "4.00"),
                ],
            ),
            # std base 20, credit by days -10.00, plus-s by seconds 14.63; calls 50 x 0.08
            "tenant-f": (
                "28.63",
                [
                    ("base_fee", "20.00"),
                    ("proration_credit", "-10.00"),
                    ("proration_charge", "14.63"),
                    ("usage", "4.00"),
                ],
            ),
        }
        assert {t: (i["total"], lines(i)) for t, i in drafts.items()} == expected
        assert [line["description"] for line in drafts["tenant-f"]["lines"][1:3]] == [
            "Unused time on std v1 (15/30 days)",
            "Remaining time on plus-s v1 (1263600/2592000 s)",
        ]
        assert all(ties_out(i) for i in drafts.values())

        # Grace over: September is finalized. A later override is a new version from October;
        # it cannot reach back into September.
        clock.now = datetime(2026, 10, 3)
        run_pipeline(past_grace(settings))
        final = invoices_by_tenant(client, SEP, "finalized")
        assert {t: i["total"] for t, i in final.items()} == {
            t: total for t, (total, _) in expected.items()
        }
        backdated = client.put(
            f"{BASE}/subscriptions/{subs['tenant-a']}/overrides",
            json={"effective_from": "2026-09-01T00:00:00Z", "charges": []},
            headers=ADMIN,
        )
        assert (backdated.status_code, backdated.json()["field"]) == (422, "effective_from")
        v2 = call(
            "PUT",
            f"/subscriptions/{subs['tenant-a']}/overrides",
            {"charges": [{"meter": "calls", "unit_amount": "0.01", "free_units": "20"}]},
        )
        assert (v2["version"], v2["effective_from"]) == (2, "2026-10-01T00:00:00Z")
        produce(settings, month_events("tenant-a", 10, 30))
        run_pipeline(past_grace(settings))
        again = invoices_by_tenant(client, SEP, "finalized")
        assert again["tenant-a"] == final["tenant-a"]
        october = invoices_by_tenant(client, OCT)
        # tenant-a October: base 20; calls (30 - 20) x 0.01 = 0.10; value_sum 30 x 0.05 = 1.50
        assert lines(october["tenant-a"]) == [
            ("base_fee", "20.00"),
            ("usage", "0.10"),
            ("usage", "1.50"),
        ]
        assert october["tenant-a"]["total"] == "21.60"
        # tenant-d October on plus, base-fee and value_sum overrides gone: 30 + calls 0 = 30.00
        assert october["tenant-d"]["total"] == "30.00"
        assert all(ties_out(i) for i in october.values())

        # The upcoming invoice (the current period) carries the overrides too: tenant-c pays
        # its base fee of 12 and the true-up to its minimum of 10 = 22.00; tenant-b the plan's 20.
        clock.now = datetime.now(UTC).replace(tzinfo=None)
        for tenant, total in (("tenant-c", "22.00"), ("tenant-b", "20.00")):
            upcoming = client.get(f"{BASE}/invoices/upcoming?tenant_id={tenant}", headers=ADMIN)
            assert upcoming.status_code == 200
            assert upcoming.json()["data"][0]["total"] == total


# std v2 (Sep 16): base fee 26; calls per unit 0.12 with 10 free; value_sum per unit 0.01, so a
# tiers override of value_sum no longer fits its price model.
STD_V2 = plan(
    "std",
    "Standard",
    "26",
    per_unit("calls", "0.12", free_units="10"),
    per_unit("value_sum", "0.01"),
)


def test_a_migrated_subscription_end_to_end(target_settings):
    """std v1 -> v2 on Sep 16 (15 of 30 days left), September's usage rated by v2 (the version
    at the period end), the base fee prorated between the versions:

      tenant-f  overrides base fee 12, calls unit 0.05, value_sum tiers; migrated: keeps the
                base fee and calls, drops value_sum
      tenant-g  no override, stays on v1
      tenant-h  no override, migrated
    """
    settings = target_settings
    app, clock = clocked_app(settings, datetime(2026, 9, 1, 0, 0))
    with TestClient(app) as client:
        call = admin_api(client)
        call("POST", "/plans", STD, 201)
        subs = {
            t: call("POST", "/subscriptions", {"tenant_id": t, "plan_code": "std"}, 201)["id"]
            for t in ("tenant-f", "tenant-g", "tenant-h")
        }
        call(
            "PUT",
            f"/subscriptions/{subs['tenant-f']}/overrides",
            {
                "base_fee_amount": "12",
                "charges": [
                    {"meter": "calls", "unit_amount": "0.05"},
                    {"meter": "value_sum", "tiers": CHEAP_TIERS},
                ],
            },
        )
        clock.now = datetime(2026, 9, 16, 9, 0)
        v2 = call("PUT", "/plans/std", {k: v for k, v in STD_V2.items() if k != "code"})
        assert v2["version"] == 2
        f = call("POST", f"/subscriptions/{subs['tenant-f']}/migrate", {})
        assert (f["plan_version"], f["dropped_overrides"]) == (2, ["value_sum"])
        # The kept base-fee override on both sides: 12 x 15/30 out and in.
        assert [p["amount"] for p in f["proration"]] == ["-6.00", "6.00"]
        h = call("POST", f"/subscriptions/{subs['tenant-h']}/migrate", {"version": 2})
        # 20 x 15/30 out, 26 x 15/30 in.
        assert [p["amount"] for p in h["proration"]] == ["-10.00", "13.00"]
        assert h["dropped_overrides"] == []

        produce(settings, [e for t in subs for e in month_events(t, 9, 50, value=10)])
        run_pipeline(in_grace(settings))
        drafts = invoices_by_tenant(client, SEP)
        # tenant-f: base 12 (v1, overridden), -6.00 + 6.00; usage on v2: calls (50 - 10 free
        # of v2) x 0.05 (kept) = 2.00; value_sum 500 x 0.01 (v2's price, tiers dropped) = 5.00
        assert lines(drafts["tenant-f"]) == [
            ("base_fee", "12.00"),
            ("proration_credit", "-6.00"),
            ("proration_charge", "6.00"),
            ("usage", "2.00"),
            ("usage", "5.00"),
        ]
        assert drafts["tenant-f"]["total"] == "19.00"
        # tenant-g on v1: 20 + (50 - 10) x 0.10 = 4.00 + 100 x 0.05 + 400 x 0.02 = 13.00
        assert lines(drafts["tenant-g"]) == [
            ("base_fee", "20.00"),
            ("usage", "4.00"),
            ("usage", "13.00"),
        ]
        assert drafts["tenant-g"]["total"] == "37.00"
        # tenant-h: 20 - 10.00 + 13.00; calls (50 - 10) x 0.12 = 4.80; value_sum 5.00
        assert lines(drafts["tenant-h"]) == [
            ("base_fee", "20.00"),
            ("proration_credit", "-10.00"),
            ("proration_charge", "13.00"),
            ("usage", "4.80"),
            ("usage", "5.00"),
        ]
        assert drafts["tenant-h"]["total"] == "32.80"
        assert all(ties_out(i) for i in drafts.values())

        # October, all of it on v2 for f and h: f keeps its base fee of 12.
        clock.now = datetime(2026, 10, 3)
        run_pipeline(past_grace(settings))
        final = invoices_by_tenant(client, SEP, "finalized")
        assert {t: i["total"] for t, i in final.items()} == {
            "tenant-f": "19.00",
            "tenant-g": "37.00",
            "tenant-h": "32.80",
        }
        october = invoices_by_tenant(client, OCT)
        assert {t: i["total"] for t, i in october.items()} == {
            "tenant-f": "12.00",
            "tenant-g": "20.00",
            "tenant-h": "26.00",
        }
        # September is finalized: a migration cannot reach back into it.
        late = client.post(
            f"{BASE}/subscriptions/{subs['tenant-g']}/migrate",
            json={"timing": "immediate", "at": "2026-09-20T00:00:00Z"},
            headers=ADMIN,
        )
        assert (late.status_code, late.json()["field"]) == (422, "at")
