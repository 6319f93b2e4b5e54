"""The Celery application for production workers:

    celery -A market.jobs.worker worker --concurrency 2 --loglevel info
    celery -A market.jobs.worker beat        # periodic housekeeping

Each registered task function becomes a Celery task `yunzao.<name>`. Messages are acked late
and a task lost with its worker is not redelivered blindly: the run's row in the database
decides, through the reaper, whether it is retried or failed."""

from __future__ import annotations

from typing import Any

from celery import Celery

from market import create_app
from market.jobs import TASKS, tasks  # noqa: F401  (registers the task functions)

flask_app = create_app()
celery = Celery("yunzao", broker=flask_app.config.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
celery.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=False,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    beat_schedule={
        "housekeeping": {"task": "yunzao.housekeeping", "schedule": 60.0},
    },
)


def _register(name: str) -> None:
    fn = TASKS[name]

    @celery.task(name=f"yunzao.{name}")
    def _celery_task(**kwargs: Any) -> None:
        fn(flask_app, **kwargs)


for _name in list(TASKS):
    _register(_name)
