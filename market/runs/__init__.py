"""Matching runs: the one bridge to the engine (the book read into a problem, the plan
validated and stored), instant quotes, review, Gantt data."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # importing api and tasks registers their routes, tasks and receivers
    from market.runs import api, pages, quote_pages, tasks  # noqa: F401

    app.register_blueprint(pages.bp)
    app.register_blueprint(quote_pages.bp)
