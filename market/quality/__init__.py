"""Quality and trust: reviews after delivery, scorecards per factory that become each plant's
risk in the matching, the factory directory. (QC documents, delivery inspection and
certifications: still to come, see the issue notes.)"""

from __future__ import annotations

from flask import Flask

from market.core import events


def init_app(app: Flask) -> None:
    from market.quality import api, pages, scorecards  # noqa: F401 (routes)

    events.plant_risk.connect(scorecards.plant_risk)
    app.register_blueprint(pages.bp)
