"""``billing bench``: landing and dbt measured against baselines taken in the same run.

1. Produce N synthetic events to a fresh embedded broker.
2. Baseline A, the broker's raw consume rate: the same consumer reading every message and
   touching its value, no processing.
3. Landing rate: the real exactly-once landing into a fresh DuckDB warehouse.
4. Baseline B, one hand-written DuckDB query computing the billing-period aggregates straight
   from the landed events (dedup, meter matching, every aggregation).
5. dbt build: the whole project (models and tests) over the same events; its period mart is
   checked against the hand-written query's answer.

Figures are printed as ratios against the baselines, with peak memory, and written to
``bench-results/usage.json``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, TopicPartition

from adapters.kafka import ensure_topics, produce_messages
from adapters.synthetic.usage import SyntheticPlan, generate
from adapters.warehouse.connection import Warehouse
from adapters.warehouse.control_snapshot import snapshot_control_plane
from billing.control_plane.db import ensure_meters, migrate
from billing.rules.meters import DEMO_METERS
from billing.settings import Settings
from ingestion.broker import EmbeddedBroker
from ingestion.landing import UsageLander

ROOT = Path(__file__).resolve().parents[1]

HAND_WRITTEN_PERIOD_AGGREGATES = """
with events as (
    select *, row_number() over (partition by source, event_id
                                 order by landing_batch_id, kafka_partition, kafka_offset) as n
    from raw.usage_events
),
metered as (
    select e.tenant_id, m.key as meter_key, m.aggregation, e.period_start, e.event_at,
           e.landing_batch_id, e.kafka_partition, e.kafka_offset,
           case when m.aggregation in ('sum', 'max', 'latest')
                then cast(json_extract_string(e.data, '$.' || m.value_property) as decimal(38, 9))
           end as quantity,
           case when m.aggregation = 'unique_count'
                then json_extract_string(e.data, '$.' || m.value_property) end as unique_value
    from events e join raw.control_meters m on m.event_type = e.event_type
    where e.n = 1 and not exists (
        select 1 from raw.usage_not_counted c
        where c.source = e.source and c.event_id = e.event_id and c.meter_key = m.key)
)
select tenant_id, meter_key, period_start,
       cast(case aggregation
           when 'count' then count(*)
           when 'sum' then sum(quantity)
           when 'max' then max(quantity)
           when 'unique_count' then count(distinct unique_value)
           when 'latest' then arg_max(quantity, (event_at, landing_batch_id, kafka_partition,
                                                 kafka_offset))
       end as decimal(38, 9)) as quantity,
       count(*) as event_count
