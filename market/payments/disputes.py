"""Disputes: the buyer stops the release; an operator resolves it with a refund (all or part)
or the release."""

from __future__ import annotations

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import (
    N_,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from market.core.models import utcnow
from market.deals import production
from market.orders import lifecycle
from market.orders.models import Order, OrderStatus
from market.orders.service import add_event
from market.payments.common import locked
from market.payments.gateways import PaymentSettings
from market.payments.models import (
    Dispute,
    DisputeStatus,
    Payment,
    PaymentStatus,
    Payout,
)
from market.payments.payouts import (
    current_dispute,
    held_payments,
    release_escrow,
    send_payouts,
)
from market.payments.refunds import execute_refund, queue_refund

DISPUTABLE = (OrderStatus.accepted, OrderStatus.scheduled, OrderStatus.in_production,
              OrderStatus.shipped, OrderStatus.delivered)


def open_dispute(session: Session, actor: User, order_id: int, reason: str, remedy: str = "",
                 attachment_ids: list[int] | None = None) -> Dispute:
    """The buyer disputes an order: the escrow stays put until an operator resolves it. A
    rejected delivery (quality.inspection) also says the remedy asked and the photos."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Tell us what went wrong."), {"reason": N_("Required.")})
    with write_lock(session):
        order = locked(session, Order, order_id)
        if order is None or actor.company_id != order.buyer_company_id:
            raise NotFound(N_("Order not found."))
        if order.status not in DISPUTABLE:
            raise Conflict("An order that is %(status)s cannot be disputed.",
                           params={"status": order.status})
        payment = session.exec(select(Payment).where(
            Payment.order_id == order_id, Payment.status == PaymentStatus.succeeded.value)
            .order_by(col(Payment.id).desc())).first()
        if payment is None:
            raise Conflict(N_("Nothing of this order is held in escrow; the money has been "
                           "paid out already or was never received. Contact the platform."))
        if current_dispute(session, order_id) is not None:
            raise Conflict(N_("This order is disputed already."))
        dispute = Dispute(order_id=order_id, payment_id=payment.id, reason=reason[:2000],  # type: ignore[arg-type]
                          previous_order_status=order.status, opened_by_id=actor.id,
                          remedy=remedy, attachment_ids=list(attachment_ids or []))
        lifecycle.move(order, OrderStatus.disputed)
        session.add_all([dispute, order])
        session.flush()
        if remedy:
            add_event(session, order, actor, "delivery_rejected", dispute_id=dispute.id,
                      reason=reason[:500], remedy=remedy)
            events.occurred(session, "delivery_rejected", order=order, actor=actor,
                            reason=reason[:500])
        else:
            add_event(session, order, actor, "disputed", dispute_id=dispute.id,
                      reason=reason[:500])
        audit.record(session, actor.id, "order.disputed", order, order.buyer_company_id,
                     remedy=remedy)
        session.commit()
    return dispute


RESOLUTIONS = ("refund_all", "refund_part", "release", "remake")


def resolve_dispute(session: Session, actor: User, dispute_id: int, resolution: str,
                    amount: int | None = None, note: str = "",
                    config: PaymentSettings | None = None, from_seq: int | None = None
                    ) -> Dispute:
    """An operator ends a dispute: refund everything, refund part (the rest goes to the
    factories and the platform in proportion), or release everything, and the order closes;
    or a remake: the operations from `from_seq` (default: the first) are made again by their
    factories at their cost, the money stays in escrow and the order is back in production
    (then shipped and inspected again)."""
    if not actor.is_operator:
        raise PermissionDenied(N_("Only platform operators resolve disputes."))
    if resolution not in RESOLUTIONS:
        raise ValidationError(N_("Choose refund_all, refund_part, release or remake."),
                              {"resolution": N_("refund_all | refund_part | release | remake")})
    if resolution == "refund_part" and (type(amount) is not int or amount <= 0):
        raise ValidationError(N_("A partial refund needs an amount in minor units."),
                              {"amount": N_("A whole number of minor units, more than zero.")})
    refund_ids: list[int] = []
    with write_lock(session):
        dispute = locked(session, Dispute, dispute_id)
        if dispute is None:
            raise NotFound(N_("Dispute not found."))
        if dispute.status != DisputeStatus.open:
            raise Conflict(N_("This dispute is resolved already."))
        order = locked(session, Order, dispute.order_id)
        # the escrow of the order: its payment, or after accepted change requests the first
        # payment and each difference
        payments = [locked(session, Payment, p.id) for p in held_payments(session, order.id)
                    if p.id != dispute.payment_id] + [locked(session, Payment, dispute.payment_id)]
        payments = [p for p in payments if p.status == PaymentStatus.succeeded] or payments[-1:]
        now = utcnow()
        held = sum(p.amount - p.refunded_amount for p in payments)
        if resolution == "refund_part" and amount >= held:  # type: ignore[operator]
            raise ValidationError(N_("A partial refund is less than what is held; use refund_all."),
                                  {"amount": N_("Less than what is held.")})
        made: list[Payout] = []
        if resolution == "remake":
            production.reopen_for_remake(session, actor, order, from_seq or 1)
        elif resolution == "refund_all":
            for payment in payments:
                if payment.amount > payment.refunded_amount:
                    refund_ids.append(queue_refund(  # type: ignore[arg-type]
                        session, payment, payment.amount - payment.refunded_amount,
                        "Dispute: refund").id)
        else:
            left = amount if resolution == "refund_part" else 0
            for payment in reversed(payments):  # a part refund: the newest money first
                part = min(left or 0, payment.amount - payment.refunded_amount)  # type: ignore[type-var]
                if part > 0:
                    refund_ids.append(queue_refund(session, payment, part,  # type: ignore[arg-type]
                                                   "Dispute: part refund").id)
                    left -= part  # type: ignore[operator]
            for payment in payments:
                made += release_escrow(session, payment, "dispute resolved", now)
        dispute.status, dispute.resolution = DisputeStatus.resolved.value, resolution
        dispute.refund_amount = held if resolution == "refund_all" else (
            amount if resolution == "refund_part" else 0)  # type: ignore[assignment]
        dispute.note, dispute.resolved_by_id, dispute.resolved_at = note[:2000], actor.id, now
        if resolution != "remake":
            lifecycle.move(order, OrderStatus.closed)
        session.add_all([dispute, order])
        add_event(session, order, actor, "dispute_resolved", dispute_id=dispute.id,
                    resolution=resolution, refund=dispute.refund_amount)
        audit.record(session, actor.id, "dispute.resolved", dispute, order.buyer_company_id,
                     resolution=resolution, refund=dispute.refund_amount)
        session.commit()
        payout_ids = [p.id for p in made]
    for refund_id in refund_ids:
        execute_refund(session, refund_id, config)
    send_payouts(session, payout_ids, config)  # type: ignore[arg-type]
    session.expire_all()
    return session.get(Dispute, dispute_id)  # type: ignore[return-value]


def disputes(session: Session, status: str | None = "open") -> list[Dispute]:
    query = select(Dispute)
    if status:
        query = query.where(Dispute.status == status)
    return list(session.exec(query.order_by(col(Dispute.id).desc())))
