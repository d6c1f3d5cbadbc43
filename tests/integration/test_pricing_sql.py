"""The dbt macro ``rate_quantities`` (``dbt_project/macros/pricing.sql``), compiled by dbt and run
on DuckDB and PostgreSQL, giving the same amounts as the Python engine
(tests/unit/test_pricing.py) to the last digit, on the hand-made cases and on thousands of
generated prices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.rules.pricing import (
    Price,
    PriceModel,
    Tier,
    calculate,
    minor_units,
)
from tests.conftest import PG_ADMIN_DSN
from tests.unit.test_pricing import (
    HAND_MADE,
    STRIPE_EXAMPLES,
    Case,
    graduated,
    per_unit,
    seed_currencies,
    volume,
)

D = Decimal
DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# ---------------------------------------------------------------------------------------------
# The dbt macro on DuckDB and PostgreSQL

MACRO_CALL = (
    "{{ rate_quantities('pricing_quantities', 'pricing_charges', 'pricing_tiers', "
    "'pricing_currencies') }}"
)
QUANTITY, AMOUNT = "numeric(38, 9)", "numeric(38, 12)"
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "pricing_quantities": (
        ("rating_id", "bigint"),
        ("charge_id", "bigint"),
        ("quantity", QUANTITY),
    ),
    "pricing_charges": (
        ("charge_id", "bigint"),
        ("price_model", "text"),
        ("unit_amount", AMOUNT),
        ("package_size", QUANTITY),
        ("flat_amount", AMOUNT),
        ("free_units", QUANTITY),
        ("currency", "text"),
    ),
    "pricing_tiers": (
        ("charge_id", "bigint"),
        ("tier_index", "integer"),
        ("up_to", QUANTITY),
        ("unit_amount", AMOUNT),
        ("flat_amount", AMOUNT),
    ),
    "pricing_currencies": (("currency_code", "text"), ("minor_unit", "integer")),
}
ARROW_TYPES = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "text": pa.string(),
    QUANTITY: pa.decimal128(38, 9),
    AMOUNT: pa.decimal128(38, 12),
}
# rating_id -> (currency, unrounded_amount, amount)
Rated = dict[int, tuple[str, Decimal | None, Decimal | None]]


def table_rows(cases: list[Case]) -> tuple[dict[str, list[tuple]], list[tuple[Case, Decimal]]]:
    """The cases as rows of the macro's input tables; rating ids index the returned list."""
    rows: dict[str, list[tuple]] = {name: [] for name in TABLES}
    ratings: list[tuple[Case, Decimal]] = []
    for charge_id, case in enumerate(cases):
        p = case.price
        rows["pricing_charges"].append(
            (
                charge_id,
                str(p.model),
                p.unit_amount,
                p.package_size,
                p.flat_amount,
                p.free_units,
                case.currency,
            )
        )
        for index, tier in enumerate(p.tiers, start=1):
            rows["pricing_tiers"].append(
                (charge_id, index, tier.up_to, tier.unit_amount, tier.flat_amount)
            )
        for quantity in case.quantities:
            rows["pricing_quantities"].append((len(ratings), charge_id, quantity))
            ratings.append((case, quantity))
    rows["pricing_currencies"] = sorted(seed_currencies().items())
    return rows, ratings


# The macro's result, stored as a table so that its column types can be read back.
RESULT_SQL = "select rating_id, charge_id, currency, unrounded_amount, amount from pricing_rated"
RESULT_TYPES_SQL = (
    "select column_name, numeric_precision, numeric_scale from information_schema.columns "
    "where table_name = 'pricing_rated' and column_name in ('unrounded_amount', 'amount')"
)


