"""Plants, machines and their capabilities, published capacity (shift rules and windows),
CSV import and capacity search."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # importing api and tasks registers their routes, tasks and receivers
    from market.capacity import api, calendar_pages, pages  # noqa: F401

    app.register_blueprint(pages.bp)
