"""Invoice PDFs end to end, on DuckDB and PostgreSQL: `billing run` finalizes September and
freezes each invoice's PDF (rendered from the invoice's HTML template by WeasyPrint); the API
serves the stored bytes to the admin and the owning tenant only; voids, re-issues and a full
rebuild never change a frozen PDF.

  tenant-b  basic all month, 5.00 off once, VAT 20%, a 2.00 credit grant:
            base 10.00; calls 7: 5 x 1 + 2 x 0.5 + 2 = 8.00; value 140: 140 x 0.05 + 1 = 8.00;
            subtotal 26.00 - 5.00 = 21.00; tax 20% = 4.20; 25.20 - credit 2.00 = 23.20
  tenant-c  basic all month: 10.00 + calls 3 (3.00) + value 3 (0.30) = 13.30
"""

from __future__ import annotations

import functools
import hashlib
import io
from datetime import datetime

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.conftest import admin_api, clocked_app, produce, run_pipeline
from tests.e2e.test_invoices import (
    ADMIN,
    BASE,
    BASIC,
    OCT,
    SEP,
    events,
    past_grace,
    rebuild_everything,
)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def only_invoice(client, tenant: str, period: str, status: str) -> dict:
    listed = client.get(
        f"{BASE}/invoices?tenant_id={tenant}&period_start={period}&status={status}", headers=ADMIN
    ).json()["data"]
    assert len(listed) == 1, listed
    return client.get(f"{BASE}/invoices/{listed[0]['id']}", headers=ADMIN).json()


def test_invoice_pdfs_are_frozen_at_finalization(target_settings):
    settings = target_settings
    app, clock = clocked_app(settings, datetime(2026, 9, 1))
    with TestClient(app) as client:
        call = admin_api(client)
        post = functools.partial(call, "POST")
        post("/plans", BASIC, 201)
        post("/tax-rates", {"code": "VAT20", "name": "VAT", "percentage": "20"}, 201)
        call(
            "PUT",
            "/tenants/tenant-b",
            {"name": "Bee & Co", "email": "billing@bee.example", "tax_rates": ["VAT20"]},
        )
        post(
            "/coupons",
            {"code": "FIVE", "amount_off": "5", "currency": "USD", "duration": "once"},
            201,
        )
        post(
            "/subscriptions",
            {"tenant_id": "tenant-b", "plan_code": "basic", "coupon_code": "FIVE"},
            201,
        )
        post("/subscriptions", {"tenant_id": "tenant-c", "plan_code": "basic"}, 201)
        post("/tenants/tenant-b/credits", {"amount": "2", "currency": "USD"}, 201)
        b_key = post("/api-keys", {"tenant_id": "tenant-b"}, 201)["key"]
        c_key = post("/api-keys", {"tenant_id": "tenant-c"}, 201)["key"]
        produce(settings, events("tenant-b", "x", 7, 20) + events("tenant-c", "x", 3, 1))
        run_pipeline(past_grace(settings))

        invoice = only_invoice(client, "tenant-b", SEP, "finalized")
        assert (invoice["subtotal"], invoice["discount"], invoice["tax"]) == (
            "26.00",
            "5.00",
            "4.20",
        )
        assert (invoice["credits"], invoice["total"]) == ("2.00", "23.20")
        url = f"{BASE}/invoices/{invoice['id']}/pdf"
        answer = client.get(url, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        content = answer.content
        assert content.startswith(b"%PDF-")
        sha = hashlib.sha256(content).hexdigest()
        assert answer.headers["etag"] == f'"{sha}"'
        assert f'filename="{invoice["number"]}.pdf"' in answer.headers["content-disposition"]
        text = pdf_text(content)
        for expected in (
            invoice["number"],
            "Billed to Bee & Co",
            "billing@bee.example",
            "Billing period 2026-09-01 to 2026-10-01",
            "Subtotal 26.00",
            "Discounts -5.00",
            "Tax (20%) 4.20",
            "Credits -2.00",
            "Total due 23.20 USD",
            "payment due at issue",
        ):
            assert expected in text, (expected, text)
        for line in invoice["lines"]:  # base 10.00, usage 8.00 and 8.00, -5.00, 4.20, -2.00
            assert f"{line['description']}" in text and line["amount"] in text, (line, text)
        assert [line["amount"] for line in invoice["lines"]] == [
            "10.00",
            "8.00",
            "8.00",
            "-5.00",
            "4.20",
            "-2.00",
        ]

        # The owning tenant gets the same bytes; another tenant gets 404, as for a missing id.
        mine = client.get(url, headers={"X-API-Key": b_key})
        assert mine.status_code == 200 and mine.content == content
        assert client.get(url, headers={"X-API-Key": c_key}).status_code == 404
        c_invoice = only_invoice(client, "tenant-c", SEP, "finalized")
        assert c_invoice["total"] == "13.30"
        c_pdf = client.get(f"{BASE}/invoices/{c_invoice['id']}/pdf", headers={"X-API-Key": c_key})
        assert "Total due 13.30 USD" in pdf_text(c_pdf.content)
        assert "Bee" not in pdf_text(c_pdf.content)
        # October is a draft: no PDF until it is finalized (404 naming the invoice).
        draft = only_invoice(client, "tenant-b", OCT, "draft")
        missing = client.get(f"{BASE}/invoices/{draft['id']}/pdf", headers=ADMIN)
        assert missing.status_code == 404 and "draft" in missing.json()["message"]
        assert client.get(f"{BASE}/invoices/inv_0000000000/pdf", headers=ADMIN).status_code == 404
        # The HTML page is the same template, with the live status.
        page = client.get(f"{BASE}/invoices/{invoice['id']}/html", headers=ADMIN).text
        assert "Billed to <b>Bee &amp; Co</b>" in page and "23.20 USD" in page

        # Void and re-issue: the period is finalized again; the voided invoice keeps its PDF
        # byte for byte, the re-issue has its own with its own number.
        clock.now = datetime(2026, 11, 2)
        post(f"/invoices/{invoice['id']}/void", {"reason": "wrong address"}, 200)
        call("PUT", "/tenants/tenant-b", {"name": "Bee Ltd", "tax_rates": ["VAT20"]})
        run_pipeline(past_grace(settings))
        again = client.get(url, headers=ADMIN)
        assert again.content == content and again.headers["etag"] == f'"{sha}"'
        reissued = only_invoice(client, "tenant-b", SEP, "finalized")
        assert reissued["issue_number"] == 2 and reissued["number"] != invoice["number"]
        reissued_pdf = client.get(f"{BASE}/invoices/{reissued['id']}/pdf", headers=ADMIN).content
        assert reissued["number"] in pdf_text(reissued_pdf)
        assert "Billed to Bee Ltd" in pdf_text(reissued_pdf)

        # A full rebuild of every model changes no stored PDF.
        rebuild_everything(settings)
        rebuilt = client.get(url, headers=ADMIN)
        assert hashlib.sha256(rebuilt.content).hexdigest() == sha
        after = client.get(f"{BASE}/invoices/{reissued['id']}/pdf", headers=ADMIN).content
        assert after == reissued_pdf
