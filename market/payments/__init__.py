"""Money: gateways, escrow charges, refunds, payouts, disputes, the ledger, Stripe webhooks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.payments import api, pages  # noqa: F401  (api registers its routes)

    app.register_blueprint(pages.bp)
