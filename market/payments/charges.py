"""Escrow charges: the payment of an accepted quote, paying it (Stripe intent or bank
transfer), the money arriving (webhook, sync or an operator's mark), and expiry when it
never comes."""

from __future__ import annotations

from datetime import datetime

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
from market.core.money import format_money
from market.deals import service as bookings
from market.deals.lifecycle import move_quote
from market.deals.models import Booking, Quote, QuoteStatus
from market.orders import lifecycle
from market.orders.models import Order, OrderStatus
from market.orders.service import add_event
from market.payments import gateways, ledger
from market.payments.changes import is_difference
from market.payments.common import (
    LIVE_PAYMENT,
    PaymentProviderUnavailable,
    check_currency,
    config_or_default,
    locked,
    note_error,
    transfer_group,
)
from market.payments.gateways import GatewayError, PaymentSettings
from market.payments.models import (
    Payment,
    PaymentStatus,
)
from market.payments.refunds import refund_remaining
from market.runs.models import PlannedOperation


def open_payment(session: Session, quote: Quote, order: Order, actor: User | None = None,
                 now: datetime | None = None, config: PaymentSettings | None = None) -> Payment:
    """The escrow payment of an accepted quote (created once; the caller commits)."""
    existing = session.exec(select(Payment).where(Payment.quote_id == quote.id)).first()
    if existing is not None:
        return existing
    cfg = config_or_default(config)
    check_currency(quote.currency, cfg)
    if quote.price <= 0:
        raise ValidationError(N_("A quote with no price cannot be paid."))
    now = now or utcnow()
    payment = Payment(
        order_id=order.id, quote_id=quote.id, buyer_company_id=order.buyer_company_id,  # type: ignore[arg-type]
        amount=quote.price, platform_fee=quote.platform_fee, currency=quote.currency.upper(),
        gateway=cfg.gateway_name, idempotency_key=f"payment-{quote.id}",
        created_at=now, updated_at=now)
    session.add(payment)
    session.flush()
    payment.reference = f"YZ-{order.id}-{payment.id}"
    session.add(payment)
    add_event(session, order, actor, "payment_opened", payment_id=payment.id,
                amount=payment.amount, currency=payment.currency, gateway=payment.gateway)
    return payment


def payment_for_order(session: Session, order_id: int) -> Payment | None:
    """The order's latest payment (a withdrawn quote's payment stays visible in receipts)."""
    return session.exec(select(Payment).where(Payment.order_id == order_id)
                        .order_by(col(Payment.id).desc())).first()


