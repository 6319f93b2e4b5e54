"""Fixtures after Flask's tutorial: app, client, runner, logged-in clients per role, and a
fresh database per test, on SQLite and (when reachable) PostgreSQL.

Set YUNZAO_TEST_STRICT=1 (as .ci/run does) to turn "PostgreSQL/Redis/chromium missing"
skips into failures, so CI always runs everything."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from hypothesis import settings
from sqlalchemy import text
from sqlmodel import SQLModel

from market import create_app, load_models
from market.accounts import service as accounts
from market.core.db import Session, make_engine

# Property tests: `make test` and CI draw the same examples every run (a counterexample found
# is kept as an @example, never left to chance); HYPOTHESIS_PROFILE=random (`make
# test-random`) searches further with fresh draws.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("random", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

load_models()  # every table on SQLModel.metadata before a fixture creates the schema

STRICT = os.environ.get("YUNZAO_TEST_STRICT") == "1"
PG_ADMIN_URL = os.environ.get(
    "YUNZAO_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# One Redis database per xdist worker (15, 14, ...): a Celery test empties its database
# first, which must not drop the queue of a test running beside it.
_XDIST = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
REDIS_TEST_URL = os.environ.get(
    "YUNZAO_TEST_REDIS_URL",
    f"redis://127.0.0.1:6379/{15 - int(_XDIST[2:] or 0) % 8 if _XDIST.startswith('gw') else 15}")
PASSWORD = "correct horse battery staple"

# Argon2 with production parameters costs ~50 ms a hash; tests hash hundreds of passwords.
accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def missing(reason: str) -> None:
    """Skip on a developer's machine, fail in CI: a silent skip would hide lost coverage."""
    if STRICT:
        pytest.fail(f"{reason} (YUNZAO_TEST_STRICT=1: a skip is a failure here)")
    pytest.skip(reason)


_pg_state: dict[str, object] = {}


def postgres_reachable() -> bool:
    if "ok" not in _pg_state:
        try:
            engine = make_engine(PG_ADMIN_URL)
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            _pg_state["ok"] = False
            _pg_state["why"] = str(exc).splitlines()[0]
    return bool(_pg_state["ok"])


def redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:  # noqa: BLE001
        return False


def pytest_report_header(config: pytest.Config) -> list[str]:
    from tests.fakes.live_server import chromium_path

    pg = "yes" if postgres_reachable() else f"NO ({_pg_state.get('why')}): those tests skip"
    chromium = chromium_path() or "NO (/usr/bin/chromium missing): browser tests skip"
    return [
        f"yunzao: PostgreSQL on 127.0.0.1:5432: {pg}",
        f"yunzao: Redis on 127.0.0.1:6379: {'yes' if redis_reachable() else 'NO'}",
        f"yunzao: chromium: {chromium}",
        f"yunzao: strict mode (skips fail): {STRICT}",
    ]


def create_database(admin_url: str, name: str) -> str:
    engine = make_engine(admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    engine = make_engine(admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One PostgreSQL database for the session, created and dropped here; the schema is
    created once and emptied after every test."""
    if not postgres_reachable():
        missing(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({_pg_state.get('why')})")
    name = f"yunzao_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    url = create_database(PG_ADMIN_URL, name)
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_database(PG_ADMIN_URL, name)


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        yield url
    else:
        url = request.getfixturevalue("pg_database")
        try:
            yield url
        finally:
            _truncate_all(url)


@pytest.fixture
def app_config(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SOLVER_MODE": "repeatable",  # the same plan every run, and no run longer than needed
        # pages catch up on what is due at every view (tests change the clock's world
        # between two views; tests/runs/test_service.py checks the production spacing)
        "CATCH_UP_SECONDS": 0,
        # every factory a test makes is new: probation (one order at a time) would decide
        # most flows; tests/quality/test_probation.py switches it on and tests it
        "PROBATION_MAX_AMOUNT": 0,
    }


@pytest.fixture
def app(app_config: dict):
    app = create_app(app_config)
    yield app
    app.extensions["yunzao_db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app) -> Iterator[Session]:
    """A session of the test's own, outside any app context: an app context held open here
    would be shared by every request of the test clients (and with it flask-login's cached
    user), which hides real bugs."""
    with Session(app.extensions["yunzao_db"], expire_on_commit=False) as own:
        yield own


@pytest.fixture
def taxonomy(app):
    from seed.loader import load_taxonomy

    with app.app_context():
        from market.core.extensions import db

        load_taxonomy(db.session)


@dataclass
class Account:
    user_id: int
    company_id: int | None
    email: str
    password: str = PASSWORD


def make_account(app, kind: str, email: str | None = None, verified: bool = True) -> Account:
    from market.accounts.models import CompanyStatus
    from market.core.extensions import db

    email = email or f"{kind}-{uuid.uuid4().hex[:6]}@example.com"
    with app.app_context():
        if kind == "operator":
            user = accounts.create_operator(db.session, email, PASSWORD, "Olga Operator")
            return Account(user.id, None, email)
        user = accounts.register(
            db.session,
            accounts.Registration(email=email, password=PASSWORD,
                                  company_name=f"{kind.title()} Test Co", company_kind=kind,
                                  city="Suzhou"),
        )
        if verified:
            user.company.status = CompanyStatus.verified.value
            db.session.add(user.company)
            db.session.commit()
        return Account(user.id, user.company_id, email)


def login(client, account: Account):
    response = client.post(
        "/auth/login", data={"email": account.email, "password": account.password}
    )
    assert response.status_code == 302, response.data[:500]
    return client


@pytest.fixture
def buyer(app) -> Account:
    return make_account(app, "buyer")


@pytest.fixture
def factory(app) -> Account:
    return make_account(app, "factory")


@pytest.fixture
def operator(app) -> Account:
    return make_account(app, "operator", "olga@ops.example.com")


@pytest.fixture
def buyer_client(app, buyer):
    return login(app.test_client(), buyer)


@pytest.fixture
def factory_client(app, factory):
    return login(app.test_client(), factory)


@pytest.fixture
def operator_client(app, operator):
    return login(app.test_client(), operator)


def api_token(client, account: Account) -> dict[str, str]:
    response = client.post(
        "/api/v1/tokens", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from tests.fakes.live_server import ARTIFACTS

    shots = ARTIFACTS / "screenshots"
    if shots.exists():
        terminalreporter.write_line(f"yunzao: browser screenshots in {shots}")
