"""Contracts through the API, on a real control plane: validation (a 4xx naming the field,
nothing written), ramps written as override versions, the overrides before the contract back
at the end of the term, tenant keys only reading."""

from __future__ import annotations

import pytest

from tests.integration import test_overrides_api as overrides_api
from tests.integration.test_overrides_api import ADMIN, BASE, subscribe

# The fixtures of the overrides tests: their clock and their control plane (on SQLite and on
# PostgreSQL) with their plans (std: calls, value_sum).
clock, client, pg_client = overrides_api.clock, overrides_api.client, overrides_api.pg_client


def contract(**fields) -> dict:
    """A term March-May 2026 of t1 with a commit of 500 and two ramps (March; April-May)."""
    body = {
        "tenant_id": "t1",
        "starts_on": "2026-03-01",
        "ends_on": "2026-06-01",
        "currency": "USD",
        "postpaid_commit_amount": "500",
        "ramps": [
            {"starts_on": "2026-03-01", "charges": [{"meter": "calls", "unit_amount": "0.05"}]},
            {"starts_on": "2026-04-01", "base_fee_amount": "25", "charges": []},
        ],
    }
    body.update(fields)
    return body


def post(client, body, headers=ADMIN):
    return client.post(f"{BASE}/contracts", json=body, headers=headers)


def overrides_of(client, sub) -> dict:
    return client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()


RAMP = {"starts_on": "2026-03-01", "charges": []}
PREPAID = {"postpaid_commit_amount": None, "prepaid_commit_amount": "100"}


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"ends_on": "2026-03-01"}, 422, "ends_on"),
        ({"ends_on": "2026-02-01"}, 422, "ends_on"),
        ({"starts_on": "2026-03-02"}, 422, "starts_on"),
        ({"ends_on": "2026-06-15"}, 422, "ends_on"),
        ({"starts_on": "2026-03-01T00:00:00Z"}, 422, "starts_on"),
        # The term may not reach into a period before the current one (January is finalized).
        ({"starts_on": "2026-01-01", "ramps": []}, 422, "starts_on"),
        ({"currency": "EUR"}, 422, "currency"),
        ({"postpaid_commit_amount": "-1"}, 422, "postpaid_commit_amount"),
        ({"postpaid_commit_amount": "0"}, 422, "postpaid_commit_amount"),
        ({"postpaid_commit_amount": "1.0000000000001"}, 422, "postpaid_commit_amount"),
        ({"subscription_id": "sub_nope"}, 422, "subscription_id"),
        # Ramps: a gap at the start, an overlap, one outside the term, one off a period start.
        ({"ramps": [{"starts_on": "2026-04-01", "charges": []}]}, 422, "ramps[0].starts_on"),
        ({"ramps": [RAMP, RAMP]}, 422, "ramps[1].starts_on"),
        (
            {"ramps": [RAMP, {"starts_on": "2026-05-01"}, {"starts_on": "2026-04-01"}]},
            422,
            "ramps[2].starts_on",
        ),
        ({"ramps": [RAMP, {"starts_on": "2026-06-01"}]}, 422, "ramps[1].starts_on"),
        ({"ramps": [RAMP, {"starts_on": "2026-02-01"}]}, 422, "ramps[1].starts_on"),
        ({"ramps": [RAMP, {"starts_on": "2026-04-10"}]}, 422, "ramps[1].starts_on"),
        # A ramp's charges are checked as overrides are: the plan's charges, their price model.
        (
            {"ramps": [RAMP, {"starts_on": "2026-04-01", "charges": [{"meter": "users"}]}]},
            422,
            "ramps[1].charges[0].meter",
        ),
        (
            {
                "ramps": [
                    RAMP,
                    {
                        "starts_on": "2026-04-01",
                        "charges": [{"meter": "calls", "unit_amount": "-1"}],
                    },
                ]
            },
            422,
            "ramps[1].charges[0].unit_amount",
        ),
        ({"ramps": [{**RAMP, "base_fee_amount": "-5"}]}, 422, "ramps[0].base_fee_amount"),
        # A prepaid commit: alone, positive, in the currency's minor unit, at most one
        # instalment per period of the term and at least one cent each.
        ({"prepaid_commit_amount": "100"}, 422, "prepaid_commit_amount"),
        *(
            ({**PREPAID, **fields}, 422, field)
            for fields, field in (
                ({"prepaid_commit_amount": "0"}, "prepaid_commit_amount"),
                ({"prepaid_commit_amount": "-3"}, "prepaid_commit_amount"),
                ({"prepaid_commit_amount": "10.001"}, "prepaid_commit_amount"),
                ({"prepaid_commit_instalments": 4}, "prepaid_commit_instalments"),
                ({"prepaid_commit_instalments": 0}, "prepaid_commit_instalments"),
                (
                    {"prepaid_commit_amount": "0.02", "prepaid_commit_instalments": 3},
                    "prepaid_commit_instalments",
                ),
                (
                    {"prepaid_commit_amount": None, "prepaid_commit_instalments": 2},
                    "prepaid_commit_instalments",
                ),
                (
                    {"prepaid_commit_amount": None, "prepaid_commit_rollover": True},
                    "prepaid_commit_rollover",
                ),
            )
        ),
    ],
)
def test_invalid_contracts_name_the_field_and_write_nothing(client, fields, status, field):
    sub = subscribe(client)
    response = post(client, contract(**fields))
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert client.get(f"{BASE}/contracts", headers=ADMIN).json()["count"] == 0
    assert overrides_of(client, sub)["count"] == 0
    assert client.get(f"{BASE}/tenants/t1/wallets", headers=ADMIN).json()["count"] == 0


