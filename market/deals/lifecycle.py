"""The lifecycles of firm quotes and bookings: their statuses, the moves between them, and the
only code that sets `quote.status` and `booking.status`. An illegal move is a Conflict.
`follow` moves the order after its bookings (the order's own table is orders.lifecycle)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core.errors import Conflict
from market.deals.models import LIVE_BOOKING_STATES, Booking, BookingStatus, Quote, QuoteStatus
from market.orders import lifecycle as order_lifecycle
from market.orders.models import Order, OrderOperation, OrderStatus
from market.orders.service import add_event

Q = QuoteStatus
QUOTE_TRANSITIONS: dict[str, set[str]] = {
    # the buyer decides, or the offer runs out (its held capacity goes back)
    Q.offered: {Q.accepted, Q.declined, Q.expired},
    # a factory declined or let a booking lapse, or the escrow payment never arrived;
    # superseded: the buyer accepted a change request and its quote took this one's place
    Q.accepted: {Q.withdrawn, Q.expired, Q.superseded},
    Q.declined: set(),
    Q.expired: set(),
    Q.withdrawn: set(),
    Q.superseded: set(),
}

B = BookingStatus
BOOKING_TRANSITIONS: dict[str, set[str]] = {
    # replaced: an approved re-plan moved the work to a new booking
    B.proposed: {B.accepted, B.declined, B.cancelled, B.replaced},
    B.accepted: {B.in_progress, B.done, B.declined, B.cancelled, B.replaced},
    B.in_progress: {B.done},
    # in progress again: an operator resolved a rejected delivery with a remake
    B.done: {B.in_progress},
    B.declined: set(),
    B.cancelled: set(),
    B.replaced: set(),
}


def move_quote(quote: Quote, target: QuoteStatus) -> str:
    """Check and make one quote move; return the previous status."""
    current = quote.status
    if target not in QUOTE_TRANSITIONS.get(current, set()):
        raise Conflict("This quote is %(status)s and cannot become %(target_status)s.",
                       {"status": current},
                       {"status": current, "target_status": target.value})
    quote.status = target.value
    return current


def move_booking(booking: Booking, target: BookingStatus) -> str:
    """Check and make one booking move; return the previous status."""
    current = booking.status
    if target not in BOOKING_TRANSITIONS.get(current, set()):
        raise Conflict("This booking is %(status)s and cannot become %(target_status)s.",
                       {"status": current},
                       {"status": current, "target_status": target.value})
    booking.status = target.value
    return current


def follow(session: Session, order: Order, actor: User | None) -> None:
    """The order follows its bookings, whatever the order in which factories act: scheduled
    once every operation has an accepted (or started, or done) booking, in production at the
    first start. A factory may start as soon as its own booking is accepted."""
    quote_id = current_quote_id(session, order)
    live = session.exec(select(Booking).where(
        Booking.order_id == order.id, Booking.quote_id == quote_id,
        col(Booking.status).in_([s.value for s in LIVE_BOOKING_STATES]))).all()
    if not live:
        return
    operations = set(session.exec(select(OrderOperation.id).where(
        OrderOperation.order_id == order.id)))
    answered = {b.operation_id for b in live if b.status != BookingStatus.proposed}
    if order.status == OrderStatus.accepted and operations <= answered:
        order_lifecycle.move(order, OrderStatus.scheduled)
        session.add(order)
        add_event(session, order, actor, "scheduled")
    if order.status == OrderStatus.scheduled and any(
            b.status in (BookingStatus.in_progress, BookingStatus.done) for b in live):
        order_lifecycle.move(order, OrderStatus.in_production)
        session.add(order)


def current_quote_id(session: Session, order: Order) -> int | None:
    return session.exec(select(Quote.id).where(
        Quote.order_id == order.id, Quote.status == QuoteStatus.accepted.value)
        .order_by(col(Quote.id).desc())).first()
