"""The web dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) against
a demo warehouse: the demo's plans, subscriptions and synthetic usage, built by the pipeline
and served by the API on a real port. Every chart must render with data; a screenshot is saved
to test-artifacts/dashboard.png."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.synthetic.demo import seed_demo_costs
from adapters.synthetic.usage import SyntheticPlan, tenant_ids
from api.main import create_app
from billing.control_plane.db import session_scope
from cli.demo import produce_demo_month, seed_demo_control_plane, write_demo_daily_costs
from tests.conftest import ADMIN_KEY, run_pipeline, serving

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHARTS = (
    "chart-cost-trend",
    "chart-cost-by-center",
    "chart-forecast",
    "chart-anomalies",
    "chart-margin",
    "chart-revenue-trend",
    "chart-invoice-status",
    "chart-revenue-by-tenant",
)


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed (`make test` and .ci/run install Debian's chromium)")


@pytest.fixture
def demo_api(settings) -> Iterator[str]:
    """The API on a free port, serving a demo warehouse."""
    seed_demo_control_plane(settings)
    with session_scope(settings) as session:
        seed_demo_costs(session, tenant_ids(SyntheticPlan(datetime.now(), datetime.now()).tenants))
    write_demo_daily_costs(settings, datetime.now(UTC).replace(tzinfo=None))
    produce_demo_month(settings, 3000)
    run_pipeline(settings)
    with serving(create_app(settings)) as base:
        yield base


def test_dashboard_renders_charts_with_data(demo_api, settings, tmp_path):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda msg: errors.append(msg.text) if msg.type == "error" else None,
            )
            # No network beyond the API: the chart library must come from the API itself.
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith(demo_api) else route.abort()
                ),
            )
            # Without a key the page asks for one.
            page.goto(f"{demo_api}/dashboard")
            page.wait_for_selector("#key-form", state="visible")
            # The key once in the fragment; the page keeps it in localStorage.
            page.goto(f"{demo_api}/dashboard#key={ADMIN_KEY}")
            try:
                page.wait_for_selector("body[data-loaded='true']", state="attached", timeout=30_000)
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard-failed.png"), full_page=True)
                status = page.text_content("#status")
                raise AssertionError(f"the dashboard did not load: {status!r}, {errors}") from None
            assert "key=" not in page.url
            stats = page.evaluate(
                """(ids) => ids.map((id) => {
                    const canvas = document.getElementById(id);
                    const chart = Chart.getChart(canvas);
                    const pixels = canvas.getContext('2d')
                        .getImageData(0, 0, canvas.width, canvas.height).data;
                    let painted = 0;
                    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
                    return {id, type: chart && chart.config.type,
                            points: Number(canvas.dataset.points), painted};
                })""",
                list(CHARTS),
            )
            for chart in stats:
                assert chart["type"], f"{chart['id']} has no chart"
                assert chart["points"] > 0, f"{chart['id']} has no data: {chart}"
                assert chart["painted"] > 1000, f"{chart['id']} drew nothing: {chart}"
            tiles = page.eval_on_selector_all(
                ".tile",
                "els => els.map(e => [e.dataset.key, e.querySelector('.value').textContent])",
            )
            tiles = dict(tiles)
            assert int(tiles["tenants"]) > 0 and float(tiles["revenue_USD"]) > 0, tiles
            # Cost by cost center: a stacked bar per day for the demo's centers, adding up to
            # the day's cost in the trend panel (both rounded half-up per series and day, so
            # within half a cent per series).
            centers = page.evaluate(
                """() => {
                    const days = (id) => {
                        const chart = Chart.getChart(document.getElementById(id));
                        const totals = {};
                        chart.data.labels.forEach((day, i) => {
                            totals[day] = chart.data.datasets.reduce(
                                (sum, d) => sum + (d.data[i] || 0), 0);
                        });
                        return {totals, series: chart.data.datasets.length,
                                labels: chart.data.datasets.map((d) => d.label),
                                stacked: Boolean(chart.options.scales.y.stacked)};
                    };
                    return {centers: days('chart-cost-by-center'), trend: days('chart-cost-trend')};
                }"""
            )
            by_center, trend = centers["centers"], centers["trend"]
            assert by_center["stacked"], by_center
            assert {"payments (USD)", "search (USD)", "unallocated (USD)"} <= set(
                by_center["labels"]
            ), by_center["labels"]
            assert len(by_center["totals"]) > 1 and set(by_center["totals"]) == set(trend["totals"])
            tolerance = 0.005 * (by_center["series"] + trend["series"]) + 1e-6
            for day, total in trend["totals"].items():
                assert abs(by_center["totals"][day] - total) <= tolerance, (day, by_center, trend)
            for table in ("invoices", "unit-costs", "movers", "anomalies", "cost-centers"):
                assert page.locator(f"#{table}-table tbody tr").count() > 0, table
            assert "Cloud cost MTD" in page.text_content("#tiles")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            assert page.evaluate("localStorage.getItem('billing.apiKey')") == ADMIN_KEY
        finally:
            browser.close()
    assert not errors, errors
    # The API reads serving snapshots only, so dbt may open the demo warehouse now.
    dbt_docs_generate(settings, tmp_path)


def dbt_docs_generate(settings, tmp_path: Path) -> None:
    """`dbt docs generate` on the demo warehouse: the catalog has the dashboard marts and the
    manifest the exposures naming which endpoints and panels read them."""
    env = {
        **os.environ,
        **settings.dbt_env(),
        "DBT_TARGET_PATH": str(tmp_path / "docs-target"),
        "DBT_LOG_PATH": str(tmp_path / "docs-logs"),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "docs", "generate"],
        cwd=ROOT / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    target = tmp_path / "docs-target"
    catalog = json.loads((target / "catalog.json").read_text())
    assert "model.billing.fct_tenant_revenue" in catalog["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())
    exposures = manifest["exposures"]
    revenue_api = exposures["exposure.billing.cost_dashboard_revenue_api"]
    assert revenue_api["depends_on"]["nodes"] == ["model.billing.fct_tenant_revenue"]
    assert revenue_api["url"].endswith("/api/v1/billing/cost-dashboard/revenue")
    assert any(e["type"] == "dashboard" for e in exposures.values())
    assert (target / "index.html").exists()
