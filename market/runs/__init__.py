"""Matching runs: the one bridge to the engine (the book read into a problem, the plan
validated and stored), instant quotes, review and approval, Gantt data."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.runs import api, pages  # noqa: F401  (api registers its routes)

    app.register_blueprint(pages.bp)
