"""Tenant billing profiles, tax rates and credit grants through the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.conftest import ADMIN_KEY

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_tax_rates_and_tenant_profiles(client):
    vat20 = {"code": "VAT20", "name": "VAT", "percentage": "20"}
    assert client.post(f"{BASE}/tax-rates", headers=ADMIN, json=vat20).status_code == 201
    assert client.post(f"{BASE}/tax-rates", headers=ADMIN, json=vat20).status_code == 409
    too_much = client.post(
        f"{BASE}/tax-rates", headers=ADMIN, json={"code": "X", "name": "X", "percentage": "101"}
    )
    assert too_much.status_code == 422 and "percentage" in too_much.json()["detail"]
    profile = client.put(
        f"{BASE}/tenants/t1",
        headers=ADMIN,
        json={"name": "Tenant One", "email": "billing@t1.example", "tax_rates": ["VAT20"]},
    )
    assert profile.status_code == 200 and profile.json()["tax_rates"] == ["VAT20"]
    unknown = client.put(f"{BASE}/tenants/t1", headers=ADMIN, json={"tax_rates": ["NOPE"]})
    assert unknown.status_code == 422 and unknown.json()["field"] == "tax_rates[0]"
    bad_email = client.put(f"{BASE}/tenants/t1", headers=ADMIN, json={"email": "nope"})
    assert bad_email.status_code == 422
    # Replacing the profile replaces its rates.
    cleared = client.put(f"{BASE}/tenants/t1", headers=ADMIN, json={"name": "T1"})
    assert cleared.json()["tax_rates"] == [] and cleared.json()["name"] == "T1"
    assert client.get(f"{BASE}/tenants", headers=ADMIN).json()["count"] == 1
    assert client.delete(f"{BASE}/tax-rates/VAT20", headers=ADMIN).json()["archived_at"]
    assert (
        client.put(f"{BASE}/tenants/t1", headers=ADMIN, json={"tax_rates": ["VAT20"]}).status_code
        == 422
    )  # archived rates no longer apply


def test_credit_grants_are_admin_only_and_validated(client):
    key = client.post(f"{BASE}/api-keys", headers=ADMIN, json={"tenant_id": "t1"}).json()["key"]
    tenant = {"X-API-Key": key}
    granted = client.post(
        f"{BASE}/tenants/t1/credits",
        headers=ADMIN,
        json={"amount": "12.50", "currency": "EUR", "reason": "outage"},
    )
    assert granted.status_code == 201 and granted.json()["amount"] == "12.5"
    assert (
        client.post(
            f"{BASE}/tenants/t1/credits", headers=tenant, json={"amount": "1", "currency": "EUR"}
        ).status_code
        == 403
    )
    for body, field in [
        ({"amount": "-1", "currency": "EUR"}, "amount"),
        ({"amount": "1", "currency": "EURO"}, "currency"),
    ]:
        response = client.post(f"{BASE}/tenants/t1/credits", headers=ADMIN, json=body)
        assert response.status_code == 422 and field in response.json()["detail"]
    mine = client.get(f"{BASE}/tenants/t1/credits", headers=tenant).json()
    assert mine["count"] == 1
    assert client.get(f"{BASE}/tenants/t2/credits", headers=tenant).status_code == 403
    assert client.get(f"{BASE}/tenants/t1", headers=tenant).status_code == 404
