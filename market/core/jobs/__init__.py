"""Background work. One task function per kind of work, run three ways:

- "thread" (the embedded default, `make run`): an in-process thread pool;
- "celery" (production, REDIS_URL set): Celery workers on Redis, `celery -A market.worker
  worker`;
- "sync" (some tests): at once, in the caller's thread.

The database row of the work (a matching run) is the truth about its state, never the queue:
a task claims its row, heartbeats while it works, and commits its result in one transaction;
`reap` finds rows left `running` by a process that died."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)

TASKS: dict[str, Callable[..., Any]] = {}
# Housekeeping steps of the domains, run in order every minute by the `housekeeping` task
# (Celery beat, or the in-process schedule) and by `flask matching housekeeping`.
HOUSEKEEPING: dict[str, Callable[[Any], Any]] = {}
# The cheap ones also run before pages that show their effects (an expired quote puts its
# order back among the open ones), each with a SQL condition that holds when it has work:
# `catch_up` asks them all in one query and runs only the steps that are due.
ON_READ: dict[str, tuple[Any, Callable[[datetime], dict[str, Any]]]] = {}
_due_queries: dict[tuple[str, ...], Any] = {}
_last_catch_up: weakref.WeakKeyDictionary[Flask, float] = weakref.WeakKeyDictionary()


def task(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register a task function. It receives the Flask app first, then keyword arguments.
    Domains declare theirs in `<domain>/tasks.py`, imported by their init_app."""
    TASKS[fn.__name__] = fn
    return fn


def housekeeping_step(name: str, due: Any = None,
                      due_params: Callable[[datetime], dict[str, Any]] | None = None,
                      ) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Register `fn(session) -> counts` as a housekeeping step named `name`. With `due` (a
    SQL boolean with bind parameters, e.g. an EXISTS, true when the step has work, and
    `due_params(now)` its values) it also runs before pages that show its effects
    (`catch_up`), as `fn(session, now=now)`."""
    def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        HOUSEKEEPING[name] = fn
        if due is not None:
            ON_READ[name] = (due, due_params or (lambda now: {"now": now}))
            _due_queries.clear()
        return fn
    return register


def catch_up(session: Any, now: datetime | None = None) -> None:
    """Run the housekeeping steps that are due now, before a page that shows their effects:
    one query asks every step whether it has work (nearly always none).

    A page asks at most every CATCH_UP_SECONDS (default 5) per process: housekeeping runs
    every minute in every mode anyway and services check deadlines when they act, so this
    only keeps what pages show within seconds, and a busy site need not ask on every view.
    With `now` given (the CLI, tests) it always asks."""
    if not ON_READ:
        return
    if now is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        clock = time.monotonic()
        if clock - _last_catch_up.get(app, float("-inf")) < float(
                app.config.get("CATCH_UP_SECONDS", 5)):
            return
        _last_catch_up[app] = clock
    from sqlalchemy import select

    names = tuple(ON_READ)
    query = _due_queries.get(names)
    if query is None:  # built once: the statement, its compiled SQL and plan are reused
        query = _due_queries[names] = select(*(ON_READ[n][0] for n in names))
    now = now or datetime.now(UTC)
    params: dict[str, Any] = {}
    for name in names:
        params.update(ON_READ[name][1](now))
    flags = session.execute(query, params).one()
    for name, flag in zip(names, flags, strict=True):
        if flag:
            HOUSEKEEPING[name](session, now=now)


def run_housekeeping(session: Any) -> dict[str, Any]:
    """Every domain's housekeeping step once, in registration order; their results by name."""
    return {name: step(session) for name, step in HOUSEKEEPING.items()}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@task
def housekeeping(app: Flask) -> None:
    """Expire quotes and unanswered bookings, reap runs whose worker died, move money."""
    from market.core.extensions import db

    with app.app_context():
        run_housekeeping(db.session)


def schedule(app: Flask) -> list[tuple[str, float]]:
    """What runs periodically, as (task name, every seconds): Celery beat in production and
    the in-process scheduler in the embedded default run this same list."""
    entries = [("housekeeping", float(app.config.get("HOUSEKEEPING_SECONDS") or 60))]
    every = int(app.config.get("MATCHING_EVERY_MINUTES") or 0)
    if every > 0:
        entries.append(("scheduled_matching", every * 60.0))
    return entries


class Scheduler(threading.Thread):
    """The schedule in-process (JOBS_MODE=thread, no Redis): without it nothing ever expired
    or paid out under `make run`. Each due task runs in the job pool, never in this thread."""

    def __init__(self, app: Flask, jobs: Jobs) -> None:
        super().__init__(daemon=True, name="yunzao-scheduler")
        self.app, self.jobs = app, jobs
        self.entries = schedule(app)
        self.stopped = threading.Event()

    def run(self) -> None:
        due = {name: time.monotonic() + every for name, every in self.entries}
        tick = min((every for _name, every in self.entries), default=60.0) / 4
        while not self.stopped.wait(max(0.05, min(tick, 5.0))):
            now = time.monotonic()
            for name, every in self.entries:
                if now >= due[name]:
                    due[name] = now + every
                    try:
                        with self.app.app_context():
                            self.jobs.dispatch(name)
                    except Exception:  # a failed tick must not stop the schedule
                        log.exception("scheduled task %s could not start", name)

    def stop(self) -> None:
        self.stopped.set()


class Jobs:
    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None

    def start_schedule(self, app: Flask) -> Scheduler | None:
        """Start the in-process schedule in thread mode (SCHEDULE_IN_PROCESS: on by default,
        off under TESTING unless asked for). Called once the domains registered their tasks."""
        wanted = app.config.get("SCHEDULE_IN_PROCESS")
        enabled = (str(wanted).lower() in ("1", "true", "yes") if wanted not in (None, "")
                   else not app.testing)
        app.extensions["yunzao_scheduler"] = None
        if app.config["JOBS_MODE"] != "thread" or not enabled:
            return None
        scheduler = app.extensions["yunzao_scheduler"] = Scheduler(app, self)
        scheduler.start()
        return scheduler

    def init_app(self, app: Flask) -> None:
        mode = app.config.get("JOBS_MODE") or ("celery" if app.config.get("REDIS_URL")
                                               else "thread")
        if mode not in ("thread", "celery", "sync"):
            raise RuntimeError(f"JOBS_MODE must be thread, celery or sync, not {mode!r}")
        app.config["JOBS_MODE"] = mode
        app.extensions["yunzao_jobs"] = self

    def dispatch(self, name: str, **kwargs: Any) -> Future | None:
        if name not in TASKS:
            raise KeyError(f"unknown task {name}")
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        mode = app.config["JOBS_MODE"]
        if mode == "sync":
            TASKS[name](app, **kwargs)
            return None
        if mode == "celery":
            from market.core.jobs.celery import sender

            sender(app.config["REDIS_URL"]).send_task(f"yunzao.{name}", kwargs=kwargs)
            return None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=app.config.get("JOBS_THREADS", 2), thread_name_prefix="yunzao-job")
        future = self._executor.submit(_run_logged, TASKS[name], app, kwargs)
        return future


def _run_logged(fn: Callable[..., Any], app: Flask, kwargs: dict[str, Any]) -> Any:
    try:
        return fn(app, **kwargs)
    except Exception:  # the task records its own failure; this keeps the pool alive
        log.exception("background task %s failed", fn.__name__)
        return None


jobs = Jobs()


def dispatch(name: str, **kwargs: Any) -> Future | None:
    return jobs.dispatch(name, **kwargs)
