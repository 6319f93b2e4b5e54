"""Payouts: each factory's share of an order released from escrow, sent through the provider,
retried; the factories' payout accounts (bank details or Stripe Connect)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, col, func, select

from market.accounts.models import Company, User
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
from market.deals.models import Booking, BookingStatus, Quote, QuoteStatus
from market.orders.models import Order, OrderStatus
from market.orders.service import add_event
from market.payments import gateways, ledger
from market.payments.changes import change_refunded
from market.payments.common import (
    PaymentProviderUnavailable,
    config_or_default,
    locked,
    record_gateway_failure,
    transfer_group,
)
from market.payments.gateways import GatewayError, PaymentSettings
from market.payments.models import (
    Dispute,
    DisputeStatus,
    Payment,
    PaymentStatus,
    Payout,
    PayoutAccount,
    PayoutStatus,
)


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


def _factory_legs(session: Session, payment: Payment, quote_id: int | None = None
                  ) -> dict[int, tuple[int, list[int]]]:
    legs: dict[int, tuple[int, list[int]]] = {}
    rows = session.exec(select(Booking).where(
        Booking.quote_id == (quote_id or payment.quote_id),
        col(Booking.status).notin_([BookingStatus.declined.value,
                                    BookingStatus.cancelled.value,
                                    BookingStatus.replaced.value]))
        .order_by(col(Booking.id))).all()
    acc: dict[int, list[Booking]] = defaultdict(list)
    for b in rows:
        acc[b.factory_company_id].append(b)
    for company_id, bs in acc.items():
        legs[company_id] = (sum(int(b.amount) for b in bs), [b.id for b in bs])  # type: ignore[misc]
    return legs


def _weights(legs: dict[int, tuple[int, list[int]]], base: int, fee: int) -> dict[str, int]:
    gross_total = sum(g for g, _ids in legs.values())
    if gross_total > base:
        raise Conflict(N_("The bookings add up to more than was paid; an operator must look."))
    weights = {f"f{c}": g for c, (g, _ids) in legs.items()}
    weights["fee"] = min(base - gross_total, max(0, fee))
    weights["freight"] = base - gross_total - weights["fee"]
    return weights


def payment_shares(session: Session, payment: Payment
                   ) -> tuple[dict[int, tuple[int, list[int]]], dict[str, int], int]:
    """What of this payment goes to whom before any dispute refund: the factories' legs
    (company -> (its share of the payment, its booking ids)), the weights of the split
    (`f<company>`, `fee`, `freight`, summing to the payment's base) and the base (the amount
    less what accepted changes gave back).

    One payment per order (the usual case): its quote's bookings, its fee. After accepted
    change requests the order's escrow is several payments (the first quote's, then each
    higher price's difference) and the bookings belong to the quote in force: every share
    of that quote (each factory's bookings, the fee, the freight) is split over the payments
    in proportion to their bases, in payment order, by the largest remainder, so each
    payment's shares sum to its base and each factory's shares to its bookings."""
    base = payment.amount - change_refunded(session, payment)
    chain = _payment_chain(session, payment)
    quote = session.get(Quote, payment.quote_id)
    if payment.id not in {p.id for p in chain} or (
            len(chain) == 1 and quote is not None and quote.status == QuoteStatus.accepted):
        legs = _factory_legs(session, payment)
        return legs, _weights(legs, base, payment.platform_fee), base
    current = session.exec(select(Quote).where(
        Quote.order_id == payment.order_id, Quote.status == QuoteStatus.accepted.value)
        .order_by(col(Quote.id).desc())).first()
    legs = _factory_legs(session, payment, current.id if current else payment.quote_id)
    bases = [(p.id, p.amount - change_refunded(session, p)) for p in chain]
    remaining = _weights(legs, sum(b for _i, b in bases),
                         int(current.platform_fee) if current else payment.platform_fee)
    mine = remaining
    for n, (payment_id, part) in enumerate(bases):
        share = remaining if n == len(bases) - 1 else allocate(part, remaining)
        if payment_id == payment.id:
            mine = share
            break
        remaining = {k: remaining[k] - share[k] for k in remaining}
    return ({c: (mine[f"f{c}"], ids) for c, (_g, ids) in legs.items()}, mine, base)


def _payment_chain(session: Session, payment: Payment) -> list[Payment]:
    """The order's payments that pay for the quote in force: those of accepted or
    superseded quotes (a withdrawn quote's payment is refunded, never paid out)."""
    return list(session.exec(
        select(Payment).join(Quote, col(Quote.id) == Payment.quote_id)
        .where(Payment.order_id == payment.order_id,
               col(Payment.status).in_([PaymentStatus.succeeded.value,
                                        PaymentStatus.settled.value]),
               col(Quote.status).in_([QuoteStatus.accepted.value,
                                      QuoteStatus.superseded.value]))
        .order_by(col(Payment.id))))


def release_escrow(session: Session, payment: Payment, reason: str, now: datetime) -> list[Payout]:
    """Split what is left in escrow (the caller holds the payment's lock and commits)."""
    legs, weights, base = payment_shares(session, payment)
    refund_shares = allocate(payment.refunded_amount - (payment.amount - base), weights)
    held = payment.amount - payment.refunded_amount
    made: list[Payout] = []
    legs_out = [(account, weights[key] - refund_shares[key])
                for account, key in ((ledger.PLATFORM_FEE, "fee"), (ledger.FREIGHT, "freight"))
                if weights[key] - refund_shares[key]]
    for company_id, (gross, ids) in sorted(legs.items()):
        share = refund_shares[f"f{company_id}"]
        payout = Payout(order_id=payment.order_id, payment_id=payment.id,  # type: ignore[arg-type]
                        factory_company_id=company_id, booking_ids=ids, gross=gross, fee=0,
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
                reason=reason, payouts=[{"company_id": p.factory_company_id, "amount": p.amount}
                                        for p in made])
    return made


def held_payments(session: Session, order_id: int) -> list[Payment]:
    """The order's payments in escrow for the quote in force (one, or after accepted
    changes the first and each difference), oldest first; else the latest held one."""
    rows = list(session.exec(
        select(Payment).join(Quote, col(Quote.id) == Payment.quote_id)
        .where(Payment.order_id == order_id, Payment.status == PaymentStatus.succeeded.value,
               col(Quote.status).in_([QuoteStatus.accepted.value,
                                      QuoteStatus.superseded.value]))
        .order_by(col(Payment.id))))
    if rows:
        return rows
    latest = session.exec(select(Payment).where(
        Payment.order_id == order_id, Payment.status == PaymentStatus.succeeded.value)
        .order_by(col(Payment.id).desc())).first()
    return [latest] if latest else []


def current_dispute(session: Session, order_id: int) -> Dispute | None:
    return session.exec(select(Dispute).where(
        Dispute.order_id == order_id, Dispute.status == DisputeStatus.open.value)).first()


def release_payouts(session: Session, order: Order, reason: str = "delivered",
                    now: datetime | None = None,
                    config: PaymentSettings | None = None) -> list[Payout]:
    """Release the escrow of an order's paid quote to its factories (once) and send the
    transfers. Nothing happens while a dispute is open."""
    now = now or utcnow()
    with write_lock(session):
        held = held_payments(session, order.id)  # type: ignore[arg-type]
        if not held or current_dispute(session, order.id) is not None:  # type: ignore[arg-type]
            session.rollback()
            return []
        made = []
        for payment in held:  # after an accepted change: the first and the difference
            payment = locked(session, Payment, payment.id)  # type: ignore[arg-type]
            if payment.status == PaymentStatus.succeeded:
                made += release_escrow(session, payment, reason, now)
        if not made:
            session.rollback()
            return []
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
        raise Conflict("The order is %(status)s; payouts wait for delivery.",
                       params={"status": order.status})
    return release_payouts(session, order, "delivered", config=config)


def _destination(session: Session, payout: Payout, cfg: PaymentSettings) -> str:
    account = session.exec(select(PayoutAccount).where(
        PayoutAccount.company_id == payout.factory_company_id)).first()
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
    cfg = config_or_default(config)
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
    if gateways.confirmed_by_hand(payout.gateway):
        # a bank transfer the finance staff make: it stays due, with where it goes, until an
        # operator marks it sent (payments.bank_transfers); nothing is paid before that
        if (payout.destination, payout.last_error) != (destination[:255], ""):
            payout.destination, payout.last_error = destination[:255], ""
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
                      "company_id": str(payout.factory_company_id)})
    except GatewayError as exc:
        return record_gateway_failure(session, Payout, payout_id, exc, PayoutStatus.pending,
                                       PayoutStatus.failed)
    mark_payout_paid(session, payout_id, transfer_id)
    session.expire_all()
    return session.get(Payout, payout_id)  # type: ignore[return-value]


