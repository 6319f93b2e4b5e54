"""Firm quotes (buyers), bookings (factories), and run approval (operators), which holds the
capacity and offers the quotes."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlmodel import col, select

from market.core import events
from market.core.api import current_api_user, route
from market.core.extensions import db
from market.core.schemas import ReasonIn
from market.deals import offers, visibility
from market.deals import service as bookings
from market.deals.models import Booking, Quote
from market.deals.production import inspection_ends
from market.deals.schemas import ApproveIn, ApproveOut, BookingOut, ProgressIn, QuoteOut, ShipIn
from market.orders import service as orders
from market.orders.models import Order
from market.orders.schemas import OrderStatusOut


def quote_out(quote: Quote) -> dict[str, Any]:
    return QuoteOut.model_validate(quote, from_attributes=True).model_dump(mode="json")


def booking_out(booking: Booking) -> dict[str, Any]:
    return BookingOut.model_validate(booking, from_attributes=True).model_dump(mode="json")


@route("POST", "/matching-runs/<int:run_id>/approve",
       summary="Approve all or some served orders: capacity is held, buyers get firm quotes",
       body=ApproveIn, response=ApproveOut, auth="operator", tag="matching")
def approve_run(run_id: int, data: ApproveIn) -> dict[str, Any]:
    report = offers.approve(
        db.session, current_api_user(), run_id, data.order_ids,
        fee_bps=_config("PLATFORM_FEE_BPS"), quote_hours=_config("QUOTE_VALID_HOURS"))
    return {"approved": report.approved,
            "conflicts": {str(k): v for k, v in report.conflicts.items()},
            "quotes": [quote_out(q) for q in report.quotes]}


def _config(key: str) -> int:
    from flask import current_app

    return int(current_app.config[key])


@route("GET", "/orders/<int:order_id>/quotes", summary="An order's firm quotes",
       response=QuoteOut, tag="orders", paginated=True)
def order_quotes(order_id: int) -> list[dict[str, Any]]:
    return [quote_out(q) for q in bookings.list_quotes(db.session, current_api_user(), order_id)]


@route("POST", "/quotes/<int:quote_id>/accept",
       summary="Accept a firm quote: its capacity is booked for you and an escrow payment "
               "opens (POST /orders/{id}/payment); the factories are booked once it is paid",
       response=QuoteOut, tag="orders")
def accept_quote(quote_id: int) -> dict[str, Any]:
    bookings.accept_quote(db.session, current_api_user(), quote_id)
    return quote_out(db.session.get(Quote, quote_id))  # type: ignore[arg-type]


@route("POST", "/quotes/<int:quote_id>/decline", summary="Decline a firm quote",
       body=ReasonIn, response=QuoteOut, tag="orders")
def decline_quote(quote_id: int, data: ReasonIn) -> dict[str, Any]:
    return quote_out(bookings.decline_quote(db.session, current_api_user(), quote_id,
                                            data.reason))


@route("POST", "/orders/<int:order_id>/confirm-delivery", summary="The buyer confirms delivery",
       response=OrderStatusOut, tag="orders")
def confirm_delivery(order_id: int) -> dict[str, Any]:
    order = bookings.confirm_delivery(db.session, current_api_user(), order_id)
    return {"id": order.id, "status": order.status}


@route("GET", "/bookings", summary="My factory's bookings", response=BookingOut,
       tag="bookings", query={"status": "proposed|accepted|declined|in_progress|done|cancelled"},
       paginated=True)
def list_bookings() -> list[dict[str, Any]]:
    bookings.expire_overdue(db.session)
    return [booking_out(b) for b in visibility.list_bookings(db.session, current_api_user(),
                                                           request.args.get("status"))]


@route("GET", "/bookings/<int:booking_id>", summary="One booking (its factory, operators)",
       response=BookingOut, tag="bookings")
def get_booking(booking_id: int) -> dict[str, Any]:
    return booking_out(visibility.get_booking(db.session, current_api_user(), booking_id))


@route("POST", "/bookings/<int:booking_id>/accept", summary="Accept a proposed booking",
       response=BookingOut, tag="bookings")
def accept_booking(booking_id: int) -> dict[str, Any]:
    return booking_out(bookings.accept_booking(db.session, current_api_user(), booking_id))


@route("POST", "/bookings/<int:booking_id>/decline",
       summary="Decline a booking (the order goes back to matching)", body=ReasonIn,
       response=BookingOut, tag="bookings")
def decline_booking(booking_id: int, data: ReasonIn) -> dict[str, Any]:
    return booking_out(bookings.decline_booking(db.session, current_api_user(), booking_id,
                                                data.reason))


@route("POST", "/bookings/<int:booking_id>/progress",
       summary="Report an operation started or done, with the quantity done, QC pass or "
               "fail and a note", body=ProgressIn, response=BookingOut, tag="bookings")
def booking_progress(booking_id: int, data: ProgressIn) -> dict[str, Any]:
    return booking_out(bookings.report_progress(
        db.session, current_api_user(), booking_id, data.status, data.note, data.qc,
        quantity_done=data.quantity_done, qc_result=data.qc_result or ""))


@route("POST", "/bookings/<int:booking_id>/ship",
       summary="Send a done operation's parts on: to the next operation's plant, or (the "
               "last operation) ship the order to the buyer, with carrier and tracking number",
       body=ShipIn, response=OrderStatusOut, tag="bookings")
def ship(booking_id: int, data: ShipIn) -> dict[str, Any]:
    order = bookings.ship(db.session, current_api_user(), booking_id, data.note,
                          carrier=data.carrier, tracking_number=data.tracking_number)
    return {"id": order.id, "status": order.status}


def _by_operation(rows: list[Booking], amounts: bool = False) -> dict[int, list[dict[str, Any]]]:
    """Bookings as the order body lists them under each operation (a factory's own carry
    their amounts)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for b in rows:
        brief = {"id": b.id, "status": b.status, "start": b.start, "end": b.end,
                 "respond_by": b.respond_by, "at_risk": b.at_risk,
                 "quantity_done": b.quantity_done, "qc_result": b.qc_result,
                 "shipped_at": b.shipped_at, "carrier": b.carrier,
                 "tracking_number": b.tracking_number}
        if amounts:
            brief.update(amount=b.amount, currency=b.currency)
        out.setdefault(b.operation_id, []).append(brief)
    return out


