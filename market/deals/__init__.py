"""Firm quotes and bookings: operators approve a run's plan into firm quotes, the buyer accepts
one, factories accept their bookings, work, ship; the buyer confirms delivery."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.deals import (  # noqa: F401
        api,
        booking_pages,
        change_api,
        change_pages,
        pages,
        service,
        tasks,
    )

    service.connect_receivers()
    app.register_blueprint(pages.bp)
    app.register_blueprint(booking_pages.bp)
    app.register_blueprint(change_pages.bp)
