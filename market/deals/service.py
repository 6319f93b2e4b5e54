"""Firm quotes and bookings: the buyer accepts or declines a quote; accepted, its held time
becomes bookings proposed to each factory; factories accept or decline them. A decline or a
missed deadline releases everything of that quote and puts the order back to matching (or,
where the other steps stand, re-plans the one step: deals.disruption). The work itself and
the delivery are deals.production's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, exists, or_
from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import Company, User
from market.capacity.models import CapacityWindow, Plant, WindowStatus
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import N_, Conflict, NotFound, ValidationError
from market.core.models import utcnow
from market.deals import changes, disruption
from market.deals.lifecycle import follow as lifecycle_follow
from market.deals.lifecycle import move_booking, move_quote
from market.deals.models import Booking, BookingStatus, Quote, QuoteStatus
from market.deals.production import (  # noqa: F401 (re-exported: the deals service's API)
    INSPECTION_DAYS,
    close_delivered,
    confirm_delivery,
    report_progress,
    ship,
)
from market.deals.timing import (  # noqa: F401 (re-exported: the deals service's API)
    ANSWER_LEAD_HOURS,
    RESPONSE_HOURS,
    answer_by,
    release,
)
from market.deals.visibility import company_has_booking, get_booking
from market.orders import lifecycle
from market.orders.models import Order, OrderStatus
from market.orders.service import add_event
from market.runs.models import PlannedOperation


def _planned_of_quote(session: Session, quote: Quote) -> list[PlannedOperation]:
    return list(session.exec(select(PlannedOperation).where(
        PlannedOperation.run_id == quote.run_id, PlannedOperation.order_id == quote.order_id)))


# --- quotes -------------------------------------------------------------------------------

def _buyer_quote(session: Session, actor: User, quote_id: int) -> tuple[Quote, Order]:
    quote = session.get(Quote, quote_id, with_for_update=True)
    order = session.get(Order, quote.order_id) if quote else None
    if quote is None or order is None or not (
            actor.is_operator or actor.company_id == order.buyer_company_id):
        raise NotFound("Quote not found.")
    return quote, order


def list_quotes(session: Session, actor: User, order_id: int) -> list[Quote]:
    order = session.get(Order, order_id)
    if order is None or not (actor.is_operator or actor.company_id == order.buyer_company_id):
        raise NotFound("Order not found.")
    expire_overdue(session)
    return list(session.exec(select(Quote).where(Quote.order_id == order_id)
                             .order_by(col(Quote.created_at).desc())))


def accept_quote(session: Session, actor: User, quote_id: int,
                 now: datetime | None = None) -> list[Booking]:
    """The buyer accepts: held time becomes booked for this order, the order is accepted
    and its escrow payment is opened. The factories' bookings are proposed when the money
    arrives (payments.apply_success), so none are returned here."""
    now = now or utcnow()
    with write_lock(session):
        quote, order = _buyer_quote(session, actor, quote_id)
        if actor.is_operator:
            raise Conflict("Only the buyer accepts a quote.")
        accounts.require_active(session, actor)
        if quote.status == QuoteStatus.offered and quote.expires_at <= now:
            _expire_quote(session, quote, order, now)
            session.commit()
            raise Conflict("This quote has expired and its capacity was released; the order "
                           "goes back to matching.")
        if quote.status != QuoteStatus.offered:
            raise Conflict("This quote is %(status)s and can no longer be accepted.",
                           params={"status": quote.status})
        if order.status != OrderStatus.quoted:
            raise Conflict("The order is %(status)s; only a quoted order takes a quote.",
                           params={"status": order.status})
        planned = _planned_of_quote(session, quote)
        segments = session.exec(select(CapacityWindow).where(col(
            CapacityWindow.planned_operation_id).in_([p.id for p in planned]))).all()
        for seg in segments:
            seg.status = WindowStatus.booked.value
            session.add(seg)
        move_quote(quote, QuoteStatus.accepted)
        quote.decided_at = now
        lifecycle.move(order, OrderStatus.accepted)
        session.add_all([quote, order])
        session.flush()
        add_event(session, order, actor, "quote_accepted", quote_id=quote.id,
                    price=quote.price)
        audit.record(session, actor.id, "quote.accepted", quote, order.buyer_company_id)
        # the escrow payment is opened in this transaction (payments receives it)
        events.quote_accepted.send(session, quote=quote, order=order, actor=actor, now=now)
        session.commit()
    return []


def propose_bookings(session: Session, quote: Quote, order: Order, actor: User | None,
                     now: datetime | None = None) -> list[Booking]:
    """Create the bookings of an accepted quote, one per planned operation, proposed to each
    factory (accepted at once where the factory accepts automatically). The caller commits."""
    now = now or utcnow()
    planned = _planned_of_quote(session, quote)
    companies = {p.id: p.company_id for p in session.exec(select(Plant).where(
        col(Plant.id).in_({po.plant_id for po in planned})))}
    auto = {c.id for c in session.exec(select(Company).where(
        col(Company.id).in_(set(companies.values())),
        col(Company.auto_accept_bookings).is_(True)))}
    made = []
    for po in planned:
        company_id = companies[po.plant_id]
        booking = Booking(
            quote_id=quote.id, order_id=order.id, operation_id=po.operation_id,  # type: ignore[arg-type]
            planned_operation_id=po.id, factory_company_id=company_id, machine_id=po.machine_id,  # type: ignore[arg-type]
            start=po.start, end=po.end, amount=po.cost, currency=quote.currency,
            respond_by=answer_by(now, po.start),
            status=(BookingStatus.accepted if company_id in auto
                    else BookingStatus.proposed).value,
            responded_at=now if company_id in auto else None)
        session.add(booking)
        made.append(booking)
    session.flush()
    add_event(session, order, actor, "bookings_proposed", bookings=len(made))
    for booking in (b for b in made if b.status == BookingStatus.proposed):
        events.occurred(session, "booking_proposed", order=order, booking=booking, actor=actor)
    lifecycle_follow(session, order, actor)
    return made


def decline_quote(session: Session, actor: User, quote_id: int, reason: str = "") -> Quote:
    with write_lock(session):
        quote, order = _buyer_quote(session, actor, quote_id)
        if actor.is_operator:
            raise Conflict("Only the buyer declines a quote.")
        if quote.status != QuoteStatus.offered:
            raise Conflict("This quote is %(status)s already.",
                           params={"status": quote.status})
        now = utcnow()
        release(session, [p.id for p in _planned_of_quote(session, quote)])  # type: ignore[misc]
        move_quote(quote, QuoteStatus.declined)
        quote.decided_at = now
        if order.status == OrderStatus.quoted:
            lifecycle.move(order, OrderStatus.open)
        session.add_all([quote, order])
        add_event(session, order, actor, "quote_declined", quote_id=quote.id,
                    reason=reason.strip()[:500])
        audit.record(session, actor.id, "quote.declined", quote, order.buyer_company_id)
        session.commit()
    return quote


def _expire_quote(session: Session, quote: Quote, order: Order, now: datetime) -> None:
    release(session, [p.id for p in _planned_of_quote(session, quote)])  # type: ignore[misc]
    move_quote(quote, QuoteStatus.expired)
    quote.decided_at = now
    if order.status == OrderStatus.quoted:
        lifecycle.move(order, OrderStatus.open)
    session.add_all([quote, order])
    add_event(session, order, None, "quote_expired", quote_id=quote.id)


# true when a quote or a booking is past its deadline at the bind parameter "now" (pages ask
# this, with the other housekeeping steps' conditions, in one query: core.jobs.catch_up)
OVERDUE = or_(
    exists().where(Quote.status == QuoteStatus.offered.value,
                   col(Quote.expires_at) <= bindparam("now")),
    exists().where(Booking.status == BookingStatus.proposed.value,
                   col(Booking.respond_by) <= bindparam("now")))


def expire_overdue(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Expired quotes release their holds; bookings unanswered by their deadline count as
    declined. Cheap when nothing is due, so pages may call it."""
    now = now or utcnow()
    counts = {"quotes": 0, "bookings": 0}
    # one cheap question first: nearly always nothing is due
    if not session.exec(select(OVERDUE), params={"now": now}).one():
        return counts
    with write_lock(session):
        for quote in session.exec(select(Quote).where(
                Quote.status == QuoteStatus.offered.value,
                col(Quote.expires_at) <= now)).all():
            _expire_quote(session, quote, session.get(Order, quote.order_id), now)  # type: ignore[arg-type]
            counts["quotes"] += 1
        overdue = session.exec(select(Booking).where(
            Booking.status == BookingStatus.proposed.value, col(Booking.respond_by) <= now)).all()
        withdrawn: set[int] = set()
        for booking in overdue:
            if booking.status == BookingStatus.proposed:  # may be cancelled by a sibling
                if _decline(session, None, booking, "No answer before the deadline.", now):
                    withdrawn.add(booking.quote_id)
                counts["bookings"] += 1
        for quote_id in sorted(withdrawn):
            events.publish(session, events.quote_withdrawn, quote_id=quote_id)
        if counts["quotes"] or counts["bookings"]:
            session.commit()
    return counts


