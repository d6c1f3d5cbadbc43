"""``billing bench --invoices``: a month of usage rated into invoices, against the usage
aggregation of the same month measured in the same run.

1. A fresh DuckDB warehouse gets N landed usage events for 1,000 tenants in one month
   (written straight into ``raw.usage_events`` by one DuckDB statement: this benchmark is about
   dbt, the landing rate is ``billing bench``'s), shaped like the synthetic stream: 80% API
   requests (endpoint, user, egress), 20% compute jobs, one storage reading per tenant and day.
2. The control plane (SQLite) gets the demo meters, plans and coupons and a subscription per
   tenant, through the API's own domain functions; it is snapshotted into the warehouse.
3. Untimed: seeds, snapshots, staging views (what every build starts from).
4. Baseline U: the dbt build of the usage models for the month (partials, daily and period
   marts, their tests), with the partition window as vars, as Dagster runs it.
5. R: the dbt build of the rating and invoice models for the month (rated charges, fee and
   proration lines, discounts, tax, credits, drafts, their tests), then finalization (numbers
   and the immutable copy), then the invoice marts with their tests.

Figures go to ``bench-results/invoices.json``; R is printed with its ratio to U.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from adapters.synthetic.demo import seed_demo_billing
from adapters.synthetic.usage import tenant_ids
from adapters.warehouse.connection import Warehouse
from adapters.warehouse.control_snapshot import snapshot_control_plane
from billing.control_plane.db import ensure_meters, migrate, session_scope
from billing.rules.finalization import finalize_due_periods
from billing.rules.meters import DEMO_METERS
from billing.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PERIOD = date(2026, 10, 1)
PERIOD_END = date(2026, 11, 1)

# One statement, deterministic (hash of the row number): tenant sizes are skewed (a few large
# tenants, many small ones), times spread over the month.
GENERATE_EVENTS = """
insert into raw.usage_events
with n as (
    select i,
           hash(i) as h1,
           hash(i * 7 + 3) as h2,
           hash(i * 13 + 5) as h3
    from range(:requests) t(i)
),
shaped as (
    select i,
           printf('tenant-%03d', 1 + cast(floor(:tenants * pow((h1 % 1000003) / 1000003.0, 3))
                                           as integer)) as tenant_id,
           timestamp '2026-10-01' + to_microseconds(cast((h2 % 2678400000000) as bigint))
               as event_at,
           (h3 % 10) < 8 as is_request,
           h3
    from n
)
select
    case when is_request then 'api-gateway' else 'batch-scheduler' end,
    'evt-' || i,
    '1.0',
    case when is_request then 'api.request' else 'compute.job' end,
    tenant_id,
    event_at,
    date '2026-10-01',
    case when is_request then
        json_object('endpoint', ['/v1/search', '/v1/orders', '/v1/users', '/v1/reports',
                                 '/v1/export'][1 + cast(h3 % 5 as integer)],
                    'user_id', 'user-' || (h3 % 60),
                    'response_gb', printf('%.6f', (h3 % 10000) / 1000000.0))::varchar
    else
        json_object('job_id', 'job-' || i, 'cpu_seconds', 1 + (h3 % 3600),
                    'concurrency', 1 + (h3 // 7 % 16),
                    'region', ['eu-west-1', 'us-east-1', 'ap-south-1'][1 + cast(h3 % 3 as integer)]
                    )::varchar
    end,
    null,
    'bench-usage',
    cast(i % 4 as integer),
    i // 4,
    1,
    now()::timestamp,
    false
from shaped
"""

GENERATE_STORAGE = """
insert into raw.usage_events
select 'storage-meter', 'storage-' || t || '-' || d, '1.0', 'storage.snapshot',
       printf('tenant-%03d', t), timestamp '2026-10-01' + to_days(d) + interval 23 hour,
       date '2026-10-01', json_object('gb', printf('%.3f', 10 + t % 97 + d * 0.5))::varchar,
       null, 'bench-usage', 0, 0, 1, now()::timestamp, false
from range(1, :tenants + 1) a(t), range(0, 31) b(d)
"""


def _dbt(settings: Settings, *args: str) -> tuple[float, float]:
    """Run dbt; return (wall seconds, dbt's own elapsed time)."""
    env = {**os.environ, **settings.dbt_env(), "DBT_TARGET_PATH": str(settings.data_path / "dbt")}
    dbt = str(Path(sys.executable).parent / "dbt")
    started = time.perf_counter()
    done = subprocess.run(
        [dbt, "--quiet", *args], cwd=ROOT / "dbt_project", env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    results = settings.data_path / "dbt" / "run_results.json"
    elapsed = json.loads(results.read_text())["elapsed_time"] if results.exists() else wall
    return wall, elapsed


def _window() -> list[str]:
    window = {"period_start": PERIOD.isoformat(), "period_end": PERIOD_END.isoformat()}
    return ["--vars", json.dumps(window)]


def run_invoice_benchmark(events: int = 10_000_000, tenants: int = 1000) -> int:
    out_dir = ROOT / "bench-results"
    out_dir.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="billing-bench-invoices-"))
    settings = Settings(_env_file=None, data_dir=work, dbt_threads=4)
    figures: dict[str, object] = {
        "events": events,
        "tenants": tenants,
        "period": PERIOD.isoformat(),
        "machine": f"{os.cpu_count()} CPUs",
    }

    print(f"control plane: meters, plans and {tenants:,} subscriptions ...", flush=True)
    migrate(settings)
    ensure_meters(settings, DEMO_METERS)
    with session_scope(settings) as session:
        seed_demo_billing(session, tenant_ids(tenants), datetime(2026, 9, 1), datetime(2026, 9, 1))
    warehouse = Warehouse(settings)
    warehouse.ensure_schema()
    snapshot_control_plane(settings)

    print(f"warehouse: {events:,} landed events for {PERIOD:%B %Y} ...", flush=True)
    storage = tenants * 31
    started = time.perf_counter()
    with warehouse.connection() as con:
        con.execute(GENERATE_EVENTS, {"requests": events - storage, "tenants": tenants})
        con.execute(GENERATE_STORAGE, {"tenants": tenants})
        landed = con.fetchone("select count(*) from raw.usage_events")[0]
    figures["generate_seconds"] = round(time.perf_counter() - started, 1)
    figures["landed"] = landed

    print("dbt: parse, seeds, snapshots, staging (untimed) ...", flush=True)
    _dbt(settings, "parse")
    _dbt(
        settings,
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--exclude",
        "tag:billing_period",
        "tag:invoices",
    )

    print("U. dbt build of the usage aggregation (baseline) ...", flush=True)
    u_wall, u_exec = _dbt(
        settings,
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        "tag:billing_period",
        "--exclude",
        "path:models/intermediate/billing",
        *_window(),
    )

    print("R. dbt build of rating and invoice drafts, finalization, invoice marts ...", flush=True)
    r1_wall, r1_exec = _dbt(
        settings,
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        "tag:billing_period,path:models/intermediate/billing",
        *_window(),
    )
    started = time.perf_counter()
    with warehouse.connection() as con:
        result = finalize_due_periods(con, [PERIOD], datetime(2026, 11, 24), 24)
    finalize_s = time.perf_counter() - started
    r2_wall, r2_exec = _dbt(
        settings, "build", "--exclude-resource-type", "unit_test", "--select", "tag:invoices"
    )
    with warehouse.connection() as con:
        lines = con.fetchone("select count(*) from marts.fct_invoice_lines")[0]
        invoices, total, tied = con.fetchone(
            "select count(*), sum(total_amount), "
            "bool_and(total_amount = subtotal_amount - discount_amount + tax_amount "
            "        - credit_amount) "
            "from marts.fct_invoices where period_start = :p",
            {"p": PERIOD},
        )
    r_wall = r1_wall + finalize_s + r2_wall
    r_exec = r1_exec + finalize_s + r2_exec
    figures.update(
        usage_build_seconds=round(u_wall, 2),
        usage_build_execution_seconds=round(u_exec, 2),
        rating_drafts_build_seconds=round(r1_wall, 2),
        finalize_seconds=round(finalize_s, 2),
        invoice_marts_build_seconds=round(r2_wall, 2),
        rated_into_invoices_seconds=round(r_wall, 2),
        rated_into_invoices_execution_seconds=round(r_exec, 2),
        rated_vs_usage=round(r_wall / u_wall, 2),
        rated_execution_vs_usage_execution=round(r_exec / u_exec, 2),
        usage_plus_invoices_seconds=round(u_wall + r_wall, 2),
        invoices=invoices,
        invoice_lines=int(lines or 0),
        finalized=len(result.finalized.get(PERIOD.isoformat(), [])),
        invoiced_total_usd=str(total),
        totals_tie_out=bool(tied),
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures["peak_rss_mb"] = {"benchmark_process": round(own), "dbt_subprocess": round(children)}
    (out_dir / "invoices.json").write_text(json.dumps(figures, indent=2, default=str))
    _print(figures)
    ok = figures["totals_tie_out"] and invoices == tenants and figures["finalized"] == tenants
    return 0 if ok else 1


def _print(f: dict) -> None:
    def row(name, value, note=""):
        print(f"  {name:<52} {value:>12}  {note}")

    print()
    print(
        f"invoice benchmark: {f['landed']:,} events, {f['tenants']:,} tenants, one month "
        f"({f['machine']})"
    )
    row("U. usage aggregation, dbt build (baseline)", f"{f['usage_build_seconds']:.2f} s")
    row("   rating + invoice drafts, dbt build", f"{f['rating_drafts_build_seconds']:.2f} s")
    row("   finalization (numbers, immutable copy)", f"{f['finalize_seconds']:.2f} s")
    row("   invoice marts, dbt build", f"{f['invoice_marts_build_seconds']:.2f} s")
    row(
        "R. rated into invoices (wall, incl. dbt start-up)",
        f"{f['rated_into_invoices_seconds']:.2f} s",
        f"= {f['rated_vs_usage']:.2f}x U (target <= 60 s)",
    )
    row(
        "   execution only (dbt run_results)",
        f"{f['rated_into_invoices_execution_seconds']:.2f} s",
        f"= {f['rated_execution_vs_usage_execution']:.2f}x U's execution",
    )
    row("U + R, events to invoices", f"{f['usage_plus_invoices_seconds']:.2f} s")
    peak = f["peak_rss_mb"]
    row("peak memory", f"{peak['benchmark_process']} MB", f"(dbt: {peak['dbt_subprocess']} MB)")
    print(
        f"  {f['invoices']:,} invoices ({f['finalized']:,} finalized), {f['invoice_lines']:,} "
        f"lines, {f['invoiced_total_usd']} USD; totals tie out: {f['totals_tie_out']}"
    )


if __name__ == "__main__":
    sys.exit(run_invoice_benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000))
