"""Buyers' orders: drafts, validation, the routing, attachments and the order lifecycle."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # importing api and tasks registers their routes, tasks and receivers
    from market.orders import api, file_pages, pages  # noqa: F401

    app.register_blueprint(pages.bp)
