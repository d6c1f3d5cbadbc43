"""Stripe collection end to end against localstripe (a stateful Stripe emulator started on a
free port) sending signed webhooks to this project's API (uvicorn on a free port).

The invoices are built once per module by the real pipeline (DuckDB): three tenants on a flat
42.65 USD plan from the first day of last month (by the real clock: finalization uses it), last
month finalized (grace 0), this month still open. Each test then works on its own
copy of the data directory (warehouse, serving snapshot, control plane, Dagster instance).

  tenant-ok        a card that pays (4242 4242 4242 4242), customer created beforehand in Stripe
  tenant-declined  a card whose every charge is declined (4000 0000 0000 0341)
  tenant-nocard    no Stripe customer: one is created, without a payment method -> reported
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.kafka import ensure_topics
from adapters.stripe.collection import collect_payments
from adapters.stripe.emulator import CARD_DECLINED, CARD_OK, free_port
from adapters.stripe.gateway import StripeGateway
from api.main import create_app
from billing.control_plane.db import dispose_engines, session_factory
from billing.control_plane.models import PaymentAttempt
from billing.settings import Settings
from dagster_project.definitions import defs
from dagster_project.payments.sensors import payment_collection_sensor, payment_retry_schedule
from dagster_project.pipeline import billing_run_config
from dagster_project.pipeline import run_pipeline as pipeline_run
from dagster_project.resources import BillingSettings
from tests.conftest import ADMIN_KEY, Clock, seed_meters, serving
from tests.plans import plan

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
SECRET = "whsec_test_secret"
API_KEY = "sk_test_billing"
TENANTS = ("tenant-ok", "tenant-declined", "tenant-nocard")
# The subscriptions start on the first day of last month, so exactly one period (last month) is
# finalized whatever today's date; collection is then dated the morning after this month began.
THIS_MONTH = datetime.now(UTC).replace(
    tzinfo=None, day=1, hour=0, minute=0, second=0, microsecond=0
)
LAST_MONTH = (THIS_MONTH - timedelta(days=1)).replace(day=1)
COLLECTED_AT = THIS_MONTH + timedelta(days=1, hours=9)
FLAT = plan("flat", "Flat", {"amount": "42.65", "timing": "in_advance"})

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finalized(tmp_path_factory, broker):
    """A data directory with last month's invoices finalized and published, built once."""
    suffix = uuid.uuid4().hex[:8]
    base = tmp_path_factory.mktemp("payments-base")
    settings = Settings(
        _env_file=None,
        data_dir=base / "data",
        kafka_bootstrap_servers=broker.bootstrap_servers,
        usage_topic=f"usage-{suffix}",
        billing_events_topic=f"billing-{suffix}",
        landing_consumer_name=f"landing-{suffix}",
        admin_api_key=ADMIN_KEY,
        grace_period_hours=0,
    )
    settings.data_path.mkdir(parents=True)
    ensure_topics(settings)
    seed_meters(settings)
    app = create_app(settings)
    app.state.clock = Clock(LAST_MONTH)
    with TestClient(app) as client:
        assert client.post(f"{BASE}/plans", json=FLAT, headers=ADMIN).status_code == 201
        for tenant in TENANTS:
            client.put(
                f"{BASE}/tenants/{tenant}",
                json={"name": tenant.title(), "email": f"{tenant}@example.com"},
                headers=ADMIN,
            )
            response = client.post(
                f"{BASE}/subscriptions",
                json={"tenant_id": tenant, "plan_code": "flat"},
                headers=ADMIN,
            )
            assert response.status_code == 201, response.text
    (settings.data_path / "dagster").mkdir()
    (settings.data_path / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.local_temp(str(settings.data_path / "dagster")) as instance:
        outcome = pipeline_run(settings, instance)
        assert outcome.success, [r.error for r in outcome.runs]
    dispose_engines()
    return settings


@pytest.fixture
def pay(finalized, make_settings, localstripe, monkeypatch, tmp_path):
    """Settings on a private copy of the finalized data directory, Stripe pointed at a
    flushed localstripe, and the API serving webhooks on a free port."""
    settings = make_settings(
        usage_topic=finalized.usage_topic,
        landing_consumer_name=finalized.landing_consumer_name,
        grace_period_hours=0,
        payment_max_attempts=2,
        payment_retry_backoff_hours=24,
        stripe_api_base=localstripe.api_base,
    )
    shutil.copytree(finalized.data_path, settings.data_path, dirs_exist_ok=True)
    for name, value in (
        ("STRIPE_API_KEY", API_KEY),
        ("STRIPE_API_BASE", localstripe.api_base),
        ("STRIPE_WEBHOOK_SECRET", SECRET),
    ):
        monkeypatch.setenv(name, value)
    settings = settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_webhook_secret": SECRET}
    )
    localstripe.flush()
    gateway = StripeGateway(settings)
    cards = {}
    for tenant, card in (("tenant-ok", CARD_OK), ("tenant-declined", CARD_DECLINED)):
        customer = gateway.create_customer(tenant, tenant.title(), None)
        gateway.attach_card(customer, gateway.create_card(card))
        cards[tenant] = customer
    app = create_app(settings)
    with serving(app) as base:
        localstripe.register_webhook("billing", f"{base}{BASE}/stripe/webhooks", SECRET)
        yield Env(settings, gateway, app, cards, localstripe)
        localstripe.register_webhook("billing", f"http://127.0.0.1:{free_port()}/gone", SECRET)
    dispose_engines()


