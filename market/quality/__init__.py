"""Quality and trust: QC documents per booking (required ones before shipping), delivery
inspection and rejection, reviews after delivery, scorecards per factory that become each
plant's risk in the matching, certifications (uploaded, verified, expiring) and probation
that decide which plants may take an order, the factory directory."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_app_context

from market.core import events


def _plant_probation(session: Any, **details: Any) -> dict[int, dict[str, object]]:
    from market.config import Config
    from market.quality import probation

    # services also run outside an app context (scripts, tests): the configured default
    config = current_app.config if has_app_context() else vars(Config)
    limit = int(config.get("PROBATION_MAX_AMOUNT", 0) or 0)
    return probation.plant_probation(session, max_amount=limit, **details)


def init_app(app: Flask) -> None:
    from market.quality import (  # noqa: F401 (routes, housekeeping)
        api,
        certifications,
        documents,
        pages,
        scorecards,
        tasks,
    )

    events.plant_risk.connect(scorecards.plant_risk)
    events.company_records.connect(scorecards.company_records)
    events.shipping.connect(documents.check_shipping)
    events.plant_certifications.connect(certifications.plant_certifications)
    events.plant_probation.connect(_plant_probation)
    app.register_blueprint(pages.bp)