class SqlRater:
    """The compiled macro on one database: load cases into the input tables, run it."""

    def __init__(self, adapter: str, sql: str, location: str):
        self.adapter, self.sql, self.location = adapter, sql, location
        self.result_types: dict[str, tuple[int, int]] = {}

    def rate(self, rows: dict[str, list[tuple]]) -> Rated:
        if self.adapter == "duckdb":
            with duckdb.connect(self.location) as con:
                for name, columns in TABLES.items():
                    con.execute(f"create or replace table {name} ({_ddl(columns)})")
                    con.register("source_rows", _arrow(columns, rows[name]))
                    con.execute(f"insert into {name} select * from source_rows")
                    con.unregister("source_rows")
                con.execute(f"create or replace table pricing_rated as {self.sql}")
                result = con.execute(RESULT_SQL).fetchall()
                types = con.execute(RESULT_TYPES_SQL).fetchall()
        else:
            with psycopg.connect(self.location, autocommit=True) as con:
                for name, columns in (*TABLES.items(), ("pricing_rated", ())):
                    con.execute(f"drop table if exists {name}")
                    if columns:
                        con.execute(f"create table {name} ({_ddl(columns)})")
                        with con.cursor().copy(f"copy {name} from stdin") as copy:
                            for row in rows[name]:
                                copy.write_row(row)
                con.execute(f"create table pricing_rated as {self.sql}")
                result = con.execute(RESULT_SQL).fetchall()
                types = con.execute(RESULT_TYPES_SQL).fetchall()
        self.result_types = {name: (precision, scale) for name, precision, scale in types}
        out: Rated = {}
        for rating_id, _charge_id, currency, unrounded, amount in result:
            assert rating_id not in out, f"{self.adapter}: rating {rating_id} priced twice"
            out[rating_id] = (currency, unrounded, amount)
        return out


def _ddl(columns: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


def _arrow(columns: tuple[tuple[str, str], ...], rows: list[tuple]) -> pa.Table:
    return pa.table(
        {
            name: pa.array([row[i] for row in rows], ARROW_TYPES[kind])
            for i, (name, kind) in enumerate(columns)
        }
    )


def target_envs(duckdb_path: Path, database: str) -> dict[str, dict[str, str]]:
    """dbt's environment for a throwaway DuckDB file and PostgreSQL database, per adapter."""
    admin = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_DSN)
    return {
        "duckdb": {"BILLING_DUCKDB_PATH": str(duckdb_path)},
        "postgres": {
            "BILLING_PG_HOST": str(admin.get("host", "127.0.0.1")),
            "BILLING_PG_PORT": str(admin.get("port", "5432")),
            "BILLING_PG_USER": str(admin.get("user", "postgres")),
            "BILLING_PG_PASSWORD": str(admin.get("password", "")),
            "BILLING_PG_DATABASE": database,
        },
    }


def compile_macro(
    envs: dict[str, dict[str, str]], target_root: Path, call: str = MACRO_CALL
) -> dict[str, str]:
    """Compile a macro call once per adapter (in parallel); the SQL dbt prints as JSON."""
    outputs = dbt_on_each_adapter(
        envs, target_root, ["compile", "--quiet", "--output", "json", "--inline", call], 120
    )
    return {adapter: json.loads(output)["compiled"] for adapter, output in outputs.items()}


