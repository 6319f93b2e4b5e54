"""Stripe webhooks in: the signature checked, each event applied once."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from market.core.db import write_lock
from market.core.errors import (
    N_,
    ServiceError,
)
from market.core.models import utcnow
from market.payments.charges import sync_payment
from market.payments.common import BadWebhook, PaymentProviderUnavailable, config_or_default, locked
from market.payments.gateways import GatewayError, GatewayUnavailable, PaymentSettings
from market.payments.models import (
    Payment,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from market.payments.payouts import mark_payout_paid, refresh_stripe_account
from market.payments.refunds import mark_refund_succeeded


def handle_webhook(session: Session, payload: bytes, signature: str | None,
                   config: PaymentSettings | None = None) -> WebhookEvent:
    """Verify Stripe's signature on the raw body, store the event id once, apply it once.
    Payment and account events are applied by asking Stripe for the object's current state,
    so the order in which events arrive does not matter."""
    cfg = config_or_default(config)
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
        row = locked(session, WebhookEvent, row.id)  # type: ignore[arg-type]
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
