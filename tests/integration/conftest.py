"""Fixtures of this lane; the shared ones are in tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.conftest import parse_dbt_project


@pytest.fixture(scope="session", autouse=True)
def _dbt_manifest() -> None:
    parse_dbt_project()
