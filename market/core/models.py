"""Shared column types and the metadata naming convention (so Alembic names constraints
the same way on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The largest id our id columns hold (INTEGER on PostgreSQL): routes and bodies stop there.
MAX_ID = 2**31 - 1


def company_column(index: bool) -> Any:
    """The `company_id` column under a name that says whose company it is (an order's
    `buyer_company_id`, a booking's `factory_company_id`): the table keeps its column."""
    return sa.Column("company_id", sa.Integer, sa.ForeignKey("company.id"), nullable=False,
                     index=index)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC in and out, on every backend.

    SQLite has no time zone type: values are stored as naive UTC and made aware on read.
    Naive datetimes are refused on write, because guessing their zone loses data silently."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are stored as aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or value.tzinfo is UTC:  # PostgreSQL sessions are in UTC (core.db)
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(nullable: bool = True, **kwargs: Any) -> sa.Column:
    return sa.Column(UTCDateTime(), nullable=nullable, **kwargs)


@sa.event.listens_for(SQLModel.metadata, "before_create")
def _postgres_extensions(target: Any, connection: sa.Connection, **kw: Any) -> None:
    # The exclusion constraint on capacity windows compares machine ids with "=" in a GiST
    # index, which needs btree_gist.
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
