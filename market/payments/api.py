"""Payments: the buyer's escrow payment, operators' confirmation of bank transfers and the
ledger, factories' payouts, disputes, and Stripe's webhook."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from sqlmodel import col, select

from market.core import events
from market.core.api import ApiError, Page, current_api_user, pagination, route
from market.core.extensions import db
from market.orders import service as orders
from market.orders.models import Order
from market.payments import bank_transfers, charges, common, disputes, ledger, payouts, webhooks
from market.payments import service as svc
from market.payments.gateways import PaymentSettings
from market.payments.models import Dispute, Payment, Payout
from market.payments.schemas import (
    DisputeIn,
    DisputeOut,
    LedgerOut,
    MarkReceivedIn,
    MarkSentIn,
    PaymentOut,
    PayoutOut,
    RefundOut,
    ResolveIn,
    WebhookOut,
)


def _settings() -> PaymentSettings:
    return PaymentSettings.from_config(current_app.config)


def payment_out(payment: Payment, cfg: PaymentSettings | None = None) -> dict[str, Any]:
    """The client secret completes a card payment, so only the paying company sees it."""
    cfg = cfg or _settings()
    payer = current_api_user().company_id == payment.buyer_company_id
    body: dict[str, Any] = {
        "id": payment.id, "order_id": payment.order_id, "quote_id": payment.quote_id,
        "amount": payment.amount, "platform_fee": payment.platform_fee,
        "currency": payment.currency, "gateway": payment.gateway, "status": payment.status,
        "refunded_amount": payment.refunded_amount, "reference": payment.reference,
        "last_error": payment.last_error, "created_at": payment.created_at,
        "succeeded_at": payment.succeeded_at,
    }
    if payer and payment.gateway == "stripe" and payment.status in common.LIVE_PAYMENT:
        body["client_secret"] = payment.client_secret or None
        body["publishable_key"] = cfg.stripe_publishable_key or None
    if payment.gateway == "manual":
        body["instructions"] = {
            "bank_name": cfg.bank_name, "account_holder": cfg.bank_holder,
            "account_number": cfg.bank_account, "reference": payment.reference,
            "amount": payment.amount, "currency": payment.currency}
    return PaymentOut.model_validate(body).model_dump(mode="json")


def payout_out(payout: Payout) -> dict[str, Any]:
    return PayoutOut.model_validate(payout, from_attributes=True).model_dump(mode="json")


def dispute_out(dispute: Dispute) -> dict[str, Any]:
    return DisputeOut.model_validate(dispute, from_attributes=True).model_dump(mode="json")


@route("POST", "/orders/<int:order_id>/payment",
       summary="What the buyer needs to pay: a Stripe client secret, or bank-transfer "
               "instructions with the manual gateway (safe to repeat)",
       response=PaymentOut, tag="payments")
def start_payment(order_id: int) -> dict[str, Any]:
    cfg = _settings()
    return payment_out(charges.start_payment(db.session, current_api_user(), order_id, cfg), cfg)


@route("POST", "/payments/<int:payment_id>/mark-received",
       summary="A bank transfer arrived (operators, manual gateway)", body=MarkReceivedIn,
       response=PaymentOut, auth="operator", tag="payments")
def mark_received(payment_id: int, data: MarkReceivedIn) -> dict[str, Any]:
    cfg = _settings()
    return payment_out(charges.mark_received(db.session, current_api_user(), payment_id,
                                         data.amount, data.note, cfg), cfg)


@route("GET", "/payments/<int:payment_id>", summary="A payment (its buyer or operators)",
       response=PaymentOut, tag="payments")
def get_payment(payment_id: int) -> dict[str, Any]:
    return payment_out(svc.get_payment(db.session, current_api_user(), payment_id))


@route("GET", "/payouts", summary="My factory's payouts, newest first (operators: all)",
       response=PayoutOut, tag="payments", paginated=True)
def list_payouts() -> Page:
    page, per_page = pagination()
    user = current_api_user()
    rows = payouts.payouts_for(db.session, user, page, per_page)
    return Page([payout_out(p) for p in rows], page, per_page,
                     payouts.count_payouts(db.session, user))


@route("POST", "/payouts/<int:payout_id>/mark-paid",
       summary="The bank transfer to the factory went out (operators, manual gateway): the "
               "payout is paid and the ledger moves it to what was paid to factories",
       body=MarkSentIn, response=PayoutOut, auth="operator", tag="payments")
def mark_payout_paid(payout_id: int, data: MarkSentIn) -> dict[str, Any]:
    return payout_out(bank_transfers.confirm_payout_sent(db.session, current_api_user(),
                                                         payout_id, data.reference))


@route("POST", "/refunds/<int:refund_id>/mark-sent",
       summary="The bank transfer back to the buyer went out (operators, manual gateway): "
               "the refund succeeded and the ledger moves it from escrow to refunds",
       body=MarkSentIn, response=RefundOut, auth="operator", tag="payments")
def mark_refund_sent(refund_id: int, data: MarkSentIn) -> dict[str, Any]:
    refund = bank_transfers.confirm_refund_sent(db.session, current_api_user(), refund_id,
                                                data.reference)
    return RefundOut.model_validate(refund, from_attributes=True).model_dump(mode="json")


@route("GET", "/ledger", summary="Ledger balances and entries, overall or for one order",
       response=LedgerOut, auth="operator", tag="payments",
       query={"order_id": "only this order's entries"})
def get_ledger() -> dict[str, Any]:
    raw = request.args.get("order_id")
    order_id = None
    if raw not in (None, ""):
        if not raw.isdigit():
            raise ApiError(400, "bad_request", "order_id must be a whole number.",
                           {"order_id": "A whole number."})
        order_id = int(raw)
    entries = ledger.entries(db.session, order_id)
    return LedgerOut.model_validate({
        "order_id": order_id, "balanced": ledger.is_balanced(db.session, order_id),
        "balances": ledger.balances(db.session, order_id),
        "entries": [e.model_dump() for e in entries],
    }).model_dump(mode="json")


@route("POST", "/orders/<int:order_id>/dispute",
       summary="The buyer disputes an order: its payouts are held until an operator resolves "
               "it", body=DisputeIn, response=DisputeOut, status=201, tag="payments")
def open_dispute(order_id: int, data: DisputeIn) -> dict[str, Any]:
    return dispute_out(disputes.open_dispute(db.session, current_api_user(), order_id, data.reason))


@route("POST", "/disputes/<int:dispute_id>/resolve",
       summary="Resolve a dispute: refund_all, refund_part (amount), release, or remake "
               "(from_seq) (operators)",
       body=ResolveIn, response=DisputeOut, auth="operator", tag="payments")
def resolve_dispute(dispute_id: int, data: ResolveIn) -> dict[str, Any]:
    return dispute_out(disputes.resolve_dispute(db.session, current_api_user(), dispute_id,
                                           data.resolution, data.amount, data.note,
                                           _settings(), from_seq=data.from_seq))


@route("POST", "/webhooks/stripe",
       summary="Stripe events (signature checked on the raw body; each event applied once)",
       response=WebhookOut, auth="none", tag="payments")
def stripe_webhook() -> dict[str, Any]:
    # The raw bytes, exactly as sent: the signature covers them, not a re-serialised JSON.
    payload = request.get_data(cache=False, as_text=False)
    event = webhooks.handle_webhook(db.session, payload, request.headers.get("Stripe-Signature"),
                               _settings())
    return {"received": True, "event_id": event.event_id, "type": event.type,
            "result": event.result}


def _order_api(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_api: the order's payments, for its buyer and operators."""
    if not orders.sees_commercials(viewer, order):
        return {}
    return {"payments": [
        {"id": p.id, "status": p.status, "amount": p.amount, "currency": p.currency,
         "gateway": p.gateway}
        for p in session.exec(select(Payment).where(Payment.order_id == order.id)
                              .order_by(col(Payment.id)))]}


events.order_api.connect(_order_api)
