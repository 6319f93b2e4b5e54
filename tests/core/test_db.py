"""The database handle on PostgreSQL (market.core.db): reads run outside a transaction and
keep psycopg's prepared statements, the first write or locking read begins a transaction
that holds its locks until it ends, a failed request still rolls back its writes, and a
connection the server dropped while the site was quiet is replaced without an error."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from market.accounts.models import Company
from market.core import db as core_db
from market.core.db import Session, make_engine
from market.core.extensions import db
from tests.conftest import _truncate_all


@pytest.fixture
def database_url(pg_database):
    """PostgreSQL only: these are its transactions and prepared statements."""
    try:
        yield pg_database
    finally:
        _truncate_all(pg_database)


@pytest.fixture
def pg_app(app):
    return app


def _status(session: Session) -> int:
    return session.connection().connection.dbapi_connection.info.transaction_status


def test_a_read_opens_no_transaction_and_a_write_does(pg_app, buyer):
    with pg_app.app_context():
        session = db.session
        session.execute(select(Company.id)).all()
        assert _status(session) == 0  # IDLE: no BEGIN was sent for the read
        company = session.get(Company, buyer.company_id)
        company.description = "Anodizing since 1998"
        session.flush()
        assert _status(session) == 2  # INTRANS: the UPDATE began one
        session.rollback()
        assert session.get(Company, buyer.company_id).description != "Anodizing since 1998"


def test_pages_keep_prepared_statements(pg_app, buyer_client):
    """psycopg prepares a query after five runs and forgets everything at a ROLLBACK: pages
    that only read send none, so their queries stay prepared (before, every query of every
    page was parsed and planned again)."""
    for _ in range(12):
        assert buyer_client.get("/orders/").status_code == 200
    with pg_app.app_context():
        prepared = db.session.execute(text(
            "select count(*) from pg_prepared_statements")).scalar_one()
    assert prepared >= 3, prepared  # the user, the status counts, the page of orders


def test_a_locking_read_holds_its_lock_until_commit(pg_app, buyer):
    url = pg_app.config["DATABASE_URL"]
    other = make_engine(url)
    try:
        with pg_app.app_context():
            session = db.session
            session.execute(select(Company).where(Company.id == buyer.company_id)
                            .with_for_update()).one()
            assert _status(session) == 2
            with other.connect() as conn, pytest.raises(OperationalError, match="lock"):
                conn.execute(text("select id from company where id = :id for update nowait"),
                             {"id": buyer.company_id})
            session.commit()
            with other.connect() as conn:
                conn.execute(text("select id from company where id = :id for update nowait"),
                             {"id": buyer.company_id})
    finally:
        other.dispose()


def test_a_request_that_fails_after_a_write_keeps_nothing(pg_app, buyer):
    @pg_app.get("/_test/write-then-fail")
    def write_then_fail():
        company = db.session.get(Company, buyer.company_id)
        company.description = "half-done"
        db.session.flush()
        raise RuntimeError("the service failed after its first write")

    assert pg_app.test_client().get("/_test/write-then-fail").status_code == 500
    with pg_app.app_context():
        assert db.session.get(Company, buyer.company_id).description != "half-done"


def test_a_dropped_connection_is_replaced_after_a_quiet_spell(pg_app, buyer_client,
                                                              monkeypatch):
    assert buyer_client.get("/orders/").status_code == 200
    admin = make_engine(pg_app.config["DATABASE_URL"])
    try:
        with admin.connect() as conn:  # the server restarts, say: every session of ours ends
            conn.execute(text(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid()"))
    finally:
        admin.dispose()
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE_SECONDS", 0.0)  # the site was quiet since
    assert buyer_client.get("/orders/").status_code == 200
