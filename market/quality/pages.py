"""Pages of quality and trust: the factory directory, a factory's profile with its scorecard
and reviews, the buyer's review of each factory on a delivered order (on the order page)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlmodel import select

from market.accounts.models import Company
from market.catalog import service as taxonomy
from market.core import events
from market.core.errors import NotFound
from market.core.extensions import db
from market.core.models import utcnow
from market.core.pages import actor, on_service_error
from market.orders.models import Order
from market.quality import directory, reviews
from market.quality.models import Review

bp = Blueprint("quality", __name__)


@bp.get("/factories")
@login_required
def factories():
    process = request.args.get("process") or None
    city = request.args.get("city") or None
    entries = directory.directory(db.session, actor(), utcnow(), process, city)
    return render_template("quality/factories.html", entries=entries, process=process or "",
                           city=city or "", processes=taxonomy.processes(db.session))


@bp.get("/factories/<int:company_id>")
@login_required
def factory(company_id: int):
    try:
        entry = directory.profile(db.session, actor(), company_id, utcnow())
    except NotFound:
        abort(404)
    return render_template("quality/factory.html", entry=entry)


@bp.post("/orders/<int:order_id>/reviews")
@login_required
@on_service_error()
def post_review(order_id: int):
    form = request.form
    reviews.post_review(db.session, actor(), order_id, form.get("factory_id", type=int) or 0,
                        {k: form.get(k, type=int) for k in ("quality", "on_time",
                                                            "communication")},
                        form.get("comment", ""))
    flash(_("Thank you: your review is on the factory's profile."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@bp.post("/reviews/<int:review_id>/answer")
@login_required
@on_service_error()
def answer(review_id: int):
    row = reviews.answer(db.session, actor(), review_id, request.form.get("answer", ""))
    flash(_("Your answer is published under the review."), "success")
    return redirect(url_for("quality.factory", company_id=row.factory_company_id))


def _order_page(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_page: the factories the buyer may still review."""
    if (not viewer.is_authenticated or viewer.company_id != order.buyer_company_id
            or order.status not in reviews.REVIEWABLE):
        return {}
    done = set(session.exec(select(Review.factory_company_id).where(
        Review.order_id == order.id)))
    names = {c.id: c.name for c in session.exec(select(Company).where(
        Company.id.in_(reviews.factories_of(session, order.id) or [0])))}  # type: ignore[attr-defined]
    return {"review_factories": [(fid, name) for fid, name in sorted(names.items())
                                 if fid not in done]}


events.order_page.connect(_order_page)
