"""All settings, in one place, read from the environment (``BILLING_*``) or a ``.env`` file.

Nothing reads settings at import time: call :func:`get_settings` (cached) or build ``Settings()``
explicitly. docs/configuration.md documents every field (the Stripe ones in docs/payments.md);
tests/unit/test_docs.py checks it.
"""

from __future__ import annotations

import json
import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ADMIN_KEY_FILE = "admin_api_key"


class SettingsError(ValueError):
    """A setting is missing or unsafe for the chosen environment."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BILLING_", env_file=".env", extra="ignore", validate_default=True
    )

    env: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses missing or generated secrets and embedded defaults.",
    )
    data_dir: Path = Field(Path(".billing"), description="Directory for all embedded files.")
    warehouse_url: str = Field(
        "",
        description="`duckdb:///path/file.duckdb` or `postgresql://user@host:port/db`. "
        "Empty: a DuckDB file under the data directory.",
    )
    control_db_url: str = Field(
        "",
        description="SQLAlchemy URL of the control plane. Empty: a SQLite file under the data dir.",
    )
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_config: str = Field(
        "",
        description="Extra librdkafka properties as JSON, e.g. SASL/SSL settings for a cluster.",
    )
    kafka_produce_timeout_seconds: float = Field(
        15.0, gt=0, description="How long the ingest endpoint waits for Kafka to acknowledge."
    )
    usage_topic: str = Field("usage-events", description="Topic carrying usage CloudEvents.")
    billing_events_topic: str = Field(
        "billing-events", description="Topic for billing status-change CloudEvents."
    )
    usage_topic_partitions: int = Field(
        4, ge=1, description="Partitions when the embedded broker creates the usage topic."
    )
    landing_consumer_name: str = Field(
        "warehouse-landing",
        description="Name under which landed offsets are stored in the warehouse.",
    )
    landing_batch_size: int = Field(
        100_000, ge=1, description="Events per landing transaction (offsets commit with them)."
    )
    max_event_future_seconds: int = Field(
        300, ge=0, description="How far in the future an event time may be before it is rejected."
    )
    grace_period_hours: int = Field(
        24,
        ge=0,
        description="Hours after a billing period ends before it is closed; events for a "
        "closed period land flagged as late.",
    )
    admin_api_key: str = Field(
        "",
        description="Key that sees everything. Empty in development: generated once and kept "
        "in `<data dir>/admin_api_key`. Required in production.",
    )
    api_host: str = Field("127.0.0.1", description="Address the read API binds to.")
    api_port: int = Field(8087, description="Port of the read API.")
    api_switch_interval_ms: float = Field(
        0.5,
        gt=0,
        description="Python's thread switch interval in the API process (`billing serve`), in "
        "milliseconds. A request waits at most about this long for a thread busy in Python (a "
        "sync endpoint, the quota cache's refresh) to hand the interpreter lock to the event "
        "loop; Python's default, 5 ms, is the quota check's whole latency budget.",
    )
    dagster_port: int = Field(3000, description="Port of the Dagster UI started by the demo.")
    serving_snapshots_kept: int = Field(
        3, ge=2, description="Published serving snapshots kept before the oldest is dropped."
    )
    dbt_threads: int = Field(4, ge=1, description="dbt threads.")
    dbt_in_process: bool = Field(
        True,
        description="Run the pipeline's dbt builds inside the run's process (dbt's dbtRunner) "
        "instead of a dbt subprocess each: seconds less per build. Turn off for an executor "
        "that runs several dbt steps in one process at once, or another dbt executable.",
    )
    cost_files_dir: Path | None = Field(
        None,
        description="Directory of cloud cost files (FOCUS, AWS CUR, Azure, GCP) to land. "
        "Empty: `<data dir>/cost-files`.",
    )
    realtime_consumer_name: str = Field(
        "billing-realtime",
        description="Consumer group of the real-time consumer; its offsets are stored in the "
        "control plane under this name.",
    )
    realtime_batch_size: int = Field(
        2000, ge=1, description="Most events the real-time consumer commits in one transaction."
    )
    realtime_max_wait_seconds: float = Field(
        0.2, gt=0, description="Longest the real-time consumer waits to fill a batch."
    )
    notify_url: str = Field(
        "", description="URL that receives alert notifications (HTTP POST). Empty: none."
    )
    notify_secret: str = Field(
        "", description="Secret of the HMAC-SHA256 signature of notification bodies."
    )
    notify_max_attempts: int = Field(
        8, ge=1, description="Delivery attempts before a notification is marked failed."
    )
    notify_backoff_seconds: float = Field(
        1.0, gt=0, description="Wait after the first failed delivery; doubles per attempt."
    )
    notify_backoff_max_seconds: float = Field(
        300.0, gt=0, description="Longest wait between delivery attempts."
    )
    notify_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of one delivery POST.")
    # Stripe: the official variable names, without the BILLING_ prefix.
    stripe_api_key: str = Field(
        "",
        validation_alias=AliasChoices("STRIPE_API_KEY", "stripe_api_key"),
        description="Stripe secret key (`sk_...`). Empty: payment collection is off.",
    )
    stripe_api_base: str = Field(
        "",
        validation_alias=AliasChoices("STRIPE_API_BASE", "stripe_api_base"),
        description="Stripe API base URL; empty for real Stripe, e.g. `http://127.0.0.1:8420` "
        "for localstripe.",
    )
    stripe_webhook_secret: str = Field(
        "",
        validation_alias=AliasChoices("STRIPE_WEBHOOK_SECRET", "stripe_webhook_secret"),
        description="Signing secret of the Stripe webhook endpoint (`whsec_...`).",
    )
    payment_max_attempts: int = Field(
        4, ge=1, description="Payment attempts per invoice before it becomes uncollectible."
    )
    payment_retry_backoff_hours: float = Field(
        24,
        gt=0,
        description="Hours after the first failed attempt before the next; doubles per attempt.",
    )

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("BILLING_ADMIN_API_KEY", self.admin_api_key),
                    ("BILLING_WAREHOUSE_URL", self.warehouse_url),
                    ("BILLING_CONTROL_DB_URL", self.control_db_url),
                )
                if not value
            ]
            if missing:
                raise SettingsError(
                    f"production needs explicit settings: {', '.join(missing)} must be set"
                )
            if len(self.admin_api_key) < 24:
                raise SettingsError("BILLING_ADMIN_API_KEY must be at least 24 characters")
            if self.stripe_api_key and not self.stripe_webhook_secret:
                raise SettingsError(
                    "STRIPE_WEBHOOK_SECRET must be set when STRIPE_API_KEY is (payment outcomes "
                    "arrive by webhook)"
                )
        if self.kafka_config:
            try:
                extra = json.loads(self.kafka_config)
            except ValueError as exc:
                raise SettingsError(f"BILLING_KAFKA_CONFIG is not valid JSON: {exc}") from exc
            if not isinstance(extra, dict):
                raise SettingsError("BILLING_KAFKA_CONFIG must be a JSON object")
        return self

    # ----------------------------------------------------------------- derived values
    @property
    def stripe_enabled(self) -> bool:
        """Payment collection runs only with a Stripe key."""
        return bool(self.stripe_api_key)

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_warehouse_url(self) -> str:
        if self.warehouse_url:
            return self.warehouse_url
        return f"duckdb:///{self.data_path / 'warehouse.duckdb'}"

    @property
    def warehouse_kind(self) -> Literal["duckdb", "postgres"]:
        scheme = urlparse(self.resolved_warehouse_url).scheme
        if scheme == "duckdb":
            return "duckdb"
        if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
            return "postgres"
        raise SettingsError(
            f"BILLING_WAREHOUSE_URL must start with duckdb:/// or postgresql:// (got {scheme!r})"
        )

    @property
    def duckdb_path(self) -> Path:
        url = self.resolved_warehouse_url
        if self.warehouse_kind != "duckdb":
            raise SettingsError("the warehouse is not DuckDB")
        return Path(unquote(url[len("duckdb:///") :])).expanduser().resolve()

    @property
    def postgres_dsn(self) -> str:
        """The warehouse URL as a libpq connection string (for psycopg)."""
        if self.warehouse_kind != "postgres":
            raise SettingsError("the warehouse is not PostgreSQL")
        url = self.resolved_warehouse_url
        return url.replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def resolved_control_db_url(self) -> str:
        if self.control_db_url:
            url = self.control_db_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{self.data_path / 'control.db'}"

    @property
    def serving_dir(self) -> Path:
        return self.data_path / "serving"

    @property
    def cost_files_path(self) -> Path:
        if self.cost_files_dir is not None:
            return self.cost_files_dir.expanduser().resolve()
        return self.data_path / "cost-files"

    @property
    def dagster_home(self) -> Path:
        return self.data_path / "dagster"

    def kafka_client_config(self, **overrides: object) -> dict[str, object]:
        # librdkafka's own log lines go through Python logging (logger "kafka").
        config: dict[str, object] = {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "logger": logging.getLogger("kafka"),
        }
        if self.kafka_config:
            config.update(json.loads(self.kafka_config))
        config.update(overrides)
        return config

    def resolved_admin_api_key(self) -> str:
        """The admin key; in development a random one is generated once and kept on disk."""
        if self.admin_api_key:
            return self.admin_api_key
        if self.env == "production":  # pragma: no cover - the validator already refuses this
            raise SettingsError("BILLING_ADMIN_API_KEY must be set in production")
        key_file = self.data_path / DEFAULT_ADMIN_KEY_FILE
        if key_file.exists():
            return key_file.read_text().strip()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = "adm_" + secrets.token_urlsafe(24)
        tmp = key_file.with_suffix(".tmp")
        tmp.write_text(key + "\n")
        tmp.chmod(0o600)
        tmp.replace(key_file)
        return key

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by ``dbt_project/profiles.yml``."""
        env = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        env["BILLING_DBT_THREADS"] = str(self.dbt_threads)
        if self.warehouse_kind == "duckdb":
            env["BILLING_DBT_TARGET"] = "duckdb"
            env["BILLING_DUCKDB_PATH"] = str(self.duckdb_path)
        else:
            url = urlparse(self.postgres_dsn)
            env.update(
                BILLING_DBT_TARGET="postgres",
                BILLING_PG_HOST=url.hostname or "127.0.0.1",
                BILLING_PG_PORT=str(url.port or 5432),
                BILLING_PG_USER=unquote(url.username or "postgres"),
                BILLING_PG_PASSWORD=unquote(url.password or ""),
                BILLING_PG_DATABASE=(url.path or "/postgres").lstrip("/") or "postgres",
            )
        return env


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