class Env:
    def __init__(self, settings, gateway, app, customers, localstripe):
        self.settings = settings
        self.gateway = gateway
        self.app = app
        self.customers = customers
        self.localstripe = localstripe
        self.client = TestClient(app)

    def invoices(self) -> dict[str, dict]:
        listed = self.client.get(f"{BASE}/invoices?status=finalized", headers=ADMIN).json()
        return {i["tenant_id"]: i for i in listed["data"]}

    def invoice(self, tenant: str) -> dict:
        invoice_id = self.invoices()[tenant]["id"]
        return self.client.get(f"{BASE}/invoices/{invoice_id}", headers=ADMIN).json()

    def wait_for(self, tenant: str, status: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            invoice = self.invoice(tenant)
            if invoice["payment_status"] == status:
                return invoice
            assert time.monotonic() < deadline, (tenant, invoice["payment_status"], status)
            time.sleep(0.2)

    def intents(self) -> dict[tuple[str, str], list[dict]]:
        """localstripe's own PaymentIntents, by (invoice id, attempt)."""
        out: dict[tuple[str, str], list[dict]] = {}
        for intent in self.gateway.list_payment_intents():
            meta = intent.get("metadata") or {}
            out.setdefault((meta.get("invoice_id"), meta.get("attempt")), []).append(intent)
        return out

    def events_of(self, invoice_id: str, count: int, timeout: float = 20) -> list[dict]:
        """The invoice's status CloudEvents, once ``count`` have been published."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.status_events() if e["data"]["invoice_id"] == invoice_id]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.3)

    def status_events(self) -> list[dict]:
        consumer = Consumer(
            self.settings.kafka_client_config(
                **{"group.id": f"t-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False}
            )
        )
        topic = self.settings.billing_events_topic
        consumer.assign([TopicPartition(topic, 0, 0)])
        # Read until the topic has been quiet for a second. Not up to the high watermark: the
        # embedded broker has answered a watermark short of a batch just written (seen in CI:
        # 3 of 5 acknowledged events), which cut the last batch off.
        messages = []
        deadline, quiet_until = time.monotonic() + 20, time.monotonic() + 1.0
        while time.monotonic() < min(deadline, quiet_until):
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                messages.append(orjson.loads(message.value()))
                quiet_until = time.monotonic() + 1.0
        consumer.close()
        return messages


def run_collection_job(env: Env, instance, run_key: str | None = None, now: str = ""):
    config = billing_run_config(env.settings)
    config["ops"] = {"payments__invoice_payments": {"config": {"now": now}}}
    result = defs.resolve_job_def("collect_payments_job").execute_in_process(
        run_config=config,
        instance=instance,
        tags={"dagster/run_key": run_key} if run_key else None,
        raise_on_error=False,
    )
    assert result.success
    return result


def report_of(result) -> dict:
    [materialization] = result.asset_materializations_for_node("payments__invoice_payments")
    return materialization.metadata["report"].value


def billing_resource(env: Env) -> BillingSettings:
    return BillingSettings(data_dir=str(env.settings.data_path))


def test_successful_payment_end_to_end(pay):
    invoices = pay.invoices()
    assert {t: (i["total"], i["payment_status"]) for t, i in invoices.items()} == {
        t: ("42.65", None) for t in TENANTS
    }
    with dg.DagsterInstance.from_config(str(pay.settings.data_path / "dagster")) as instance:
        # finalize -> serving snapshot published (in the module's pipeline run) -> sensor
        context = dg.build_sensor_context(
            instance=instance, resources={"billing": billing_resource(pay)}
        )
        request = payment_collection_sensor(context)
        assert isinstance(request, dg.RunRequest) and request.run_key.startswith("collect-")
        report = report_of(run_collection_job(pay, instance, request.run_key))
    ok, declined = invoices["tenant-ok"]["id"], invoices["tenant-declined"]["id"]
    assert report["attempted"] == sorted([f"{ok}#1", f"{declined}#1"])
    assert report["missing_payment_method"] == ["tenant-nocard"]
    assert report["customers_created"] == ["tenant-nocard"]  # the others were found by metadata

    paid = pay.wait_for("tenant-ok", "paid")  # payment_intent.succeeded webhook
    [attempt] = paid["attempts"]
    assert attempt["attempt"] == 1 and attempt["status"] == "succeeded"
    pay.wait_for("tenant-declined", "payment_failed")
    assert pay.invoice("tenant-nocard")["payment_status"] == "requires_payment_method"

    [intent] = pay.intents()[(ok, "1")]
    assert intent["id"] == attempt["payment_intent_id"]
    assert (intent["amount"], intent["currency"], intent["customer"]) == (
        4265,
        "usd",
        pay.customers["tenant-ok"],
    )
    assert intent["metadata"]["tenant_id"] == "tenant-ok"
    assert intent["status"] == "succeeded"

    customer = pay.client.get(f"{BASE}/stripe/customers/tenant-ok", headers=ADMIN).json()
    assert customer["customer_id"] == pay.customers["tenant-ok"]
    created = pay.client.get(f"{BASE}/stripe/customers/tenant-nocard", headers=ADMIN).json()
    assert created["customer_id"].startswith("cus_")
    assert pay.client.get(f"{BASE}/stripe/customers/nobody", headers=ADMIN).status_code == 404
    status = pay.client.get(f"{BASE}/status", headers=ADMIN).json()
    assert status["payment_collection"] == "on"

    events = pay.events_of(ok, 2)
    assert len(events) >= 2
    assert [(e["type"], e["data"]["attempt"]) for e in events] == [
        ("billing.invoice.processing", 1),
        ("billing.invoice.paid", 1),
    ]
    assert all(e["specversion"] == "1.0" and e["subject"] == "tenant-ok" for e in events)
    assert events[1]["data"]["payment_intent_id"] == intent["id"]


def test_declined_card_is_retried_with_backoff_then_uncollectible(pay):
    clock = Clock(COLLECTED_AT)
    pay.app.state.clock = clock  # the webhook's time: failures are dated by it
    t0 = clock.now
    first = collect_payments(pay.settings, now=t0)
    declined = pay.invoices()["tenant-declined"]["id"]
    assert f"{declined}#1" in first.attempted
    failed = pay.wait_for("tenant-declined", "payment_failed")
    assert failed["attempts"][0]["failure_code"] == "card_declined"

    # The backoff (24 h after the first failure) has not elapsed: nothing is attempted.
    assert collect_payments(pay.settings, now=t0 + timedelta(hours=23)).attempted == []
    with dg.DagsterInstance.ephemeral() as instance:
        schedule = payment_retry_schedule(
            dg.build_schedule_context(
                instance=instance,
                scheduled_execution_time=t0 + timedelta(hours=25),
                resources={"billing": billing_resource(pay)},
            )
        )
        retry_at = t0 + timedelta(hours=25)
        assert schedule.run_key == f"retry-{retry_at:%Y%m%dT%H}"
        clock.now = t0 + timedelta(hours=25)
        retry = report_of(
            run_collection_job(pay, instance, schedule.run_key, clock.now.isoformat())
        )
    assert retry["attempted"] == [f"{declined}#2"]
    final = pay.wait_for("tenant-declined", "uncollectible")  # attempt 2 of 2 failed
    assert [(a["attempt"], a["status"]) for a in final["attempts"]] == [
        (1, "failed"),
        (2, "failed"),
    ]
    # Out of attempts: never charged again.
    assert collect_payments(pay.settings, now=t0 + timedelta(days=30)).attempted == []
    intents = pay.intents()
    assert [len(intents[(declined, n)]) for n in ("1", "2")] == [1, 1]
    assert (declined, "3") not in intents
    types = [e["type"].rsplit(".", 1)[1] for e in pay.events_of(declined, 4)]
    assert types == ["processing", "payment_failed", "processing", "uncollectible"]


def test_sensor_run_and_pipeline_repeated_charge_each_attempt_once(pay):
    with dg.DagsterInstance.from_config(str(pay.settings.data_path / "dagster")) as instance:
        resources = {"billing": billing_resource(pay)}
        first = payment_collection_sensor(
            dg.build_sensor_context(instance=instance, resources=resources)
        )
        assert isinstance(first, dg.RunRequest)
        cursor = first.run_key.removeprefix("collect-")
        again = payment_collection_sensor(
            dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        )
        assert isinstance(again, dg.SkipReason)
        run_collection_job(pay, instance, first.run_key)
        run_collection_job(pay, instance, first.run_key)  # the same run, launched again
        pay.wait_for("tenant-ok", "paid")
        pay.wait_for("tenant-declined", "payment_failed")
        outcome = pipeline_run(pay.settings, instance)  # the whole pipeline, re-run
        assert outcome.success and outcome.runs[-1].job == "collect_payments_job"
        # The new snapshot triggers the sensor; the collection it asks for charges nothing.
        third = payment_collection_sensor(
            dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        )
        assert isinstance(third, dg.RunRequest) and third.run_key != first.run_key
        assert report_of(run_collection_job(pay, instance, third.run_key))["attempted"] == []
    invoices = pay.invoices()
    intents = pay.intents()
    assert sorted(intents) == sorted(
        [(invoices["tenant-ok"]["id"], "1"), (invoices["tenant-declined"]["id"], "1")]
    )
    assert all(len(found) == 1 for found in intents.values())
    customers = pay.gateway.client.v1.customers.list({"limit": 100}).data
    assert sorted(c.to_dict()["metadata"]["tenant_id"] for c in customers) == sorted(TENANTS)


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from adapters.stripe.collection import collect_payments
    from billing.settings import Settings

    def crash(invoice_id, attempt):
        if invoice_id == sys.argv[1]:
            os._exit(17)  # after the Stripe call, before recording its result

    collect_payments(Settings(), after_stripe_call=crash)
    """
)


