"""Cloud cost allocation end to end: cost centers and rules through the API, a FOCUS file
uploaded, usage on Kafka, `billing run`, allocated costs and coverage read back from the API,
on DuckDB and PostgreSQL. Every expected amount is computed by hand in the comments."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient

from adapters.warehouse.connection import Warehouse
from api.main import create_app
from dagster_project.costs.sensors import cost_file_run_request, scan
from dagster_project.partitions import billing_periods
from ingestion.costs.landing import file_hash
from tests.conftest import (
    ADMIN_KEY,
    cloud_event,
    produce,
    run_pipeline,
    seed_meters,
)

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "costs"

HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ServiceName,BillingCurrency,BillingPeriodStart,"
    "BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,"
    "EffectiveCost,ListCost,ContractedCost,Tags"
)


def line(sub: str, service: str, currency: str, billed: str, effective: str, tags: str) -> str:
    tags_csv = '"' + tags.replace('"', '""') + '"' if tags != "NULL" else "NULL"
    return (
        f"ba-1,{sub},AWS,{service},{currency},2026-10-01 00:00:00,2026-11-01 00:00:00,"
        f"2026-10-03 00:00:00,2026-10-03 01:00:00,Usage,{billed},{effective},{billed},"
        f"{billed},{tags_csv}"
    )


# October 2026, USD: 21.427 of EffectiveCost -> 21.43 to allocate; EUR: 2.50.
COST_FILE = "\n".join(
    [
        HEADER,
        line("acct-main", "EC2", "USD", "12.00", "10.005", '{"team": "payments"}'),  # direct
        line("acct-main", "EC2", "USD", "5.005", "5.005", '{"team": "search"}'),  # direct
        line("acct-data", "S3", "USD", "3.333", "3.333", "NULL"),  # direct by sub-account
        line("acct-main", "Shared Even", "USD", "1.00", "1.00", "{}"),
        line("acct-main", "Shared Fixed", "USD", "0.07", "0.07", "{}"),
        line("acct-main", "Shared Prop", "USD", "1.00", "1.00", "{}"),
        line("acct-main", "API Gateway", "USD", "1.01", "1.01", "{}"),
        line("acct-main", "Other", "USD", "0.004", "0.004", "{}"),  # no rule: unallocated
        line("acct-eu", "EC2", "EUR", "2.50", "2.50", '{"team": "payments"}'),
    ]
)

RULES = [
    {
        "priority": 10,
        "match": {"tag_key": "team", "tag_value": "payments"},
        "cost_center": "payments",
    },
    {"priority": 20, "match": {"tag_key": "team", "tag_value": "search"}, "cost_center": "search"},
    {"priority": 30, "match": {"sub_account_id": "acct-data"}, "cost_center": "data"},
    {
        "priority": 40,
        "match": {"service_name": "Shared Even"},
        "split": {
            "method": "even",
            "targets": [{"cost_center": c} for c in ("payments", "search", "data")],
        },
    },
    {
        "priority": 50,
        "match": {"service_name": "Shared Fixed"},
        "split": {
            "method": "fixed",
            "targets": [
                {"cost_center": "payments", "percentage": "50"},
                {"cost_center": "search", "percentage": "30"},
                {"cost_center": "data", "percentage": "20"},
            ],
        },
    },
    {
        "priority": 60,
        "match": {"service_name": "Shared Prop"},
        "split": {
            "method": "proportional",
            "targets": [{"cost_center": "payments"}, {"cost_center": "search"}],
        },
    },
    {
        "priority": 70,
        "match": {"service_name": "API Gateway"},
        "split": {"method": "usage", "usage_meter": "calls"},
    },
]


def setup_control_plane(client: TestClient) -> None:
    centers = [
        {"code": "platform", "name": "Platform", "owner": "cto@example.com"},
        {
            "code": "payments",
            "name": "Payments",
            "parent_code": "platform",
            "monthly_budget": "100",
            "budget_currency": "USD",
        },
        {"code": "search", "name": "Search", "parent_code": "platform"},
        {"code": "data", "name": "Data"},
    ]
    for center in centers:
        response = client.post(f"{BASE}/cost-centers", json=center, headers=ADMIN)
        assert response.status_code == 201, response.text
    for i, rule in enumerate(RULES):
        response = client.post(
            f"{BASE}/cost-allocation-rules", json={"name": f"rule {i}", **rule}, headers=ADMIN
        )
        assert response.status_code == 201, response.text
    for tenant, center in (("t1", "payments"), ("t2", "search")):  # t3 has no cost center
        response = client.put(
            f"{BASE}/tenant-cost-centers/{tenant}", json={"cost_center": center}, headers=ADMIN
        )
        assert response.status_code == 200, response.text


def test_allocation_end_to_end(target_settings):
    settings = target_settings
    seed_meters(settings)  # calls: a count of test.call events
    with TestClient(create_app(settings)) as client:
        setup_control_plane(client)
        response = client.post(
            f"{BASE}/cost-ingestion/files",
            files={"file": ("october.csv", io.BytesIO(COST_FILE.encode()), "text/csv")},
            headers=ADMIN,
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "pending"
        # A broken file is refused at upload, in the file's own terms; delivered to the
        # directory anyway (a bucket sync), the pipeline records the same reason.
        broken = (FIXTURES / "focus-broken.csv").read_bytes()
        response = client.post(
            f"{BASE}/cost-ingestion/files",
            files={"file": ("broken.csv", io.BytesIO(broken), "text/csv")},
            headers=ADMIN,
        )
        assert response.status_code == 422, response.text
        assert "line 4, column BilledCost: '12,34x' is not a number" in response.text
        assert sorted(p.name for p in settings.cost_files_path.iterdir()) == ["october.csv"]
        (settings.cost_files_path / "broken.csv").write_bytes(broken)
        listed = client.get(f"{BASE}/cost-ingestion/files", headers=ADMIN).json()
        assert {(f["file_name"], f["status"]) for f in listed["data"]} == {
            ("october.csv", "pending"),
            ("broken.csv", "pending"),
        }
    # Usage drives the API Gateway pool: t1 2 calls (payments), t2 1 (search), t3 1 (none).
    produce(
        settings,
        [
            cloud_event(
                f"e{i}",
                tenant,
                datetime(2026, 10, 10, i),
                {"value": 1, "user_id": "u", "region": "eu"},
            )
            for i, tenant in enumerate(["t1", "t1", "t2", "t3"])
        ],
    )
    outcome = run_pipeline(settings)  # `billing run`: lands the files, builds the cost models
    assert {n: f["status"] for n, f in outcome.cost_files.items()} == {
        "october.csv": "landed",
        "broken.csv": "failed",
    }

    with TestClient(create_app(settings)) as client:
        files = client.get(f"{BASE}/cost-ingestion/files", headers=ADMIN).json()["data"]
        by_name = {f["file_name"]: f for f in files}
        assert by_name["october.csv"]["status"] == "landed"
        assert by_name["october.csv"]["row_count"] == 9
        assert by_name["october.csv"]["format"] == "focus-1.0"
        assert by_name["broken.csv"]["status"] == "failed"
        assert (
            by_name["broken.csv"]["error"] == "line 4, column BilledCost: '12,34x' is not a number"
        )

        costs = client.get(
            f"{BASE}/costs/cost-centers",
            params={"period_start": "2026-10-01", "currency": "USD"},
            headers=ADMIN,
        ).json()["data"]
        got = {
            c["cost_center"]: (c["direct"], c["shared"], c["total"], c["rolled_up_total"])
            for c in costs
        }
        # Stage one (cents, largest remainder): direct payments 1000.5, search 500.5, data
        # 333.3, pools 100 / 7 / 100 / 101, unallocated 0.4 -> 2142.7 rounds to 2143; floors
        # give 2141, the two .5 remainders get the 2 cents left: payments 1001, search 501.
        # even 100/3: 33 each, 1 cent left -> data (ties by code): data 34, payments 33,
        #   search 33.
        # fixed 7 x 50/30/20 = 3.5/2.1/1.4: floors 3/2/1, the cent left -> payments: 4/2/1.
        # proportional 100 over 1001:501: 66.64/33.36 -> 66/33, the cent -> payments: 67/33.
        # usage 101 over 2:1:1 calls: 50.5/25.25/25.25 -> 50/25/25, the cent -> payments:
        #   51 payments, 25 search, 25 unallocated (t3 has no cost center).
        assert got["payments"] == ("10.01", "1.55", "11.56", "11.56")  # .33+.04+.67+.51
        assert got["search"] == ("5.01", "0.93", "5.94", "5.94")  # .33+.02+.33+.25
        assert got["data"] == ("3.33", "0.35", "3.68", "3.68")  # .34+.01
        assert got["unallocated"] == ("0.00", "0.25", "0.25", "0.25")
        # The parent rolls its children up.
        assert got["platform"] == ("0.00", "0.00", "0.00", "17.50")
        total = sum(Decimal(v[2]) for v in got.values())
        assert total == Decimal("21.43")  # the source total 21.427, rounded once

        coverage = client.get(f"{BASE}/costs/coverage", headers=ADMIN).json()["data"]
        usd = next(c for c in coverage if c["currency"] == "USD")
        assert (usd["allocated"], usd["unallocated"], usd["allocated_to_centers"]) == (
            "21.43",
            "0.25",
            "21.18",
        )
        assert usd["coverage_ratio"] == "0.988334"  # 21.18 / 21.43
        assert usd["source_effective_cost"] == "21.427"
        assert usd["source_billed_cost"] == "23.422"  # BilledCost kept for tie-out
        eur = next(c for c in coverage if c["currency"] == "EUR")
        assert (eur["allocated"], eur["coverage_ratio"]) == ("2.50", "1")

        rules = client.get(f"{BASE}/cost-allocation-rules", headers=ADMIN).json()
        assert [r["priority"] for r in rules["data"]] == [10, 20, 30, 40, 50, 60, 70]

    with Warehouse(settings).connection() as con:
        rows = con.fetchall(
            'select "ServiceName", "EffectiveCost", "BilledCost" from marts.fct_focus_costs '
            "where \"BillingCurrency\" = 'EUR'"
        )
        assert [(r[0], Decimal(r[1]), Decimal(r[2])) for r in rows] == [
            ("EC2", Decimal("2.5"), Decimal("2.5"))
        ]
        daily = con.fetchone(
            "select sum(effective_cost) from marts.fct_cloud_costs_daily where currency = 'USD'"
        )
        assert Decimal(daily[0]) == Decimal("21.427")
        # The same day per cost center, exact (not rounded): each pool here is one cell (one
        # day and service) with a whole-cent total, so a center's part is exactly its share in
        # cents above; direct and unallocated lines keep their cost to the last decimal.
        by_center = con.fetchall(
            "select cost_center_code, sum(direct_amount), sum(shared_amount) "
            "from marts.fct_cloud_costs_daily_by_cost_center where currency = 'USD' "
            "group by 1 order by 1"
        )
        assert [(r[0], Decimal(r[1]), Decimal(r[2])) for r in by_center] == [
            ("data", Decimal("3.333"), Decimal("0.35")),
            ("payments", Decimal("10.005"), Decimal("1.55")),
            ("search", Decimal("5.005"), Decimal("0.93")),
            ("unallocated", Decimal("0.004"), Decimal("0.25")),
        ]
        # Summed over centers: the source total 21.427 exactly. Against the allocation
        # (rounded per period): 3.333 vs 3.33, 10.005 vs 10.01, 5.005 vs 5.01, 0.004 vs 0.00,
        # each less than a cent apart (the dbt tests check this bound on every build).
        assert sum(Decimal(r[1]) + Decimal(r[2]) for r in by_center) == Decimal("21.427")


def test_sensor_requests_one_run_per_new_content(tmp_path):
    directory = tmp_path / "cost-files"
    directory.mkdir()
    (directory / "a.csv").write_bytes((FIXTURES / "aws-cur-legacy.csv").read_bytes())
    cursor, new = scan(directory, {})
    digest = file_hash(directory / "a.csv")
    assert new == [("a.csv", digest)]
    request = cost_file_run_request("a.csv", digest)
    assert request.run_key == f"cost-file-{digest}"
    # The warehouse models are partitioned by billing period: the run takes the current one.
    assert request.partition_key == billing_periods.get_last_partition_key()
    assert request.run_config["ops"]["land_cost_files"]["config"]["files"] == ["a.csv"]
    # Nothing new: no request; a corrected file under the same name: a new request.
    cursor, new = scan(directory, cursor)
    assert new == []
    (directory / "a.csv").write_text((FIXTURES / "aws-cur-legacy.csv").read_text() + "\n")
    (directory / ".upload-partial").write_text("x")  # uploads in progress are ignored
    _, new = scan(directory, cursor)
    assert [n for n, _ in new] == ["a.csv"] and new[0][1] != digest


def test_cost_files_sensor_evaluates_with_a_cursor(tmp_path):
    import dagster as dg

    from dagster_project.costs.sensors import cost_files_sensor
    from dagster_project.definitions import defs
    from dagster_project.resources import BillingSettings

    data_dir = tmp_path / "data"
    (data_dir / "cost-files").mkdir(parents=True)
    (data_dir / "cost-files" / "cur.csv").write_bytes(
        (FIXTURES / "aws-cur-legacy.csv").read_bytes()
    )
    resources = {"billing": BillingSettings(data_dir=str(data_dir))}
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        (request,) = cost_files_sensor(context)
        assert request.run_key == f"cost-file-{file_hash(data_dir / 'cost-files' / 'cur.csv')}"
        job = defs.resolve_job_def("cost_files_job")
        assert dg.validate_run_config(job, request.run_config)
        again = dg.build_sensor_context(
            instance=instance, resources=resources, cursor=context.cursor
        )
        assert isinstance(cost_files_sensor(again), dg.SkipReason)


def test_rule_and_center_validation(settings):
    with TestClient(create_app(settings)) as client:
        post = lambda path, body: client.post(f"{BASE}/{path}", json=body, headers=ADMIN)  # noqa: E731
        assert post("cost-centers", {"code": "a", "name": "A"}).status_code == 201
        assert (
            post("cost-centers", {"code": "b", "name": "B", "parent_code": "a"}).status_code == 201
        )
        assert post("cost-centers", {"code": "a", "name": "again"}).status_code == 409
        reserved = post("cost-centers", {"code": "unallocated", "name": "U"})
        assert reserved.status_code == 422 and "reserved" in reserved.json()["detail"]
        cycle = client.patch(f"{BASE}/cost-centers/a", json={"parent_code": "b"}, headers=ADMIN)
        assert cycle.status_code == 422 and cycle.json()["field"] == "parent_code"
        budget = post("cost-centers", {"code": "c", "name": "C", "monthly_budget": "10"})
        assert budget.status_code == 422 and budget.json()["field"] == "budget_currency"
        fixed = {
            "name": "f",
            "priority": 1,
            "match": {"service_name": "X"},
            "split": {
                "method": "fixed",
                "targets": [
                    {"cost_center": "a", "percentage": "60"},
                    {"cost_center": "b", "percentage": "30"},
                ],
            },
        }
        bad = post("cost-allocation-rules", fixed)
        assert bad.status_code == 422
        assert bad.json()["detail"] == "split.targets: percentages add up to 90, not 100"
        fixed["split"]["targets"][1]["percentage"] = "40"
        created = post("cost-allocation-rules", fixed)
        assert created.status_code == 201, created.text
        assert post("cost-allocation-rules", {**fixed, "name": "dup"}).status_code == 409
        no_match = post(
            "cost-allocation-rules", {"name": "n", "priority": 2, "match": {}, "cost_center": "a"}
        )
        assert no_match.status_code == 422 and no_match.json()["field"] == "match"
        both = post(
            "cost-allocation-rules",
            {
                "name": "n",
                "priority": 2,
                "match": {"provider": "AWS"},
                "cost_center": "a",
                "split": {"method": "even", "targets": [{"cost_center": "a"}]},
            },
        )
        assert both.status_code == 422
        meter = post(
            "cost-allocation-rules",
            {
                "name": "n",
                "priority": 2,
                "match": {"provider": "AWS"},
                "split": {"method": "usage", "usage_meter": "nope"},
            },
        )
        assert meter.status_code == 422 and meter.json()["field"] == "split.usage_meter"
        # Replacing a rule's targets keeps exactly the new ones.
        fixed["split"]["targets"] = [{"cost_center": "a", "percentage": "100"}]
        rule_id = created.json()["id"]
        replaced = client.put(f"{BASE}/cost-allocation-rules/{rule_id}", json=fixed, headers=ADMIN)
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["split"]["targets"] == [{"cost_center": "a", "percentage": "100"}]
        in_use = client.delete(f"{BASE}/cost-centers/a", headers=ADMIN)
        assert in_use.status_code == 409
        tenant = client.get(f"{BASE}/cost-centers", headers={"X-API-Key": "nope"})
        assert tenant.status_code == 401
        unknown = client.post(
            f"{BASE}/cost-ingestion/files",
            files={"file": ("notes.txt", io.BytesIO(b"x"), "text/plain")},
            headers=ADMIN,
        )
        assert unknown.status_code == 422
