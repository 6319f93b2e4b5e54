"""The landing page, dashboards, the company profile, API tokens and capacity search pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # importing api and tasks registers their routes, tasks and receivers
    from market.home import pages  # noqa: F401

    app.register_blueprint(pages.bp)
