"""Money out with the manual gateway waits for an operator (payments.bank_transfers): a
payout is paid and a refund sent when an operator says the bank transfer went out, and the
ledger moves at that moment, never when the transfer was merely asked for."""

from __future__ import annotations

import pytest
from sqlmodel import select

from market.core.audit import AuditEvent
from market.core.db import write_lock
from market.core.errors import Conflict, NotFound, PermissionDenied
from market.deals import service as bookings
from market.payments import bank_transfers, ledger
from market.payments import charges as pay_charges
from market.payments import payouts as pay_payouts
from market.payments import refunds as pay_refunds
from market.payments import service as pay
from market.payments.gateways import GatewayRefused, ManualGateway
from market.payments.models import LedgerEntry, Payment, Payout, PayoutStatus, Refund
from tests.payments.conftest import MANUAL, assert_sound, make_quote, run_to_shipment


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1, "STRIPE_SECRET_KEY": ""}


def _delivered(session, people):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = session.exec(select(Payment).where(Payment.quote_id == quote.id)).one()
    pay_charges.mark_received(session, people["operator"], payment.id, config=MANUAL)
    run_to_shipment(session, people, order)
    bookings.confirm_delivery(session, people["buyer"], order.id)  # releases the payouts
    session.expire_all()
    return order, quote, payment


def _payout_of(session, people, role):
    return session.exec(select(Payout).where(
        Payout.factory_company_id == people[role].company_id)).one()


def test_a_payout_is_paid_when_an_operator_confirms_the_transfer(session, people, seam):
    order, _quote, _payment = _delivered(session, people)
    pay_payouts.save_bank_details(session, people["mill"], "ICBC Suzhou", "Mill Co", "62220001")
    mill = _payout_of(session, people, "mill")
    anod = _payout_of(session, people, "anod")
    assert (mill.status, mill.destination, mill.paid_at) == (
        "pending", "ICBC Suzhou / Mill Co / 62220001", None)
    due = bank_transfers.transfers_to_make(session)
    assert [p.id for p in due.payouts] == sorted([mill.id, anod.id]) and due.refunds == []
    # housekeeping neither retries nor pays a bank transfer: it waits for the operator
    assert pay.housekeeping(session, config=MANUAL)["payouts_retried"] == 0
    assert _payout_of(session, people, "mill").status == "pending"
    payable = ledger.factory_payable(people["mill"].company_id)
    assert ledger.balances(session, order.id)["CNY"][payable] == mill.amount

    with pytest.raises(PermissionDenied):
        bank_transfers.confirm_payout_sent(session, people["mill"], mill.id)
    with pytest.raises(NotFound):
        bank_transfers.confirm_payout_sent(session, people["operator"], 999_999)
    with pytest.raises(Conflict) as no_details:  # nowhere to send the anodizer's money yet
        bank_transfers.confirm_payout_sent(session, people["operator"], anod.id)
    assert "bank details" in no_details.value.message
    assert ledger.balances(session, order.id)["CNY"].get("factory_paid") is None

    paid = bank_transfers.confirm_payout_sent(session, people["operator"], mill.id,
                                              "  ICBC 20261201-0042  ")
    assert (paid.status, paid.provider_transfer_id) == ("paid", f"bank-{mill.idempotency_key}")
    assert paid.paid_at is not None
    balances = ledger.balances(session, order.id)["CNY"]
    assert (balances[payable], balances["factory_paid"]) == (0, mill.amount)
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.txn == f"payout-{mill.id}",
                                                   LedgerEntry.account == "factory_paid")).one()
    assert "ICBC 20261201-0042" in entry.memo
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "payout.paid")).one()
    assert audit.actor_user_id == people["operator"].id
    assert audit.details["reference"] == "ICBC 20261201-0042"
    with pytest.raises(Conflict):  # once
        bank_transfers.confirm_payout_sent(session, people["operator"], mill.id)
    assert len(session.exec(select(LedgerEntry).where(
        LedgerEntry.txn == f"payout-{mill.id}")).all()) == 2

    # the anodizer's details arrive: its transfer can be made and confirmed now
    pay_payouts.save_bank_details(session, people["anod"], "BOC Kunshan", "Anod Co", "62160002")
    assert _payout_of(session, people, "anod").status == "pending"
    bank_transfers.confirm_payout_sent(session, people["operator"], anod.id)
    assert bank_transfers.transfers_to_make(session).payouts == []
    assert ledger.balances(session, order.id)["CNY"]["factory_paid"] == mill.amount + anod.amount
    assert_sound(session)


def test_a_held_payout_cannot_be_confirmed(session, people, seam):
    _delivered(session, people)
    pay_payouts.save_bank_details(session, people["mill"], "ICBC", "Mill Co", "62220001")
    mill = _payout_of(session, people, "mill")
    mill.status = PayoutStatus.held.value
    session.add(mill)
    session.commit()
    with pytest.raises(Conflict):
        bank_transfers.confirm_payout_sent(session, people["operator"], mill.id)
    assert _payout_of(session, people, "mill").status == "held"


def test_a_stripe_payout_is_not_confirmed_by_hand(session, people, seam):
    _delivered(session, people)
    mill = _payout_of(session, people, "mill")
    mill.gateway = "stripe"
    session.add(mill)
    session.commit()
    with pytest.raises(Conflict):
        bank_transfers.confirm_payout_sent(session, people["operator"], mill.id)


def test_a_refund_is_sent_when_an_operator_confirms_it(session, people, seam):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = session.exec(select(Payment).where(Payment.quote_id == quote.id)).one()
    pay_charges.mark_received(session, people["operator"], payment.id, config=MANUAL)
    with write_lock(session):
        refund = pay_refunds.queue_refund(session, session.get(Payment, payment.id), 500,
                                          "goodwill")
        session.commit()
    assert pay_refunds.execute_refund(session, refund.id, MANUAL).status == "pending"
    assert pay.housekeeping(session, config=MANUAL)["refunds_retried"] == 0
    assert ledger.balances(session, order.id)["CNY"] == {
        "buyer_cash": -quote.price, "escrow": quote.price}
    due = bank_transfers.transfers_to_make(session)
    assert [(r.id, p.reference) for r, p in due.refunds] == [(refund.id, payment.reference)]
    with pytest.raises(PermissionDenied):
        bank_transfers.confirm_refund_sent(session, people["buyer"], refund.id)
    with pytest.raises(NotFound):
        bank_transfers.confirm_refund_sent(session, people["operator"], 999_999)
    sent = bank_transfers.confirm_refund_sent(session, people["operator"], refund.id, "CMB 5")
    assert (sent.status, sent.provider_refund_id) == ("succeeded", f"bank-{refund.idempotency_key}")
    assert ledger.balances(session, order.id)["CNY"] == {
        "buyer_cash": -quote.price, "escrow": quote.price - 500, "refunds": 500}
    with pytest.raises(Conflict):
        bank_transfers.confirm_refund_sent(session, people["operator"], refund.id)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "refund.sent")).one(
        ).actor_user_id == people["operator"].id
    assert bank_transfers.transfers_to_make(session).refunds == []
    assert session.get(Refund, refund.id).succeeded_at is not None
    assert_sound(session)


def test_the_manual_gateway_never_claims_money_went_out():
    gateway = ManualGateway()
    with pytest.raises(GatewayRefused):
        gateway.transfer(amount=1, currency="CNY", destination="ICBC", transfer_group="o-1",
                         idempotency_key="payout-1-1", metadata={})
    with pytest.raises(GatewayRefused):
        gateway.refund(payment_provider_id=None, amount=1, idempotency_key="refund-1-1",
                       metadata={})
