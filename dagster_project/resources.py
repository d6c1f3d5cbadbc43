"""Configurable resources. Settings are read from the environment when a run starts, never at
import time; fields set here (or in the launchpad) override the environment."""

from __future__ import annotations

import dagster as dg

from billing.settings import Settings


class BillingSettings(dg.ConfigurableResource):
    """The ``BILLING_*`` settings for a run (see docs/configuration.md)."""

    data_dir: str | None = None
    warehouse_url: str | None = None
    control_db_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    usage_topic: str | None = None
    landing_consumer_name: str | None = None
    landing_batch_size: int | None = None
    grace_period_hours: int | None = None
    # Stripe's key and webhook secret come from the environment only (run config is visible).
    stripe_api_base: str | None = None
    payment_max_attempts: int | None = None
    payment_retry_backoff_hours: float | None = None

    def get(self) -> Settings:
        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return Settings(**overrides)
