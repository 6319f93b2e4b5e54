"""Refunds: queued under the lock, executed against the provider after the commit, applied
once; cancellations and withdrawn quotes give the buyer's money back in full."""

from __future__ import annotations

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core import audit
from market.core.db import write_lock
from market.core.errors import (
    N_,
    NotFound,
    ValidationError,
)
from market.core.models import utcnow
from market.deals.models import Quote, QuoteStatus
from market.orders.models import Order
from market.orders.service import add_event
from market.payments import gateways, ledger
from market.payments.common import LIVE_PAYMENT, config_or_default, locked, record_gateway_failure
from market.payments.gateways import GatewayError, PaymentSettings
from market.payments.models import (
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)


def queue_refund(session: Session, payment: Payment, amount: int, reason: str) -> Refund:
    """Commit to returning `amount` (the caller holds the payment's lock and commits)."""
    if amount <= 0 or amount > payment.amount - payment.refunded_amount:
        raise ValidationError(
            N_("A refund must be more than zero and at most what is still held."),
            {"amount": N_("More than zero and at most what is still held.")})
    number = session.exec(select(Refund.id).where(
        Refund.payment_id == payment.id)).all()
    refund = Refund(order_id=payment.order_id, payment_id=payment.id, amount=amount,  # type: ignore[arg-type]
                    currency=payment.currency, reason=reason[:500],
                    idempotency_key=f"refund-{payment.id}-{len(number) + 1}")
    payment.refunded_amount += amount
    if payment.refunded_amount == payment.amount:
        payment.status = PaymentStatus.refunded.value
    payment.updated_at = utcnow()
    session.add_all([refund, payment])
    session.flush()
    return refund


def execute_refund(session: Session, refund_id: int,
                   config: PaymentSettings | None = None) -> Refund:
    """Send a queued refund; on success the ledger moves it from escrow to refunds."""
    cfg = config_or_default(config)
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(N_("Refund not found."))
    if refund.status != RefundStatus.pending:
        return refund
    payment = session.get(Payment, refund.payment_id)
    assert payment is not None
    if gateways.confirmed_by_hand(payment.gateway):
        # the finance staff send it back by bank transfer: pending until an operator marks
        # it sent (payments.bank_transfers), and only then does the ledger move it
        return refund
    refund.attempts += 1
    session.add(refund)
    session.commit()
    try:
        provider_id = gateways.gateway(payment.gateway, cfg).refund(
            payment_provider_id=payment.provider_id, amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={"refund_id": str(refund.id), "payment_id": str(payment.id),
                      "order_id": str(payment.order_id)})
    except GatewayError as exc:
        return record_gateway_failure(session, Refund, refund_id, exc, RefundStatus.pending,
                                       RefundStatus.failed)
    mark_refund_succeeded(session, refund_id, provider_id)
    session.expire_all()
    return session.get(Refund, refund_id)  # type: ignore[return-value]


def record_sent(session: Session, refund: Refund, provider_id: str,
                actor: User | None = None, reference: str = "") -> None:
    """The money went back to the buyer: the refund succeeded and the ledger moves it from
    escrow to refunds (the caller holds the refund's lock and commits)."""
    refund.status, refund.succeeded_at = RefundStatus.succeeded.value, utcnow()
    refund.provider_refund_id, refund.last_error = provider_id, ""
    session.add(refund)
    memo = refund.reason[:200] + (f" ({reference})" if reference else "")
    ledger.post(session, f"refund-{refund.id}", order_id=refund.order_id,
                currency=refund.currency, kind="refund",
                legs=[(ledger.ESCROW, -refund.amount), (ledger.REFUNDS, refund.amount)],
                memo=memo)
    order = session.get(Order, refund.order_id)
    add_event(session, order, actor, "refunded", refund_id=refund.id,  # type: ignore[arg-type]
              amount=refund.amount, currency=refund.currency)
    if actor is not None:
        audit.record(session, actor.id, "refund.sent", refund, order.buyer_company_id,  # type: ignore[union-attr]
                     amount=refund.amount, reference=reference)


def mark_refund_succeeded(session: Session, refund_id: int, provider_id: str) -> bool:
    """The provider says the refund went out (once, whoever says it first)."""
    with write_lock(session):
        refund = locked(session, Refund, refund_id)
        if refund is None or refund.status == RefundStatus.succeeded:
            session.rollback()
            return False
        record_sent(session, refund, provider_id)
        session.commit()
    return True


def refund_remaining(session: Session, payment_id: int, reason: str,
                     config: PaymentSettings | None = None) -> Refund | None:
    """Refund everything of a payment still in escrow (cancellation, withdrawn quote)."""
    with write_lock(session):
        payment = locked(session, Payment, payment_id)
        if payment is None or payment.status != PaymentStatus.succeeded:
            session.rollback()
            return None
        refund = queue_refund(session, payment, payment.amount - payment.refunded_amount,
                               reason)
        session.commit()
    return execute_refund(session, refund.id, config)  # type: ignore[arg-type]


def on_order_cancelled(session: Session, order: Order,
                       config: PaymentSettings | None = None) -> list[Refund]:
    """Seam for orders.cancel (call after it commits): money in escrow goes back in full;
    a payment still waiting for money is cancelled (money arriving later is refunded)."""
    made = []
    for payment in session.exec(select(Payment).where(Payment.order_id == order.id)).all():
        if payment.status in LIVE_PAYMENT:
            with write_lock(session):
                row = locked(session, Payment, payment.id)  # type: ignore[arg-type]
                if row.status in LIVE_PAYMENT:
                    row.status, row.updated_at = PaymentStatus.cancelled.value, utcnow()
                    session.add(row)
                session.commit()
        elif payment.status == PaymentStatus.succeeded:
            refund = refund_remaining(session, payment.id, "Order cancelled.", config)  # type: ignore[arg-type]
            if refund is not None:
                made.append(refund)
    return made


def on_quote_withdrawn(session: Session, quote: Quote,
                       config: PaymentSettings | None = None) -> Refund | None:
    """After a factory declines (the quote withdrawn, the order back to matching), the
    payment of that quote is refunded in full; the next quote is paid afresh."""
    _refund_superseded(session, quote, config)
    payment = session.exec(select(Payment).where(Payment.quote_id == quote.id)).first()
    if payment is None:
        return None
    if payment.status in LIVE_PAYMENT:
        with write_lock(session):
            row = locked(session, Payment, payment.id)  # type: ignore[arg-type]
            if row.status in LIVE_PAYMENT:
                row.status = PaymentStatus.cancelled.value
                session.add(row)
            session.commit()
        return None
    return refund_remaining(session, payment.id, "A factory declined; the quote was "  # type: ignore[arg-type]
                            "withdrawn.", config)


def _refund_superseded(session: Session, quote: Quote,
                       config: PaymentSettings | None = None) -> None:
    """A withdrawn quote that an accepted change had put in force: the payments of the quotes
    it superseded paid for the same work and go back too (unless another quote stands)."""
    standing = session.exec(select(Quote.id).where(
        Quote.order_id == quote.order_id, Quote.status == QuoteStatus.accepted.value)).first()
    if standing is not None:
        return
    earlier = session.exec(select(Payment.id).join(Quote, col(Quote.id) == Payment.quote_id)
                           .where(Payment.order_id == quote.order_id,
                                  Quote.status == QuoteStatus.superseded.value,
                                  Payment.status == PaymentStatus.succeeded.value)).all()
    for payment_id in earlier:
        refund_remaining(session, payment_id, "A factory declined; the quote was withdrawn.",  # type: ignore[arg-type]
                         config)
