"""Fixtures of the payments tests: a marketplace with a buyer, two factories and an operator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.accounts.models import User
from market.core.models import utcnow
from market.core.money import platform_fee
from market.deals import service as bookings
from market.deals import visibility
from market.deals.models import Booking, Quote
from market.orders import service as orders
from market.orders.models import Order
from market.payments import ledger
from market.payments.gateways import PaymentSettings
from market.runs.models import MatchingRun, PlannedOperation
from tests.conftest import Account, make_account
from tests.fakes.orders import order_input, seed_capacity

MANUAL = PaymentSettings(supported_currencies=("CNY",), payout_after_shipment_days=14,
                         bank_name="Test Bank", bank_holder="Yunzao Escrow",
                         bank_account="6225880000001234")


@pytest.fixture
def seam():
    """Acceptance opens the escrow payment (the default flow of bookings.accept_quote)."""


@pytest.fixture
def people(app, session, taxonomy, buyer, operator):
    """Two factories (milling in one, anodizing in the other), a buyer, an operator."""
    mill = make_account(app, "factory", "mill@example.com")
    anod = make_account(app, "factory", "anodizer@example.com")
    m1 = seed_capacity(session, mill.company_id, processes=(("cnc_milling", ["al6061"]),),
                       days=2)
    m2 = seed_capacity(session, anod.company_id, processes=(("anodizing", []),), days=2)
    return {"buyer": session.get(User, buyer.user_id),
            "operator": session.get(User, operator.user_id),
            "mill": session.get(User, mill.user_id), "anod": session.get(User, anod.user_id),
            "machines": [m1[0], m2[0]], "accounts": {"mill": mill, "anod": anod}}


def make_quote(session, people, costs=(12_345, 6_789), currency="CNY") -> tuple[Order, Quote]:
    """An order with a firm quote whose two legs go to the two factories (built directly,
    so amounts are exact and no solver runs)."""
    buyer = people["buyer"]
    order = orders.create_draft(session, buyer, order_input())
    orders.submit(session, buyer, order.id)
    run = MatchingRun(status="approved", order_ids=[order.id])
    session.add(run)
    session.flush()
    start = utcnow() + timedelta(days=1)
    for op, machine, cost in zip(order.operations, people["machines"], costs, strict=True):
        session.add(PlannedOperation(run_id=run.id, order_id=order.id, operation_id=op.id,
                                     machine_id=machine.id, plant_id=machine.plant_id,
                                     start=start, end=start + timedelta(hours=2), cost=cost))
        start += timedelta(hours=3)
    cost = sum(costs)
    fee = platform_fee(cost, 800)
    quote = Quote(order_id=order.id, run_id=run.id, currency=currency, production_cost=cost,
                  platform_fee=fee, price=cost + fee, delivery_date=start + timedelta(days=2),
                  plants=2, expires_at=utcnow() + timedelta(hours=72))
    session.add(quote)
    order.status = "quoted"
    session.add(order)
    session.commit()
    return order, quote


def run_to_shipment(session, people, order) -> list[Booking]:
    """Factories accept, do the work, and the last one ships."""
    session.expire_all()
    made = visibility.bookings_of_order(session, order.id)
    by_company = {people["mill"].company_id: people["mill"],
                  people["anod"].company_id: people["anod"]}
    for b in made:
        bookings.accept_booking(session, by_company[b.factory_company_id], b.id)
    for b in made:
        bookings.report_progress(session, by_company[b.factory_company_id], b.id, "done")
    last = made[-1]
    bookings.ship(session, by_company[last.factory_company_id], last.id, "Courier SF123")
    return made


def assert_sound(session, order_id=None):
    assert ledger.is_balanced(session, order_id)
    for accounts in ledger.balances(session, order_id).values():
        assert sum(accounts.values()) == 0


def account_of(people, role, app):
    user = people[role]
    return Account(user.id, user.company_id, user.email)


def send_bank_transfers(session, people, reference: str = "") -> list:
    """The finance staff make every bank transfer out that is due, and an operator marks
    each sent (the manual gateway moves no money by itself): the payouts and refunds."""
    from market.payments import bank_transfers

    due = bank_transfers.transfers_to_make(session)
    done = [bank_transfers.confirm_payout_sent(session, people["operator"], p.id, reference)
            for p in due.payouts if p.destination]
    done += [bank_transfers.confirm_refund_sent(session, people["operator"], r.id, reference)
             for r, _payment in due.refunds]
    session.expire_all()
    return done