# --- bookings -----------------------------------------------------------------------------


def _grants_order_read(session: Session, order: Order, user: User) -> bool:
    """Receiver of events.order_readers: a factory with live work on the order may read it."""
    return company_has_booking(session, user.company_id, order.id)  # type: ignore[arg-type]


def connect_receivers() -> None:
    events.order_cancelling.connect(_on_order_cancelling)
    events.order_readers.connect(_grants_order_read)
    events.machine_down.connect(disruption.on_machine_down)
    events.operation_places.connect(disruption.operation_places)
    events.order_changes.connect(changes.order_changes)



def accept_booking(session: Session, actor: User, booking_id: int) -> Booking:
    with write_lock(session):
        booking = get_booking(session, actor, booking_id, lock=True)
        accounts.require_active(session, actor)
        if booking.status == BookingStatus.accepted:
            return booking
        if booking.status != BookingStatus.proposed:
            raise Conflict("This booking is %(status)s and cannot be accepted.",
                           params={"status": booking.status})
        now = utcnow()
        if booking.respond_by <= now:
            if _decline(session, actor, booking, "No answer before the deadline.", now):
                events.publish(session, events.quote_withdrawn, quote_id=booking.quote_id)
            session.commit()
            raise Conflict("The deadline to accept this booking has passed; it was released.")
        move_booking(booking, BookingStatus.accepted)
        booking.responded_at = now
        session.add(booking)
        session.flush()
        order = session.get(Order, booking.order_id)
        add_event(session, order, actor, "booking_accepted", booking_id=booking.id)  # type: ignore[arg-type]
        lifecycle_follow(session, order, actor)  # type: ignore[arg-type]
        audit.record(session, actor.id, "booking.accepted", booking, booking.factory_company_id)
        session.commit()
    return booking


