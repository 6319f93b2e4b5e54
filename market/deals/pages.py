"""Buyers decide on firm quotes and confirm delivery."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from market.capacity.models import Plant
from market.core.errors import NotFound, ServiceError
from market.core.extensions import db
from market.deals import service as bookings
from market.orders.models import Order
from market.runs.models import PlannedOperation

bp = Blueprint("deals", __name__)


def _quote_or_404(quote_id: int):
    try:
        return bookings._buyer_quote(db.session, current_user._get_current_object(), quote_id)
    except NotFound:
        abort(404)


@bp.get("/quotes/<int:quote_id>")
@login_required
def quote(quote_id: int):
    bookings.expire_overdue(db.session)
    row, order = _quote_or_404(quote_id)
    db.session.rollback()  # _buyer_quote locked the row; this page only reads
    planned = db.session.exec(select(PlannedOperation, Plant).join(
        Plant, Plant.id == PlannedOperation.plant_id).where(
        PlannedOperation.run_id == row.run_id, PlannedOperation.order_id == row.order_id)
        .order_by(PlannedOperation.start)).all()
    cities = sorted({plant.city or plant.name for _po, plant in planned})
    return render_template("deals/quote.html", quote=row, order=order, cities=cities,
                           steps=len(planned))


@bp.post("/quotes/<int:quote_id>/accept")
@login_required
def accept(quote_id: int):
    row, order = _quote_or_404(quote_id)
    try:
        bookings.accept_quote(db.session, current_user._get_current_object(), quote_id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.localized, "error")
    else:
        flash(_("Quote accepted. Pay the price into escrow; the factories are booked as soon "
                "as the payment arrives."), "success")
        return redirect(url_for("payments.pay", order_id=order.id))
    return redirect(url_for("deals.quote", quote_id=quote_id))


@bp.post("/quotes/<int:quote_id>/decline")
@login_required
def decline(quote_id: int):
    _quote_or_404(quote_id)
    try:
        bookings.decline_quote(db.session, current_user._get_current_object(), quote_id,
                               request.form.get("reason", ""))
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.localized, "error")
    else:
        flash(_("Quote declined. The capacity was released."), "info")
    return redirect(url_for("deals.quote", quote_id=quote_id))


@bp.post("/orders/<int:order_id>/confirm-delivery")
@login_required
def confirm_delivery(order_id: int):
    try:
        bookings.confirm_delivery(db.session, current_user._get_current_object(), order_id)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.localized, "error")
    else:
        flash(_("Delivery confirmed. Thank you."), "success")
    order = db.session.get(Order, order_id)
    return redirect(url_for("orders.show", order_id=order.id) if order else url_for(
        "main.dashboard"))
