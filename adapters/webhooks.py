"""Webhook delivery over HTTP (the ``post`` that ``billing.services.alerts.deliver_due`` takes)."""

from __future__ import annotations

import httpx


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=timeout).status_code
