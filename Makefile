# The same short verbs everywhere. Each target creates the virtual environment first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Invoice PDFs: WeasyPrint needs Debian's pango and a font (chromium pulls them in too).
PDF_LIBS = @$(BIN)/python -c 'import weasyprint' 2>/dev/null || \
	(apt-get update && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)

.PHONY: demo test test-unit soak bench bench-realtime lint format docs run serve broker realtime clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)          ## broker + synthetic month + pipeline + API + Dagster UI
	$(PDF_LIBS)
	$(BIN)/billing demo

test: $(STAMP)          ## the whole test suite (DuckDB, PostgreSQL, Tansu broker, Chromium)
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	$(PDF_LIBS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP)     ## tests/unit only: pure rules and services, no broker, dbt or server (< 30 s)
	$(BIN)/python -m pytest -n 0 tests/unit $(PYTEST_ARGS)

soak: $(STAMP)          ## load test: HTTP + Kafka for SOAK_SECONDS (600) at SOAK_RATE (100/s), nothing lost
	$(BIN)/python -m pytest --soak -n 0 -s tests/e2e/test_soak.py $(PYTEST_ARGS)

bench: $(STAMP)         ## benchmarks: landing + usage (1M events), usage rated into invoices (10M)
	$(BIN)/billing bench --events $(or $(EVENTS),1000000)
	$(BIN)/billing bench --invoices --events $(or $(INVOICE_EVENTS),10000000)

bench-realtime: $(STAMP)  ## quota-check latency and real-time freshness (billing bench-realtime)
	$(BIN)/billing bench-realtime

lint: $(STAMP)          ## ruff, formatting and the import contracts (pyproject [tool.importlinter])
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check .

docs: $(STAMP)          ## the reference in docs/ as a site (site/), no broken link (--strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

run: $(STAMP)
	$(PDF_LIBS)
	$(BIN)/billing run

serve: $(STAMP)
	$(BIN)/billing serve

broker: $(STAMP)
	$(BIN)/billing broker

realtime: $(STAMP)
	$(BIN)/billing realtime

clean:
	rm -rf .billing site dbt_project/target dbt_project/logs .pytest_cache
