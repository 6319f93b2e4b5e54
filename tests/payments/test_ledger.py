"""The double-entry ledger: balanced transactions only, integers only, each event once."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from market.payments import ledger
from market.payments.models import LedgerEntry


def test_post_balanced_and_read_balances(session):
    assert ledger.post(session, "charge-1", order_id=None, currency="CNY", kind="charge",
                       legs=[(ledger.BUYER_CASH, -20_665), (ledger.ESCROW, 20_665)])
    assert ledger.post(session, "release-1", order_id=None, currency="CNY", kind="release",
                       legs=[(ledger.ESCROW, -20_665), (ledger.PLATFORM_FEE, 1_531),
                             (ledger.factory_payable(7), 12_345),
                             (ledger.factory_payable(8), 6_789)])
    session.commit()
    assert ledger.balances(session) == {"CNY": {
        "buyer_cash": -20_665, "escrow": 0, "factory_payable:7": 12_345,
        "factory_payable:8": 6_789, "platform_fee": 1_531}}
    assert ledger.is_balanced(session)
    assert ledger.posted(session, "charge-1") and not ledger.posted(session, "charge-2")


def test_the_same_event_is_posted_once(session):
    legs = [(ledger.BUYER_CASH, -100), (ledger.ESCROW, 100)]
    assert ledger.post(session, "charge-9", order_id=None, currency="CNY", kind="charge",
                       legs=legs)
    assert not ledger.post(session, "charge-9", order_id=None, currency="CNY", kind="charge",
                           legs=legs)
    session.commit()
    assert len(session.exec(select(LedgerEntry)).all()) == 2
    # Two writers racing past the check: the database refuses the second copy.
    session.add(LedgerEntry(txn="charge-9", account=ledger.ESCROW, amount=100, currency="CNY",
                            kind="charge"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


@pytest.mark.parametrize("legs", [
    [(ledger.BUYER_CASH, -100), (ledger.ESCROW, 99)],  # does not sum to zero
    [(ledger.BUYER_CASH, -100.0), (ledger.ESCROW, 100.0)],  # floats are not money
    [(ledger.BUYER_CASH, -1), (ledger.ESCROW, True)],  # nor are booleans
    [(ledger.ESCROW, -100), (ledger.ESCROW, 100)],  # one account twice
])
def test_unbalanced_or_non_integer_legs_are_refused(session, legs):
    with pytest.raises(ledger.Unbalanced):
        ledger.post(session, "bad-1", order_id=None, currency="CNY", kind="charge", legs=legs)
    assert session.exec(select(LedgerEntry)).all() == []


def test_zero_legs_are_dropped_and_currencies_kept_apart(session):
    assert ledger.post(session, "release-2", order_id=None, currency="USD", kind="release",
                       legs=[(ledger.ESCROW, -50), (ledger.PLATFORM_FEE, 0),
                             (ledger.factory_payable(3), 50)])
    assert not ledger.post(session, "nothing-1", order_id=None, currency="CNY", kind="charge",
                           legs=[(ledger.ESCROW, 0)])
    assert ledger.post(session, "charge-3", order_id=None, currency="CNY", kind="charge",
                       legs=[(ledger.BUYER_CASH, -7), (ledger.ESCROW, 7)])
    session.commit()
    balances = ledger.balances(session)
    assert balances == {"CNY": {"buyer_cash": -7, "escrow": 7},
                        "USD": {"escrow": -50, "factory_payable:3": 50}}
    assert all(sum(v.values()) == 0 for v in balances.values())
    assert len(ledger.snapshot(session)) == 4


def test_an_unbalanced_row_is_detected(session):
    session.add(LedgerEntry(txn="forged-1", account=ledger.ESCROW, amount=5, currency="CNY",
                            kind="charge"))
    session.commit()
    assert not ledger.is_balanced(session)
