"""The lifecycles of firm quotes and bookings: their statuses, the moves between them, and the
only code that sets `quote.status` and `booking.status`. An illegal move is a Conflict."""

from __future__ import annotations

from market.core.errors import Conflict
from market.deals.models import Booking, BookingStatus, Quote, QuoteStatus

Q = QuoteStatus
QUOTE_TRANSITIONS: dict[str, set[str]] = {
    # the buyer decides, or the offer runs out (its held capacity goes back)
    Q.offered: {Q.accepted, Q.declined, Q.expired},
    # a factory declined or let a booking lapse, or the escrow payment never arrived
    Q.accepted: {Q.withdrawn, Q.expired},
    Q.declined: set(),
    Q.expired: set(),
    Q.withdrawn: set(),
}

B = BookingStatus
BOOKING_TRANSITIONS: dict[str, set[str]] = {
    # replaced: an approved re-plan moved the work to a new booking
    B.proposed: {B.accepted, B.declined, B.cancelled, B.replaced},
    B.accepted: {B.in_progress, B.done, B.declined, B.cancelled, B.replaced},
    B.in_progress: {B.done},
    B.done: set(),
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
