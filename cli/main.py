"""The ``billing`` command: broker, migrate, run, serve, realtime, demo, bench."""

from __future__ import annotations

import argparse
import sys

from cli.common import SERVICES, configure_logging, handle_stop_signals, quiet_environment
from cli.demo import cmd_demo
from cli.services import cmd_broker, cmd_migrate, cmd_realtime, cmd_run, cmd_serve


# ----------------------------------------------------------------------------- bench
def cmd_bench(args) -> int:
    if args.invoices:
        from benchmarks.invoices import run_invoice_benchmark

        return run_invoice_benchmark(events=args.events or 10_000_000, tenants=args.tenants or 1000)
    from benchmarks.pipeline import run_benchmark

    return run_benchmark(events=args.events or 1_000_000, tenants=args.tenants or 50)


def cmd_bench_realtime(args) -> int:
    from benchmarks.realtime import run_realtime_benchmark

    return run_realtime_benchmark(
        clients=args.clients,
        seconds=args.seconds,
        rate=args.rate,
        tenants=args.tenants,
        per_client=args.per_client,
    )


def main(argv: list[str] | None = None) -> int:
    quiet_environment()
    parser = argparse.ArgumentParser(prog="billing", description=__doc__)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="library logs (INFO) on the console too (or BILLING_LOG_LEVEL=INFO)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("broker", help="start the embedded Kafka-compatible broker").set_defaults(
        func=cmd_broker
    )
    sub.add_parser("migrate", help="create or upgrade the control-plane database").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("run", help="run the whole pipeline once").set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="serve the read API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser(
        "realtime", help="real-time usage, cost and alerts (a long-running consumer)"
    ).set_defaults(func=cmd_realtime)
    demo = sub.add_parser("demo", help="broker + synthetic month + pipeline + API + Dagster UI")
    demo.add_argument("--events", type=int, default=200_000, help="synthetic events to produce")
    demo.set_defaults(func=cmd_demo)
    bench = sub.add_parser("bench", help="measure landing and dbt against baselines")
    bench.add_argument(
        "--invoices",
        action="store_true",
        help="a month of usage rated into invoices (default 10,000,000 events, 1,000 tenants)",
    )
    bench.add_argument("--events", type=int, help="default 1,000,000 (10,000,000 --invoices)")
    bench.add_argument("--tenants", type=int, help="default 50 (1,000 with --invoices)")
    bench.set_defaults(func=cmd_bench)
    bench_rt = sub.add_parser(
        "bench-realtime", help="measure the quota check's latency and real-time freshness"
    )
    bench_rt.add_argument("--clients", type=int, default=50)
    bench_rt.add_argument("--seconds", type=float, default=10)
    bench_rt.add_argument("--rate", type=int, default=500, help="background events per second")
    bench_rt.add_argument("--tenants", type=int, default=50)
    bench_rt.add_argument(
        "--per-client",
        type=float,
        default=4,
        help="requests per second of each client in the open-loop latency phase",
    )
    bench_rt.set_defaults(func=cmd_bench_realtime)
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    handle_stop_signals()
    try:
        return args.func(args)
    except KeyboardInterrupt:  # stopped before a command caught it (a run: not finished)
        print(f"billing {args.command}: stopped", file=sys.stderr)
        return 0 if args.command in SERVICES else 1


if __name__ == "__main__":
    sys.exit(main())
