"""API.md "Confidentiality": a factory booked on one operation reads the work, its own
bookings and hand-offs, never the buyer's money, other factories or the timeline. (A
factory once read the whole order: budget, quote prices, fee, payments, other payouts.)"""

from __future__ import annotations

import pytest

from market.accounts.models import Company, CompanyStatus
from market.capacity.models import Machine, Plant
from market.core.errors import PermissionDenied
from market.deals import service as bookings
from market.deals import visibility
from market.orders.models import Order
from tests.conftest import api_token, login
from tests.fakes.orders import pay
from tests.payments.conftest import account_of, make_quote

BUYER_ONLY = ("budget", "quotes", "payments", "events")


def _mentions(body, amount: int) -> bool:
    """Whether any value of a JSON body is this amount (fen or yuan). Walking the values, not
    searching the text: a timestamp's microseconds or an id may hold the same digits."""
    if isinstance(body, dict):
        return any(_mentions(v, amount) for v in body.values())
    if isinstance(body, list):
        return any(_mentions(v, amount) for v in body)
    if isinstance(body, bool) or body is None:
        return False
    if isinstance(body, int | float):
        return body in (amount, amount / 100)
    return str(body) in (str(amount), f"{amount / 100:.2f}") or f"{amount / 100:,.2f}" in str(body)


def _booked_order(app, session, people):
    # cities for the plants, so the hand-off has something to say
    for machine, city in zip(people["machines"], ("Suzhou", "Kunshan"), strict=True):
        plant = session.get(Plant, session.get(Machine, machine.id).plant_id)
        plant.city = city
        session.add(plant)
    session.commit()
    order, quote = make_quote(session, people)
    order.budget = 987_654
    session.add(order)
    session.commit()
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    return session.get(Order, order.id), quote


def test_a_booked_factory_reads_the_work_not_the_money(app, client, session, people):
    order, quote = _booked_order(app, session, people)
    buyer = client.get(f"/api/v1/orders/{order.id}",
                       headers=api_token(client, account_of(people, "buyer", app))).json
    assert buyer["budget"] == 987_654 and buyer["quotes"] and buyer["payments"]
    assert buyer["delivery"] and buyer["events"]

    first = client.get(f"/api/v1/orders/{order.id}",
                       headers=api_token(client, account_of(people, "mill", app))).json
    last = client.get(f"/api/v1/orders/{order.id}",
                      headers=api_token(client, account_of(people, "anod", app))).json
    for body in (first, last):
        assert body["title"] == order.title and len(body["operations"]) == 2
        assert body["budget"] is None and body["quotes"] == [] and body["payments"] == []
        assert body["events"] == [] and body["cancel_reason"] == ""
        assert not _mentions(body, quote.price) and not _mentions(body, quote.platform_fee)
    mill_op, anod_op = first["operations"]
    # each sees its own booking with its amount, and nothing of the other's
    assert [b["amount"] for b in mill_op["bookings"]] == [12_345] and anod_op["bookings"] == []
    assert last["operations"][0]["bookings"] == []
    assert [b["amount"] for b in last["operations"][1]["bookings"]] == [6_789]
    assert not _mentions(first, 6_789) and not _mentions(last, 12_345)
    assert _mentions(first, 12_345) and _mentions(last, 6_789)  # the walk finds amounts
    # hand-off: cities before and after; the delivery place only for the last operation
    # who sends to whom, and when: cities and times, never the other factory's name or money
    handoff = mill_op["handoff"]
    assert (handoff["from_city"], handoff["to_city"]) == (None, "Kunshan")
    assert handoff["to_start"] and handoff["from_end"] is None
    handoff = last["operations"][1]["handoff"]
    assert (handoff["from_city"], handoff["to_city"]) == ("Suzhou", None)
    assert handoff["from_end"] and handoff["from_shipped_at"] is None
    assert handoff["to_start"] is None
    assert first["delivery"] is None
    assert last["delivery"]["lat"] == order.delivery_lat


def test_the_order_page_hides_the_money_from_the_factory(app, session, people):
    order, quote = _booked_order(app, session, people)
    factory = login(app.test_client(), account_of(people, "mill", app))
    page = factory.get(f"/orders/{order.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.text
    assert "Budget" not in html and "9,876.54" not in html and "Timeline" not in html
    assert "Kunshan" in html  # where the parts go next
    buyer = login(app.test_client(), account_of(people, "buyer", app))
    assert "9,876.54" in buyer.get(f"/orders/{order.id}",
                                   headers={"Accept-Language": "en"}).text


def _suspend(session, user) -> None:
    company = session.get(Company, user.company_id)
    company.status = CompanyStatus.suspended.value
    session.add(company)
    session.commit()


def test_a_suspended_company_reads_its_history_but_cannot_act(app, client, session, people):
    """Today a suspended factory kept accepting, starting and shipping (issue "Locked doors")."""
    order, quote = make_quote(session, people)
    _suspend(session, people["buyer"])
    with pytest.raises(PermissionDenied):
        bookings.accept_quote(session, people["buyer"], quote.id)
    buyer = api_token(client, account_of(people, "buyer", app))
    assert client.post(f"/api/v1/orders/{order.id}/instant-quote",
                       headers=buyer).status_code == 403
    assert client.get(f"/api/v1/orders/{order.id}", headers=buyer).status_code == 200
    # the buyer is reinstated and pays; then the milling factory is suspended
    company = session.get(Company, people["buyer"].company_id)
    company.status = CompanyStatus.verified.value
    session.add(company)
    session.commit()
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    _suspend(session, people["mill"])
    mine = [b for b in visibility.bookings_of_order(session, order.id)
            if b.factory_company_id == people["mill"].company_id]
    mill = api_token(client, account_of(people, "mill", app))
    for action in ("accept", "progress", "ship"):
        body = {"status": "started"} if action == "progress" else {}
        refused = client.post(f"/api/v1/bookings/{mine[0].id}/{action}", json=body, headers=mill)
        assert refused.status_code == 403, (action, refused.json)
        assert "suspended" in refused.json["error"]["message"]
    # reading its history still works
    assert client.get("/api/v1/bookings", headers=mill).status_code == 200
    assert client.get(f"/api/v1/orders/{order.id}", headers=mill).status_code == 200
