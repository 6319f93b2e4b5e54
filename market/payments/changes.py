"""Money after a buyer's accepted change request (deals.changes): the escrow follows the new
price. A higher price is a second payment into escrow, of the difference only, for the new
quote (payments stay one per quote); a lower price is a partial refund from what is held,
marked with the change request, so the payouts split what is left rather than charge the
factories a share of it. Payouts then split each payment over the bookings in force
(payouts.payment_shares)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core.errors import N_, Conflict
from market.deals.models import ChangeRequest, Quote
from market.orders.models import Order
from market.orders.service import add_event
from market.payments.common import check_currency, config_or_default
from market.payments.gateways import PaymentSettings
from market.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from market.payments.refunds import execute_refund, queue_refund


def open_difference(session: Session, change: ChangeRequest, order: Order, old: Quote,
                    new: Quote, actor: User | None, now: datetime,
                    config: PaymentSettings | None = None) -> Payment:
    """The second escrow payment: the new quote's price less the old one's (the caller
    holds the lock and commits). Paid like the first (POST /orders/{id}/payment)."""
    cfg = config_or_default(config)
    check_currency(new.currency, cfg)
    amount = int(new.price) - int(old.price)
    payment = Payment(
        order_id=order.id, quote_id=new.id, buyer_company_id=order.buyer_company_id,  # type: ignore[arg-type]
        amount=amount, platform_fee=max(0, int(new.platform_fee) - int(old.platform_fee)),
        currency=new.currency.upper(), gateway=cfg.gateway_name,
        idempotency_key=f"payment-{new.id}", created_at=now, updated_at=now)
    session.add(payment)
    session.flush()
    payment.reference = f"YZ-{order.id}-{payment.id}"
    session.add(payment)
    add_event(session, order, actor, "payment_opened", payment_id=payment.id,
              amount=payment.amount, currency=payment.currency, gateway=payment.gateway,
              change_request_id=change.id)
    return payment


def refund_difference(session: Session, change: ChangeRequest, order: Order, amount: int
                      ) -> list[Refund]:
    """Queue the refund of a lower price from the order's payments in escrow, newest first
    (the caller holds the lock and commits; sent after the commit)."""
    made: list[Refund] = []
    left = amount
    held = session.exec(select(Payment).where(
        Payment.order_id == order.id, Payment.status == PaymentStatus.succeeded.value)
        .order_by(col(Payment.id).desc())).all()
    if sum(p.amount - p.refunded_amount for p in held) < amount:
        raise Conflict(N_("Less is held in escrow than the change gives back; an operator "
                          "must look at this order's payments."))
    for payment in held:
        part = min(left, payment.amount - payment.refunded_amount)
        if part <= 0:
            continue
        refund = queue_refund(session, payment, part, "Change request: the price went down.")
        refund.change_request_id = change.id
        session.add(refund)
        made.append(refund)
        left -= part
        if left == 0:
            break
    return made


def on_change_accepting(session: Session, change_request: ChangeRequest, order: Order,
                        old_quote: Quote, new_quote: Quote, actor: User | None,
                        now: datetime) -> None:
    """Receiver of events.change_accepting, in the acceptance's transaction."""
    difference = int(new_quote.price) - int(old_quote.price)
    if difference > 0:
        open_difference(session, change_request, order, old_quote, new_quote, actor, now)
    elif difference < 0:
        refund_difference(session, change_request, order, -difference)
    session.flush()


def on_change_accepted(session: Session, change_request_id: int,
                       config: PaymentSettings | None = None) -> list[Refund]:
    """Receiver of events.change_accepted (committed): send the queued refunds."""
    ids = session.exec(select(Refund.id).where(
        Refund.change_request_id == change_request_id,
        Refund.status == RefundStatus.pending.value)).all()
    return [execute_refund(session, i, config) for i in ids]  # type: ignore[arg-type]


def change_refunded(session: Session, payment: Payment) -> int:
    """What accepted changes gave back from this payment (it made the payment smaller)."""
    return sum(int(r.amount) for r in session.exec(select(Refund).where(
        Refund.payment_id == payment.id, col(Refund.change_request_id).is_not(None))).all())


def is_difference(session: Session, payment: Payment) -> bool:
    """Whether the payment is the second payment of an accepted change (the work goes on:
    it arriving proposes nothing and refunds nothing)."""
    return session.exec(select(ChangeRequest.id).where(
        ChangeRequest.quote_id == payment.quote_id)).first() is not None