def record_paid(session: Session, payout: Payout, transfer_id: str,
                actor_id: int | None = None, reference: str = "") -> None:
    """The money reached the factory: the payout is paid and the ledger moves it from what
    is owed to the factory to what was paid (the caller holds the payout's lock, commits)."""
    payout.status, payout.paid_at = PayoutStatus.paid.value, utcnow()
    payout.provider_transfer_id, payout.last_error = transfer_id, ""
    session.add(payout)
    ledger.post(session, f"payout-{payout.id}", order_id=payout.order_id,
                currency=payout.currency, kind="payout",
                legs=[(ledger.factory_payable(payout.factory_company_id), -payout.amount),
                      (ledger.FACTORY_PAID, payout.amount)],
                memo=f"transfer {transfer_id}" + (f" ({reference})" if reference else ""))
    audit.record(session, actor_id, "payout.paid", payout, payout.factory_company_id,
                 amount=payout.amount, transfer=transfer_id, reference=reference)
    events.occurred(session, "payout_paid", payout=payout)


def mark_payout_paid(session: Session, payout_id: int, transfer_id: str) -> bool:
    """The provider says the transfer went out (once, whoever says it first)."""
    with write_lock(session):
        payout = locked(session, Payout, payout_id)
        if payout is None or payout.status == PayoutStatus.paid:
            session.rollback()
            return False
        record_paid(session, payout, transfer_id)
        session.commit()
    return True


