"""Buyers' orders: drafts, validation, the routing, attachments and the order lifecycle."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.orders import api, pages  # noqa: F401  (api registers its routes)

    app.register_blueprint(pages.bp)
