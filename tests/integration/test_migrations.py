"""Control-plane migrations upgrade an existing database in place and match the models."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from billing.control_plane.db import alembic_config, get_engine, migrate
from billing.control_plane.models import Base


@pytest.fixture(params=["sqlite", "postgres"])
def control_settings(request, make_settings):
    if request.param == "sqlite":
        return make_settings()
    return make_settings(control_db_url=request.getfixturevalue("pg_database"))


def test_upgrade_keeps_existing_records(control_settings):
    engine = get_engine(control_settings)
    with engine.begin() as connection:
        config = alembic_config(control_settings)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "insert into meters (key, name, event_type, aggregation, value_property, unit, "
                "group_by, created_at, updated_at) values ('calls', 'Calls', 'api.request', "
                "'count', null, 'call', '[]', '2026-01-01', '2026-01-01')"
            )
        )
        assert "plans" not in sa.inspect(connection).get_table_names()
    migrate(control_settings)  # to head, in place
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        assert {"plans", "plan_charges", "subscriptions", "coupons", "meters"} <= tables
        assert connection.execute(sa.text("select key from meters")).scalar_one() == "calls"
    migrate(control_settings)  # idempotent


def test_models_and_migrations_agree(control_settings):
    migrate(control_settings)
    with get_engine(control_settings).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
