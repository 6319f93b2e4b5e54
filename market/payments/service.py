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
   transfer group (idempotency key `payout-<payment id>-<company id>`). With the manual
   gateway the transfer is a bank transfer the finance staff make: the payout stays due
   until an operator marks it sent (`bank_transfers`), and so does a refund.
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

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core import events
from market.core.errors import (
    N_,
    Conflict,
    NotFound,
    ServiceError,
)
from market.core.models import utcnow
from market.deals.models import Quote, QuoteStatus
from market.orders.models import Order, OrderEvent, OrderStatus
from market.payments import changes
from market.payments.charges import expire_unpaid, open_payment, sync_payment
from market.payments.common import LIVE_PAYMENT, config_or_default
from market.payments.gateways import ManualGateway, PaymentSettings
from market.payments.models import (
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
)
from market.payments.payouts import on_delivery_confirmed, release_payouts, send_payout
from market.payments.refunds import (
    execute_refund,
    on_order_cancelled,
    on_quote_withdrawn,
    refund_remaining,
)

# --- time-based work (the housekeeping step) -----------------------------------------------


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
    cfg = config_or_default(config)
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
    # bank transfers (the manual gateway) wait for an operator, not for a retry
    for payout_id in session.exec(select(Payout.id).where(
            Payout.status == PayoutStatus.pending.value,
            Payout.gateway != ManualGateway.name)).all():
        send_payout(session, payout_id, cfg)  # type: ignore[arg-type]
        counts["payouts_retried"] += 1
    for refund_id in session.exec(
            select(Refund.id).join(Payment, col(Payment.id) == col(Refund.payment_id))
            .where(Refund.status == RefundStatus.pending.value,
                   Payment.gateway != ManualGateway.name)).all():
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


# --- reading ------------------------------------------------------------------------------


def receipts_for(session: Session, actor: User) -> list[tuple[Payment, list[Refund]]]:
    query = select(Payment).where(col(Payment.status) != PaymentStatus.pending.value)
    if not actor.is_operator:
        query = query.where(Payment.buyer_company_id == actor.company_id)
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
    if payment is None or not (actor.is_operator or actor.company_id == payment.buyer_company_id):
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


def _money_due(session: Session, order: Order) -> bool:
    return session.exec(select(Payment.id).join(Quote, col(Quote.id) == Payment.quote_id).where(
        Payment.order_id == order.id, Quote.status == QuoteStatus.accepted.value,
        col(Payment.status).in_([s.value for s in LIVE_PAYMENT]))).first() is not None


def _refuse_shipping_unpaid(session: Session, order: Order, booking: object) -> None:
    """Receiver of events.shipping: an order whose accepted change's difference is not paid
    yet does not ship (the escrow would not cover the factories)."""
    if _money_due(session, order):
        raise Conflict(N_("The buyer has not paid the difference of the accepted change yet; "
                          "the order ships once it is in escrow."))


def connect_receivers() -> None:
    events.money_due.connect(_money_due)
    events.shipping.connect(_refuse_shipping_unpaid)
    events.change_accepting.connect(changes.on_change_accepting)
    events.change_accepted.connect(changes.on_change_accepted)
    events.quote_accepted.connect(_on_quote_accepted)
    events.order_cancelled.connect(_on_order_cancelled)
    events.quote_withdrawn.connect(_on_quote_withdrawn)
    events.delivery_confirmed.connect(_on_delivery_confirmed)
