"""Celery for production workers (the entry point is `market.worker`):

    celery -A market.worker worker --concurrency 2 --loglevel info
    celery -A market.worker beat  # periodic housekeeping (quotes, deadlines, reaper)

Each registered task function becomes a Celery task `yunzao.<name>`. Messages are acked late
and a task lost with its worker is not redelivered blindly: the run's row in the database
decides, through the reaper, whether it is retried or failed."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery
from flask import Flask

from market.core.jobs import TASKS, schedule  # the domains registered their tasks


@lru_cache(maxsize=4)
def sender(broker_url: str) -> Celery:
    """A Celery client for sending tasks by name (the web process registers nothing)."""
    return Celery("yunzao", broker=broker_url, set_as_current=False)


def make_celery(flask_app: Flask) -> Celery:

    app = Celery("yunzao", broker=flask_app.config.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        beat_schedule=_schedule(flask_app),
    )
    for name, fn in TASKS.items():
        app.task(name=f"yunzao.{name}")(_bind(fn, flask_app))
    return app


def _schedule(flask_app: Flask) -> dict[str, Any]:
    return {name: {"task": f"yunzao.{name}", "schedule": every}
            for name, every in schedule(flask_app)}


def _bind(fn: Any, flask_app: Flask) -> Any:
    def run(**kwargs: Any) -> None:
        fn(flask_app, **kwargs)

    run.__name__ = fn.__name__
    return run
