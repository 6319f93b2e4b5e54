"""The runs domain's background work: matching runs, the periodic run, the reaper."""

from __future__ import annotations

from flask import Flask

from market.core import events
from market.core.extensions import db
from market.core.jobs import dispatch, housekeeping_step, task, worker_name
from market.runs import service as matching_runs


@task
def run_matching(app: Flask, run_id: int) -> None:
    with app.app_context():
        matching_runs.execute(app, run_id, worker_name())


@task
def scheduled_matching(app: Flask) -> None:
    """Celery beat's periodic matching run (MATCHING_EVERY_MINUTES)."""
    with app.app_context():
        run = matching_runs.scheduled_run(db.session, app.config["MATCHING_TIME_LIMIT"])
        if run is not None:
            matching_runs.execute(app, run.id, worker_name())  # type: ignore[arg-type]


housekeeping_step("runs", due=matching_runs.STALE, due_params=matching_runs.stale_params)(
    matching_runs.reap)


def _dispatch_requeued(_session: object, run_id: int) -> None:
    dispatch("run_matching", run_id=run_id)


events.run_requeued.connect(_dispatch_requeued)
events.run_queued.connect(_dispatch_requeued)
