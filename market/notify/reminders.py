"""Reminders from the housekeeping schedule, each sent once (the `notify_reminder` row's
unique key): a booking's answer due within 12 hours, a firm quote expiring within 12 hours,
and "will it ship on time?" to the factory two days before its operation ends. The answer
to the last goes on the order's timeline and, when late, to the buyer and the operators."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core import events
from market.core.errors import N_, Conflict, ValidationError
from market.core.models import utcnow
from market.deals.models import Booking, BookingStatus, Quote, QuoteStatus
from market.notify.models import Notification, Reminder
from market.orders.models import Order
from market.orders.service import add_event

ANSWER_DUE_WITHIN = timedelta(hours=12)
QUOTE_EXPIRING_WITHIN = timedelta(hours=12)
ENDING_WITHIN = timedelta(days=2)


def _already(session: Session, kind: str, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.exec(select(Reminder.object_id).where(
        Reminder.kind == kind, col(Reminder.object_id).in_(ids))))


def _remind(session: Session, kind: str, obj: Booking | Quote, **details: object) -> bool:
    """One reminder in its own transaction: a concurrent housekeeping run that sent it
    first makes the unique key refuse this one (rolled back, not sent twice)."""
    session.add(Reminder(kind=kind, object_id=obj.id))  # type: ignore[arg-type]
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    events.occurred(session, kind, actor=None, **details)
    session.commit()
    return True


def send_reminders(session: Session, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts = {"booking_deadline_soon": 0, "quote_expiring": 0, "operation_ending_soon": 0}
    due = session.exec(select(Booking).where(
        Booking.status == BookingStatus.proposed.value, col(Booking.respond_by) > now,
        col(Booking.respond_by) <= now + ANSWER_DUE_WITHIN)).all()
    sent = _already(session, "booking_deadline_soon", [b.id for b in due])  # type: ignore[misc]
    for booking in due:
        if booking.id not in sent:
            counts["booking_deadline_soon"] += _remind(
                session, "booking_deadline_soon", booking, booking=booking)
    expiring = session.exec(select(Quote).where(
        Quote.status == QuoteStatus.offered.value, col(Quote.expires_at) > now,
        col(Quote.expires_at) <= now + QUOTE_EXPIRING_WITHIN)).all()
    sent = _already(session, "quote_expiring", [q.id for q in expiring])  # type: ignore[misc]
    for quote in expiring:
        if quote.id not in sent:
            counts["quote_expiring"] += _remind(session, "quote_expiring", quote, quote=quote)
    ending = session.exec(select(Booking).where(
        col(Booking.status).in_([BookingStatus.accepted.value, BookingStatus.in_progress.value]),
        col(Booking.end) > now, col(Booking.end) <= now + ENDING_WITHIN)).all()
    sent = _already(session, "operation_ending_soon", [b.id for b in ending])  # type: ignore[misc]
    for booking in ending:
        if booking.id not in sent:
            counts["operation_ending_soon"] += _remind(
                session, "operation_ending_soon", booking, booking=booking)
    session.commit()
    return counts


def answer_on_time(session: Session, user: User, notification_id: int, on_time: bool,
                   note: str = "") -> Notification:
    """The factory answers "will it ship on time?": the order's timeline records it; a late
    answer tells the buyer and the operators."""
    from market.notify.service import get_own

    note = (note or "").strip()[:500]
    if not on_time and not note:
        raise ValidationError(N_("Say how late, and why."), {"note": N_("Required.")})
    item = get_own(session, user, notification_id)
    if item.kind != "operation_ending_soon" or item.booking_id is None:
        raise Conflict(N_("This notification asks nothing."))
    if item.answered_at is not None:
        raise Conflict(N_("You have answered this already."))
    booking = session.get(Booking, item.booking_id)
    order = session.get(Order, booking.order_id) if booking else None
    if booking is None or order is None or booking.factory_company_id != user.company_id:
        raise Conflict(N_("This booking is no longer yours."))
    now = utcnow()
    item.answered_at = item.read_at = now
    session.add(item)
    add_event(session, order, user, "on_time_confirmed" if on_time else "late_expected",
              booking_id=booking.id, on_time=on_time, note=note)
    if not on_time:
        events.occurred(session, "operation_late", booking=booking, order=order, actor=user,
                        note=note)
    session.commit()
    return item
