"""Pages of the marketplace loop: operator runs and review, the buyer's quote, the
factory's bookings, delivery."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.deals.models import Booking, Quote
from market.orders import service as orders
from market.orders.models import Order
from market.runs.models import MatchingRun
from tests.conftest import login, make_account
from tests.fakes.orders import order_input, pay, seed_capacity

EN = {"Accept-Language": "en"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1}


@pytest.fixture
def loop(session, taxonomy, factory, buyer, operator):
    seed_capacity(session, factory.company_id)
    b = session.get(User, buyer.user_id)
    order = orders.create_draft(session, b, order_input())
    orders.submit(session, b, order.id)
    return order.id


def test_the_open_orders_to_tick_load_when_asked(session, loop, operator_client):
    """The runs page counts the open orders; the orders themselves come when the operator
    opens the list (htmx fetches them), or in the page with ?choose=1 (no JavaScript)."""
    page = operator_client.get("/operator/runs", headers=EN).text
    assert "All 1 open order of verified buyers" in page
    assert f'id="pick-{loop}"' not in page
    assert 'hx-get="/operator/runs/open-orders"' in page and "?choose=1" in page
    picks = operator_client.get("/operator/runs/open-orders", headers=EN).text
    assert f'name="order_ids" value="{loop}"' in picks and "<html" not in picks
    inline = operator_client.get("/operator/runs?choose=1", headers=EN).text
    assert f'id="pick-{loop}"' in inline and '<details id="choose" open>' in inline


def test_operator_runs_reviews_and_the_loop_closes(app, session, loop, operator_client,
                                                   buyer_client, factory_client, operator):
    page = operator_client.get("/operator/runs", headers=EN)
    assert page.status_code == 200 and "All 1 open order of verified buyers" in page.text
    started = operator_client.post("/operator/runs", data={"time_limit_seconds": "2",
                                                            "scope": "all"})
    assert started.status_code == 302
    run = session.exec(select(MatchingRun)).one()
    page = operator_client.get(f"/operator/runs/{run.id}", headers=EN).text
    assert "1 / 1" in page and "Approve all" in page and "Download problem file" in page
    plant = re.search(r'plant-gantt\?plant_id=|plants/(\d+)/gantt', page)
    assert plant
    gantt = operator_client.get(f"/operator/runs/{run.id}/orders/{loop}/gantt", headers=EN)
    assert gantt.status_code == 200 and "<svg" in gantt.text and "<html" not in gantt.text
    assert gantt.text.count("<rect") >= 3  # rows + two operation bars
    plant_id = re.search(r"plants/(\d+)/gantt", page).group(1)
    chart = operator_client.get(f"/operator/runs/{run.id}/plants/{plant_id}/gantt", headers=EN)
    assert "<svg" in chart.text and f"#{loop}" in chart.text
    problem = operator_client.get(f"/operator/runs/{run.id}/problem.json")
    assert problem.json["format"] == "yunzao.problem/1"

    assert operator_client.post(f"/operator/runs/{run.id}/approve", data={}).status_code == 302
    approved = operator_client.post(f"/operator/runs/{run.id}/approve", data={"all": "1"},
                                    headers=EN, follow_redirects=True)
    assert "1 order approved" in approved.text

    quote = session.exec(select(Quote)).one()
    page = buyer_client.get(f"/quotes/{quote.id}", headers=EN).text
    assert "Accept quote" in page and "¥" in page
    accepted = buyer_client.post(f"/quotes/{quote.id}/accept")
    assert accepted.status_code == 302 and accepted.location.endswith(f"/orders/{loop}/payment")
    session.expire_all()
    assert session.get(Order, loop).status == "accepted"
    pay(session, operator.user_id, loop)

    listing = factory_client.get("/factory/bookings?status=proposed", headers=EN).text
    bookings_ = session.exec(select(Booking).order_by(Booking.start)).all()
    assert all(f"/factory/bookings/{b.id}" in listing for b in bookings_)
    for b in bookings_:
        detail = factory_client.get(f"/factory/bookings/{b.id}", headers=EN).text
        assert "Accept booking" in detail and "Bracket" in detail
        factory_client.post(f"/factory/bookings/{b.id}/accept")
    for b in bookings_:
        factory_client.post(f"/factory/bookings/{b.id}/start", data={"note": "go"})
        factory_client.post(f"/factory/bookings/{b.id}/done", data={"qc": "ok"})
    shipped = factory_client.post(f"/factory/bookings/{bookings_[-1].id}/ship",
                                  data={"note": "SF Express 123"}, headers=EN,
                                  follow_redirects=True)
    assert "Shipment recorded" in shipped.text
    assert buyer_client.post(f"/orders/{loop}/confirm-delivery").status_code == 302
    session.expire_all()
    assert session.get(Order, loop).status == "delivered"
    overview = operator_client.get("/operator/", headers=EN)
    assert overview.status_code == 200 and "Market overview" in overview.text
    assert "(1 of 1)" in overview.text  # fill rate and on-time delivery
    assert buyer_client.get("/operator/").status_code == 403


def test_decline_from_the_page_needs_a_reason(app, session, loop, operator_client,
                                              buyer_client, factory_client, operator):
    operator_client.post("/operator/runs", data={"time_limit_seconds": "2", "scope": "all"})
    run = session.exec(select(MatchingRun)).one()
    operator_client.post(f"/operator/runs/{run.id}/approve", data={"order_ids": [str(loop)]})
    quote = session.exec(select(Quote)).one()
    buyer_client.post(f"/quotes/{quote.id}/accept")
    pay(session, operator.user_id, loop)
    booking = session.exec(select(Booking)).first()
    page = factory_client.post(f"/factory/bookings/{booking.id}/decline", data={"reason": ""},
                               headers=EN, follow_redirects=True)
    assert "Tell the buyer why" in page.text
    factory_client.post(f"/factory/bookings/{booking.id}/decline", data={"reason": "Too busy"})
    session.expire_all()
    assert session.get(Order, loop).status == "open"
    runs_page = operator_client.get("/operator/runs", headers=EN).text
    assert "Needs attention" in runs_page and "Too busy" in runs_page


def test_pages_are_private(app, session, loop, operator_client, buyer_client):
    operator_client.post("/operator/runs", data={"time_limit_seconds": "2", "scope": "all"})
    run = session.exec(select(MatchingRun)).one()
    operator_client.post(f"/operator/runs/{run.id}/approve", data={"all": "1"})
    quote = session.exec(select(Quote)).one()
    assert buyer_client.get(f"/operator/runs/{run.id}").status_code == 403
    other = login(app.test_client(), make_account(app, "buyer"))
    assert other.get(f"/quotes/{quote.id}").status_code == 404
    assert other.post(f"/quotes/{quote.id}/accept").status_code == 404
    assert other.post(f"/orders/{loop}/confirm-delivery").status_code == 404
    rival = login(app.test_client(), make_account(app, "factory"))
    assert rival.get("/factory/bookings/1").status_code == 404
    assert operator_client.get("/operator/runs/999").status_code == 404


def test_run_page_polls_while_running(session, loop, operator_client, operator):
    run = MatchingRun(status="running", time_limit_seconds=30)
    from market.core.models import utcnow

    run.started_at = run.heartbeat_at = utcnow()
    session.add(run)
    session.commit()
    page = operator_client.get(f"/operator/runs/{run.id}", headers=EN).text
    assert 'hx-trigger="every 2s"' in page
    part = operator_client.get(f"/operator/runs/{run.id}?part=status",
                               headers={**EN, "HX-Request": "true"})
    assert "<html" not in part.text and "Solving" in part.text
    run.status = "failed"
    session.add(run)
    session.commit()
    done = operator_client.get(f"/operator/runs/{run.id}?part=status",
                               headers={**EN, "HX-Request": "true"})
    assert done.headers.get("HX-Refresh") == "true"


def test_transport_settings_page(operator_client):
    bad = operator_client.post("/operator/settings", data={"speed_kmh": "0", "handling_minutes":
                                                           "60", "cost_per_km": "300",
                                                           "fixed_cost": "100"}, headers=EN)
    assert bad.status_code == 422 and "Must be between" in bad.text
    ok = operator_client.post("/operator/settings", data={"speed_kmh": "60", "handling_minutes":
                                                          "60", "cost_per_km": "250",
                                                          "fixed_cost": "100"})
    assert ok.status_code == 302
    assert 'value="250"' in operator_client.get("/operator/settings").text


def test_auto_accept_setting(factory_client, session, factory):
    from market.accounts.models import Company

    factory_client.post("/factory/settings", data={"auto_accept": "1"})
    session.expire_all()
    assert session.get(Company, factory.company_id).auto_accept_bookings
