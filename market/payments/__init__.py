"""Money: gateways, escrow charges, refunds, payouts, disputes, the ledger, Stripe webhooks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # importing api and tasks registers their routes, tasks and receivers
    from market.payments import api, pages, service, tasks  # noqa: F401

    service.connect_receivers()
    app.register_blueprint(pages.bp)
