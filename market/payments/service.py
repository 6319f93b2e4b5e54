"""Escrow payments, payouts per factory, refunds and disputes.

The flow
--------
1. The buyer accepts a quote. `bookings.accept_quote` calls `open_payment`, which records a
   `Payment` for the quote's price, with no network call, inside the acceptance
   transaction. Bookings are *not* proposed yet.
2. The buyer pays: `start_payment` creates the Stripe PaymentIntent (idempotency key
   `payment-<quote id>`, `transfer_group` `order-<order id>`), or shows bank-transfer
   instructions with the manual gateway. The record exists before any call to Stripe, so a
   charge without a record cannot happen; a retry reuses the same key and so the same intent.
3. The money arrives: Stripe's `payment_intent.succeeded` webhook (the intent is retrieved
   from Stripe, the source of truth, so replayed or reordered events are harmless) or an
   operator's `mark_received`. The ledger moves the price from `buyer_cash` to `escrow`, and
   the bookings are proposed to the factories (`bookings.propose_bookings`).
4. Release (`on_delivery_confirmed`, or `housekeeping` PAYOUT_AFTER_SHIPMENT_DAYS after
   shipment without a dispute): one `Payout` per factory and a Transfer in the order's
   transfer group (idempotency key `payout-<payment id>-<company id>`).
5. Cancellation refunds whatever is in escrow in full (`on_order_cancelled`); a dispute
   stops the release until an operator resolves it: refund all, refund part (the rest is
   released), or release.

Readings (written down because the issue allows more than one)
--------------------------------------------------------------
- Fee: the issue says "each factory is paid for its bookings minus the platform fee". Our
  price model already adds the fee on top (quote.price = production_cost + platform_fee,
  the fee rounded half up in market.runs.service.platform_fee), so a factory
  receives exactly the sum of its bookings' amounts and the platform keeps the rest of the
  price (the fee, plus any part of the price not attributed to a booking). `Payout.fee` is
  therefore 0; it exists so a fee taken from the factory side can be recorded later.
- Partial refund (dispute): the refund is taken from every share of the escrow (each
  factory's and the platform's) in proportion to its size, by the largest-remainder method,
  so the shares sum to the refund to the cent and nobody absorbs the rounding unfairly.
- Payout timing: on the buyer's delivery confirmation, or PAYOUT_AFTER_SHIPMENT_DAYS after
  the shipment if the buyer neither confirmed nor disputed.
- Disputes hold the money while it is in escrow: a dispute after the release is refused
  (the money has left; operators handle that outside the platform).
- A factory declining a booking after the payment withdraws the quote and puts the order
  back to matching; the payment of that quote is refunded in full by `on_quote_withdrawn`
  (housekeeping also finds such payments), and the next quote is paid afresh.
- Only SUPPORTED_CURRENCIES (default CNY) are accepted; anything else is refused at
  acceptance with a clear 422 instead of being charged in a currency we cannot pay out.

Network calls never happen while we hold a lock: a record is committed first, the provider
is called with the record's idempotency key, and the outcome is applied under a row lock by
a function that checks the status first, so a webhook and a retry racing each other apply
it once."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from market.accounts.models import Company, User
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import (
    N_,
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationError,
)
from market.core.models import utcnow
from market.deals.models import Booking, BookingStatus, Quote, QuoteStatus
from market.orders.models import Order, OrderEvent, OrderStatus
from market.orders.service import add_event
from market.payments import gateways, ledger
from market.payments.gateways import GatewayError, GatewayUnavailable, PaymentSettings
from market.payments.models import (
    Dispute,
    DisputeStatus,
    Payment,
    PaymentStatus,
    Payout,
    PayoutAccount,
    PayoutStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from market.runs.models import PlannedOperation


class PaymentProviderUnavailable(ServiceError):
    """Stripe timed out or failed; what we know is stored and a retry completes it."""

    code = "payment_provider_unavailable"
    status = 503


class BadWebhook(ServiceError):
    code = "bad_request"
    status = 400


LIVE_PAYMENT = (PaymentStatus.pending, PaymentStatus.failed)
HELD_IN_ESCROW = (PaymentStatus.succeeded,)


def _cfg(config: PaymentSettings | None) -> PaymentSettings:
    return config or gateways.settings()


def transfer_group(order_id: int) -> str:
    return f"order-{order_id}"


def check_currency(currency: str, config: PaymentSettings | None = None) -> None:
    cfg = _cfg(config)
    if currency.upper() not in cfg.supported_currencies:
        allowed = ", ".join(cfg.supported_currencies)
        raise ValidationError(
            f"Payments in {currency} are not supported; this marketplace takes {allowed}.",
            {"currency": f"Only {allowed}."})


def _locked(session: Session, model: type, ident: int):  # type: ignore[no-untyped-def]
    return session.get(model, ident, with_for_update=True, populate_existing=True)


def _record_gateway_failure(session: Session, model: type, ident: int, exc: GatewayError,
                            pending: Enum, failed: Enum):  # type: ignore[no-untyped-def]
    """Keep the provider's message on a refund or payout; a permanent failure ends a pending
    row, a transient one leaves it pending for the retry."""
    with write_lock(session):
        row = _locked(session, model, ident)
        row.last_error = exc.message[:1000]
        if not exc.transient and row.status == pending:
            row.status = failed.value
        session.add(row)
        session.commit()
    return row


# --- opening a payment --------------------------------------------------------------------

def open_payment(session: Session, quote: Quote, order: Order, actor: User | None = None,
                 now: datetime | None = None, config: PaymentSettings | None = None) -> Payment:
    """The escrow payment of an accepted quote (created once; the caller commits)."""
    existing = session.exec(select(Payment).where(Payment.quote_id == quote.id)).first()
    if existing is not None:
        return existing
    cfg = _cfg(config)
    check_currency(quote.currency, cfg)
    if quote.price <= 0:
        raise ValidationError(N_("A quote with no price cannot be paid."))
    now = now or utcnow()
    payment = Payment(
        order_id=order.id, quote_id=quote.id, company_id=order.company_id,  # type: ignore[arg-type]
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
    if order is None or not (actor.is_operator or actor.company_id == order.company_id):
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
    cfg = _cfg(config)
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
            raise Conflict(f"The order is {order.status}; there is nothing to pay now.")
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
        _note_error(session, Payment, payment.id, exc.message)  # type: ignore[arg-type]
        if exc.transient:
            raise PaymentProviderUnavailable(
                N_("The payment provider did not answer. Nothing was charged twice; "
                "please try again in a moment.")) from None
        raise Conflict(exc.message) from None
    if intent.amount != payment.amount or intent.currency != payment.currency:
        # Same key, different payment: never let the buyer pay the wrong amount.
        raise Conflict(N_("The provider's payment does not match this order's price."))
    with write_lock(session):
        row = _locked(session, Payment, payment.id)  # type: ignore[arg-type]
        if row.provider_id is None:
            row.provider_id, row.client_secret = intent.provider_id, intent.client_secret
            row.last_error, row.updated_at = "", utcnow()
            session.add(row)
        session.commit()
    return _apply_intent(session, row.id, intent, cfg)  # type: ignore[arg-type]


def _note_error(session: Session, model: type, ident: int, message: str) -> None:
    session.rollback()
    row = session.get(model, ident)
    if row is not None:
        row.last_error = message[:1000]
        session.add(row)
        session.commit()


def sync_payment(session: Session, payment_id: int,
                 config: PaymentSettings | None = None) -> Payment:
    """Ask Stripe how a payment stands and apply it (after Stripe.js, or a lost webhook)."""
    cfg = _cfg(config)
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
            row = _locked(session, Payment, payment_id)
            if row.status in LIVE_PAYMENT:
                row.status, row.updated_at = PaymentStatus.cancelled.value, utcnow()
                session.add(row)
            session.commit()
    elif intent.error:
        with write_lock(session):
            row = _locked(session, Payment, payment_id)
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
        payment = _locked(session, Payment, payment_id)
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
        order = _locked(session, Order, payment.order_id)
        # fresh from the database: a long-lived session may hold the quote as it was offered
        quote = session.get(Quote, payment.quote_id, populate_existing=True)
        add_event(session, order, actor, "payment_received", payment_id=payment.id,
                    amount=payment.amount, currency=payment.currency)
        audit.record(session, actor.id if actor else None, "payment.received", payment,
                     payment.company_id, amount=payment.amount, gateway=payment.gateway)
        if (quote is not None and quote.status == QuoteStatus.accepted
                and order.status == OrderStatus.accepted):
            already = session.exec(select(Booking.id).where(
                Booking.quote_id == quote.id)).first()
            if already is None:
                from market.deals import service as bookings

                bookings.propose_bookings(session, quote, order, None, now)
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
        raise Conflict(f"This payment is {payment.status} already.")
    if amount is not None and amount != payment.amount:
        raise ValidationError(
            N_("The amount received differs from the amount due; contact the buyer and mark it "
            "received when the full amount has arrived."),
            {"amount": f"Due: {payment.amount} {payment.currency} (minor units)."})
    apply_success(session, payment_id, actor, config=config, note=note.strip()[:200])
    session.expire_all()
    return session.get(Payment, payment_id)  # type: ignore[return-value]


# --- refunds ------------------------------------------------------------------------------

def _queue_refund(session: Session, payment: Payment, amount: int, reason: str) -> Refund:
    """Commit to returning `amount` (the caller holds the payment's lock and commits)."""
    if amount <= 0 or amount > payment.amount - payment.refunded_amount:
        raise ValidationError(
            N_("A refund must be more than zero and at most what is still held."),
            {"amount": f"1 to {payment.amount - payment.refunded_amount}"})
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
    cfg = _cfg(config)
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(N_("Refund not found."))
    if refund.status != RefundStatus.pending:
        return refund
    payment = session.get(Payment, refund.payment_id)
    assert payment is not None
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
        return _record_gateway_failure(session, Refund, refund_id, exc, RefundStatus.pending,
                                       RefundStatus.failed)
    mark_refund_succeeded(session, refund_id, provider_id)
    session.expire_all()
    return session.get(Refund, refund_id)  # type: ignore[return-value]


def mark_refund_succeeded(session: Session, refund_id: int, provider_id: str) -> bool:
    with write_lock(session):
        refund = _locked(session, Refund, refund_id)
        if refund is None or refund.status == RefundStatus.succeeded:
            session.rollback()
            return False
        refund.status, refund.succeeded_at = RefundStatus.succeeded.value, utcnow()
        refund.provider_refund_id, refund.last_error = provider_id, ""
        session.add(refund)
        ledger.post(session, f"refund-{refund.id}", order_id=refund.order_id,
                    currency=refund.currency, kind="refund",
                    legs=[(ledger.ESCROW, -refund.amount), (ledger.REFUNDS, refund.amount)],
                    memo=refund.reason[:200])
        order = session.get(Order, refund.order_id)
        add_event(session, order, None, "refunded", refund_id=refund.id,  # type: ignore[arg-type]
                    amount=refund.amount, currency=refund.currency)
        session.commit()
    return True


def refund_remaining(session: Session, payment_id: int, reason: str,
                     config: PaymentSettings | None = None) -> Refund | None:
    """Refund everything of a payment still in escrow (cancellation, withdrawn quote)."""
    with write_lock(session):
        payment = _locked(session, Payment, payment_id)
        if payment is None or payment.status != PaymentStatus.succeeded:
            session.rollback()
            return None
        refund = _queue_refund(session, payment, payment.amount - payment.refunded_amount,
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
                row = _locked(session, Payment, payment.id)  # type: ignore[arg-type]
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
    payment = session.exec(select(Payment).where(Payment.quote_id == quote.id)).first()
    if payment is None:
        return None
    if payment.status in LIVE_PAYMENT:
        with write_lock(session):
            row = _locked(session, Payment, payment.id)  # type: ignore[arg-type]
            if row.status in LIVE_PAYMENT:
                row.status = PaymentStatus.cancelled.value
                session.add(row)
            session.commit()
        return None
    return refund_remaining(session, payment.id, "A factory declined; the quote was "  # type: ignore[arg-type]
                            "withdrawn.", config)


# --- payouts ------------------------------------------------------------------------------

def allocate(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split `total` over `weights` in proportion, in integers that sum to `total` exactly
    (largest remainder; ties go to the key that sorts first, so it is deterministic)."""
    whole = sum(weights.values())
    if total == 0 or whole == 0:
        return dict.fromkeys(weights, 0)
    shares = {k: total * w // whole for k, w in weights.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda k: (-(total * weights[k] % whole), k))
    for k in by_remainder[:left]:
        shares[k] += 1
    return shares


def _factory_legs(session: Session, payment: Payment) -> dict[int, tuple[int, list[int]]]:
    legs: dict[int, tuple[int, list[int]]] = {}
    rows = session.exec(select(Booking).where(
        Booking.quote_id == payment.quote_id,
        col(Booking.status).notin_([BookingStatus.declined.value,
                                    BookingStatus.cancelled.value]))
        .order_by(col(Booking.id))).all()
    acc: dict[int, list[Booking]] = defaultdict(list)
    for b in rows:
        acc[b.company_id].append(b)
    for company_id, bs in acc.items():
        legs[company_id] = (sum(int(b.amount) for b in bs), [b.id for b in bs])  # type: ignore[misc]
    return legs


def _release(session: Session, payment: Payment, reason: str, now: datetime) -> list[Payout]:
    """Split what is left in escrow (the caller holds the payment's lock and commits)."""
    legs = _factory_legs(session, payment)
    gross_total = sum(g for g, _ids in legs.values())
    if gross_total > payment.amount:
        raise Conflict(N_("The bookings add up to more than was paid; an operator must look."))
    weights = {f"f{c}": g for c, (g, _ids) in legs.items()}
    platform = payment.amount - gross_total
    weights["fee"] = min(platform, max(0, payment.platform_fee))
    weights["freight"] = platform - weights["fee"]
    refund_shares = allocate(payment.refunded_amount, weights)
    held = payment.amount - payment.refunded_amount
    made: list[Payout] = []
    legs_out = [(account, weights[key] - refund_shares[key])
                for account, key in ((ledger.PLATFORM_FEE, "fee"), (ledger.FREIGHT, "freight"))
                if weights[key] - refund_shares[key]]
    for company_id, (gross, ids) in sorted(legs.items()):
        share = refund_shares[f"f{company_id}"]
        payout = Payout(order_id=payment.order_id, payment_id=payment.id,  # type: ignore[arg-type]
                        company_id=company_id, booking_ids=ids, gross=gross, fee=0,
                        refund_share=share, amount=gross - share, currency=payment.currency,
                        gateway=payment.gateway,
                        idempotency_key=f"payout-{payment.id}-{company_id}",
                        created_at=now,
                        status=(PayoutStatus.pending if gross - share > 0
                                else PayoutStatus.paid).value)
        session.add(payout)
        made.append(payout)
        legs_out.append((ledger.factory_payable(company_id), gross - share))
    legs_out.append((ledger.ESCROW, -held))
    ledger.post(session, f"release-{payment.id}", order_id=payment.order_id,
                currency=payment.currency, kind="release", legs=legs_out, memo=reason)
    payment.status, payment.updated_at = PaymentStatus.settled.value, now
    session.add(payment)
    session.flush()
    order = session.get(Order, payment.order_id)
    add_event(session, order, None, "payouts_released", payment_id=payment.id,  # type: ignore[arg-type]
                reason=reason, payouts=[{"company_id": p.company_id, "amount": p.amount}
                                        for p in made])
    return made


def _open_dispute(session: Session, order_id: int) -> Dispute | None:
    return session.exec(select(Dispute).where(
        Dispute.order_id == order_id, Dispute.status == DisputeStatus.open.value)).first()


def release_payouts(session: Session, order: Order, reason: str = "delivered",
                    now: datetime | None = None,
                    config: PaymentSettings | None = None) -> list[Payout]:
    """Release the escrow of an order's paid quote to its factories (once) and send the
    transfers. Nothing happens while a dispute is open."""
    now = now or utcnow()
    with write_lock(session):
        payment = session.exec(select(Payment).where(
            Payment.order_id == order.id,
            Payment.status == PaymentStatus.succeeded.value)
            .order_by(col(Payment.id).desc())).first()
        if payment is None or _open_dispute(session, order.id) is not None:  # type: ignore[arg-type]
            session.rollback()
            return []
        payment = _locked(session, Payment, payment.id)  # type: ignore[arg-type]
        if payment.status != PaymentStatus.succeeded:
            session.rollback()
            return []
        made = _release(session, payment, reason, now)
        session.commit()
    ids = [p.id for p in made]
    send_payouts(session, ids, config)  # type: ignore[arg-type]
    session.expire_all()
    return [session.get(Payout, i) for i in ids]  # type: ignore[misc]


def on_delivery_confirmed(session: Session, order: Order,
                          config: PaymentSettings | None = None) -> list[Payout]:
    """Seam for bookings.confirm_delivery (call after it commits): pay each factory."""
    order = session.get(Order, order.id, populate_existing=True)  # type: ignore[assignment]
    if order is None:
        raise NotFound(N_("Order not found."))
    if order.status not in (OrderStatus.delivered, OrderStatus.closed):
        raise Conflict(f"The order is {order.status}; payouts wait for delivery.")
    return release_payouts(session, order, "delivered", config=config)


def _destination(session: Session, payout: Payout, cfg: PaymentSettings) -> str:
    account = session.exec(select(PayoutAccount).where(
        PayoutAccount.company_id == payout.company_id)).first()
    if account is None:
        return ""
    if payout.gateway == "stripe":
        if account.stripe_account_id and not account.stripe_ready:
            # The account.updated webhook may be late or lost: ask Stripe directly.
            try:
                account = refresh_stripe_account(session, account.stripe_account_id, cfg)
            except GatewayError:
                session.rollback()
                return ""
        return (account.stripe_account_id or "") if account and account.stripe_ready else ""
    if account.bank_ready:
        return f"{account.bank_name} / {account.account_holder} / {account.account_number}"
    return ""


def send_payouts(session: Session, payout_ids: list[int],
                 config: PaymentSettings | None = None) -> None:
    for payout_id in payout_ids:
        send_payout(session, payout_id, config)


def send_payout(session: Session, payout_id: int,
                config: PaymentSettings | None = None) -> Payout:
    """Make (or retry) one factory's transfer. Never twice: the idempotency key is the
    payout's own, and success is applied once under a lock."""
    cfg = _cfg(config)
    payout = session.get(Payout, payout_id)
    if payout is None:
        raise NotFound(N_("Payout not found."))
    if payout.status != PayoutStatus.pending:
        return payout
    destination = _destination(session, payout, cfg)
    if not destination:
        payout.last_error = "Waiting for the factory to set up its payout account."
        session.add(payout)
        session.commit()
        return payout
    payout.attempts += 1
    payout.destination = destination[:255]
    session.add(payout)
    session.commit()
    try:
        transfer_id = gateways.gateway(payout.gateway, cfg).transfer(
            amount=payout.amount, currency=payout.currency, destination=destination,
            transfer_group=transfer_group(payout.order_id),
            idempotency_key=payout.idempotency_key,
            metadata={"payout_id": str(payout.id), "order_id": str(payout.order_id),
                      "company_id": str(payout.company_id)})
    except GatewayError as exc:
        return _record_gateway_failure(session, Payout, payout_id, exc, PayoutStatus.pending,
                                       PayoutStatus.failed)
    mark_payout_paid(session, payout_id, transfer_id)
    session.expire_all()
    return session.get(Payout, payout_id)  # type: ignore[return-value]


def mark_payout_paid(session: Session, payout_id: int, transfer_id: str) -> bool:
    with write_lock(session):
        payout = _locked(session, Payout, payout_id)
        if payout is None or payout.status == PayoutStatus.paid:
            session.rollback()
            return False
        now = utcnow()
        payout.status, payout.paid_at = PayoutStatus.paid.value, now
        payout.provider_transfer_id, payout.last_error = transfer_id, ""
        session.add(payout)
        ledger.post(session, f"payout-{payout.id}", order_id=payout.order_id,
                    currency=payout.currency, kind="payout",
                    legs=[(ledger.factory_payable(payout.company_id), -payout.amount),
                          (ledger.FACTORY_PAID, payout.amount)],
                    memo=f"transfer {transfer_id}")
        audit.record(session, None, "payout.paid", payout, payout.company_id,
                     amount=payout.amount, transfer=transfer_id)
        session.commit()
    return True


def retry_payout(session: Session, actor: User, payout_id: int,
                 config: PaymentSettings | None = None) -> Payout:
    """An operator retries a failed payout (after the factory fixed its account)."""
    if not actor.is_operator:
        raise PermissionDenied(N_("Only platform operators retry payouts."))
    with write_lock(session):
        payout = _locked(session, Payout, payout_id)
        if payout is None:
            raise NotFound(N_("Payout not found."))
        if payout.status == PayoutStatus.failed:
            payout.status = PayoutStatus.pending.value
            session.add(payout)
        session.commit()
    return send_payout(session, payout_id, config)


# --- disputes -----------------------------------------------------------------------------

DISPUTABLE = (OrderStatus.accepted, OrderStatus.scheduled, OrderStatus.in_production,
              OrderStatus.shipped, OrderStatus.delivered)


def open_dispute(session: Session, actor: User, order_id: int, reason: str) -> Dispute:
    """The buyer disputes an order: the escrow stays put until an operator resolves it."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Tell us what went wrong."), {"reason": N_("Required.")})
    with write_lock(session):
        order = _locked(session, Order, order_id)
        if order is None or actor.company_id != order.company_id:
            raise NotFound(N_("Order not found."))
        if order.status not in DISPUTABLE:
            raise Conflict(f"An order that is {order.status} cannot be disputed.")
        payment = session.exec(select(Payment).where(
            Payment.order_id == order_id, Payment.status == PaymentStatus.succeeded.value)
            .order_by(col(Payment.id).desc())).first()
        if payment is None:
            raise Conflict(N_("Nothing of this order is held in escrow; the money has been "
                           "paid out already or was never received. Contact the platform."))
        if _open_dispute(session, order_id) is not None:
            raise Conflict(N_("This order is disputed already."))
        dispute = Dispute(order_id=order_id, payment_id=payment.id, reason=reason[:2000],  # type: ignore[arg-type]
                          previous_order_status=order.status, opened_by_id=actor.id)
        order.status, order.updated_at = OrderStatus.disputed.value, utcnow()
        session.add_all([dispute, order])
        session.flush()
        add_event(session, order, actor, "disputed", dispute_id=dispute.id,
                    reason=reason[:500])
        audit.record(session, actor.id, "order.disputed", order, order.company_id)
        session.commit()
    return dispute


RESOLUTIONS = ("refund_all", "refund_part", "release")


def resolve_dispute(session: Session, actor: User, dispute_id: int, resolution: str,
                    amount: int | None = None, note: str = "",
                    config: PaymentSettings | None = None) -> Dispute:
    """An operator ends a dispute: refund everything, refund part (the rest goes to the
    factories and the platform in proportion), or release everything. The order closes."""
    if not actor.is_operator:
        raise PermissionDenied(N_("Only platform operators resolve disputes."))
    if resolution not in RESOLUTIONS:
        raise ValidationError(N_("Choose refund_all, refund_part or release."),
                              {"resolution": N_("refund_all | refund_part | release")})
    if resolution == "refund_part" and (type(amount) is not int or amount <= 0):
        raise ValidationError(N_("A partial refund needs an amount in minor units."),
                              {"amount": N_("A whole number of minor units, more than zero.")})
    refund_ids: list[int] = []
    with write_lock(session):
        dispute = _locked(session, Dispute, dispute_id)
        if dispute is None:
            raise NotFound(N_("Dispute not found."))
        if dispute.status != DisputeStatus.open:
            raise Conflict(N_("This dispute is resolved already."))
        payment = _locked(session, Payment, dispute.payment_id)
        order = _locked(session, Order, dispute.order_id)
        now = utcnow()
        held = payment.amount - payment.refunded_amount
        if resolution == "refund_part" and amount >= held:  # type: ignore[operator]
            raise ValidationError(N_("A partial refund is less than what is held; use refund_all."),
                                  {"amount": f"1 to {held - 1}"})
        made: list[Payout] = []
        if resolution == "refund_all":
            refund_ids.append(_queue_refund(session, payment, held, "Dispute: refund").id)  # type: ignore[arg-type]
        elif resolution == "refund_part":
            refund_ids.append(_queue_refund(session, payment, amount, "Dispute: part refund").id)  # type: ignore[arg-type]
            made = _release(session, payment, "dispute resolved", now)
        else:
            made = _release(session, payment, "dispute resolved", now)
        dispute.status, dispute.resolution = DisputeStatus.resolved.value, resolution
        dispute.refund_amount = held if resolution == "refund_all" else (
            amount if resolution == "refund_part" else 0)  # type: ignore[assignment]
        dispute.note, dispute.resolved_by_id, dispute.resolved_at = note[:2000], actor.id, now
        order.status, order.updated_at = OrderStatus.closed.value, now
        session.add_all([dispute, order])
        add_event(session, order, actor, "dispute_resolved", dispute_id=dispute.id,
                    resolution=resolution, refund=dispute.refund_amount)
        audit.record(session, actor.id, "dispute.resolved", dispute, order.company_id,
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


# --- time-based work ----------------------------------------------------------------------

def expire_unpaid(session: Session, payment_id: int, now: datetime | None = None) -> bool:
    """A payment not received in time: the quote's booked capacity goes back to the
    factories, the quote expires and the order returns to matching. Money arriving later
    is refunded (apply_success sees the quote is no longer accepted)."""
    from market.deals import service as bookings

    now = now or utcnow()
    with write_lock(session):
        payment = _locked(session, Payment, payment_id)
        if payment is None or payment.status not in LIVE_PAYMENT:
            session.rollback()
            return False
        quote = _locked(session, Quote, payment.quote_id)
        order = _locked(session, Order, payment.order_id)
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
            quote.status, quote.decided_at = QuoteStatus.expired.value, now
            order.status, order.updated_at = OrderStatus.open.value, now
            session.add_all([quote, order])
            add_event(session, order, None, "payment_overdue", payment_id=payment.id,
                        note="The order goes back to matching.")
        audit.record(session, None, "payment.expired", payment, payment.company_id)
        session.commit()
    return True


def _shipped_at(session: Session, order_id: int) -> datetime | None:
    return session.exec(select(OrderEvent.at).where(
        OrderEvent.order_id == order_id, OrderEvent.kind == "shipped")
        .order_by(col(OrderEvent.at).desc())).first()


def housekeeping(session: Session, now: datetime | None = None,
                 config: PaymentSettings | None = None) -> dict[str, int]:
    """Periodic work (market/jobs): release payouts PAYOUT_AFTER_SHIPMENT_DAYS after
    shipment when the buyer neither confirmed nor disputed; give back the capacity of quotes
    not paid within PAYMENT_DUE_HOURS; refund payments of withdrawn quotes; retry pending
    transfers and refunds; ask Stripe about payments whose webhook may have been lost.
    Each step is idempotent, so running it twice is harmless."""
    cfg = _cfg(config)
    now = now or utcnow()
    counts = {"released": 0, "refunded": 0, "payouts_retried": 0, "refunds_retried": 0,
              "synced": 0, "expired": 0}
    if cfg.payout_after_shipment_days > 0:
        due = now - timedelta(days=cfg.payout_after_shipment_days)
        shipped = session.exec(select(Order).join(Payment, col(Payment.order_id) == Order.id)
                               .where(Order.status == OrderStatus.shipped.value,
                                      Payment.status == PaymentStatus.succeeded.value)).all()
        for order in shipped:
            at = _shipped_at(session, order.id)  # type: ignore[arg-type]
            if at is not None and at <= due and release_payouts(
                    session, order, f"{cfg.payout_after_shipment_days} days after shipment",
                    now, cfg):
                counts["released"] += 1
    if cfg.payment_due_hours > 0:
        if cfg.gateway_name == "stripe":
            # a webhook may be late: ask Stripe before giving the capacity away
            for payment_id in session.exec(select(Payment.id).where(
                    Payment.gateway == "stripe", col(Payment.provider_id).is_not(None),
                    col(Payment.status).in_([s.value for s in LIVE_PAYMENT]),
                    col(Payment.created_at) <= now - timedelta(
                        hours=cfg.payment_due_hours))).all():
                try:
                    sync_payment(session, payment_id, cfg)  # type: ignore[arg-type]
                except ServiceError:
                    session.rollback()
        for payment_id in session.exec(select(Payment.id).where(
                col(Payment.status).in_([s.value for s in LIVE_PAYMENT]),
                col(Payment.created_at) <= now - timedelta(hours=cfg.payment_due_hours))).all():
            if expire_unpaid(session, payment_id, now):  # type: ignore[arg-type]
                counts["expired"] += 1
    orphans = session.exec(select(Payment).join(Quote, col(Quote.id) == Payment.quote_id).where(
        Payment.status == PaymentStatus.succeeded.value,
        col(Quote.status).in_([QuoteStatus.withdrawn.value, QuoteStatus.expired.value,
                               QuoteStatus.declined.value]))).all()
    for payment in orphans:
        if refund_remaining(session, payment.id, "The quote was withdrawn.", cfg):  # type: ignore[arg-type]
            counts["refunded"] += 1
    for payout_id in session.exec(select(Payout.id).where(
            Payout.status == PayoutStatus.pending.value)).all():
        send_payout(session, payout_id, cfg)  # type: ignore[arg-type]
        counts["payouts_retried"] += 1
    for refund_id in session.exec(select(Refund.id).where(
            Refund.status == RefundStatus.pending.value)).all():
        execute_refund(session, refund_id, cfg)  # type: ignore[arg-type]
        counts["refunds_retried"] += 1
    stale = session.exec(select(Payment.id).where(
        Payment.gateway == "stripe", col(Payment.status).in_([s.value for s in LIVE_PAYMENT]),
        col(Payment.provider_id).is_not(None),
        col(Payment.updated_at) <= now - timedelta(minutes=10))).all()
    for payment_id in stale:
        try:
            sync_payment(session, payment_id, cfg)  # type: ignore[arg-type]
            counts["synced"] += 1
        except ServiceError:
            session.rollback()
    return counts


# --- payout accounts ----------------------------------------------------------------------

def payout_account(session: Session, company_id: int) -> PayoutAccount | None:
    return session.exec(select(PayoutAccount).where(
        PayoutAccount.company_id == company_id)).first()


def _factory_company(actor: User) -> Company:
    company = actor.company
    if company is None or not company.is_factory:
        raise PermissionDenied(N_("Only factories have payout accounts."))
    return company


def save_bank_details(session: Session, actor: User, bank_name: str, account_holder: str,
                      account_number: str) -> PayoutAccount:
    company = _factory_company(actor)
    fields = {}
    bank_name, account_holder = (bank_name or "").strip(), (account_holder or "").strip()
    number = "".join((account_number or "").split())
    if not bank_name:
        fields["bank_name"] = "Required."
    if not account_holder:
        fields["account_holder"] = "Required."
    if not (number.isalnum() and 6 <= len(number) <= 34):
        fields["account_number"] = "6 to 34 letters or digits."
    if fields:
        raise ValidationError(N_("Please correct the bank details."), fields)
    with write_lock(session):
        account = payout_account(session, company.id) or PayoutAccount(company_id=company.id)  # type: ignore[arg-type]
        account.bank_name, account.account_holder = bank_name[:200], account_holder[:200]
        account.account_number, account.updated_at = number, utcnow()
        session.add(account)
        audit.record(session, actor.id, "payout_account.bank_details", account, company.id)
        session.commit()
    # A payout waiting for these details goes out now.
    for payout_id in session.exec(select(Payout.id).where(
            Payout.company_id == company.id, Payout.status == PayoutStatus.pending.value,
            Payout.gateway == "manual")).all():
        send_payout(session, payout_id)  # type: ignore[arg-type]
    return account


def stripe_onboarding_link(session: Session, actor: User, refresh_url: str, return_url: str,
                           config: PaymentSettings | None = None) -> str:
    """A Stripe Connect onboarding link for the actor's factory (its Express account is
    created once, with an idempotency key from the company id)."""
    cfg = _cfg(config)
    company = _factory_company(actor)
    if cfg.gateway_name != "stripe":
        raise Conflict(N_("Stripe is not configured; enter bank details instead."))
    gateway = gateways.gateway("stripe", cfg)
    account = payout_account(session, company.id)  # type: ignore[arg-type]
    try:
        if account is None or not account.stripe_account_id:
            account_id = gateway.create_account(
                email=actor.email, country=company.country or "CN",
                idempotency_key=f"account-{company.id}",
                metadata={"company_id": str(company.id)})
            with write_lock(session):
                account = payout_account(session, company.id) or PayoutAccount(  # type: ignore[arg-type]
                    company_id=company.id)  # type: ignore[arg-type]
                account.stripe_account_id, account.updated_at = account_id, utcnow()
                company.payout_account_id = account_id
                session.add_all([account, company])
                audit.record(session, actor.id, "payout_account.stripe", account, company.id)
                session.commit()
        return gateway.account_link(account.stripe_account_id, refresh_url, return_url)  # type: ignore[arg-type]
    except GatewayError as exc:
        if exc.transient:
            raise PaymentProviderUnavailable(
                N_("Stripe did not answer; please try again.")) from None
        raise Conflict(exc.message) from None


def refresh_stripe_account(session: Session, account_id: str,
                           config: PaymentSettings | None = None) -> PayoutAccount | None:
    account = session.exec(select(PayoutAccount).where(
        PayoutAccount.stripe_account_id == account_id)).first()
    if account is None:
        return None
    state = gateways.gateway("stripe", _cfg(config)).account_state(account_id)
    if account.stripe_ready != state.ready:
        account.stripe_ready = state.ready
    account.stripe_checked_at = utcnow()
    session.add(account)
    session.commit()
    return account


# --- webhooks -----------------------------------------------------------------------------

def handle_webhook(session: Session, payload: bytes, signature: str | None,
                   config: PaymentSettings | None = None) -> WebhookEvent:
    """Verify Stripe's signature on the raw body, store the event id once, apply it once.
    Payment and account events are applied by asking Stripe for the object's current state,
    so the order in which events arrive does not matter."""
    cfg = _cfg(config)
    if not cfg.stripe_webhook_secret:
        raise BadWebhook(N_("Stripe webhooks are not configured here."))
    import stripe

    from market.payments.gateways.stripe_gateway import construct_event

    try:
        event = construct_event(payload, signature or "", cfg.stripe_webhook_secret)
    except (ValueError, stripe.SignatureVerificationError):
        raise BadWebhook(N_("The Stripe signature does not match this body.")) from None
    event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id or not kind:
        raise BadWebhook(N_("An event needs an id and a type."))
    with write_lock(session):
        row = session.exec(select(WebhookEvent).where(WebhookEvent.event_id == event_id)
                           .with_for_update()).first()
        if row is None:
            row = WebhookEvent(event_id=event_id, type=kind[:120], created=event.get("created"),
                               payload=event, deliveries=0)
        row.deliveries += 1
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # the same event delivered twice at once: the other one won
            session.rollback()
            row = session.exec(select(WebhookEvent).where(
                WebhookEvent.event_id == event_id)).one()
    if row.processed_at is not None:
        return row
    try:
        result = _apply_event(session, kind, event.get("data", {}).get("object") or {}, cfg)
    except (GatewayUnavailable, PaymentProviderUnavailable):
        session.rollback()
        raise PaymentProviderUnavailable(
            N_("Stripe did not answer while applying this event; deliver it again.")) from None
    except (ServiceError, GatewayError) as exc:
        # Permanent (Stripe refused the lookup, say): stored with the reason for an
        # operator; redelivering would only fail the same way.
        session.rollback()
        result = f"error: {exc.message}"
    with write_lock(session):
        row = _locked(session, WebhookEvent, row.id)  # type: ignore[arg-type]
        if row.processed_at is None:
            row.processed_at, row.result = utcnow(), result[:300]
            session.add(row)
        session.commit()
    return row


def _meta_id(obj: dict, key: str) -> int | None:
    value = (obj.get("metadata") or {}).get(key)
    return int(value) if value is not None and str(value).isdigit() else None


def _apply_event(session: Session, kind: str, obj: dict, cfg: PaymentSettings) -> str:
    if kind.startswith("payment_intent."):
        payment = session.exec(select(Payment).where(
            Payment.provider_id == obj.get("id"))).first()
        if payment is None and (pid := _meta_id(obj, "payment_id")) is not None:
            payment = session.get(Payment, pid)
            # Our create call timed out after Stripe made the intent: adopt it.
            if payment is not None and payment.provider_id is None and obj.get("id"):
                payment.provider_id = str(obj["id"])
                payment.client_secret = obj.get("client_secret") or ""
                session.add(payment)
                session.commit()
        if payment is None or payment.provider_id != obj.get("id"):
            return "ignored: no payment of ours"
        sync_payment(session, payment.id, cfg)  # type: ignore[arg-type]
        return f"payment {payment.id} synced"
    if kind in ("transfer.created", "transfer.updated"):
        payout = session.exec(select(Payout).where(
            Payout.provider_transfer_id == obj.get("id"))).first()
        if payout is None and (pid := _meta_id(obj, "payout_id")) is not None:
            payout = session.get(Payout, pid)
        if payout is None:
            return "ignored: no payout of ours"
        if payout.status in (PayoutStatus.pending, PayoutStatus.failed):
            if int(obj.get("amount") or 0) != payout.amount:
                return f"payout {payout.id}: amount differs, left for an operator"
            mark_payout_paid(session, payout.id, str(obj["id"]))  # type: ignore[arg-type]
        return f"payout {payout.id} paid"
    if kind in ("refund.created", "refund.updated", "charge.refund.updated"):
        refund = session.exec(select(Refund).where(
            Refund.provider_refund_id == obj.get("id"))).first()
        if refund is None and (rid := _meta_id(obj, "refund_id")) is not None:
            refund = session.get(Refund, rid)
        if refund is None:
            return "ignored: no refund of ours"
        if refund.status == RefundStatus.pending and obj.get("status") in ("succeeded",
                                                                          "pending"):
            mark_refund_succeeded(session, refund.id, str(obj["id"]))  # type: ignore[arg-type]
        return f"refund {refund.id}"
    if kind == "account.updated":
        account = refresh_stripe_account(session, str(obj.get("id") or ""), cfg)
        return "account updated" if account else "ignored: no account of ours"
    return "ignored: event type not used"


# --- reading ------------------------------------------------------------------------------

def payouts_for(session: Session, actor: User, page: int = 1,
                per_page: int = 200) -> list[Payout]:
    query = select(Payout)
    if not actor.is_operator:
        if actor.company is None or not actor.company.is_factory:
            return []
        query = query.where(Payout.company_id == actor.company_id)
    return list(session.exec(query.order_by(col(Payout.id).desc())
                             .offset((page - 1) * per_page).limit(per_page)))


def count_payouts(session: Session, actor: User) -> int:
    query = select(func.count()).select_from(Payout)
    if not actor.is_operator:
        if actor.company is None or not actor.company.is_factory:
            return 0
        query = query.where(Payout.company_id == actor.company_id)
    return int(session.exec(query).one())


def receipts_for(session: Session, actor: User) -> list[tuple[Payment, list[Refund]]]:
    query = select(Payment).where(col(Payment.status) != PaymentStatus.pending.value)
    if not actor.is_operator:
        query = query.where(Payment.company_id == actor.company_id)
    out = []
    for payment in session.exec(query.order_by(col(Payment.id).desc())).all():
        refunds = list(session.exec(select(Refund).where(Refund.payment_id == payment.id)))
        out.append((payment, refunds))
    return out


def pending_manual(session: Session) -> list[Payment]:
    return list(session.exec(select(Payment).where(
        Payment.gateway == "manual", col(Payment.status).in_([s.value for s in LIVE_PAYMENT]))
        .order_by(col(Payment.id))))


def get_payment(session: Session, actor: User, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or not (actor.is_operator or actor.company_id == payment.company_id):
        raise NotFound(N_("Payment not found."))
    return payment


# --- receivers of the other domains' events (core/events.py) -------------------------------

def _on_quote_accepted(session: Session, quote: Quote, order: Order, actor: User | None,
                       now: datetime) -> None:
    open_payment(session, quote, order, actor, now)


def _on_order_cancelled(session: Session, order: Order) -> None:
    if session.exec(select(Payment.id).where(Payment.order_id == order.id)).first() is not None:
        on_order_cancelled(session, order)


def _on_quote_withdrawn(session: Session, quote_id: int) -> None:
    quote = session.get(Quote, quote_id)
    if quote is not None and quote.status == QuoteStatus.withdrawn:
        on_quote_withdrawn(session, quote)


def _on_delivery_confirmed(session: Session, order: Order,
                           payments_config: PaymentSettings | None = None) -> None:
    on_delivery_confirmed(session, order, payments_config)


def connect_receivers() -> None:
    events.quote_accepted.connect(_on_quote_accepted)
    events.order_cancelled.connect(_on_order_cancelled)
    events.quote_withdrawn.connect(_on_quote_withdrawn)
    events.delivery_confirmed.connect(_on_delivery_confirmed)
