"""Factories answer and work their bookings: the list, one booking, accept, decline,
progress and shipment (pages under /factory/bookings)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from market.capacity.models import Machine
from market.core import events
from market.core.errors import NotFound
from market.core.extensions import db
from market.core.jobs import catch_up
from market.core.pages import actor as _actor
from market.core.pages import attempt, factory_required, on_service_error
from market.deals import disruption, production, visibility
from market.deals import service as bookings
from market.orders import attachments as attachments_service
from market.orders.models import Order, OrderOperation

bp = Blueprint("bookings", __name__, url_prefix="/factory/bookings")


@bp.get("")
@factory_required
def bookings_list():
    catch_up(db.session)  # bookings unanswered by their deadline count as declined
    status = request.args.get("status") or None
    page = request.args.get("page", 1, type=int)
    page = max(1, page) if page else 1
    listed = attempt(visibility.booking_list_page, db.session, _actor(), status, page)
    if listed.ok:
        rows, more = listed.value
    else:  # an unknown status filter: show them all
        (rows, more), status = visibility.booking_list_page(db.session, _actor(), None, page), None
    return render_template("deals/bookings.html", bookings=rows, status=status, page=page,
                           more=more)


def _booking_or_404(booking_id: int):
    try:
        return visibility.get_booking(db.session, _actor(), booking_id)
    except NotFound:
        abort(404)


@bp.get("/<int:booking_id>")
@factory_required
def booking(booking_id: int):
    row = _booking_or_404(booking_id)
    order = db.session.get(Order, row.order_id)
    op = db.session.get(OrderOperation, row.operation_id)
    machine_row = db.session.get(Machine, row.machine_id)
    files = attachments_service.list_for(db.session, order) if (
        visibility.company_has_booking(db.session, _actor().company_id, row.order_id)) else []
    step_only = row.status in ("proposed", "accepted") and disruption.keeps_others(db.session, row)
    view = visibility.factory_view(db.session, order, row.factory_company_id)  # type: ignore[arg-type]
    return render_template(
        "deals/booking.html", booking=row, order=order, op=op, machine=machine_row,
        files=files, decline_step_only=step_only,
        quantity=production.operation_quantity(db.session, row),
        handoff=view.handoffs.get(row.operation_id) or {},
        **events.collect(events.booking_page, db.session, booking=row, order=order,
                         viewer=_actor()))


def _to_booking(_exc: Exception | None = None):
    return redirect(url_for("bookings.booking", booking_id=(request.view_args or {})["booking_id"]))


@bp.post("/<int:booking_id>/<action>")
@factory_required
@on_service_error(_to_booking)
def booking_action(booking_id: int, action: str):
    row = _booking_or_404(booking_id)
    form = request.form
    messages = {
        "accept": _("Booking accepted."),
        "decline": _("Booking declined; the order goes back to matching."),
        "start": _("Marked as started."),
        "done": _("Marked as done."),
        "progress": _("Progress saved."),
        "ship": _("Shipment recorded; the buyer has been told."),
    }
    if action not in messages:
        abort(404)
    if action == "decline" and disruption.keeps_others(db.session, row):
        messages["decline"] = _("Booking declined; this step is re-planned and the other "
                                "factories' bookings stay.")
    if action == "accept":
        bookings.accept_booking(db.session, _actor(), row.id)  # type: ignore[arg-type]
    elif action == "decline":
        bookings.decline_booking(db.session, _actor(), row.id, form.get("reason", ""))  # type: ignore[arg-type]
    elif action in ("start", "progress", "done"):
        bookings.report_progress(db.session, _actor(), row.id,  # type: ignore[arg-type]
                                 "done" if action == "done" else "started",
                                 form.get("note", ""), form.get("qc", ""),
                                 # "Mark done" means every part: the count typed is
                                 # the progress so far, for "Save progress"
                                 quantity_done=None if action == "done"
                                 else form.get("quantity_done") or None,
                                 qc_result=form.get("qc_result", ""))
    else:
        order = bookings.ship(db.session, _actor(), row.id, form.get("note", ""),  # type: ignore[arg-type]
                              carrier=form.get("carrier", ""),
                              tracking_number=form.get("tracking_number", ""))
        if order.status != "shipped":
            messages["ship"] = _("Hand-off recorded; the next plant has been told.")
    flash(messages[action], "success")
    return _to_booking()