def test_crash_between_stripe_call_and_write_is_recovered_without_second_charge(pay, tmp_path):
    # No webhooks for this test: recovery and reconciliation alone must get it right.
    pay.localstripe.register_webhook("billing", f"http://127.0.0.1:{free_port()}/x", SECRET)
    ok = pay.invoices()["tenant-ok"]["id"]
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(os.getcwd())}
    done = subprocess.run([sys.executable, str(script), ok], env=env, timeout=120)
    assert done.returncode == 17
    with session_factory(pay.settings)() as session:
        [attempt] = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.invoice_id == ok)
        ).all()
        assert (attempt.status, attempt.payment_intent_id) == ("started", None)
    [intent] = pay.intents()[(ok, "1")]  # Stripe charged before the crash

    now = datetime.now().replace(microsecond=0)
    report = collect_payments(pay.settings, now=now)
    assert report.recovered == [f"{ok}#1"] and f"{ok}#1" not in report.attempted
    invoice = pay.invoice("tenant-ok")
    assert invoice["payment_status"] == "processing"
    assert invoice["attempts"][0]["payment_intent_id"] == intent["id"]
    assert invoice["attempts"][0]["status"] == "submitted"

    # Its webhook never came: a later run asks Stripe and records the outcome.
    later = collect_payments(pay.settings, now=now + timedelta(minutes=20))
    assert later.reconciled and f"{ok}#1" in later.reconciled
    assert pay.invoice("tenant-ok")["payment_status"] == "paid"
    assert [len(v) for k, v in pay.intents().items() if k[0] == ok] == [1]