def _decline(session: Session, actor: User | None, booking: Booking, reason: str,
             now: datetime) -> bool:
    """Decline one booking. Where the order's other steps are accepted, only this step is
    re-planned and everything else stays (False). Otherwise every booking of its quote is
    cancelled, all their time released, the quote withdrawn and the order goes back to
    matching (True: the caller refunds the quote after the commit)."""
    if disruption.keeps_others(session, booking):
        disruption.decline_step(session, actor, booking, reason, now)
        return False
    quote = session.get(Quote, booking.quote_id)
    siblings = session.exec(select(Booking).where(Booking.quote_id == booking.quote_id)).all()
    for other in siblings:
        if other.id == booking.id:
            move_booking(other, BookingStatus.declined)
            other.decline_reason = reason[:1000]
            other.responded_at = now
        elif other.status in (BookingStatus.proposed, BookingStatus.accepted):
            move_booking(other, BookingStatus.cancelled)
        session.add(other)
    release(session, [b.planned_operation_id for b in siblings])
    if quote is not None:
        move_quote(quote, QuoteStatus.withdrawn)
        session.add(quote)
    order = session.get(Order, booking.order_id)
    if order is not None and order.status in (OrderStatus.accepted, OrderStatus.scheduled):
        lifecycle.move(order, OrderStatus.open)
        session.add(order)
        add_event(session, order, actor, "booking_declined", booking_id=booking.id,
                    reason=reason[:500], note="The order goes back to matching.")
    audit.record(session, actor.id if actor else None, "booking.declined", booking,
                 booking.factory_company_id, reason=reason[:500], order_id=booking.order_id)
    events.occurred(session, "booking_declined", order=order, booking=booking, actor=actor)
    return True


