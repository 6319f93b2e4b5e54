"""Buyers' change requests through the JSON API (API.md "Disruption and change"): asked after
acceptance, quoted by a re-plan run through the real engine (or found impossible), accepted
(the order, the quote, the bookings and the escrow follow) or declined (nothing changes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from market.core.money import platform_fee
from market.deals import service as bookings
from market.deals.models import Booking, ChangeRequest, Quote
from market.notify.models import Notification
from market.orders import service as orders
from market.orders.models import Order, OrderEvent
from market.payments import ledger
from market.payments.models import Payment, Payout, Refund
from market.runs.models import MatchingRun, RunOrder
from tests.deals.test_disruption import app_config, live, owner, world  # noqa: F401 (fixtures)
from tests.deals.test_disruption_api import token
from tests.fakes.orders import order_input, pay
from tests.payments.conftest import assert_sound


def _ask(client, order_id, headers, **body):
    return client.post(f"/api/v1/orders/{order_id}/change-requests", json=body,
                       headers=headers)


def _state(session, order_id):
    """What a declined change must leave as it was."""
    session.expire_all()
    order = session.get(Order, order_id)
    return ((order.status, order.quantity, order.due_date),
            sorted((b.id, b.status, b.machine_id, b.start, b.quote_id)
                   for b in session.exec(select(Booking).where(Booking.order_id == order_id))),
            sorted((q.id, q.status, q.price)
                   for q in session.exec(select(Quote).where(Quote.order_id == order_id))),
            sorted((p.id, p.status, p.amount, p.refunded_amount)
                   for p in session.exec(select(Payment).where(Payment.order_id == order_id))))


def _expected(session, change: dict, fee_bps: int = 800) -> tuple[int, datetime, Quote]:
    """The price difference and delivery date the run's outcome makes."""
    session.expire_all()
    row = session.get(ChangeRequest, change["id"])
    outcome = session.exec(select(RunOrder).where(RunOrder.run_id == row.run_id)).one()
    quote = session.exec(select(Quote).where(Quote.order_id == row.order_id,
                                             Quote.status == "accepted")).one()
    cost = int(outcome.cost)
    return cost + platform_fee(cost, fee_bps) - quote.price, outcome.completion, quote