def _buyer_order(session: Session, actor: User, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None or not (actor.is_operator or actor.company_id == order.buyer_company_id):
        raise NotFound(N_("Order not found."))
    return order


def _accepted_quote(session: Session, order: Order) -> Quote | None:
    return session.exec(select(Quote).where(
        Quote.order_id == order.id, Quote.status == QuoteStatus.accepted.value)
        .order_by(col(Quote.id).desc())).first()


def start_payment(session: Session, actor: User, order_id: int,
                  config: PaymentSettings | None = None) -> Payment:
    """What the buyer needs to pay the order's accepted quote: creates the provider's
    payment (Stripe) once, or just returns the bank-transfer payment (manual). Safe to call
    again: it returns the same payment and the same PaymentIntent."""
    cfg = config_or_default(config)
    order = _buyer_order(session, actor, order_id)
    if actor.is_operator:
        raise PermissionDenied(N_("Only the buyer pays for an order."))
    quote = _accepted_quote(session, order)
    payment = None
    if quote is not None:
        payment = session.exec(select(Payment).where(Payment.quote_id == quote.id)).first()
    if payment is None:
        if quote is None or order.status != OrderStatus.accepted:
            latest = payment_for_order(session, order.id)  # type: ignore[arg-type]
            if latest is not None:
                return latest
            raise Conflict("The order is %(status)s; there is nothing to pay now.",
                           params={"status": order.status})
        with write_lock(session):
            payment = open_payment(session, quote, order, actor, config=cfg)
            session.commit()
    if payment.status not in LIVE_PAYMENT or payment.gateway != "stripe":
        return payment
    if payment.provider_id:
        return sync_payment(session, payment.id, cfg)  # type: ignore[arg-type]
    return _create_intent(session, payment, cfg)


def _create_intent(session: Session, payment: Payment, cfg: PaymentSettings) -> Payment:
    gateway = gateways.gateway(payment.gateway, cfg)
    try:
        intent = gateway.create_payment(
            amount=payment.amount, currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            transfer_group=transfer_group(payment.order_id),
            metadata={"payment_id": str(payment.id), "order_id": str(payment.order_id),
                      "quote_id": str(payment.quote_id)})
    except GatewayError as exc:
        note_error(session, Payment, payment.id, exc.message)  # type: ignore[arg-type]
        if exc.transient:
            raise PaymentProviderUnavailable(
                N_("The payment provider did not answer. Nothing was charged twice; "
                "please try again in a moment.")) from None
        raise Conflict(exc.message) from None
    if intent.amount != payment.amount or intent.currency != payment.currency:
        # Same key, different payment: never let the buyer pay the wrong amount.
        raise Conflict(N_("The provider's payment does not match this order's price."))
    with write_lock(session):
        row = locked(session, Payment, payment.id)  # type: ignore[arg-type]
        if row.provider_id is None:
            row.provider_id, row.client_secret = intent.provider_id, intent.client_secret
            row.last_error, row.updated_at = "", utcnow()
            session.add(row)
        session.commit()
    return _apply_intent(session, row.id, intent, cfg)  # type: ignore[arg-type]


def sync_payment(session: Session, payment_id: int,
                 config: PaymentSettings | None = None) -> Payment:
    """Ask Stripe how a payment stands and apply it (after Stripe.js, or a lost webhook)."""
    cfg = config_or_default(config)
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(N_("Payment not found."))
    if payment.gateway != "stripe" or not payment.provider_id:
        return payment
    try:
        intent = gateways.gateway("stripe", cfg).retrieve_payment(payment.provider_id)
    except GatewayError as exc:
        if exc.transient:
            raise PaymentProviderUnavailable(
                N_("The payment provider did not answer; please try again.")) from None
        raise Conflict(exc.message) from None
    return _apply_intent(session, payment_id, intent, cfg)


def _apply_intent(session: Session, payment_id: int, intent: gateways.IntentResult,
                  cfg: PaymentSettings) -> Payment:
    if intent.status == "succeeded":
        apply_success(session, payment_id, None, config=cfg)
    elif intent.status == "cancelled":
        with write_lock(session):
            row = locked(session, Payment, payment_id)
            if row.status in LIVE_PAYMENT:
                row.status, row.updated_at = PaymentStatus.cancelled.value, utcnow()
                session.add(row)
            session.commit()
    elif intent.error:
        with write_lock(session):
            row = locked(session, Payment, payment_id)
            if row.status in LIVE_PAYMENT and row.last_error != intent.error:
                row.last_error = intent.error[:1000]
                session.add(row)
            session.commit()
    session.expire_all()
    return session.get(Payment, payment_id)  # type: ignore[return-value]


def apply_success(session: Session, payment_id: int, actor: User | None,
                  now: datetime | None = None, config: PaymentSettings | None = None,
                  note: str = "") -> bool:
    """The money is in escrow: post the charge, propose the bookings. Applied once (the
    status is checked under a lock); False when it had been applied already."""
    now = now or utcnow()
    refund_needed = False
    with write_lock(session):
        payment = locked(session, Payment, payment_id)
        if payment is None:
            raise NotFound(N_("Payment not found."))
        if payment.status not in (*LIVE_PAYMENT, PaymentStatus.cancelled):
            session.rollback()
            return False
        payment.status, payment.succeeded_at, payment.updated_at = (
            PaymentStatus.succeeded.value, now, now)
        payment.last_error = ""
        if actor is not None:
            payment.received_by_id = actor.id
        session.add(payment)
        ledger.post(session, f"charge-{payment.id}", order_id=payment.order_id,
                    currency=payment.currency, kind="charge",
                    legs=[(ledger.BUYER_CASH, -payment.amount), (ledger.ESCROW, payment.amount)],
                    memo=f"payment {payment.id} {payment.gateway} {note}".strip())
        order = locked(session, Order, payment.order_id)
        # fresh from the database: a long-lived session may hold the quote as it was offered
        quote = session.get(Quote, payment.quote_id, populate_existing=True)
        add_event(session, order, actor, "payment_received", payment_id=payment.id,
                    amount=payment.amount, currency=payment.currency)
        events.occurred(session, "payment_received", order=order, payment=payment, actor=actor)
        audit.record(session, actor.id if actor else None, "payment.received", payment,
                     payment.buyer_company_id, amount=payment.amount, gateway=payment.gateway)
        if (quote is not None and quote.status == QuoteStatus.accepted
                and order.status == OrderStatus.accepted):
            already = session.exec(select(Booking.id).where(
                Booking.quote_id == quote.id)).first()
            if already is None:
                bookings.propose_bookings(session, quote, order, None, now)
        elif (quote is not None and quote.status == QuoteStatus.accepted
              and is_difference(session, payment)):
            pass  # the difference of an accepted change: the work goes on as booked
        else:
            # The deal died while the buyer paid (cancelled, or a factory declined): the money
            # goes straight back.
            refund_needed = True
        session.commit()
    if refund_needed:
        refund_remaining(session, payment_id, "The order no longer needs this payment.",
                         config=config)
    return True


def mark_received(session: Session, actor: User, payment_id: int, amount: int | None = None,
                  note: str = "", config: PaymentSettings | None = None) -> Payment:
    """An operator confirms that the bank transfer arrived (manual gateway)."""
    if not actor.is_operator:
        raise PermissionDenied(N_("Only platform operators confirm bank transfers."))
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(N_("Payment not found."))
    if payment.gateway != "manual":
        raise Conflict(N_("Card payments are confirmed by Stripe, not by hand."))
    if payment.status not in (*LIVE_PAYMENT, PaymentStatus.cancelled):
        raise Conflict("This payment is %(status)s already.", params={"status": payment.status})
    if amount is not None and amount != payment.amount:
        raise ValidationError(
            N_("The amount received differs from the amount due (%(due)s); contact the buyer "
               "and mark it received when the full amount has arrived."),
            {"amount": N_("Not the amount due.")},
            {"due": format_money(payment.amount, payment.currency)})
    apply_success(session, payment_id, actor, config=config, note=note.strip()[:200])
    session.expire_all()
    return session.get(Payment, payment_id)  # type: ignore[return-value]


def expire_unpaid(session: Session, payment_id: int, now: datetime | None = None) -> bool:
    """A payment not received in time: the quote's booked capacity goes back to the
    factories, the quote expires and the order returns to matching. Money arriving later
    is refunded (apply_success sees the quote is no longer accepted)."""
    now = now or utcnow()
    with write_lock(session):
        payment = locked(session, Payment, payment_id)
        if payment is None or payment.status not in LIVE_PAYMENT or is_difference(
                session, payment):
            # an accepted change's difference does not lapse: the work goes on, the buyer
            # still owes it (no further change, no shipment until it is paid)
            session.rollback()
            return False
        quote = locked(session, Quote, payment.quote_id)
        order = locked(session, Order, payment.order_id)
        payment.status, payment.updated_at = PaymentStatus.cancelled.value, now
        payment.last_error = "Not received in time."
        session.add(payment)
        has_bookings = session.exec(select(Booking.id).where(
            Booking.quote_id == payment.quote_id)).first() is not None
        if (quote is not None and quote.status == QuoteStatus.accepted and not has_bookings
                and order is not None and order.status == OrderStatus.accepted):
            planned = session.exec(select(PlannedOperation.id).where(
                PlannedOperation.run_id == quote.run_id,
                PlannedOperation.order_id == quote.order_id)).all()
            bookings.release(session, list(planned))  # type: ignore[arg-type]
            move_quote(quote, QuoteStatus.expired)
            quote.decided_at = now
            lifecycle.move(order, OrderStatus.open)
            session.add_all([quote, order])
            add_event(session, order, None, "payment_overdue", payment_id=payment.id,
                        note="The order goes back to matching.")
        audit.record(session, None, "payment.expired", payment, payment.buyer_company_id)
        session.commit()
    return True