def cancel_accepted(session: Session, order: Order) -> int:
    """The buyer cancels before production: the accepted quote is withdrawn, its bookings
    cancelled and their time released. Returns the minutes released; the caller commits."""
    quote_ids = session.exec(select(Quote.id).where(
        Quote.order_id == order.id, Quote.status == QuoteStatus.accepted.value)).all()
    released = 0
    for quote_id in quote_ids:
        quote = session.get(Quote, quote_id)
        rows = session.exec(select(Booking).where(Booking.quote_id == quote_id)).all()
        for b in rows:
            if b.status in (BookingStatus.proposed, BookingStatus.accepted):
                move_booking(b, BookingStatus.cancelled)
                session.add(b)
        # a re-plan or an accepted change put some bookings on another run's planned time
        planned = {p.id for p in _planned_of_quote(session, quote)}  # type: ignore[arg-type]
        planned |= {b.planned_operation_id for b in rows
                    if b.status == BookingStatus.cancelled}
        released += release(session, sorted(planned))  # type: ignore[arg-type]
        move_quote(quote, QuoteStatus.withdrawn)  # type: ignore[arg-type]
        session.add(quote)
    return released


def withdraw_offered_quotes(session: Session, order: Order) -> int:
    """A quoted order holds capacity for its firm quote: cancelling declines the quote and
    gives the held time back. Returns the minutes released."""
    released = 0
    offered = session.exec(
        select(Quote).where(Quote.order_id == order.id, Quote.status == QuoteStatus.offered)
        .with_for_update()
    ).all()
    for quote in offered:
        planned = session.exec(select(PlannedOperation.id).where(
            PlannedOperation.run_id == quote.run_id, PlannedOperation.order_id == order.id))
        released += release(session, [pid for pid in planned if pid is not None])
        move_quote(quote, QuoteStatus.declined)
        quote.decided_at = utcnow()
        session.add(quote)
    return released


def _on_order_cancelling(session: Session, order: Order, previous: str) -> int:
    """Receiver of events.order_cancelling: give back what the cancelled order holds."""
    changes.close_open(session, order)
    if previous == OrderStatus.quoted:
        return withdraw_offered_quotes(session, order)
    if previous in (OrderStatus.accepted, OrderStatus.scheduled):
        return cancel_accepted(session, order)
    return 0


def decline_booking(session: Session, actor: User, booking_id: int, reason: str) -> Booking:
    if not reason or not reason.strip():
        raise ValidationError("Tell the buyer why you decline.", {"reason": N_("Required.")})
    with write_lock(session):
        booking = get_booking(session, actor, booking_id, lock=True)
        if booking.status not in (BookingStatus.proposed, BookingStatus.accepted):
            raise Conflict("This booking is %(status)s and cannot be declined.",
                           params={"status": booking.status})
        accounts.require_active(session, actor)
        if _decline(session, actor, booking, reason.strip(), utcnow()):
            # the buyer's money goes back after the commit: a refund may call the payment
            # provider, which must not hold the booking transaction
            events.publish(session, events.quote_withdrawn, quote_id=booking.quote_id)
        session.commit()
    return booking
