"""The matching-run, quote and booking API: the loop through HTTP, and who may do what."""

from __future__ import annotations

import pytest

from market.accounts.models import User
from market.orders import service as orders
from tests.conftest import api_token, make_account
from tests.fakes.orders import order_input, seed_capacity


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1}


@pytest.fixture
def loop(client, session, taxonomy, factory, buyer, operator):
    seed_capacity(session, factory.company_id)
    b = session.get(User, buyer.user_id)
    order = orders.create_draft(session, b, order_input())
    orders.submit(session, b, order.id)
    return {"order_id": order.id, "op": api_token(client, operator),
            "buyer": api_token(client, buyer), "factory": api_token(client, factory)}


def pay_via_api(client, loop) -> None:
    """The buyer asks what to pay (bank transfer with the manual gateway); an operator
    marks it received."""
    payment = client.post(f"/api/v1/orders/{loop['order_id']}/payment", headers=loop["buyer"])
    assert payment.status_code in (200, 201), payment.json
    assert payment.json["instructions"] and payment.json["amount"] > 0
    received = client.post(f"/api/v1/payments/{payment.json['id']}/mark-received",
                           headers=loop["op"])
    assert received.status_code == 200, received.json


def test_loop_through_the_api(client, loop):
    started = client.post("/api/v1/matching-runs", json={"time_limit_seconds": 2},
                          headers=loop["op"])
    assert started.status_code == 202, started.json
    run = client.get(f"/api/v1/matching-runs/{started.json['id']}", headers=loop["op"]).json
    assert run["status"] == "done" and run["progress"] == 100
    outcome = run["orders"][0]
    assert outcome["served"] and len(outcome["placements"]) == 2
    problem = client.get(f"/api/v1/matching-runs/{run['id']}/problem", headers=loop["op"])
    assert problem.json["format"] == "yunzao.problem/1"
    assert "attachment" in problem.headers["Content-Disposition"]

    approved = client.post(f"/api/v1/matching-runs/{run['id']}/approve", headers=loop["op"])
    assert approved.status_code == 200 and approved.json["approved"] == [loop["order_id"]]
    quotes = client.get(f"/api/v1/orders/{loop['order_id']}/quotes",
                        headers=loop["buyer"]).json["items"]
    assert quotes[0]["price"] == quotes[0]["production_cost"] + quotes[0]["platform_fee"]
    accepted = client.post(f"/api/v1/quotes/{quotes[0]['id']}/accept", headers=loop["buyer"])
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    # not paid yet
    assert client.get("/api/v1/bookings", headers=loop["factory"]).json["items"] == []
    pay_via_api(client, loop)

    mine = client.get("/api/v1/bookings?status=proposed", headers=loop["factory"]).json["items"]
    assert len(mine) == 2
    for b in mine:
        assert client.post(f"/api/v1/bookings/{b['id']}/accept",
                           headers=loop["factory"]).status_code == 200
    first, last = sorted(mine, key=lambda b: b["start"])
    for b in (first, last):
        r = client.post(f"/api/v1/bookings/{b['id']}/progress", headers=loop["factory"],
                        json={"status": "done", "note": "ok", "qc": "all in tolerance"})
        assert r.status_code == 200 and r.json["status"] == "done"
    shipped = client.post(f"/api/v1/bookings/{last['id']}/ship", headers=loop["factory"])
    assert shipped.json["status"] == "shipped"
    delivered = client.post(f"/api/v1/orders/{loop['order_id']}/confirm-delivery",
                            headers=loop["buyer"])
    assert delivered.json["status"] == "delivered"


def test_who_may_do_what(client, loop, app):
    assert client.post("/api/v1/matching-runs", json={}, headers=loop["buyer"]).status_code == 403
    assert client.get("/api/v1/matching-runs", headers=loop["factory"]).status_code == 403
    run_id = client.post("/api/v1/matching-runs", json={"time_limit_seconds": 2},
                         headers=loop["op"]).json["id"]
    client.post(f"/api/v1/matching-runs/{run_id}/approve", headers=loop["op"])
    other_buyer = api_token(client, make_account(app, "buyer"))
    assert client.get(f"/api/v1/orders/{loop['order_id']}/quotes",
                      headers=other_buyer).status_code == 404
    quote_id = client.get(f"/api/v1/orders/{loop['order_id']}/quotes",
                          headers=loop["buyer"]).json["items"][0]["id"]
    assert client.post(f"/api/v1/quotes/{quote_id}/accept",
                       headers=other_buyer).status_code == 404
    client.post(f"/api/v1/quotes/{quote_id}/accept", headers=loop["buyer"])
    pay_via_api(client, loop)
    rival = api_token(client, make_account(app, "factory"))
    assert client.get("/api/v1/bookings", headers=rival).json["items"] == []
    booking_id = client.get("/api/v1/bookings", headers=loop["factory"]).json["items"][0]["id"]
    assert client.post(f"/api/v1/bookings/{booking_id}/accept",
                       headers=rival).status_code == 404
    again = client.post(f"/api/v1/quotes/{quote_id}/accept", headers=loop["buyer"])
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"


def test_bad_inputs(client, loop):
    assert client.post("/api/v1/matching-runs", json={"time_limit_seconds": 0},
                       headers=loop["op"]).status_code == 422
    assert client.post("/api/v1/matching-runs", json={"order_ids": [424242]},
                       headers=loop["op"]).status_code == 422
    assert client.get("/api/v1/matching-runs/999", headers=loop["op"]).status_code == 404
    assert client.post("/api/v1/matching-runs/999/approve", headers=loop["op"]).status_code == 404
    assert client.post("/api/v1/bookings/1/progress", json={"status": "half"},
                       headers=loop["factory"]).status_code == 422
    assert client.get("/api/v1/bookings?status=sleeping",
                      headers=loop["factory"]).status_code == 422
    bad = client.put("/api/v1/settings/transport", json={"speed_kmh": -1}, headers=loop["op"])
    assert bad.status_code == 422
    ok = client.put("/api/v1/settings/transport", json={"cost_per_km": 280}, headers=loop["op"])
    assert ok.json["cost_per_km"] == 280


def test_decline_with_reason_puts_the_order_back(client, loop):
    run_id = client.post("/api/v1/matching-runs", json={"time_limit_seconds": 2},
                         headers=loop["op"]).json["id"]
    client.post(f"/api/v1/matching-runs/{run_id}/approve", headers=loop["op"])
    quote_id = client.get(f"/api/v1/orders/{loop['order_id']}/quotes",
                          headers=loop["buyer"]).json["items"][0]["id"]
    client.post(f"/api/v1/quotes/{quote_id}/accept", headers=loop["buyer"])
    pay_via_api(client, loop)
    booking_id = client.get("/api/v1/bookings", headers=loop["factory"]).json["items"][0]["id"]
    no_reason = client.post(f"/api/v1/bookings/{booking_id}/decline", headers=loop["factory"])
    assert no_reason.status_code == 422
    declined = client.post(f"/api/v1/bookings/{booking_id}/decline", headers=loop["factory"],
                           json={"reason": "Machine down for maintenance"})
    assert declined.json["status"] == "declined"
    order = client.get(f"/api/v1/orders/{loop['order_id']}", headers=loop["buyer"]).json
    assert order["status"] == "open"