def _sign(payload: bytes, t: int, secret: str = SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def test_forged_stale_and_replayed_webhooks_are_rejected(pay):
    collect_payments(pay.settings)
    pay.wait_for("tenant-declined", "payment_failed")
    declined = pay.invoices()["tenant-declined"]["id"]
    forged = orjson.dumps(
        {
            "id": "evt_forged_1",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {
                "object": {"id": "pi_x", "metadata": {"invoice_id": declined, "attempt": "1"}}
            },
        }
    )
    url = f"{BASE}/stripe/webhooks"
    now = int(time.time())
    cases = {
        "missing": {},
        "wrong secret": {"Stripe-Signature": _sign(forged, now, "whsec_attacker")},
        "garbage": {"Stripe-Signature": "t=1,v1=deadbeef"},
        "stale": {"Stripe-Signature": _sign(forged, now - 301)},
    }
    for name, headers in cases.items():
        response = pay.client.post(url, content=forged, headers=headers)
        assert response.status_code == 400, name
        assert "signature" in response.json()["detail"].lower(), name
    assert pay.invoice("tenant-declined")["payment_status"] == "payment_failed"

    event = orjson.dumps({"id": "evt_ok_1", "type": "customer.updated", "data": {"object": {}}})
    accepted = pay.client.post(url, content=event, headers={"Stripe-Signature": _sign(event, now)})
    assert accepted.status_code == 200 and accepted.json()["result"] == "ignored"
    replay = pay.client.post(url, content=event, headers={"Stripe-Signature": _sign(event, now)})
    assert replay.status_code == 400 and "already processed" in replay.json()["detail"]


def test_collection_is_off_without_a_key(make_settings, monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    settings = make_settings()
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            resources={"billing": BillingSettings(data_dir=str(settings.data_path))},
        )
        skip = payment_collection_sensor(context)
    assert isinstance(skip, dg.SkipReason) and "STRIPE_API_KEY" in skip.skip_message
    with TestClient(create_app(settings)) as client:
        status = client.get(f"{BASE}/status", headers=ADMIN).json()
    assert status["payment_collection"].startswith("off")


@pytest.mark.postgres
def test_concurrent_collectors_on_postgres_charge_each_attempt_once(
    make_settings, pg_database, localstripe
):
    """Two collection passes racing on a PostgreSQL control plane: the attempt is recorded
    (unique per invoice and attempt number) before Stripe is called, so the loser never calls
    Stripe. Outcomes arrive by reconciliation here (no webhook endpoint)."""
    from adapters.stripe.collection import payment_collector
    from billing.control_plane.db import migrate
    from billing.services.payment_collection import InvoiceToCollect

    localstripe.register_webhook("billing", f"http://127.0.0.1:{free_port()}/x", SECRET)
    localstripe.flush()
    settings = make_settings(control_db_url=pg_database, stripe_api_base=localstripe.api_base)
    settings = settings.model_copy(update={"stripe_api_key": API_KEY, "payment_max_attempts": 2})
    migrate(settings)
    gateway = StripeGateway(settings)
    for tenant, card in (("pg-ok", CARD_OK), ("pg-declined", CARD_DECLINED)):
        gateway.attach_card(gateway.create_customer(tenant, None, None), gateway.create_card(card))
    ok_id, declined_id = f"inv_{'a' * 20}", f"inv_{'b' * 20}"
    invoices = [
        InvoiceToCollect(ok_id, "INV-2026-000001", "pg-ok", "EUR", Decimal("19.99")),
        InvoiceToCollect(declined_id, "INV-2026-000002", "pg-declined", "JPY", Decimal("500")),
    ]
    now = datetime(2026, 11, 2, 9, 0)
    reports = []

    def collect():
        reports.append(payment_collector(settings).collect(invoices, now))

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(a for r in reports for a in r.attempted) == [
        f"{ok_id}#1",
        f"{declined_id}#1",
    ]
    later = payment_collector(settings).collect(invoices, now + timedelta(minutes=20))
    assert sorted(later.reconciled) == [f"{ok_id}#1", f"{declined_id}#1"]
    intents = {}
    for intent in gateway.list_payment_intents():
        intents.setdefault(intent["metadata"]["invoice_id"], []).append(
            (intent["amount"], intent["currency"], intent["status"])
        )
    assert intents == {
        ok_id: [(1999, "eur", "succeeded")],
        declined_id: [(500, "jpy", "requires_payment_method")],
    }
    with session_factory(settings)() as session:
        from billing.control_plane.models import InvoicePayment

        rows = session.scalars(select(InvoicePayment)).all()
        statuses = {p.tenant_id: (p.status, p.attempts) for p in rows}
        retry_at = session.get(InvoicePayment, declined_id).next_retry_at
    assert statuses == {"pg-ok": ("paid", 1), "pg-declined": ("payment_failed", 1)}
    assert retry_at == now + timedelta(minutes=20) + timedelta(hours=24)
    dispose_engines()


def test_webhook_applies_an_outcome_once_and_publishes_it(make_settings, monkeypatch):
    from billing.control_plane.db import migrate, session_scope
    from billing.control_plane.models import InvoicePayment, PaymentStatusEvent

    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    settings = make_settings().model_copy(update={"stripe_webhook_secret": SECRET})
    migrate(settings)
    invoice_id = f"inv_{'c' * 20}"
    with session_scope(settings) as session:
        session.add(
            InvoicePayment(
                invoice_id=invoice_id,
                invoice_number="INV-2026-000009",
                tenant_id="tenant-x",
                currency="USD",
                amount=Decimal("10.00"),
                status="processing",
                attempts=1,
            )
        )
        session.flush()
        session.add(
            PaymentAttempt(
                invoice_id=invoice_id,
                attempt_number=1,
                idempotency_key="k",
                status="submitted",
                customer_id="cus_x",
                amount_minor=1000,
                payment_intent_id="pi_x",
            )
        )
    event = orjson.dumps(
        {
            "id": "evt_paid_1",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {"id": "pi_x", "metadata": {"invoice_id": invoice_id, "attempt": "1"}}
            },
        }
    )
    env = Env(settings, None, create_app(settings), {}, None)
    headers = {"Stripe-Signature": _sign(event, int(time.time()))}
    url = f"{BASE}/stripe/webhooks"
    with env.client:
        response = env.client.post(url, content=event, headers=headers)
        assert response.status_code == 200 and response.json()["result"] == "applied"
        assert env.client.post(url, content=event, headers=headers).status_code == 400
    with session_factory(settings)() as session:
        assert session.get(InvoicePayment, invoice_id).status == "paid"
        published = session.scalars(select(PaymentStatusEvent)).all()
        assert [(e.id, e.published_at is not None) for e in published] == [
            (f"{invoice_id}:paid:1", True)
        ]
    [paid] = env.events_of(invoice_id, 1)
    assert paid["type"] == "billing.invoice.paid"
    assert paid["data"]["previous_status"] == "processing"
