"""Quality and trust: QC documents per booking (required ones before shipping), delivery
inspection and rejection, reviews after delivery, scorecards per factory that become each
plant's risk in the matching, the factory directory."""

from __future__ import annotations

from flask import Flask

from market.core import events


def init_app(app: Flask) -> None:
    from market.quality import api, documents, pages, scorecards  # noqa: F401 (routes)

    events.plant_risk.connect(scorecards.plant_risk)
    events.shipping.connect(documents.check_shipping)
    app.register_blueprint(pages.bp)