def _order_api(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_api: bookings per operation and firm quotes, for the buyer's
    company and operators (a booked factory follows its own bookings)."""
    if viewer is None:
        return {}
    if not orders.sees_commercials(viewer, order):
        # a factory booked on the order: its own bookings with their amounts, hand-offs
        view = visibility.factory_view(session, order, viewer.company_id)
        return {"bookings_by_operation": _by_operation(view.bookings, amounts=True),
                "handoffs": view.handoffs, "ships_last": view.ships_last}
    rows = visibility.bookings_of_order(session, order.id)  # type: ignore[arg-type]
    per_op = _by_operation(rows)
    quotes_ = [
        {"id": q.id, "status": q.status, "price": q.price, "currency": q.currency,
         "production_cost": q.production_cost, "platform_fee": q.platform_fee,
         "delivery_date": q.delivery_date, "plants": q.plants, "expires_at": q.expires_at}
        for q in session.exec(select(Quote).where(Quote.order_id == order.id)
                              .order_by(col(Quote.created_at).desc()))]
    body: dict[str, Any] = {"bookings_by_operation": per_op, "quotes": quotes_}
    if order.shipped_at is not None:
        last = max((b for b in rows if b.shipped_at is not None),
                   key=lambda b: b.shipped_at, default=None)  # type: ignore[arg-type, return-value]
        body["shipment"] = {"shipped_at": order.shipped_at,
                            "carrier": last.carrier if last else "",
                            "tracking_number": last.tracking_number if last else "",
                            "inspection_ends_at": inspection_ends(order, _config(
                                "INSPECTION_DAYS"))}
    return body


events.order_api.connect(_order_api)
