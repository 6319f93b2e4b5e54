"""Housekeeping in every mode: the embedded default (JOBS_MODE=thread, no Redis) runs the same
schedule in-process that Celery beat runs in production."""

from __future__ import annotations

import threading
import time

from market import create_app
from market.core import jobs as jobs_module
from market.core.jobs.celery import _schedule


def test_thread_mode_runs_the_schedule_in_process(app_config, monkeypatch):
    calls: list[float] = []
    done = threading.Event()

    def step(_session):
        calls.append(time.monotonic())
        if len(calls) >= 2:
            done.set()
        return {}

    monkeypatch.setitem(jobs_module.HOUSEKEEPING, "probe", step)
    app = create_app({**app_config, "JOBS_MODE": "thread", "SCHEDULE_IN_PROCESS": "1",
                      "HOUSEKEEPING_SECONDS": 0.2})
    scheduler = app.extensions["yunzao_scheduler"]
    try:
        assert scheduler is not None and scheduler.is_alive()
        assert done.wait(10), calls  # twice, with nobody opening a page
    finally:
        scheduler.stop()
        scheduler.join(5)
    assert not scheduler.is_alive()
    time.sleep(0.5)  # a job dispatched by the last tick may still finish
    settled = len(calls)
    time.sleep(0.6)  # three more intervals: a stopped schedule dispatches nothing
    assert len(calls) == settled
    app.extensions["yunzao_db"].dispose()


def test_no_schedule_under_tests_or_when_celery_beat_runs_it(app, app_config):
    assert app.extensions["yunzao_scheduler"] is None  # TESTING: off unless asked
    celery_app = create_app({**app_config, "JOBS_MODE": "celery", "SCHEDULE_IN_PROCESS": "1",
                             "REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert celery_app.extensions["yunzao_scheduler"] is None


def test_beat_and_the_in_process_schedule_are_one_list(app):
    app.config["MATCHING_EVERY_MINUTES"] = 30
    beat = _schedule(app)
    assert beat == {"housekeeping": {"task": "yunzao.housekeeping", "schedule": 60.0},
                    "scheduled_matching": {"task": "yunzao.scheduled_matching",
                                           "schedule": 1800.0}}
    assert jobs_module.schedule(app) == [("housekeeping", 60.0), ("scheduled_matching", 1800.0)]