def test_a_contract_writes_its_ramps_as_override_versions(client, clock):
    sub = subscribe(client)
    # Overrides before the contract come back at the end of its term.
    before = client.put(
        f"{BASE}/subscriptions/{sub}/overrides",
        json={
            "charges": [{"meter": "value_sum", "tiers": [{"up_to": None, "unit_amount": "0.01"}]}]
        },
        headers=ADMIN,
    )
    assert before.status_code == 200, before.text
    created = post(client, contract())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("ctr_")
    assert (body["subscription_id"], body["starts_on"], body["ends_on"]) == (
        sub,
        "2026-03-01",
        "2026-06-01",
    )
    assert (body["last_period_start"], body["postpaid_commit_amount"]) == ("2026-05-01", "500")
    assert [
        (r["starts_on"], r["ends_on"], r["overrides"]["reason"], r["overrides"]["version"])
        for r in body["ramps"]
    ] == [
        ("2026-03-01", "2026-04-01", "contract_ramp", 2),
        ("2026-04-01", "2026-06-01", "contract_ramp", 3),
    ]
    assert body["ramps"][0]["overrides"]["charges"][0]["price"] == {
        "model": "per_unit",
        "unit_amount": "0.05",
        "free_units": "0",
    }
    assert body["ramps"][1]["overrides"]["base_fee_amount"] == "25"
    versions = overrides_of(client, sub)["data"]
    assert [
        (v["version"], v["effective_from"], v["reason"], v["base_fee_amount"], len(v["charges"]))
        for v in versions
    ] == [
        (1, "2026-02-01T00:00:00Z", "replaced", None, 1),
        (2, "2026-03-01T00:00:00Z", "contract_ramp", None, 1),
        (3, "2026-04-01T00:00:00Z", "contract_ramp", "25", 0),
        (4, "2026-06-01T00:00:00Z", "contract_end", None, 1),
    ]
    assert versions[3]["charges"][0]["meter"] == "value_sum"
    assert client.get(f"{BASE}/contracts/{body['id']}", headers=ADMIN).json() == body

    # An overlapping term of the same tenant is a 409 naming starts_on; another tenant's is fine.
    clash = post(client, contract(starts_on="2026-05-01", ends_on="2026-08-01", ramps=[]))
    assert (clash.status_code, clash.json()["field"]) == (409, "starts_on")
    subscribe(client, "t2")
    assert post(client, contract(tenant_id="t2")).status_code == 201
    after = post(client, contract(starts_on="2026-06-01", ends_on="2026-07-01", ramps=[]))
    assert after.status_code == 201, after.text
    listed = client.get(f"{BASE}/contracts?tenant_id=t1", headers=ADMIN).json()
    assert [c["starts_on"] for c in listed["data"]] == ["2026-03-01", "2026-06-01"]

    # Tenant keys read their own contracts only, and cannot create one.
    key = client.post(f"{BASE}/api-keys", json={"tenant_id": "t2"}, headers=ADMIN).json()["key"]
    tenant = {"X-API-Key": key}
    assert client.get(f"{BASE}/contracts", headers=tenant).json()["count"] == 1
    assert client.get(f"{BASE}/contracts/{body['id']}", headers=tenant).status_code == 404
    assert post(client, contract(tenant_id="t2"), headers=tenant).status_code == 403


