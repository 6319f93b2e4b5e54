"""Firm quotes and bookings: the buyer accepts a quote, factories accept, work, ship."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.deals import pages

    app.register_blueprint(pages.bp)
