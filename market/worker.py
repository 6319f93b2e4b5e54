"""The Celery entry point: `celery -A market.worker worker` (and `beat`). It builds the Flask
app, so every domain has registered its tasks, then the Celery app from it."""

from __future__ import annotations

from typing import Any


def _worker_app() -> Any:
    from market import create_app
    from market.core.jobs.celery import make_celery

    return make_celery(create_app())


def __getattr__(name: str) -> Any:
    # `celery -A market.worker` looks up `celery`; build it (and the Flask app) only then.
    if name == "celery":
        globals()["celery"] = _worker_app()
        return globals()["celery"]
    raise AttributeError(name)
