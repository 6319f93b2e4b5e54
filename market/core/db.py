"""The database handle: one SQLAlchemy engine per app, one session per app context.

Flask-SQLAlchemy would do this too, but SQLModel sessions and plain Alembic keep the
models usable outside Flask (jobs, the seed loader, benchmarks)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Row, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session as _SQLModelSession
from sqlmodel import create_engine

from market.core import events

_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE: no transaction open on the connection


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
        # the connection used last is used next: it keeps its prepared statements warm,
        # and the others idle long enough to be pinged (or closed by the server) first
        kwargs["pool_use_lifo"] = True
        # the session in UTC whatever the server's default: times come back in UTC (psycopg
        # then gives datetime.UTC, which the UTC column type passes through untouched)
        kwargs["connect_args"] = {"options": "-c timezone=UTC"}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.pool, "checkin", _note_checkin)
        event.listen(engine.pool, "checkout", _ping_if_idle)
        event.listen(engine, "before_cursor_execute", _transaction_for_writes)
    return engine


# PostgreSQL: a connection back in the pool less than this long ago is used without a ping.
# pool_pre_ping would cost every request a round trip to learn what the last one just
# showed; a connection idle longer (or new) is pinged, so a database that restarted while
# the site was quiet costs no request an error.
PING_AFTER_IDLE_SECONDS = 2.0
_LOCKING = (" FOR UPDATE", " FOR SHARE", " FOR NO KEY UPDATE", " FOR KEY SHARE")
# statement text -> whether it writes: the app runs a few hundred distinct statements, each
# thousands of times (a str keeps its hash, so the lookup is cheap)
_writes: dict[str, bool] = {}


def _is_write(statement: str) -> bool:
    """Anything but a SELECT, or a locking SELECT (FOR UPDATE/SHARE: the lock must last)."""
    found = _writes.get(statement)
    if found is None:
        if len(_writes) > 10_000:
            _writes.clear()
        found = _writes[statement] = (statement.lstrip()[:6].upper() != "SELECT"
                                      or any(lock in statement for lock in _LOCKING))
    return found


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if time.monotonic() - record.info.get("checked_in", float("-inf")) < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.rollback()  # nothing is open between checkouts; make sure of it
        dbapi_connection.execute(";")
        dbapi_connection.rollback()
    except Exception as exc:  # noqa: BLE001  (any failure: the pool opens a new connection)
        raise DisconnectionError("stale connection") from exc


def _transaction_for_writes(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
    """PostgreSQL: reads outside a transaction run in autocommit; the first write (or
    locking read) begins one, which lasts until the session commits or rolls back.

    Under READ COMMITTED, PostgreSQL's default and ours, every statement takes its own
    snapshot inside a transaction too, so a read sees the same rows either way; what a
    transaction adds is that writes are all or nothing and that row locks are held, and
    both start at the first write. Reads no longer cost a BEGIN and a ROLLBACK each
    request, and psycopg keeps its prepared statements (it drops them at every ROLLBACK,
    so until now every query of every page was parsed and planned again). A session that
    fails after a write still rolls back; SQLite's driver already works this way."""
    raw = cursor.connection
    if raw.info.transaction_status != _IDLE:
        return  # inside a transaction: everything stays in it
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # asked for autocommit (CREATE DATABASE, say): leave it
    write = _is_write(statement)
    if raw.autocommit == write:
        raw.autocommit = not write


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked; WAL lets the dev server read while a job writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def read(session: Session, statement: Any, **params: Any) -> Sequence[Row[Any]]:
    """The rows of a read-only `statement` through SQLAlchemy Core, for the columns a page
    lists: the ORM's machinery (entities, identity map, loading) cost a column query about
    as much again as the query itself. Built once with bind parameters (`params`), a
    statement is not rebuilt, re-keyed and re-compiled every request either. Pending ORM
    changes are not flushed first: for reading what is committed."""
    return session.connection().execute(statement, params).all()


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
