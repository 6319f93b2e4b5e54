"""The database handle: one SQLAlchemy engine per app, one session per app context.

Flask-SQLAlchemy would do this too, but SQLModel sessions and plain Alembic keep the
models usable outside Flask (jobs, the seed loader, benchmarks)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session as _SQLModelSession
from sqlmodel import create_engine

from market.core import events


class Session(_SQLModelSession):
    """A SQLModel session that sends the domain events queued with `events.publish` once its
    transaction has committed, and drops them on rollback. Every session of the app is one."""

    sends_events_after_commit = True

    def commit(self) -> None:
        super().commit()
        events.send_committed(self)

    def rollback(self) -> None:
        events.drop_pending(self)
        super().rollback()


def make_engine(url: str, echo: bool = False) -> Engine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked; WAL lets the dev server read while a job writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    def __init__(self) -> None:
        self._engines: dict[int, Engine] = {}

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        engine = make_engine(url, echo=app.config.get("SQL_ECHO", False))
        app.extensions["yunzao_db"] = engine
        app.teardown_appcontext(self._teardown)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["yunzao_db"]

    @property
    def session(self) -> Session:
        """The session of the current app context (created on first use)."""
        if "db_session" not in g:
            g.db_session = Session(self.engine, expire_on_commit=False)
        return g.db_session

    def new_session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @staticmethod
    def _teardown(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()

# SQLite has no row locks to speak of: approvals and acceptances in one process (the
# embedded default) take this lock so their read-check-write cannot interleave. PostgreSQL
# relies on row locks and the exclusion constraint instead.
SQLITE_WRITE_LOCK = threading.RLock()


def write_lock(session: Session) -> contextlib.AbstractContextManager[Any]:
    """The lock that approvals, acceptances, declines and payments take around their
    read-check-write: a process lock on SQLite, nothing on PostgreSQL (row locks and the
    exclusion constraint do the work there)."""
    if session.get_bind().dialect.name == "sqlite":
        return SQLITE_WRITE_LOCK
    return contextlib.nullcontext()

__all__ = ["SQLITE_WRITE_LOCK", "Session", "db", "make_engine", "write_lock"]
