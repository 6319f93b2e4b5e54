"""The task functions (shared by the thread pool and the Celery workers)."""

from __future__ import annotations

import os
import socket

from flask import Flask

from market.core.jobs import task


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@task
def run_matching(app: Flask, run_id: int) -> None:
    from market.runs import service as matching_runs

    with app.app_context():
        matching_runs.execute(app, run_id, worker_name())


@task
def housekeeping(app: Flask) -> None:
    """Expire quotes and unanswered bookings, and reap runs whose worker died."""
    from market.core.extensions import db
    from market.deals import service as bookings
    from market.payments import service as payments
    from market.runs import service as matching_runs

    with app.app_context():
        bookings.expire_overdue(db.session)
        matching_runs.reap(db.session)
        payments.housekeeping(db.session)


@task
def scheduled_matching(app: Flask) -> None:
    """Celery beat's periodic matching run (MATCHING_EVERY_MINUTES)."""
    from market.core.extensions import db
    from market.runs import service as matching_runs

    with app.app_context():
        run = matching_runs.scheduled_run(db.session, app.config["MATCHING_TIME_LIMIT"])
        if run is not None:
            matching_runs.execute(app, run.id, worker_name())  # type: ignore[arg-type]
