"""The order follows its bookings whatever the order in which the parties act: an early start,
answer-by deadlines before the work, and random interleavings that always reach an end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from market.core.errors import Conflict
from market.core.models import utcnow
from market.deals import service as bookings
from market.deals import visibility
from market.deals.service import ANSWER_LEAD_HOURS, answer_by
from market.orders.models import Order
from market.payments import charges as pay_charges
from market.payments.models import Payment
from tests.payments.conftest import MANUAL, make_quote, people, seam  # noqa: F401 (fixtures)


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "STRIPE_SECRET_KEY": "",
            "SUPPORTED_CURRENCIES": ("CNY",)}


def paid(session, people):  # noqa: F811
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = session.exec(select(Payment).where(Payment.quote_id == quote.id)).one()
    pay_charges.mark_received(session, people["operator"], payment.id, config=MANUAL)
    session.expire_all()
    return session.get(Order, order.id), visibility.bookings_of_order(session, order.id)


def factory_of(people, booking):  # noqa: F811
    return people["mill"] if booking.factory_company_id == people["mill"].company_id else (
        people["anod"])


def status(session, order):
    session.expire_all()
    return session.get(Order, order.id).status


def test_a_factory_starts_before_the_others_accept_and_the_order_still_ships(
        session, people, seam):  # noqa: F811
    order, (first, second) = paid(session, people)
    bookings.accept_booking(session, factory_of(people, first), first.id)
    bookings.report_progress(session, factory_of(people, first), first.id, "started")
    assert status(session, order) == "accepted"  # the other factory has not answered yet
    bookings.report_progress(session, factory_of(people, first), first.id, "done")
    bookings.accept_booking(session, factory_of(people, second), second.id)
    # every booking accepted and work already started: scheduled, then in production at once
    assert status(session, order) == "in_production"
    bookings.report_progress(session, factory_of(people, second), second.id, "done")
    bookings.ship(session, factory_of(people, second), second.id, "SF123")
    assert status(session, order) == "shipped"
    bookings.confirm_delivery(session, people["buyer"], order.id, MANUAL)
    assert status(session, order) == "delivered"


def test_accepting_in_any_order_schedules_once(session, people, seam):  # noqa: F811
    order, (first, second) = paid(session, people)
    bookings.accept_booking(session, factory_of(people, second), second.id)
    assert status(session, order) == "accepted"
    bookings.accept_booking(session, factory_of(people, first), first.id)
    assert status(session, order) == "scheduled"


def test_answer_by_ends_before_the_work_starts(session, people, seam):  # noqa: F811
    order, made = paid(session, people)
    for b in made:
        assert b.respond_by <= b.start - timedelta(hours=ANSWER_LEAD_HOURS)
        assert b.respond_by > utcnow()


def test_answer_by_rules():
    now = utcnow()
    far = now + timedelta(days=10)
    assert answer_by(now, far) == now + timedelta(hours=bookings.RESPONSE_HOURS)
    soon = now + timedelta(hours=10)  # two days would pass the start: answer 4 h before
    assert answer_by(now, soon) == soon - timedelta(hours=ANSWER_LEAD_HOURS)
    very_soon = now + timedelta(hours=2)  # less than the lead: until the start, never after
    assert answer_by(now, very_soon) == very_soon
    past = now - timedelta(hours=1)  # the money came after the planned start
    assert answer_by(now, past) == now + timedelta(hours=1)


ACTIONS = ("accept", "start", "done", "ship", "confirm")


def _attempt(session, people, order, booking, action):  # noqa: F811
    factory = factory_of(people, booking) if booking is not None else None
    if action == "accept":
        bookings.accept_booking(session, factory, booking.id)
    elif action in ("start", "done"):
        bookings.report_progress(session, factory, booking.id,
                                 "started" if action == "start" else "done")
    elif action == "ship":
        bookings.ship(session, factory, booking.id, "SF1")
    else:
        bookings.confirm_delivery(session, people["buyer"], order.id, MANUAL)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choices=st.lists(st.integers(min_value=0, max_value=10_000), min_size=40, max_size=40))
def test_random_interleavings_always_reach_delivered(session, people, seam, choices):  # noqa: F811
    """Each step picks one of the parties' actions at random; the services' own rules say
    which are allowed (a Conflict means not now). There is always one allowed action until
    the order is delivered: never a stuck state, whatever the order of the parties."""
    order, made = paid(session, people)
    candidates = [(b, a) for b in made for a in ("accept", "start", "done", "ship")] + [
        (None, "confirm")]
    steps = []

    def state():
        session.expire_all()
        return (session.get(Order, order.id).status,
                tuple(b.status for b in visibility.bookings_of_order(session, order.id)))

    for pick in choices:
        if status(session, order) == "delivered":
            break
        untried = list(candidates)
        while untried:
            booking, action = untried.pop(pick % len(untried))
            before = state()
            try:
                _attempt(session, people, order, booking, action)
            except Conflict:
                session.rollback()
                continue
            if state() == before:  # allowed but a no-op (accepting twice): not progress
                continue
            steps.append((booking.id if booking else None, action))
            break
        else:
            pytest.fail(f"stuck in {status(session, order)} after {steps}")
    assert status(session, order) == "delivered", steps


def test_delivered_orders_close_when_the_inspection_window_passes(session, people, seam):  # noqa: F811
    order, made = paid(session, people)
    for b in made:
        bookings.accept_booking(session, factory_of(people, b), b.id)
        bookings.report_progress(session, factory_of(people, b), b.id, "done")
    bookings.ship(session, factory_of(people, made[-1]), made[-1].id, "SF1")
    bookings.confirm_delivery(session, people["buyer"], order.id, MANUAL)
    now = utcnow()
    # the window runs from the shipment; a confirmed order closes when it ends
    assert bookings.close_delivered(session, now + timedelta(days=6)) == {
        "accepted": 0, "closed": 0}
    assert status(session, order) == "delivered"
    assert bookings.close_delivered(session, now + timedelta(days=7, minutes=1)) == {
        "accepted": 0, "closed": 1}
    assert status(session, order) == "closed"
    assert bookings.close_delivered(session, now + timedelta(days=30)) == {
        "accepted": 0, "closed": 0}
