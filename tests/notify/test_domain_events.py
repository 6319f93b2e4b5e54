"""The events sent from the lower domains' own places: a firm quote from an approved run,
and a payout paid."""

from __future__ import annotations

from sqlmodel import select

from market.deals import offers
from market.deals import service as bookings
from market.notify.models import Notification
from market.payments import payouts
from market.payments.models import Payout
from tests.fakes.orders import pay
from tests.payments.conftest import make_quote, run_to_shipment
from tests.runs.test_service import market, run_now  # noqa: F401


def _kinds(session, user):
    session.expire_all()
    return [n.kind for n in session.exec(select(Notification).where(
        Notification.user_id == user.id))]


def test_an_approved_run_offers_the_buyer_a_firm_quote(app, session, market):  # noqa: F811
    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    [note] = session.exec(select(Notification).where(
        Notification.user_id == market["buyer"].id, Notification.kind == "quote_offered")).all()
    assert note.order_id == quote.order_id
    assert _kinds(session, market["factory"]) == []  # a factory never hears of the price
    assert _kinds(session, market["operator"]) == []  # the approver acted


def test_a_paid_payout_tells_its_factory(app, session, people):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    run_to_shipment(session, people, order)
    bookings.confirm_delivery(session, people["buyer"], order.id)
    mine = session.exec(select(Payout).where(
        Payout.factory_company_id == people["mill"].company_id)).one()
    assert payouts.mark_payout_paid(session, mine.id, "tr_test_1")
    assert _kinds(session, people["mill"]).count("payout_paid") == 1
    assert "payout_paid" not in _kinds(session, people["anod"])
    note = session.exec(select(Notification).where(
        Notification.user_id == people["mill"].id, Notification.kind == "payout_paid")).one()
    assert note.link == "/factory/payouts"
    assert not payouts.mark_payout_paid(session, mine.id, "tr_test_1")  # once
    assert _kinds(session, people["mill"]).count("payout_paid") == 1
