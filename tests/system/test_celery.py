"""Real Celery workers on the Redis at 127.0.0.1:6379: a run end to end, and a worker killed
in the middle of a solve (the run is reaped, nothing half-stored, and a new worker finishes
the retry)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlmodel import select

from market import create_app
from market.accounts.models import User
from market.orders import service as orders
from market.runs import service as matching_runs
from market.runs.models import MatchingRun, PlannedOperation
from tests.conftest import REDIS_TEST_URL, missing, redis_reachable
from tests.fakes.orders import order_input, seed_capacity

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def database_url(request, pg_database) -> Iterator[str]:
    """PostgreSQL only: the worker is another process on the same database."""
    from tests.conftest import _truncate_all

    yield pg_database
    _truncate_all(pg_database)


@pytest.fixture
def app_config(app_config):
    if not redis_reachable():
        missing("Redis is not reachable on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    return {**app_config, "JOBS_MODE": "celery", "REDIS_URL": REDIS_TEST_URL}


class Worker:
    def __init__(self, database_url: str, delay: int = 0) -> None:
        env = {**os.environ, "TEST_SOLVE_DELAY_SECONDS": str(delay),
               "DATABASE_URL": database_url, "REDIS_URL": REDIS_TEST_URL, "JOBS_MODE": "celery",
               "SOLVER_MODE": "repeatable",
               "SOLVER_WORKERS": "1", "RATELIMIT_STORAGE_URI": "memory://"}
        # solo pool: the task runs in the worker's own process, so killing it kills the solve
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "market.worker", "worker", "--pool",
             "solo", "--loglevel", "warning", "--without-gossip", "--without-mingle"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def worker(database_url, app_config, request) -> Iterator[list[Worker]]:
    # after app_config: it empties the Redis test database, which a running worker's queue
    # bindings live in
    started = [Worker(database_url, getattr(request, "param", 0))]
    yield started  # type: ignore[misc]
    for w in started:
        w.kill()


def wait_for(session, run_id: int, states: tuple[str, ...], seconds: float) -> MatchingRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(MatchingRun, run_id)
        if run.status in states:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {run.status} after {seconds} s")


def _debug_stderr(w: Worker) -> str:
    w.kill()
    return w.proc.stderr.read().decode()[-3000:] if w.proc.stderr else ""


@pytest.fixture
def world(session, taxonomy, factory, buyer, operator):
    seed_capacity(session, factory.company_id)
    b = session.get(User, buyer.user_id)
    orders.submit(session, b, orders.create_draft(session, b, order_input()).id)
    return session.get(User, operator.user_id)


def test_run_on_a_celery_worker(app, session, world, worker):
    from market.core.jobs import dispatch

    run = matching_runs.start_run(session, world, 2)
    with app.app_context():
        dispatch("run_matching", run_id=run.id)
    done = wait_for(session, run.id, ("done", "failed"), 90)
    assert done.status == "done", done.error
    assert done.worker.split(":")[-1].isdigit()  # a worker process, not this one
    assert int(done.worker.split(":")[-1]) != os.getpid()
    assert session.exec(select(PlannedOperation)).all()


@pytest.mark.parametrize("worker", [20], indirect=True)  # a solve that lasts 20 s
def test_killed_worker_leaves_nothing_and_the_retry_completes(app, session, world, worker,
                                                              database_url):
    from market.core.jobs import dispatch

    run = matching_runs.start_run(session, world, 2)
    with app.app_context():
        dispatch("run_matching", run_id=run.id)
    running = wait_for(session, run.id, ("running",), 60)
    time.sleep(1.5)  # well inside the solve
    worker[0].kill()
    time.sleep(1)
    session.expire_all()
    assert session.get(MatchingRun, run.id).status == "running"  # nobody told the database
    assert session.exec(select(PlannedOperation)).all() == []
    with app.app_context():
        result = matching_runs.reap(session, stale_seconds=0)
    assert result == {"retried": [run.id], "failed": []}
    assert running.attempts == 1
    worker.append(Worker(database_url))  # a fresh worker picks up the retry
    try:
        done = wait_for(session, run.id, ("done", "failed"), 60)
    except AssertionError:
        raise AssertionError(_debug_stderr(worker[-1])) from None
    assert done.status == "done" and done.attempts == 2, done.error
    assert session.exec(select(PlannedOperation)).all()


@pytest.mark.parametrize("worker", [20], indirect=True)
def test_second_death_fails_the_run(app, session, world, worker):
    from market.core.jobs import dispatch

    run = matching_runs.start_run(session, world, 2)
    run.attempts = 1  # as if the first attempt had died already
    session.add(run)
    session.commit()
    with app.app_context():
        dispatch("run_matching", run_id=run.id)
    wait_for(session, run.id, ("running",), 60)
    worker[0].kill()
    with app.app_context():
        assert matching_runs.reap(session, stale_seconds=0) == {"retried": [], "failed": [run.id]}
    session.expire_all()
    failed = session.get(MatchingRun, run.id)
    assert failed.status == "failed" and "stopped answering" in failed.error
    assert session.exec(select(PlannedOperation)).all() == []
    assert create_app  # the module imports cleanly for the worker too
