"""The Dagster instance lives under the data directory (``<data dir>/dagster``) unless
``DAGSTER_HOME`` says otherwise. Telemetry is off; on DuckDB one run writes at a time."""

from __future__ import annotations

import os
from pathlib import Path

from billing.settings import Settings


def dagster_yaml(settings: Settings) -> str:
    max_runs = 1 if settings.warehouse_kind == "duckdb" else 4
    return f"""# Written by `billing`; edit freely, it is only created when missing.
telemetry:
  enabled: false
nux:
  enabled: false
run_queue:
  # The embedded DuckDB warehouse admits one writing process: one run at a time.
  max_concurrent_runs: {max_runs}
  tag_concurrency_limits:
    - key: "billing/warehouse-writer"
      limit: {max_runs}
    # At most one run per billing period at a time (invoicing also takes a lease lock).
    - key: "dagster/partition"
      value:
        applyLimitPerUniqueValue: true
      limit: 1
run_monitoring:
  enabled: true
"""


def prepare_dagster_home(settings: Settings) -> Path:
    """Create the instance directory and its dagster.yaml; export DAGSTER_HOME."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(dagster_yaml(settings))
    os.environ["DAGSTER_HOME"] = str(home)
    return home