def retry_payout(session: Session, actor: User, payout_id: int,
                 config: PaymentSettings | None = None) -> Payout:
    """An operator retries a failed payout (after the factory fixed its account)."""
    if not actor.is_operator:
        raise PermissionDenied(N_("Only platform operators retry payouts."))
    with write_lock(session):
        payout = locked(session, Payout, payout_id)
        if payout is None:
            raise NotFound(N_("Payout not found."))
        if payout.status == PayoutStatus.failed:
            payout.status = PayoutStatus.pending.value
            session.add(payout)
        session.commit()
    return send_payout(session, payout_id, config)


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
        fields["bank_name"] = N_("Required.")
    if not account_holder:
        fields["account_holder"] = N_("Required.")
    if not (number.isalnum() and 6 <= len(number) <= 34):
        fields["account_number"] = N_("6 to 34 letters or digits.")
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
            Payout.factory_company_id == company.id, Payout.status == PayoutStatus.pending.value,
            Payout.gateway == "manual")).all():
        send_payout(session, payout_id)  # type: ignore[arg-type]
    return account


def stripe_onboarding_link(session: Session, actor: User, refresh_url: str, return_url: str,
                           config: PaymentSettings | None = None) -> str:
    """A Stripe Connect onboarding link for the actor's factory (its Express account is
    created once, with an idempotency key from the company id)."""
    cfg = config_or_default(config)
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
    state = gateways.gateway("stripe", config_or_default(config)).account_state(account_id)
    if account.stripe_ready != state.ready:
        account.stripe_ready = state.ready
    account.stripe_checked_at = utcnow()
    session.add(account)
    session.commit()
    return account


def payouts_for(session: Session, actor: User, page: int = 1,
                per_page: int = 200) -> list[Payout]:
    query = select(Payout)
    if not actor.is_operator:
        if actor.company is None or not actor.company.is_factory:
            return []
        query = query.where(Payout.factory_company_id == actor.company_id)
    return list(session.exec(query.order_by(col(Payout.id).desc())
                             .offset((page - 1) * per_page).limit(per_page)))


def count_payouts(session: Session, actor: User) -> int:
    query = select(func.count()).select_from(Payout)
    if not actor.is_operator:
        if actor.company is None or not actor.company.is_factory:
            return 0
        query = query.where(Payout.factory_company_id == actor.company_id)
    return int(session.exec(query).one())
