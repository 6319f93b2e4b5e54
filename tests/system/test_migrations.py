"""Migrations: empty -> head -> base on both databases; the models match head."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from market.cli import alembic_config
from market.core.db import make_engine
from tests.conftest import (
    PG_ADMIN_URL,
    create_database,
    drop_database,
    missing,
    postgres_reachable,
)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite'}"
        return
    if not postgres_reachable():
        missing("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"yunzao_migrate_{uuid.uuid4().hex[:8]}"
    url = create_database(PG_ADMIN_URL, name)
    try:
        yield url
    finally:
        drop_database(PG_ADMIN_URL, name)


def _cfg(url: str):
    cfg = alembic_config(url)
    cfg.attributes["configure_logger"] = False
    return cfg


def test_upgrade_matches_models_and_downgrades_to_base(empty_url):
    cfg = _cfg(empty_url)
    command.upgrade(cfg, "head")
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"}
        )
        diff = compare_metadata(context, SQLModel.metadata)
        tables = set(inspect(conn).get_table_names())
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(SQLModel.metadata.tables) <= tables
    command.downgrade(cfg, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")  # and back up again: downgrades leave nothing behind
    engine.dispose()


def test_single_head():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_cfg("sqlite://"))
    assert len(script.get_heads()) == 1
