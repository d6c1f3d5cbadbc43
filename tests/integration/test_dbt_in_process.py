"""dbt run in the pipeline's process shares one parse between builds, and parses again when
what a parse depends on changes (dagster_project/transform/in_process.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from dagster_project.transform import in_process

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
MODEL = "models/marts/usage/fct_usage_period.sql"


@pytest.fixture
def project(tmp_path, monkeypatch) -> SimpleNamespace:
    """A copy of the dbt project (without its outputs) as the working directory, on a DuckDB
    warehouse of its own; ``parses`` lists each ``dbt parse`` made."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(*in_process.PROJECT_OUTPUTS))
    monkeypatch.chdir(copy)
    for name, value in {
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": str(copy),
        "DBT_PROJECT_DIR": str(copy),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "target"),
        "BILLING_DBT_TARGET": "duckdb",
        "BILLING_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        in_process.PERIOD_START_ENV: "2026-10-01",
        in_process.PERIOD_END_ENV: "2026-11-01",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(in_process, "_parses", {})
    parses = []
    parse = in_process._parse

    def counted(command):
        parses.append(command)
        return parse(command)

    monkeypatch.setattr(in_process, "_parse", counted)
    return SimpleNamespace(dir=copy, parses=parses)


def _model_sql(manifest) -> str:
    return next(n.raw_code for n in manifest.nodes.values() if n.name == "fct_usage_period")


def test_builds_share_one_parse_until_what_it_read_changes(project, monkeypatch, tmp_path):
    build = ["build", "--exclude-resource-type", "unit_test"]
    first = in_process._parsed_project(build)
    assert len(project.parses) == 1
    # Another build, another billing window: the same parse, each build its own copy of it.
    monkeypatch.setenv(in_process.PERIOD_START_ENV, "2026-11-01")
    monkeypatch.setenv(in_process.PERIOD_END_ENV, "2026-12-01")
    second = in_process._parsed_project([*build, "--select", "tag:invoices"])
    assert len(project.parses) == 1
    assert second is not first and second.nodes.keys() == first.nodes.keys()
    node = next(iter(second.nodes))
    second.nodes[node].compiled_code = "select 1"  # as a build compiles into its manifest
    assert in_process._parsed_project(build).nodes[node].compiled_code is None
    assert first.nodes[node].compiled_code is None

    # Another DuckDB file of the same name: the same nodes (their database is the file's name).
    monkeypatch.setenv("BILLING_DUCKDB_PATH", str(tmp_path / "other" / "warehouse.duckdb"))
    in_process._parsed_project(build)
    assert len(project.parses) == 1
    # Another name: the nodes name another database, so dbt parses again.
    monkeypatch.setenv("BILLING_DUCKDB_PATH", str(tmp_path / "ledger.duckdb"))
    assert {n.database for n in in_process._parsed_project(build).nodes.values()} == {"ledger"}
    assert len(project.parses) == 2

    # A changed model file is parsed again, and the build sees the change.
    model = project.dir / MODEL
    model.write_text(model.read_text() + "\n-- changed\n")
    assert _model_sql(in_process._parsed_project(build)).endswith("-- changed")
    assert len(project.parses) == 3


def test_a_project_that_does_not_parse_is_left_to_the_build_to_report(project):
    (project.dir / "models" / "broken.sql").write_text("select {{ ref('no_such_model') }}")
    assert in_process._parsed_project(["build"]) is None
    assert len(project.parses) == 1
