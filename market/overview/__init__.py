"""The operators' market overview (fill rate, on-time rate, utilisation, money in flight)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.overview import pages

    app.register_blueprint(pages.bp)
