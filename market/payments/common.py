"""What the payments modules share: provider errors, payment states, settings, row locks."""

from __future__ import annotations

from enum import Enum

from sqlmodel import Session

from market.core.db import write_lock
from market.core.errors import N_, ServiceError, Unavailable, ValidationError
from market.payments import gateways
from market.payments.gateways import GatewayError, PaymentSettings
from market.payments.models import PaymentStatus


class PaymentProviderUnavailable(Unavailable):
    """Stripe timed out or failed; what we know is stored and a retry completes it."""

    code = "payment_provider_unavailable"


class BadWebhook(ServiceError):
    code = "bad_request"
    status = 400


LIVE_PAYMENT = (PaymentStatus.pending, PaymentStatus.failed)


HELD_IN_ESCROW = (PaymentStatus.succeeded,)


def config_or_default(config: PaymentSettings | None) -> PaymentSettings:
    return config or gateways.settings()


def transfer_group(order_id: int) -> str:
    return f"order-{order_id}"


def check_currency(currency: str, config: PaymentSettings | None = None) -> None:
    cfg = config_or_default(config)
    if currency.upper() not in cfg.supported_currencies:
        allowed = ", ".join(cfg.supported_currencies)
        raise ValidationError(
            "Payments in %(currency)s are not supported; this marketplace takes %(allowed)s.",
            {"currency": N_("Not a supported currency.")},
            {"currency": currency, "allowed": allowed})


def locked(session: Session, model: type, ident: int):  # type: ignore[no-untyped-def]
    return session.get(model, ident, with_for_update=True, populate_existing=True)


def record_gateway_failure(session: Session, model: type, ident: int, exc: GatewayError,
                            pending: Enum, failed: Enum):  # type: ignore[no-untyped-def]
    """Keep the provider's message on a refund or payout; a permanent failure ends a pending
    row, a transient one leaves it pending for the retry."""
    with write_lock(session):
        row = locked(session, model, ident)
        row.last_error = exc.message[:1000]
        if not exc.transient and row.status == pending:
            row.status = failed.value
        session.add(row)
        session.commit()
    return row


def note_error(session: Session, model: type, ident: int, message: str) -> None:
    session.rollback()
    row = session.get(model, ident)
    if row is not None:
        row.last_error = message[:1000]
        session.add(row)
        session.commit()
