"""Wallets and grants through the API: admin-only writes, tenant-scoped reads, 4xx naming the
field, a balance derived from the ledger (grants only until a pipeline run serves more)."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, admin_api, clocked_app

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
WALLETS = f"{BASE}/tenants/t1/wallets"


@pytest.fixture
def client(settings):
    app, _ = clocked_app(settings, datetime(2026, 9, 1, 12, 0))
    with TestClient(app) as test_client:
        yield test_client


def test_wallets_grants_and_a_balance_from_the_ledger(client):
    call = admin_api(client)
    key = call("POST", "/api-keys", {"tenant_id": "t1"}, 201)["key"]
    tenant = {"X-API-Key": key}
    wallet = call("POST", "/tenants/t1/wallets", {"currency": "EUR", "name": "promo"}, 201)
    assert (wallet["priority"], wallet["created_at"]) == (100, "2026-09-01T12:00:00Z")
    wid = wallet["id"]
    first = call(
        "POST",
        f"/tenants/t1/wallets/{wid}/grants",
        {"kind": "paid", "amount": "12.50", "expires_at": "2026-12-31T00:00:00Z"},
        201,
    )
    assert (first["amount"], first["currency"], first["expires_at"]) == (
        "12.5",
        "EUR",
        "2026-12-31T00:00:00Z",
    )
    call(
        "POST",
        f"/tenants/t1/wallets/{wid}/grants",
        {"kind": "contract", "amount": "100", "source_ref": "contract-7"},
        201,
    )
    read = client.get(f"{WALLETS}/{wid}", headers=tenant).json()
    assert (read["granted"], read["consumed"], read["expired"], read["balance"]) == (
        "112.5",
        "0",
        "0",
        "112.5",
    )
    assert [g["source_ref"] for g in read["grants"]] == [None, "contract-7"]
    ledger = client.get(f"{WALLETS}/{wid}/ledger?limit=1&offset=1", headers=tenant).json()
    assert ledger["count"] == 2 and [(e["kind"], e["amount"]) for e in ledger["data"]] == [
        ("grant", "100")
    ]
    assert client.get(WALLETS, headers=tenant).json()["count"] == 1

    # Writes are the admin's; other tenants' wallets are not readable.
    assert client.post(WALLETS, headers=tenant, json={"currency": "EUR"}).status_code == 403
    assert client.get(f"{BASE}/tenants/t2/wallets", headers=tenant).status_code == 403
    other = call("POST", "/tenants/t2/wallets", {"currency": "EUR"}, 201)["id"]
    assert client.get(f"{WALLETS}/{other}", headers=ADMIN).status_code == 404
    assert client.get(f"{WALLETS}/999999", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"currency": "EURO"}, "currency"),
        ("", {"currency": "EUR", "priority": 0}, "priority"),
        ("/grants", {"kind": "gift", "amount": "1"}, "kind"),
        ("/grants", {"kind": "paid", "amount": "-1"}, "amount"),
        ("/grants", {"kind": "paid", "amount": "0"}, "amount"),
        ("/grants", {"kind": "paid", "amount": "1.005"}, "amount"),  # EUR has 2 places
        ("/grants", {"kind": "paid", "amount": "1", "expires_at": "2026-09-01T11:00:00Z"},
         "expires_at"),
        ("/grants", {"kind": "paid", "amount": "1", "expires_at": "soon"}, "expires_at"),
    ],
)  # fmt: skip
def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(client, path, body, field):
    wid = admin_api(client)("POST", "/tenants/t1/wallets", {"currency": "EUR"}, 201)["id"]
    url = f"{WALLETS}/{wid}{path}" if path else WALLETS
    response = client.post(url, headers=ADMIN, json=body)
    assert response.status_code == 422 and field in response.json()["field"], response.text
    read = client.get(f"{WALLETS}/{wid}", headers=ADMIN).json()
    assert (read["balance"], read["grants"]) == ("0", [])
    assert client.get(WALLETS, headers=ADMIN).json()["count"] == 1
