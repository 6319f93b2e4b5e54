"""The landing page, dashboards, the company profile, API tokens and capacity search pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.home import pages

    app.register_blueprint(pages.bp)
