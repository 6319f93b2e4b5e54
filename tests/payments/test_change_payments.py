"""Money after an accepted change request, through the fake Stripe: a higher price is a second
payment into escrow (its own PaymentIntent, of the difference), a lower one a partial refund;
the payouts split each payment so that every factory gets exactly its bookings in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from market.capacity.models import CapacityWindow
from market.core import events
from market.core.errors import Conflict
from market.core.models import utcnow
from market.core.money import platform_fee
from market.deals import changes
from market.deals import service as bookings
from market.deals.models import Booking, ChangeRequest, Quote
from market.orders.models import Order
from market.payments import charges as pay_charges
from market.payments import ledger
from market.payments.models import Payment, Refund
from market.runs.models import MatchingRun, PlannedOperation, RunOrder
from tests.fakes.stripe import fake_stripe  # noqa: F401
from tests.payments.conftest import assert_sound, people  # noqa: F401
from tests.payments.test_webhooks import (  # noqa: F401 (fixtures)
    app_config,
    cfg,
    deliver_all,
    onboard,
    paid_with_stripe,
    released,
)

TRANSPORT = 500


def _quoted_change(session, people, order, quote, anod_cost: int) -> ChangeRequest:  # noqa: F811
    """A change the re-plan quoted (made directly, so the amounts are exact): milling stays
    where it is, anodizing moves to a window ten days out at `anod_cost`."""
    session.expire_all()
    live = {b.factory_company_id: b for b in session.exec(select(Booking).where(
        Booking.order_id == order.id))}
    mill, anod = live[people["mill"].company_id], live[people["anod"].company_id]
    later = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    session.add(CapacityWindow(machine_id=anod.machine_id, start=later,
                               end=later + timedelta(hours=4)))
    change = ChangeRequest(order_id=order.id, status="quoted",
                           due_date=order.due_date + timedelta(days=12), reason="later")
    session.add(change)
    session.flush()
    run = MatchingRun(kind="replan", trigger=f"change:{change.id}", status="done",
                      order_ids=[order.id])
    session.add(run)
    session.flush()
    for b, start, cost in ((mill, mill.start, mill.amount), (anod, later, anod_cost)):
        session.add(PlannedOperation(run_id=run.id, order_id=order.id,
                                     operation_id=b.operation_id, machine_id=b.machine_id,
                                     plant_id=people["machines"][0 if b is mill else 1].plant_id,
                                     start=start, end=start + (b.end - b.start), cost=cost))
    cost = mill.amount + anod_cost + TRANSPORT
    completion = later + timedelta(days=1)
    session.add(RunOrder(run_id=run.id, order_id=order.id, served=True, cost=cost,
                         transport_cost=TRANSPORT, completion=completion, lateness_minutes=0))
    change.run_id = run.id
    change.price_difference = cost + platform_fee(cost, 800) - quote.price
    change.delivery_date = completion
    session.add(change)
    session.commit()
    return change


def _booked(client, session, people, fake, cfg, onboarded=True):  # noqa: F811
    """An order paid through Stripe, its two bookings accepted; the factories' Stripe
    accounts ready (their ids returned) unless `onboarded` is False."""
    order, quote, first = paid_with_stripe(client, session, people, fake, cfg)
    accounts = [onboard(session, fake, people[name], cfg) for name in ("mill", "anod")
                if onboarded]
    deliver_all(client, fake.events)
    for b in session.exec(select(Booking).where(Booking.order_id == order.id)).all():
        bookings.accept_booking(session, people["mill" if b.factory_company_id ==
                                                people["mill"].company_id else "anod"], b.id)
    return order, quote, first, accounts


def _work_and_deliver(session, people, order, cfg):  # noqa: F811
    session.expire_all()
    by_company = {people["mill"].company_id: people["mill"],
                  people["anod"].company_id: people["anod"]}
    live = [b for b in session.exec(select(Booking).where(Booking.order_id == order.id)
                                    .order_by(Booking.start))
            if b.status in ("proposed", "accepted")]
    for b in live:
        if b.status == "proposed":
            bookings.accept_booking(session, by_company[b.factory_company_id], b.id)
    for b in live:
        bookings.report_progress(session, by_company[b.factory_company_id], b.id, "done")
    bookings.ship(session, by_company[live[-1].factory_company_id], live[-1].id, "SF123")
    bookings.confirm_delivery(session, people["buyer"], order.id, payments_config=cfg)
    session.expire_all()
    return live


@pytest.mark.usefixtures("seam")
def test_a_higher_price_is_a_second_stripe_payment_and_payouts_split_per_payment(
        client, session, people, fake_stripe, cfg):  # noqa: F811
    fake = fake_stripe
    order, quote, first, (mill, anod) = _booked(client, session, people, fake, cfg)
    change = _quoted_change(session, people, order, quote, anod_cost=9_000)
    assert change.price_difference > 0
    changes.accept_change(session, people["buyer"], change.id)
    session.expire_all()
    new = session.exec(select(Quote).where(Quote.order_id == order.id,
                                           Quote.status == "accepted")).one()
    assert new.price == quote.price + change.price_difference
    second = session.exec(select(Payment).where(Payment.quote_id == new.id)).one()
    assert second.amount == change.price_difference and second.status == "pending"

    # until the difference is in escrow it does not lapse, and the order does not ship
    assert pay_charges.expire_unpaid(session, second.id, utcnow() + timedelta(days=30)) is False
    with pytest.raises(Conflict, match="difference"):
        events.shipping.send(session, order=session.get(Order, order.id), booking=None)
    session.rollback()
    paying = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    assert paying.id == second.id
    intents = fake.calls("/v1/payment_intents")
    assert len(intents) == 2  # the first payment's and the difference's
    assert intents[-1].params["amount"] == str(change.price_difference)
    assert intents[-1].idempotency_key == f"payment-{new.id}"
    fake.succeed(paying.provider_id)
    deliver_all(client, fake.events)
    session.expire_all()
    assert session.get(Payment, second.id).status == "succeeded"
    assert session.get(Payment, first.id).status == "succeeded"  # nothing refunded
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == new.price
    assert session.exec(select(Refund)).all() == []

    live = _work_and_deliver(session, people, order, cfg)
    payouts = released(session, order)
    assert {p.payment_id for p in payouts} == {first.id, second.id}
    owed = {b.factory_company_id: 0 for b in live}
    for b in live:
        owed[b.factory_company_id] += b.amount
    assert owed[people["anod"].company_id] == 9_000
    got = {c: sum(p.amount for p in payouts if p.factory_company_id == c) for c in owed}
    assert got == owed
    for payment in (first, second):
        mine = [p for p in payouts if p.payment_id == payment.id]
        # in proportion to the payment: the first pays most of each factory's share
        assert sum(p.amount for p in mine) <= payment.amount
    transfers = fake.calls("/v1/transfers")
    assert {c.idempotency_key for c in transfers} == {
        f"payout-{p.payment_id}-{p.factory_company_id}" for p in payouts if p.amount > 0}
    assert sum(int(c.params["amount"]) for c in transfers
               if c.params["destination"] == anod) == 9_000
    assert sum(int(c.params["amount"]) for c in transfers
               if c.params["destination"] == mill) == owed[people["mill"].company_id]
    balances = ledger.balances(session, order.id)["CNY"]
    assert balances["escrow"] == 0
    assert balances.get("platform_fee", 0) == new.platform_fee
    assert_sound(session)


@pytest.mark.usefixtures("seam")
def test_a_lower_price_is_refunded_through_stripe_and_not_charged_to_the_factories(
        client, session, people, fake_stripe, cfg):  # noqa: F811
    fake = fake_stripe
    order, quote, first, _accounts = _booked(client, session, people, fake, cfg)
    change = _quoted_change(session, people, order, quote, anod_cost=3_000)
    assert change.price_difference < 0
    changes.accept_change(session, people["buyer"], change.id)
    session.expire_all()
    [refund] = session.exec(select(Refund)).all()
    assert refund.amount == -change.price_difference and refund.status == "succeeded"
    [call] = fake.calls("/v1/refunds")
    assert call.params["amount"] == str(-change.price_difference)
    assert session.exec(select(Payment)).all() == [session.get(Payment, first.id)]
    new = session.exec(select(Quote).where(Quote.order_id == order.id,
                                           Quote.status == "accepted")).one()
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == new.price

    _work_and_deliver(session, people, order, cfg)
    payouts = released(session, order)
    amounts = {p.factory_company_id: p.amount for p in payouts}
    assert amounts == {people["mill"].company_id: 12_345, people["anod"].company_id: 3_000}
    assert all(p.refund_share == 0 for p in payouts)
    balances = ledger.balances(session, order.id)["CNY"]
    assert balances["escrow"] == 0 and balances["platform_fee"] == new.platform_fee
    assert_sound(session)


@pytest.mark.usefixtures("seam")
def test_a_dispute_after_a_change_refunds_both_payments(
        client, session, people, fake_stripe, cfg):  # noqa: F811
    from market.payments import disputes

    fake = fake_stripe
    order, quote, first, _none = _booked(client, session, people, fake, cfg, onboarded=False)
    change = _quoted_change(session, people, order, quote, anod_cost=9_000)
    changes.accept_change(session, people["buyer"], change.id)
    paying = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    fake.succeed(paying.provider_id)
    deliver_all(client, fake.events)
    session.expire_all()
    new = session.exec(select(Quote).where(Quote.order_id == order.id,
                                           Quote.status == "accepted")).one()
    dispute = disputes.open_dispute(session, people["buyer"], order.id, "Wrong alloy")
    disputes.resolve_dispute(session, people["operator"], dispute.id, "refund_all", config=cfg)
    session.expire_all()
    refunds = session.exec(select(Refund)).all()
    assert sorted(r.amount for r in refunds) == sorted([first.amount, paying.amount])
    assert sum(int(c.params["amount"]) for c in fake.calls("/v1/refunds")) == new.price
    assert {p.status for p in session.exec(select(Payment))} == {"refunded"}
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == 0
    assert_sound(session)
