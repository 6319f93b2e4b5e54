"""Buyers' change requests on the order's page: the form to ask for a new due date or
quantity, each request's status, and for a quoted one the difference with Accept and
Decline (deals.changes). Operators see the requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from market.core import events
from market.core.extensions import db
from market.core.pages import actor, local_zone, on_service_error
from market.deals import changes
from market.deals.models import ChangeRequest
from market.orders import service as orders
from market.orders.models import Order

bp = Blueprint("changes", __name__)


def _order_page(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_page: the order's change requests for its buyer and the
    operators, and whether the buyer may ask for one now (else why not)."""
    if not viewer.is_authenticated or not orders.sees_commercials(viewer, order):
        return {}
    rows = changes.changes_of(session, order.id)  # type: ignore[arg-type]
    refused = changes.why_not(session, order)
    return {"change_requests": rows,
            "change_form": orders.can_edit_order(viewer, order) and refused is None,
            "change_due_day": order.due_date.astimezone(local_zone()).date().isoformat(),
            "change_min_day": datetime.now(local_zone()).date().isoformat()}


events.order_page.connect(_order_page)


def _to_order(_exc: Exception | None = None):
    args = request.view_args or {}
    order_id = args.get("order_id")
    if order_id is None:
        change = db.session.get(ChangeRequest, args.get("change_id"))
        order_id = change.order_id if change else None
    if order_id is None:
        return redirect(url_for("main.dashboard"))
    return redirect(url_for("orders.show", order_id=order_id) + "#changes")


@bp.post("/orders/<int:order_id>/change-requests")
@login_required
@on_service_error(_to_order)
def request_change(order_id: int):
    changes.request_change(db.session, actor(), order_id,
                           request.form.get("due_date") or None,
                           request.form.get("quantity") or None,
                           request.form.get("reason", ""))
    flash(_("Change requested. A re-plan is working out the price and the delivery date; "
            "you will be told when it is ready."), "success")
    return _to_order()


@bp.post("/change-requests/<int:change_id>/accept")
@login_required
@on_service_error(_to_order)
def accept(change_id: int):
    change = changes.accept_change(db.session, actor(), change_id)
    if (change.price_difference or 0) > 0:
        flash(_("Change accepted. Pay the difference into escrow; factories whose work "
                "moved confirm it again."), "success")
        return redirect(url_for("payments.pay", order_id=change.order_id))
    flash(_("Change accepted. The order, its quote and its schedule follow; factories "
            "whose work moved confirm it again."), "success")
    return _to_order()


@bp.post("/change-requests/<int:change_id>/decline")
@login_required
@on_service_error(_to_order)
def decline(change_id: int):
    changes.decline_change(db.session, actor(), change_id)
    flash(_("Change declined. The order stays as it was."), "info")
    return _to_order()