def dbt_on_each_adapter(
    envs: dict[str, dict[str, str]], target_root: Path, args: list[str], timeout: int
) -> dict[str, str]:
    """One dbt command per adapter (in parallel), each with its environment from ``envs``; the
    output of each. Every one must succeed."""
    dbt = str(Path(sys.executable).parent / "dbt")
    running = {}
    for adapter, extra in envs.items():
        env = {
            **os.environ,
            **extra,
            "BILLING_DBT_TARGET": adapter,
            "DBT_TARGET_PATH": str(target_root / f"target-{adapter}"),
            "DBT_LOG_PATH": str(target_root / f"logs-{adapter}"),
            "DO_NOT_TRACK": "1",
        }
        running[adapter] = subprocess.Popen(
            [dbt, *args],
            cwd=DBT_PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    outputs = {}
    for adapter, process in running.items():
        output, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, f"dbt {args[0]} on {adapter} failed:\n{output[-4000:]}"
        outputs[adapter] = output
    return outputs


@contextmanager
def throwaway_targets(
    tmp_path_factory, postgres_available: bool, name: str
) -> Iterator[tuple[Path, Path, str]]:
    """(target root, DuckDB file, PostgreSQL database) to compile and run a macro on; the
    database is dropped afterwards."""
    if not postgres_available:
        pytest.fail("PostgreSQL is not running at 127.0.0.1:5432 (.ci/run starts it)")
    root: Path = tmp_path_factory.mktemp(name)
    duckdb_path = root / f"{name}.duckdb"
    database = f"billing_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
        con.execute(f'create database "{database}"')
    try:
        yield root, duckdb_path, database
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
            con.execute(f'drop database if exists "{database}" with (force)')


@pytest.fixture(scope="module")
def sql_raters(tmp_path_factory, postgres_available) -> Iterator[dict[str, SqlRater]]:
    """The macro compiled by dbt for a throwaway DuckDB file and PostgreSQL database."""
    with throwaway_targets(tmp_path_factory, postgres_available, "pricing") as (
        root,
        duckdb_path,
        database,
    ):
        compiled = compile_macro(target_envs(duckdb_path, database), root)
        yield {
            "duckdb": SqlRater("duckdb", compiled["duckdb"], str(duckdb_path)),
            "postgres": SqlRater(
                "postgres",
                compiled["postgres"],
                psycopg.conninfo.make_conninfo(PG_ADMIN_DSN, dbname=database),
            ),
        }


ADAPTERS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def python_ratings(ratings: list[tuple[Case, Decimal]]) -> Rated:
    out: Rated = {}
    for rating_id, (case, quantity) in enumerate(ratings):
        result = calculate(case.price, quantity, case.currency)
        out[rating_id] = (case.currency, result.unrounded_amount, result.amount)
    return out


def assert_same(sql: Rated, python: Rated, ratings: list[tuple[Case, Decimal]], adapter: str):
    assert sql.keys() == python.keys(), f"{adapter}: ratings missing or extra"
    different = [
        f"{ratings[i][0]!r} at quantity {ratings[i][1]}: python {python[i]}, sql {sql[i]}"
        for i in python
        # Decimal equality is by value: 41.50 == 41.500000000, and nothing else is.
        if sql[i] != python[i]
    ]
    assert not different, f"{adapter}: {len(different)} differ, e.g.\n" + "\n".join(different[:5])


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_macro_prices_the_hand_made_cases(sql_raters, adapter):
    cases = [Case(price, (D(quantity),), currency) for _, price, quantity, currency, _ in HAND_MADE]
    quantities = tuple(D(quantity) for quantity, _, _ in STRIPE_EXAMPLES)
    cases += [Case(volume(), quantities, "USD"), Case(graduated(), quantities, "USD")]
    rows, ratings = table_rows(cases)
    sql = sql_raters[adapter].rate(rows)
    expected = [D(case[4]) for case in HAND_MADE]
    expected += [D(volume_usd) for _, volume_usd, _ in STRIPE_EXAMPLES]
    expected += [D(graduated_usd) for _, _, graduated_usd in STRIPE_EXAMPLES]
    assert [sql[i][2] for i in range(len(ratings))] == expected
    # Exact types: the unrounded sum keeps all 21 places, the amount is numeric(38, 9).
    assert sql_raters[adapter].result_types == {"unrounded_amount": (38, 21), "amount": (38, 9)}
    assert_same(sql, python_ratings(ratings), ratings, adapter)


def test_macro_gives_null_not_a_missing_row_for_what_it_cannot_price(sql_raters):
    rows, _ = table_rows(
        [
            Case(per_unit("1"), (D(1),), "XXX"),  # unknown currency
            Case(graduated(), (D(1),), "USD"),
        ]
    )
    rows["pricing_tiers"] = []  # a graduated charge without tiers
    rows["pricing_quantities"].append((2, 99, D(1)))  # no such charge
    sql = sql_raters["duckdb"].rate(rows)
    assert {i: amount for i, (_, _, amount) in sql.items()} == {0: None, 1: None, 2: None}


# Generated cases: every model, random tiers with flat amounts, free units, package sizes, unit
# amounts up to 12 decimal places; quantities up to 9 places, 0, and exactly on (and a
# billionth either side of) tier bounds, free-unit allowances and package multiples.
ONE_BILLIONTH = D("0.000000001")


def _decimals(max_places: int, max_value: int) -> st.SearchStrategy[Decimal]:
    """Decimals in [0, max_value] with up to `max_places` places, digits drawn uniformly
    enough that zero is not the usual answer."""
    return st.integers(0, max_places).flatmap(
        lambda places: st.integers(0, max_value * 10**places).map(
            lambda n: Decimal(n).scaleb(-places)
        )
    )


# Unit and flat amounts: up to 12 places, and odd halves of a minor unit (0.5, 0.005, 0.0005)
# that make unrounded totals lie exactly halfway between two minor units.
HALVES = st.tuples(st.integers(0, 1_000), st.sampled_from([1, 3, 4])).map(
    lambda n_places: Decimal(2 * n_places[0] + 1).scaleb(-n_places[1])
)
AMOUNTS = st.one_of(_decimals(12, 100), _decimals(3, 1_000), _decimals(1, 100), HALVES)
QUANTITIES = st.one_of(_decimals(9, 50), _decimals(2, 100_000), st.integers(0, 1_000).map(D))
POSITIVE_QUANTITIES = st.one_of(_decimals(9, 50), _decimals(0, 10_000)).filter(lambda d: d > 0)


@st.composite
def generated_case(draw) -> Case:
    model = draw(st.sampled_from(list(PriceModel)))
    free = draw(st.one_of(st.just(D(0)), _decimals(9, 10), st.integers(0, 100).map(D)))
    specials = [D(0), free]
    fields: dict = {}
    if model in (PriceModel.PER_UNIT, PriceModel.PACKAGE):
        fields["unit_amount"] = draw(AMOUNTS)
    if model is PriceModel.PACKAGE:
        size = draw(POSITIVE_QUANTITIES)
        fields["package_size"] = size
        specials += [free + size * k for k in (1, 2, 3)]
    if model is PriceModel.FLAT:
        fields["flat_amount"] = draw(AMOUNTS)
    if model in (PriceModel.GRADUATED, PriceModel.VOLUME):
        bounds = sorted(draw(st.lists(POSITIVE_QUANTITIES, max_size=4, unique=True)))
        fields["tiers"] = tuple(
            Tier(up_to, draw(AMOUNTS), draw(st.one_of(st.just(D(0)), AMOUNTS)))
            for up_to in [*bounds, None]
        )
        specials += [free + b for b in bounds]
    near = st.sampled_from(specials).flatmap(
        lambda q: st.sampled_from([q, q + ONE_BILLIONTH, max(q - ONE_BILLIONTH, D(0))])
    )
    quantities = draw(st.lists(st.one_of(QUANTITIES, near), min_size=1, max_size=3))
    return Case(
        Price(model, free_units=free, **fields),
        tuple(quantities),
        draw(st.sampled_from(sorted(seed_currencies()))),
    )


GENERATED_CASES = 2000


@pytest.fixture(scope="module")
def generated_cases() -> list[Case]:
    cases: list[Case] = []

    @settings(
        max_examples=GENERATED_CASES,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(generated_case())
    def collect(case: Case) -> None:
        case.price.validate()  # the strategy only makes valid prices
        cases.append(case)

    collect()
    return cases


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_macro_agrees_with_python_on_generated_prices(sql_raters, generated_cases, adapter):
    rows, ratings = table_rows(generated_cases)
    assert len(generated_cases) >= GENERATED_CASES * 0.9
    assert {str(c.price.model) for c in generated_cases} == {m.value for m in PriceModel}
    python = python_ratings(ratings)
    # The cases are not trivial: mostly money is charged, and many unrounded amounts lie
    # exactly halfway between two minor units.
    assert sum(1 for _, _, amount in python.values() if amount) > len(ratings) / 2
    halves = sum(
        1
        for _, (currency, unrounded, _) in python.items()
        if unrounded.scaleb(minor_units(currency)) % 1 == D("0.5")
    )
    assert halves > 10
    assert_same(sql_raters[adapter].rate(rows), python, ratings, adapter)
