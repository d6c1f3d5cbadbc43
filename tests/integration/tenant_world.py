"""Two tenants with one resource of every tenant-owned kind, for the isolation check
(tests/integration/test_tenant_isolation.py): created with the admin API on a SQLite or
PostgreSQL control plane, plus a serving snapshot holding both tenants' invoices and usage."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import psycopg
import pytest
from fastapi.testclient import TestClient

from adapters.kafka import ensure_topics
from adapters.warehouse.connection import Warehouse
from adapters.warehouse.serving import publish_snapshot
from api.main import API_PREFIX, create_app
from billing.control_plane.db import session_scope
from billing.control_plane.models import BillingAlert, StripeCustomer
from billing.settings import Settings
from tests.conftest import ADMIN_KEY, PG_ADMIN_DSN, seed_meters

ADMIN = {"X-API-Key": ADMIN_KEY}
NOW = datetime(2026, 12, 7, 12, 0)
TENANTS = ("tenant-alpha-3c1e", "tenant-bravo-7f3a")  # distinctive: searched for in bodies
# Kinds of resource a tenant owns; the others (meters, plans, ...) are shared by all tenants.
OWNED = {
    "tenant",
    "quota",
    "api_key",
    "subscription",
    "invoice",
    "milestone",
    "wallet",
    "contract",
}
# An id of each owned kind that exists nowhere: B's must get the same answer.
GHOSTS = {
    "tenant": "tenant-ghost-0000",
    "quota": "987654",
    "api_key": "0123456789abcdef",
    "subscription": "sub_00000000000000000000",
    "invoice": "inv_ffffffffffffffff",
    "milestone": "987654",
    "wallet": "987654",
    "contract": "ctr_00000000000000000000",
    "draft_invoice": "inv_eeeeeeeeeeeeeeee",
}


@dataclass
class Tenant:
    tenant_id: str
    key: str
    ids: dict[str, str]


@dataclass
class World:
    client: TestClient
    app: object
    settings: object
    a: Tenant
    b: Tenant
    shared: dict[str, str]

    def value(self, kind: str, owner: Tenant) -> str:
        return owner.ids[kind] if kind in OWNED else self.shared[kind]

    def ghost(self) -> Tenant:
        return Tenant(GHOSTS["tenant"], "", dict(GHOSTS))

    def secrets_of(self, owner: Tenant) -> list[str]:
        """Strings that identify ``owner``'s data in any response."""
        return [
            owner.tenant_id,
            owner.ids["subscription"],
            owner.ids["invoice"],
            owner.ids["api_key"],
            f"cus_{owner.tenant_id}",
        ]


def _admin(client, method: str, path: str, body: dict, status: int = 201) -> dict:
    response = client.request(method, f"{API_PREFIX}{path}", json=body, headers=ADMIN)
    assert response.status_code == status, (path, response.text)
    return response.json()


def admin_post(client, path: str, body: dict) -> dict:
    return _admin(client, "POST", path, body)


def admin_put(client, path: str, body: dict) -> dict:
    return _admin(client, "PUT", path, body, 200)


MARTS = {  # the columns the tenant-readable mart routes query
    "fct_invoices": "invoice_id varchar, invoice_number varchar, status varchar, "
    "subscription_id varchar, tenant_id varchar, period_start date, period_end date, "
    "issue_number integer, currency varchar, subtotal_amount decimal(38,12), "
    "discount_amount decimal(38,12), tax_rate_percentage decimal(9,4), "
    "tax_amount decimal(38,12), credit_amount decimal(38,12), total_amount decimal(38,12), "
    "finalized_at timestamp, voided_at timestamp, void_reason varchar",
    "fct_invoice_lines": "invoice_id varchar, line_number integer, line_kind varchar, "
    "description varchar, service_period_start date, meter_key varchar, "
    "quantity decimal(38,12), amount decimal(38,12)",
    "fct_usage_daily": "tenant_id varchar, meter_key varchar, usage_date date, "
    "aggregation varchar, quantity decimal(38,12), unit varchar, event_count bigint, "
    "late_event_count bigint",
    "fct_invoice_documents": "invoice_id varchar, media_type varchar, content_sha256 varchar, "
    "content_base64 varchar, byte_count bigint, rendered_at timestamp",
}


def _publish_marts(settings, tenants: list[Tenant]) -> None:
    """Both tenants' invoices (November finalized, December draft), their lines and daily
    usage in a serving snapshot published by the real publisher, without a dbt run."""
    with Warehouse(settings).connection() as con:
        con.execute("create schema if not exists marts")
        for table, columns in MARTS.items():
            con.execute(f"create table marts.{table} ({columns})")
        for n, t in enumerate(tenants):
            for invoice_id, start, end, number in (
                (t.ids["invoice"], date(2026, 11, 1), date(2026, 12, 1), f"N-{n}"),
                (t.ids["draft_invoice"], date(2026, 12, 1), date(2027, 1, 1), None),
            ):
                con.execute(
                    "insert into marts.fct_invoices values (:id, :number, :status, :sub, "
                    ":tenant, :start, :end, 1, 'USD', 30, 0, 0, 0, 0, 30, :at, null, null)",
                    {
                        "id": invoice_id,
                        "number": number,
                        "status": "finalized" if number else "draft",
                        "sub": t.ids["subscription"],
                        "tenant": t.tenant_id,
                        "start": start,
                        "end": end,
                        "at": datetime(2026, 12, 1, 1) if number else None,
                    },
                )
                con.execute(
                    "insert into marts.fct_invoice_lines values "
                    "(:id, 1, 'base_fee', 'Base fee', :start, null, null, 30)",
                    {"id": invoice_id, "start": start},
                )
            pdf = f"%PDF-1.7 invoice of {t.tenant_id}".encode()  # the finalized one's
            con.execute(
                "insert into marts.fct_invoice_documents values (:id, 'application/pdf', "
                ":sha, :content, :size, '2026-12-01 01:00:00')",
                {
                    "id": t.ids["invoice"],
                    "sha": hashlib.sha256(pdf).hexdigest(),
                    "content": base64.b64encode(pdf).decode(),
                    "size": len(pdf),
                },
            )
            con.execute(
                "insert into marts.fct_usage_daily values "
                "(:tenant, 'calls', '2026-12-06', 'count', 7, 'call', 7, 0)",
                {"tenant": t.tenant_id},
            )
    publish_snapshot(settings)


