"""The order lifecycle: every status an order can have, every move between them, and the only
code that sets `order.status` (DESIGN.md "Order lifecycle"). Quotes, bookings and payments
ask `move` for the order's next state; an illegal move is a Conflict with a clear message,
never a silent overwrite.

draft -> open -> quoted -> accepted (paid into escrow) -> scheduled (every booking accepted)
-> in_production -> shipped -> delivered -> closed; cancelled and disputed from the states
in TRANSITIONS."""

from __future__ import annotations

from market.core.errors import Conflict
from market.core.models import utcnow
from market.orders.models import Order, OrderStatus

S = OrderStatus
# Every move the lifecycle allows, from -> {to}. Anything else is refused with a message.
TRANSITIONS: dict[str, set[str]] = {
    S.draft: {S.open, S.cancelled},
    S.open: {S.quoted, S.cancelled},
    S.quoted: {S.accepted, S.open, S.cancelled},  # back to open when the quote expires
    # open again when a factory declines or the escrow payment never arrives; cancelled
    # (refunded in full) before production
    S.accepted: {S.scheduled, S.open, S.disputed, S.cancelled},
    # back to accepted while a declined step is re-planned (its new booking unanswered)
    S.scheduled: {S.in_production, S.accepted, S.open, S.disputed, S.cancelled},
    S.in_production: {S.shipped, S.disputed},
    S.shipped: {S.delivered, S.disputed},
    S.delivered: {S.closed, S.disputed},
    # back in production: a rejected delivery is made again (the money stays in escrow)
    S.disputed: {S.closed, S.in_production},
    S.closed: set(),
    S.cancelled: set(),
}


def can_move(order: Order, target: OrderStatus) -> bool:
    return target in TRANSITIONS.get(order.status, set())


def move(order: Order, target: OrderStatus, refused: dict[str, str] | None = None) -> str:
    """Check one lifecycle move and make it; return the previous status. `refused` gives the
    reason in words for the states a caller expects people to try it from."""
    current = order.status
    if not can_move(order, target):
        reason = (refused or {}).get(current)
        if reason:  # may name the status: "The order is %(status)s; ..."
            raise Conflict(reason, {"status": current}, {"status": current})
        raise Conflict("An order that is %(status)s cannot become %(target_status)s.",
                       {"status": current}, {"status": current, "target_status": target.value})
    order.status = target.value
    order.updated_at = utcnow()
    return current