def test_the_subscription_must_last_the_term_and_be_unambiguous(client):
    first = subscribe(client)
    second = subscribe(client)
    # Two subscriptions in force: the contract must name one.
    response = post(client, contract(ramps=[]))
    assert (response.status_code, response.json()["field"]) == (422, "subscription_id")
    other = subscribe(client, "t2")
    response = post(client, contract(subscription_id=other, ramps=[]))
    assert (response.status_code, response.json()["field"]) == (422, "subscription_id")
    canceled = client.post(
        f"{BASE}/subscriptions/{second}/cancel",
        json={"at_period_end": False, "at": "2026-04-15T00:00:00Z"},
        headers=ADMIN,
    )
    assert canceled.status_code == 200, canceled.text
    response = post(client, contract(subscription_id=second, ramps=[]))
    assert (response.status_code, response.json()["field"]) == (422, "ends_on")
    assert post(client, contract(subscription_id=first)).status_code == 201


def prepaid_contract(client, **fields) -> dict:
    subscribe(client)
    created = post(client, contract(ramps=[], **{**PREPAID, **fields}))
    assert created.status_code == 201, created.text
    return created.json()


def test_a_prepaid_commit_is_a_wallet_grant_billed_in_instalments(client):
    body = prepaid_contract(client, prepaid_commit_instalments=3)
    # 100 over 3 invoices: 33.33 each, the first carrying the cent rounding left.
    assert [(i["period_start"], i["amount"]) for i in body["prepaid_commit_instalments"]] == [
        ("2026-03-01", "33.34"),
        ("2026-04-01", "33.33"),
        ("2026-05-01", "33.33"),
    ]
    wallet = client.get(
        f"{BASE}/tenants/t1/wallets/{body['prepaid_wallet_id']}", headers=ADMIN
    ).json()
    assert (wallet["name"], wallet["currency"], wallet["balance"]) == (
        f"contract {body['id']}",
        "USD",
        "100",
    )
    [grant] = wallet["grants"]
    assert grant["id"] == body["prepaid_grant_id"]
    # Usable by the term's invoices (granted at its start), expiring at its end.
    assert (grant["kind"], grant["source_ref"], grant["amount"]) == ("contract", body["id"], "100")
    assert (grant["granted_at"], grant["expires_at"]) == (
        "2026-03-01T00:00:00Z",
        "2026-06-01T00:00:00Z",
    )
    assert client.get(f"{BASE}/contracts/{body['id']}", headers=ADMIN).json() == body


def test_a_prepaid_commit_that_rolls_over_never_expires(client):
    body = prepaid_contract(client, prepaid_commit_rollover=True)
    assert body["prepaid_commit_instalments"] == [{"period_start": "2026-03-01", "amount": "100"}]
    wallet = client.get(
        f"{BASE}/tenants/t1/wallets/{body['prepaid_wallet_id']}", headers=ADMIN
    ).json()
    assert wallet["grants"][0]["expires_at"] is None


def test_postgres_control_plane(pg_client):
    sub = subscribe(pg_client)
    created = post(pg_client, contract())
    assert created.status_code == 201, created.text
    assert [v["reason"] for v in overrides_of(pg_client, sub)["data"]] == [
        "contract_ramp",
        "contract_ramp",
        "contract_end",
    ]
    bad = post(pg_client, contract(tenant_id="t1", starts_on="2026-04-01", ramps=[RAMP]))
    assert (bad.status_code, bad.json()["field"]) == (422, "ramps[0].starts_on")
    assert pg_client.get(f"{BASE}/contracts", headers=ADMIN).json()["count"] == 1
    prepaid = post(
        pg_client,
        contract(
            tenant_id="t1",
            starts_on="2026-06-01",
            ends_on="2026-08-01",
            ramps=[],
            **PREPAID,
            prepaid_commit_instalments=2,
        ),
    )
    assert prepaid.status_code == 201, prepaid.text
    assert [i["amount"] for i in prepaid.json()["prepaid_commit_instalments"]] == ["50", "50"]