def _tenant(client, n: int, tenant_id: str) -> Tenant:
    """A tenant with one resource of every kind, created with the admin API."""
    admin_put(client, f"/tenants/{tenant_id}", {"name": tenant_id, "tax_rates": ["VAT20"]})
    key = admin_post(client, "/api-keys", {"tenant_id": tenant_id})
    sub = admin_post(client, "/subscriptions", {"tenant_id": tenant_id, "plan_code": "pro"})
    quota = admin_post(
        client, "/quotas", {"tenant_id": tenant_id, "meter": "calls", "limit": "100"}
    )
    admin_put(client, f"/budgets/{tenant_id}", {"currency": "USD", "amount": "50"})
    milestone = admin_post(
        client, "/milestones", {"meter": "calls", "tenant_id": tenant_id, "levels": [5]}
    )
    admin_post(client, f"/tenants/{tenant_id}/credits", {"amount": "5", "currency": "USD"})
    admin_put(client, f"/tenant-cost-centers/{tenant_id}", {"cost_center": "platform"})
    wallet = admin_post(client, f"/tenants/{tenant_id}/wallets", {"currency": "USD"})
    admin_post(
        client,
        f"/tenants/{tenant_id}/wallets/{wallet['id']}/grants",
        {"kind": "paid", "amount": "9"},
    )
    contract = admin_post(
        client,
        "/contracts",
        {
            "tenant_id": tenant_id,
            "starts_on": "2026-12-01",
            "ends_on": "2027-03-01",
            "currency": "USD",
            "postpaid_commit_amount": "100",
        },
    )
    ids = {
        "tenant": tenant_id,
        "contract": contract["id"],
        "api_key": key["id"],
        "subscription": sub["id"],
        "quota": str(quota["id"]),
        "milestone": str(milestone["id"]),
        "wallet": str(wallet["id"]),
        "invoice": f"inv_{n}{'a' * 15}",
        "draft_invoice": f"inv_{n}{'d' * 15}",
    }
    return Tenant(tenant_id, key["key"], ids)


@contextlib.contextmanager
def _control_db(kind: str, postgres_available: bool) -> Iterator[dict]:
    """Settings overrides for a SQLite (default) or a fresh PostgreSQL control plane (as
    conftest's ``pg_database``, for a module-scoped world)."""
    if kind == "sqlite":
        yield {}
        return
    if not postgres_available:
        pytest.fail("PostgreSQL is not running at 127.0.0.1:5432 (.ci/run starts it)")
    name = f"billing_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        yield {"control_db_url": f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"}
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


@contextlib.contextmanager
def build_world(kind: str, broker, data_dir, postgres_available: bool) -> Iterator[World]:
    """The world on a ``kind`` (sqlite or postgres) control plane, its app served by a
    TestClient while the context lasts."""
    with _control_db(kind, postgres_available) as overrides:
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            kafka_bootstrap_servers=broker.bootstrap_servers,
            usage_topic=f"usage-{suffix}",
            billing_events_topic=f"billing-{suffix}",
            admin_api_key=ADMIN_KEY,
            **overrides,
        )
        ensure_topics(settings)
        seed_meters(settings)
        app = create_app(settings)
        app.state.clock = lambda: NOW
        with TestClient(app) as client:
            admin_post(client, "/tax-rates", {"code": "VAT20", "name": "VAT", "percentage": "20"})
            price = {"model": "per_unit", "unit_amount": "1"}
            plan = {"code": "pro", "name": "Pro", "currency": "USD"}
            plan["charges"] = [{"meter": "calls", "price": price}]
            admin_post(client, "/plans", plan)
            admin_post(client, "/coupons", {"code": "TEN", "percent_off": "10", "duration": "once"})
            admin_post(client, "/cost-centers", {"code": "platform", "name": "Platform"})
            match = {"service_name": "S"}
            rule = {"name": "r", "priority": 1, "match": match, "cost_center": "platform"}
            rule = admin_post(client, "/cost-allocation-rules", rule)
            tenants = [_tenant(client, n, t) for n, t in enumerate(TENANTS)]
            # No API creates these: Stripe collection makes the customer, alerting the alert.
            with session_scope(settings) as session:
                for t in tenants:
                    customer = StripeCustomer(
                        tenant_id=t.tenant_id, customer_id=f"cus_{t.tenant_id}"
                    )
                    session.add(customer)
                    session.add(
                        BillingAlert(
                            kind="budget",
                            tenant_id=t.tenant_id,
                            period_start=date(2026, 12, 1),
                            threshold="80",
                            value=Decimal(40),
                            limit=Decimal(50),
                            source="realtime",
                            fired_at=NOW,
                        )
                    )
            _publish_marts(settings, tenants)
            shared = {
                "meter": "calls",
                "plan": "pro",
                "plan_version": "1",
                "coupon": "TEN",
                "tax_rate": "VAT20",
                "cost_center": "platform",
                "rule": str(rule["id"]),
            }
            yield World(client, app, settings, tenants[0], tenants[1], shared)
