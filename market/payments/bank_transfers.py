"""Money out with the manual gateway: the bank transfers the platform's finance staff make
(payouts to the factories' bank details, refunds back to the account a buyer paid from), and
an operator's confirmation of each, as for money in (`charges.mark_received`).

A payout or refund of the manual gateway stays pending until then; the confirmation pays
it once under its row lock and posts the ledger entry (owed to the factory -> paid to
factories, escrow -> refunds) at that moment, not when the transfer was asked for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core.db import write_lock
from market.core.errors import N_, Conflict, NotFound, PermissionDenied
from market.payments import gateways
from market.payments.common import locked
from market.payments.models import (
    Payment,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
)
from market.payments.payouts import record_paid, send_payout
from market.payments.refunds import record_sent

REFERENCE_LENGTH = 100  # the bank's own reference of the transfer, as the operator types it


@dataclass
class TransfersOut:
    """What the finance staff still have to send, oldest first."""

    payouts: list[Payout]
    refunds: list[tuple[Refund, Payment]]


def _operator(actor: User) -> None:
    if not actor.is_operator:
        raise PermissionDenied(N_("Only platform operators confirm bank transfers."))


def transfers_to_make(session: Session) -> TransfersOut:
    payouts = list(session.exec(select(Payout).where(
        Payout.gateway == gateways.ManualGateway.name,
        Payout.status == PayoutStatus.pending.value).order_by(col(Payout.id))))
    refunds = list(session.exec(
        select(Refund, Payment).join(Payment, col(Payment.id) == col(Refund.payment_id))
        .where(Payment.gateway == gateways.ManualGateway.name,
               Refund.status == RefundStatus.pending.value).order_by(col(Refund.id))).all())
    return TransfersOut(payouts, [(r, p) for r, p in refunds])


def confirm_payout_sent(session: Session, actor: User, payout_id: int,
                        reference: str = "") -> Payout:
    """An operator says the bank transfer to the factory went out: the payout is paid."""
    _operator(actor)
    payout = session.get(Payout, payout_id)
    if payout is None:
        raise NotFound(N_("Payout not found."))
    if not gateways.confirmed_by_hand(payout.gateway):
        raise Conflict(N_("Stripe makes this transfer; it is not confirmed by hand."))
    if payout.status == PayoutStatus.pending and not payout.destination:
        # bank details entered since the release are picked up here
        send_payout(session, payout_id)
        session.expire_all()
        payout = session.get(Payout, payout_id)
    with write_lock(session):
        payout = locked(session, Payout, payout_id)
        if payout.status != PayoutStatus.pending:  # type: ignore[union-attr]
            session.rollback()
            raise Conflict(N_("This payout is not waiting for a bank transfer."))
        if not payout.destination:  # type: ignore[union-attr]
            session.rollback()
            raise Conflict(N_("The factory has not entered its bank details yet."))
        # our own id names the transfer (unique by construction); the bank's reference, as
        # typed, goes with it into the ledger memo and the audit trail
        record_paid(session, payout, f"bank-{payout.idempotency_key}", actor.id,  # type: ignore[arg-type, union-attr]
                    reference.strip()[:REFERENCE_LENGTH])
        session.commit()
    session.expire_all()
    return session.get(Payout, payout_id)  # type: ignore[return-value]


def confirm_refund_sent(session: Session, actor: User, refund_id: int,
                        reference: str = "") -> Refund:
    """An operator says the money went back to the buyer's account: the refund succeeded."""
    _operator(actor)
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(N_("Refund not found."))
    payment = session.get(Payment, refund.payment_id)
    if payment is None or not gateways.confirmed_by_hand(payment.gateway):
        raise Conflict(N_("Stripe makes this refund; it is not confirmed by hand."))
    with write_lock(session):
        refund = locked(session, Refund, refund_id)
        if refund.status != RefundStatus.pending:  # type: ignore[union-attr]
            session.rollback()
            raise Conflict(N_("This refund is not waiting for a bank transfer."))
        record_sent(session, refund, f"bank-{refund.idempotency_key}", actor,  # type: ignore[arg-type, union-attr]
                    reference.strip()[:REFERENCE_LENGTH])
        session.commit()
    session.expire_all()
    return session.get(Refund, refund_id)  # type: ignore[return-value]
