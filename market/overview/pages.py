"""The operators' market overview page (/operator/)."""

from __future__ import annotations

from flask import Blueprint, render_template

from market.core.extensions import db
from market.core.pages import operator_required
from market.deals import service as bookings
from market.overview import service as market_health

bp = Blueprint("overview", __name__, url_prefix="/operator")


@bp.get("/")
@operator_required
def overview():


    bookings.expire_overdue(db.session)
    return render_template("operator/overview.html", h=market_health.health(db.session))
