"""An in-process copy of what the quota check reads, so the hot path touches no database.

A background thread refreshes it every ``interval`` seconds: the quotas and meter keys (small
tables, read whole) and the real-time usage rows the consumer changed since the last refresh
(``updated_at`` at or after the newest seen minus a margin that covers transactions committing
late). A real-time total is therefore served at most ``interval`` later than the consumer
committed it. If the thread falls behind by more than ``max_age``, a request refreshes inline.
Tenant keys are verified against the database once and then trusted for ``key_ttl`` seconds (a
revoked key stops working within that time).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from billing import security
from billing.control_plane.db import session_factory
from billing.control_plane.models import ApiKey, Meter, RealtimeUsage, ResourceQuota
from billing.settings import Settings

log = logging.getLogger(__name__)

LATE_COMMIT_MARGIN = timedelta(seconds=10)


class QuotaCache:
    def __init__(
        self, settings: Settings, interval: float = 0.1, max_age: float = 1.0, key_ttl=5.0
    ):
        self.settings = settings
        self.interval = interval
        self.max_age = max_age
        self.key_ttl = key_ttl
        self._lock = threading.Lock()
        self._quotas: dict[tuple[str, str], tuple[Decimal, str]] = {}
        self._meters: frozenset[str] = frozenset()
        self._usage: dict[tuple[str, str, date], Decimal] = {}
        self._keys: dict[str, tuple[str, str, float]] = {}  # key -> (key_id, tenant, checked at)
        self._watermark: datetime | None = None
        self._refreshed_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> None:
        with session_factory(self.settings)() as session:
            quotas = {
                (t, m): (limit, enforcement)
                for t, m, limit, enforcement in session.execute(
                    select(
                        ResourceQuota.tenant_id,
                        ResourceQuota.meter_key,
                        ResourceQuota.limit,
                        ResourceQuota.enforcement,
                    )
                )
            }
            meters = frozenset(session.scalars(select(Meter.key)))
            query = select(
                RealtimeUsage.tenant_id,
                RealtimeUsage.meter_key,
                RealtimeUsage.period_start,
                RealtimeUsage.quantity,
                RealtimeUsage.updated_at,
            )
            if self._watermark is not None:
                query = query.where(
                    RealtimeUsage.updated_at >= self._watermark - LATE_COMMIT_MARGIN
                )
            rows = session.execute(query).all()
        with self._lock:
            self._quotas = quotas
            self._meters = meters
            for tenant, meter, period, quantity, updated_at in rows:
                self._usage[(tenant, meter, period)] = quantity
                if self._watermark is None or updated_at > self._watermark:
                    self._watermark = updated_at
            if self._watermark is not None:  # keep the current and previous period only
                oldest = (self._watermark.replace(day=1) - timedelta(days=1)).date().replace(day=1)
                for key in [k for k in self._usage if k[2] < oldest]:
                    del self._usage[key]
            self._refreshed_at = time.monotonic()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - logged; requests refresh inline when stale
                log.exception("quota cache refresh failed")

    def is_stale(self) -> bool:
        """True when a request should refresh first (the thread is started on first use)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="quota-cache", daemon=True
                    )
                    self._thread.start()
        return time.monotonic() - self._refreshed_at > self.max_age

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # ------------------------------------------------------------------ reads
    def lookup(
        self, tenant_id: str, meter: str, period: date
    ) -> tuple[tuple[Decimal, str] | None, Decimal | None, bool]:
        """(quota, used, meter exists) for the check."""
        with self._lock:
            return (
                self._quotas.get((tenant_id, meter)),
                self._usage.get((tenant_id, meter, period)),
                meter in self._meters,
            )

    def cached_tenant(self, presented: str) -> str | None:
        """The tenant of a tenant key verified less than ``key_ttl`` seconds ago."""
        cached = self._keys.get(presented)
        if cached is not None and time.monotonic() - cached[2] < self.key_ttl:
            return cached[1]
        return None

    def tenant_of(self, presented: str) -> str | None:
        """The tenant of a valid tenant key (read from the database), or None."""
        parts = security.split_tenant_key(presented)
        if parts is None:
            return None
        key_id, secret = parts
        with session_factory(self.settings)() as session:
            row = session.get(ApiKey, key_id)
            valid = (
                row is not None
                and row.revoked_at is None
                and security.matches(secret, row.secret_hash)
            )
            tenant = row.tenant_id if valid else None
        if tenant is not None:
            self._keys[presented] = (key_id, tenant, time.monotonic())
        else:
            self._keys.pop(presented, None)
        return tenant