def test_asking_for_a_change_is_checked(client, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = token(client, users["buyer"])
    r = _ask(client, order.id, buyer)
    assert r.status_code == 422 and "reason" in r.json["error"]["fields"]
    r = _ask(client, order.id, buyer, reason="Our launch moved")
    assert r.status_code == 422 and "due_date" in r.json["error"]["fields"]
    r = _ask(client, order.id, buyer, due_date="2026-13-40", quantity=0, reason="x")
    assert r.status_code == 422
    assert set(r.json["error"]["fields"]) == {"due_date", "quantity"}
    assert _ask(client, order.id, buyer, due_date="2001-01-01", reason="x").status_code == 422
    assert _ask(client, order.id, buyer, quantity="80", reason="x").status_code == 422
    # nobody but the buyer: another company's order is not found, operators are refused
    for name in ("mill1", "anod"):
        r = _ask(client, order.id, token(client, users[name]), quantity=80, reason="x")
        assert r.status_code == 404, name
    r = _ask(client, order.id, token(client, users["operator"]), quantity=80, reason="x")
    assert r.status_code == 403
    assert _ask(client, 999_999, buyer, quantity=80, reason="x").status_code == 404
    # before acceptance: refused in words
    draft = orders.create_draft(session, users["buyer"], order_input(quantity=10))
    orders.submit(session, users["buyer"], draft.id)
    r = _ask(client, draft.id, buyer, quantity=20, reason="More")
    assert r.status_code == 409 and "open" in r.json["error"]["message"]
    assert session.exec(select(ChangeRequest)).all() == []


def test_a_larger_quantity_is_quoted_accepted_paid_and_paid_out(client, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = token(client, users["buyer"])
    before = {b.id: b for b in live(session, order.id)}
    r = _ask(client, order.id, buyer, quantity=90, reason="A second assembly line")
    assert r.status_code == 201, r.json
    assert r.json["status"] in ("pending", "quoted")  # the run is dispatched after the commit
    change = client.get(f"/api/v1/change-requests/{r.json['id']}", headers=buyer).json
    assert change["status"] == "quoted", change
    difference, delivery, old = _expected(session, change)
    assert change["price_difference"] == difference > 0  # more milling time costs more
    assert change["currency"] == "CNY" and change["quantity"] == 90
    assert datetime.fromisoformat(change["delivery_date"]) == delivery
    assert change["answered_at"] is not None and change["decided_at"] is None
    listed = client.get(f"/api/v1/orders/{order.id}/change-requests", headers=buyer).json
    assert [c["id"] for c in listed["items"]] == [change["id"]] and listed["total"] == 1
    assert client.get(f"/api/v1/orders/{order.id}/change-requests",
                      headers=token(client, users["mill1"])).status_code == 404
    # a second request waits for this one; the operators cannot approve it for the buyer
    assert _ask(client, order.id, buyer, quantity=95, reason="x").status_code == 409
    run_id = session.get(ChangeRequest, change["id"]).run_id
    operator = token(client, users["operator"])
    r = client.post(f"/api/v1/matching-runs/{run_id}/approve", json={}, headers=operator)
    assert r.status_code == 409 and "buyer" in r.json["error"]["message"]
    assert client.get(f"/api/v1/change-requests/{change['id']}",
                      headers=operator).json["status"] == "quoted"
    # the buyer hears of it
    note = session.exec(select(Notification).where(
        Notification.user_id == users["buyer"].id,
        Notification.kind == "change_request_answered")).one()
    assert "quoted" in note.body

    r = client.post(f"/api/v1/change-requests/{change['id']}/accept", headers=buyer)
    assert r.status_code == 200, r.json
    assert r.json["status"] == "accepted" and r.json["quote_id"]
    session.expire_all()
    fresh = session.get(Order, order.id)
    assert fresh.quantity == 90
    new = session.get(Quote, r.json["quote_id"])
    assert new.status == "accepted" and new.price == old.price + difference
    assert session.get(Quote, old.id).status == "superseded"
    assert session.get(MatchingRun, run_id).status == "approved"
    now = live(session, order.id)
    assert {b.quote_id for b in now} == {new.id}
    assert sum(b.amount for b in now) <= new.price
    moved = [b for b in now if b.replaces_id in before]
    assert moved and all(b.status == "proposed" for b in moved)  # their factories accept again
    assert {b.replaces_id for b in moved} <= {b.id for b in before.values()}
    for b in before.values():
        assert session.get(Booking, b.id).status in ("replaced", "accepted")
    # the difference is a second payment into escrow
    second = session.exec(select(Payment).where(Payment.quote_id == new.id)).one()
    assert second.amount == difference and second.status == "pending"
    r = _ask(client, order.id, buyer, quantity=95, reason="x")  # first the money
    assert r.status_code == 409 and "Pay the difference" in r.json["error"]["message"]
    assert client.post(f"/api/v1/orders/{order.id}/payment",
                       headers=buyer).json["id"] == second.id
    pay(session, users["operator"].id, order.id)
    session.expire_all()
    assert session.get(Payment, second.id).status == "succeeded"
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == new.price
    assert fresh.status in ("accepted", "scheduled")
    kinds = [e.kind for e in session.exec(select(OrderEvent).where(
        OrderEvent.order_id == order.id).order_by(col(OrderEvent.id)))]
    assert {"change_requested", "change_answered", "change_accepted", "replanned"} <= set(kinds)
    # factories of moved work were asked again
    asked = session.exec(select(Notification).where(
        Notification.kind == "booking_proposed")).all()
    assert {n.booking_id for n in asked} >= {b.id for b in moved}

    _deliver(session, users, world["machines"], order)
    payouts = session.exec(select(Payout).where(Payout.order_id == order.id)).all()
    first = session.exec(select(Payment).where(Payment.quote_id == old.id)).one()
    assert {p.payment_id for p in payouts} == {first.id, second.id}
    owed: dict[int, int] = {}
    for b in live(session, order.id):
        owed[b.factory_company_id] = owed.get(b.factory_company_id, 0) + b.amount
    paid: dict[int, int] = {}
    for p in payouts:
        paid[p.factory_company_id] = paid.get(p.factory_company_id, 0) + p.amount
    assert paid == owed  # each factory gets its bookings, split over the two payments
    for payment in (first, second):
        share = sum(p.amount for p in payouts if p.payment_id == payment.id)
        assert 0 < share <= payment.amount
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == 0
    assert_sound(session)


def _deliver(session, users, machines, order):
    """Every factory accepts, does its work and hands on; the buyer confirms delivery."""
    session.expire_all()
    for b in live(session, order.id):
        if b.status == "proposed":
            bookings.accept_booking(session, owner(users, machines, b), b.id)
    for b in sorted(live(session, order.id), key=lambda b: b.start):
        who = owner(users, machines, b)
        bookings.report_progress(session, who, b.id, "started", "", "")
        bookings.report_progress(session, who, b.id, "done", "", "",
                                 quantity_done=session.get(Order, order.id).quantity,
                                 qc_result="pass")
        bookings.ship(session, who, b.id, "", carrier="SF", tracking_number="SF1")
    bookings.confirm_delivery(session, users["buyer"], order.id)
    session.expire_all()


def test_a_smaller_quantity_is_refunded_in_part(client, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = token(client, users["buyer"])
    r = _ask(client, order.id, buyer, quantity=20, reason="The customer halved the order")
    change = client.get(f"/api/v1/change-requests/{r.json['id']}", headers=buyer).json
    assert change["status"] == "quoted", change
    difference, _delivery, old = _expected(session, change)
    assert change["price_difference"] == difference < 0
    r = client.post(f"/api/v1/change-requests/{change['id']}/accept", headers=buyer)
    assert r.status_code == 200, r.json
    session.expire_all()
    first = session.exec(select(Payment).where(Payment.quote_id == old.id)).one()
    refund = session.exec(select(Refund).where(Refund.payment_id == first.id)).one()
    assert refund.amount == -difference and refund.change_request_id == change["id"]
    assert first.refunded_amount == -difference
    assert session.exec(select(Payment).where(Payment.order_id == order.id)).all() == [first]
    new = session.get(Quote, r.json["quote_id"])
    assert new.price == old.price + difference
    assert session.get(Order, order.id).quantity == 20
    # the manual gateway: the finance staff send it back, then the ledger moves it
    from market.payments import bank_transfers

    bank_transfers.confirm_refund_sent(session, users["operator"], refund.id, "TT-1")
    session.expire_all()
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == new.price
    _deliver(session, users, world["machines"], order)
    payouts = session.exec(select(Payout).where(Payout.order_id == order.id)).all()
    owed = {}
    for b in live(session, order.id):
        owed[b.factory_company_id] = owed.get(b.factory_company_id, 0) + b.amount
    # the refund made the payment smaller: the factories are not charged a share of it
    assert {p.factory_company_id: p.amount for p in payouts} == owed
    assert all(p.refund_share == 0 for p in payouts)
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == 0
    assert_sound(session)


def test_an_impossible_date_and_a_declined_quote_change_nothing(client, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = token(client, users["buyer"])
    before = _state(session, order.id)
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = _ask(client, order.id, buyer, due_date=soon, reason="Trade fair tomorrow")
    assert r.status_code == 201, r.json
    change = client.get(f"/api/v1/change-requests/{r.json['id']}", headers=buyer).json
    assert change["status"] == "impossible" and change["note"]
    assert change["price_difference"] is None
    r = client.post(f"/api/v1/change-requests/{change['id']}/accept", headers=buyer)
    assert r.status_code == 409
    assert _state(session, order.id) == before
    note = session.exec(select(Notification).where(
        Notification.user_id == users["buyer"].id,
        Notification.kind == "change_request_answered")).one()
    assert "impossible" in note.body

    later = (session.get(Order, order.id).due_date + timedelta(days=5)).date().isoformat()
    r = _ask(client, order.id, buyer, due_date=later, reason="Our line starts later")
    assert r.status_code == 201, r.json
    change = client.get(f"/api/v1/change-requests/{r.json['id']}", headers=buyer).json
    assert change["status"] == "quoted", change
    # the day is read as its end in Shanghai, like the order form's due date
    assert datetime.fromisoformat(change["due_date"]).astimezone(UTC).hour == 15
    factory = token(client, users["mill1"])
    for url in (f"/api/v1/change-requests/{change['id']}",):
        assert client.get(url, headers=factory).status_code == 404
    for action in ("accept", "decline"):
        r = client.post(f"/api/v1/change-requests/{change['id']}/{action}", headers=factory)
        assert r.status_code == 404
    r = client.post(f"/api/v1/change-requests/{change['id']}/decline", headers=buyer)
    assert r.status_code == 200 and r.json["status"] == "declined"
    assert _state(session, order.id) == before
    run = session.get(MatchingRun, session.get(ChangeRequest, change["id"]).run_id)
    assert run.status == "rejected"
    r = client.post(f"/api/v1/change-requests/{change['id']}/accept", headers=buyer)
    assert r.status_code == 409


def test_a_full_decline_after_a_change_gives_every_payment_back(client, session, world):  # noqa: F811
    users, machines, order = world["users"], world["machines"], world["order"]
    buyer = token(client, users["buyer"])
    r = _ask(client, order.id, buyer, quantity=90, reason="More")
    assert client.post(f"/api/v1/change-requests/{r.json['id']}/accept",
                       headers=buyer).status_code == 200
    pay(session, users["operator"].id, order.id)
    moved = [b for b in live(session, order.id) if b.status == "proposed"]
    assert len(moved) == len(live(session, order.id))  # a new quantity moves every step
    bookings.decline_booking(session, owner(users, machines, moved[0]), moved[0].id,
                             "No time after all")
    session.expire_all()
    assert session.get(Order, order.id).status == "open"  # back to matching
    payments = session.exec(select(Payment).where(Payment.order_id == order.id)).all()
    assert len(payments) == 2 and {p.status for p in payments} == {"refunded"}
    assert sum(r.amount for r in session.exec(select(Refund))) == sum(
        p.amount for p in payments)


def test_cancelling_the_order_closes_its_open_request(client, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = token(client, users["buyer"])
    r = _ask(client, order.id, buyer, quantity=40, reason="Fewer")
    assert client.get(f"/api/v1/change-requests/{r.json['id']}",
                      headers=buyer).json["status"] == "quoted"
    assert client.post(f"/api/v1/orders/{order.id}/cancel", json={"reason": "Project stopped"},
                       headers=buyer).status_code == 200
    change = client.get(f"/api/v1/change-requests/{r.json['id']}", headers=buyer).json
    assert change["status"] == "declined" and change["note"] == "The order was cancelled."
    r = client.post(f"/api/v1/change-requests/{change['id']}/accept", headers=buyer)
    assert r.status_code == 409


def test_a_request_whose_run_failed_becomes_impossible(client, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = token(client, users["buyer"])
    r = _ask(client, order.id, buyer, quantity=40, reason="Fewer")
    change = session.get(ChangeRequest, r.json["id"])
    run = session.get(MatchingRun, change.run_id)
    change.status, change.price_difference, run.status = "pending", None, "failed"
    session.add_all([change, run])
    session.commit()
    body = client.get(f"/api/v1/change-requests/{change.id}", headers=buyer).json
    assert body["status"] == "impossible" and "failed" in body["note"]
    assert _ask(client, order.id, buyer, quantity=45, reason="Again").status_code == 201