from metered
group by tenant_id, meter_key, aggregation, period_start
"""


def _peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _produce(settings: Settings, plan: SyntheticPlan) -> tuple[int, float]:
    started = time.perf_counter()
    sent = produce_messages(settings, generate(plan))
    return sent, time.perf_counter() - started


def raw_consume(settings: Settings, partitions: int) -> tuple[int, float]:
    """Baseline: read every message once, touching its value, no processing."""
    consumer = Consumer(
        settings.kafka_client_config(
            **{
                "group.id": "bench-raw",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "fetch.max.bytes": 52428800,
                "max.partition.fetch.bytes": 10485760,
                "queued.max.messages.kbytes": 262144,
            }
        )
    )
    consumer.assign([TopicPartition(settings.usage_topic, p, 0) for p in range(partitions)])
    started, n, size, done = time.perf_counter(), 0, 0, set()
    while len(done) < partitions:
        for msg in consumer.consume(10_000, 0.5):
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    done.add(msg.partition())
                continue
            size += len(msg.value())
            n += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    return n, elapsed


def _control_plane(settings: Settings) -> None:
    """The demo meters in the control plane, snapshotted into the warehouse as the pipeline's
    first step does (the dbt build reads every snapshot table, not only the meters)."""
    migrate(settings)
    ensure_meters(settings, DEMO_METERS)
    warehouse = Warehouse(settings)
    warehouse.ensure_schema()
    snapshot_control_plane(settings)


def _dbt_build(settings: Settings) -> tuple[float, float, dict]:
    env = {**os.environ, **settings.dbt_env(), "DBT_TARGET_PATH": str(settings.data_path / "dbt")}
    dbt = str(Path(sys.executable).parent / "dbt")
    subprocess.run([dbt, "--quiet", "parse"], cwd=ROOT / "dbt_project", env=env, check=True)
    started = time.perf_counter()
    done = subprocess.run(
        [dbt, "--quiet", "build", "--exclude-resource-type", "unit_test"],
        cwd=ROOT / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{done.stdout}\n{done.stderr}")
    results = json.loads((settings.data_path / "dbt" / "run_results.json").read_text())
    slowest = sorted(
        ((r["unique_id"].split(".")[-1], r["execution_time"]) for r in results["results"]),
        key=lambda x: -x[1],
    )[:5]
    return wall, results["elapsed_time"], dict(slowest)


def run_benchmark(events: int = 1_000_000, tenants: int = 50, partitions: int = 4) -> int:
    out_dir = ROOT / "bench-results"
    out_dir.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="billing-bench-"))
    figures: dict[str, object] = {
        "events": events,
        "tenants": tenants,
        "partitions": partitions,
        "machine": f"{os.cpu_count()} CPUs",
    }
    with EmbeddedBroker.start() as broker:
        settings = Settings(
            _env_file=None,
            data_dir=work,
            kafka_bootstrap_servers=broker.bootstrap_servers,
            usage_topic="bench-usage",
            usage_topic_partitions=partitions,
            dbt_threads=4,
            max_event_future_seconds=86400 * 365,
        )
        ensure_topics(settings)
        plan = SyntheticPlan(
            datetime(2026, 9, 1),
            datetime(2026, 11, 1),
            tenants=tenants,
            events=events,
            seed=11,
            malformed=10,
        )
        print(f"producing {events:,} events to {broker.bootstrap_servers} ...", flush=True)
        sent, produce_s = _produce(settings, plan)
        figures["produced"] = sent
        figures["produce_events_per_s"] = round(sent / produce_s)

        print("baseline: raw consume ...", flush=True)
        consumed, raw_s = raw_consume(settings, partitions)
        assert consumed == sent, (consumed, sent)
        raw_rate = consumed / raw_s
        figures["raw_consume_events_per_s"] = round(raw_rate)

        print("landing (exactly once, DuckDB) ...", flush=True)
        _control_plane(settings)
        started = time.perf_counter()
        result = UsageLander(settings).run()
        land_s = time.perf_counter() - started
        land_rate = result.total("messages") / land_s
        figures.update(
            landing_events_per_s=round(land_rate),
            landing_seconds=round(land_s, 2),
            landed=result.total("landed"),
            duplicates=result.total("duplicates"),
            dead_lettered=result.total("dead_lettered"),
            landing_vs_raw_consume=round(land_rate / raw_rate, 3),
        )
        with Warehouse(settings).connection() as con:
            stored = con.fetchone("select count(*) from raw.usage_events")[0]
            started = time.perf_counter()
            expected = con.fetchall(HAND_WRITTEN_PERIOD_AGGREGATES)
            hand_s = time.perf_counter() - started
        assert stored == result.total("landed")
        figures["hand_written_query_seconds"] = round(hand_s, 3)

        print("dbt build (all models and tests) ...", flush=True)
        wall, elapsed, slowest = _dbt_build(settings)
        figures.update(
            dbt_build_seconds=round(wall, 2),
            dbt_build_execution_seconds=round(elapsed, 2),
            dbt_vs_hand_written=round(wall / hand_s, 2),
            dbt_execution_vs_hand_written=round(elapsed / hand_s, 2),
            dbt_slowest_nodes=slowest,
        )
        with Warehouse(settings).connection() as con:
            built = con.fetchall(
                "select tenant_id, meter_key, period_start, quantity, event_count "
                "from marts.fct_usage_period"
            )
        figures["dbt_matches_hand_written"] = sorted(built) == sorted(expected)
    own, children = _peak_rss_mb()
    figures["peak_rss_mb"] = {"benchmark_process": round(own), "dbt_subprocess": round(children)}
    (out_dir / "usage.json").write_text(json.dumps(figures, indent=2, default=str))
    _print(figures)
    return 0 if figures["dbt_matches_hand_written"] else 1


def _print(f: dict) -> None:
    def row(name, value, note=""):
        print(f"  {name:<44} {value:>14}  {note}")

    print()
    print(
        f"usage benchmark: {f['events']:,} events, {f['tenants']} tenants, "
        f"{f['partitions']} partitions ({f['machine']})"
    )
    row("produce (idempotent producer)", f"{f['produce_events_per_s']:,}/s")
    row("A. raw consume, no processing (baseline)", f"{f['raw_consume_events_per_s']:,}/s")
    row(
        "landing, exactly once into DuckDB",
        f"{f['landing_events_per_s']:,}/s",
        f"= {f['landing_vs_raw_consume']:.0%} of A (target >= 50%)",
    )
    row("B. hand-written period query (baseline)", f"{f['hand_written_query_seconds']:.2f} s")
    row(
        "dbt build, models + tests (wall)",
        f"{f['dbt_build_seconds']:.2f} s",
        f"= {f['dbt_vs_hand_written']:.1f}x B (target <= 3x)",
    )
    row(
        "dbt build, execution only",
        f"{f['dbt_build_execution_seconds']:.2f} s",
        f"= {f['dbt_execution_vs_hand_written']:.1f}x B",
    )
    row("dbt period mart equals B's answer", str(f["dbt_matches_hand_written"]))
    peak = f["peak_rss_mb"]
    row("peak memory", f"{peak['benchmark_process']} MB", f"(dbt: {peak['dbt_subprocess']} MB)")
    print(
        f"  landed {f['landed']:,}, skipped {f['duplicates']:,} duplicates, "
        f"dead-lettered {f['dead_lettered']:,}"
    )


if __name__ == "__main__":
    sys.exit(run_benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
