"""The instant quote against capacity rows in the database (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from market.capacity.models import CapacityWindow, WindowStatus
from market.core.errors import Conflict
from market.orders import service as orders
from market.runs import instant_quote as quotes
from market.runs import planning
from tests.conftest import api_token, make_account
from tests.fakes.orders import future, order_input, seed_capacity, user


@pytest.fixture
def buyer_user(session, taxonomy, buyer):
    return user(session, buyer)


@pytest.fixture
def factory_company(app, taxonomy):
    return make_account(app, "factory").company_id


def _order(session, buyer_user, **overrides):
    return orders.create_draft(session, buyer_user, order_input(**overrides))


def test_fee_is_integer_and_rounds_half_up():
    assert quotes.platform_fee(100_000) == 8_000
    assert quotes.platform_fee(1) == 0  # 0.08 fen
    assert quotes.platform_fee(7) == 1  # 0.56 fen -> 1
    assert quotes.platform_fee(6_250, 800) == 500
    assert quotes.platform_fee(6_243, 800) == 499  # 499.44
    assert quotes.platform_fee(6_244, 800) == 500  # 499.52
    assert quotes.platform_fee(0) == 0


def test_matching_order_format(session, buyer_user):
    order = _order(session, buyer_user)
    now = order.created_at
    start, minutes = quotes.horizon(order, now)
    assert start.minute == 0 and start <= now
    assert minutes == int((order.due_date + timedelta(days=14) - start).total_seconds() // 60)
    data = quotes.order_to_matching(order, start, now)
    assert data["id"] == f"o{order.id}"
    assert [op["id"] for op in data["operations"]] == [f"o{order.id}-1", f"o{order.id}-2"]
    assert 0 <= data["release"] <= 60 and data["due"] > data["release"]
    # the tolerance to hold goes to the engine (version 1.1 eligibility)
    assert data["operations"][0] == {"id": f"o{order.id}-1", "process": "cnc_milling",
                                     "material": "al6061", "minutes_per_unit": 6.0,
                                     "tolerance_mm": 0.05}


def test_horizon_is_capped(session, buyer_user):
    order = _order(session, buyer_user, due_date=future(400))
    _start, minutes = quotes.horizon(order, order.created_at)
    assert minutes == planning.MAX_HORIZON_DAYS * 24 * 60


def test_quote_with_capacity(session, buyer_user, factory_company):
    seed_capacity(session, factory_company)
    order = _order(session, buyer_user, quantity=20)
    result = quotes.instant_quote(session, buyer_user, order.id)
    assert result.reason is None, result.reason
    assert result.price is not None and result.price > 0
    assert result.price == result.production_cost + quotes.platform_fee(result.production_cost)
    assert result.plants == 1 and result.currency == "CNY"
    assert result.delivery_date is not None and result.delivery_date <= order.due_date
    assert result.delivery_date.tzinfo is not None
    assert result.valid_until - order.created_at <= timedelta(minutes=16)
    assert [e.kind for e in orders.timeline(session, order)][-1] == "instant_quote"


def test_no_factory_offers_the_process_for_the_material(session, buyer_user, factory_company):
    seed_capacity(session, factory_company, processes=(("cnc_milling", ["al6061"]),
                                                       ("anodizing", ["al7075"])))
    order = _order(session, buyer_user)
    result = quotes.instant_quote(session, buyer_user, order.id)
    assert result.price is None and result.delivery_date is None
    assert result.reason == ("No factory currently offers Anodizing (Type II / hard) for "
                             "Aluminium 6061-T6.")


def test_no_factory_offers_the_process(session, buyer_user, factory_company):
    seed_capacity(session, factory_company, processes=(("cnc_milling", []),))
    result = quotes.instant_quote(session, buyer_user, _order(session, buyer_user).id)
    assert result.price is None and "offers Anodizing" in result.reason


def test_unverified_factories_do_not_count(session, buyer_user, factory_company):
    seed_capacity(session, factory_company)
    from market.accounts.models import Company

    company = session.get(Company, factory_company)
    company.status = "pending"
    session.add(company)
    session.commit()
    result = quotes.instant_quote(session, buyer_user, _order(session, buyer_user).id)
    assert result.price is None and "No factory" in result.reason


def test_late_placement_names_the_earliest_date(session, buyer_user, factory_company):
    # 600 parts x 6 min = 60 h of milling, but only 3 days x 12 h of windows: nothing fits.
    seed_capacity(session, factory_company, days=3)
    order = _order(session, buyer_user, quantity=600, due_date=future(2))
    result = quotes.instant_quote(session, buyer_user, order.id)
    assert result.price is None
    assert result.reason.startswith("Not enough published capacity")
    # with windows for 20 days, it fits, but after the due date
    seed_capacity(session, factory_company, days=20, lat=31.4)
    result = quotes.instant_quote(session, buyer_user, order.id)
    assert result.price is not None and result.delivery_date > order.due_date
    assert result.reason.startswith("Not enough capacity before the due date; the earliest")


def test_booked_time_is_respected(session, buyer_user, factory_company):
    machines = seed_capacity(session, factory_company, days=20)
    order = _order(session, buyer_user, quantity=20)
    free = quotes.instant_quote(session, buyer_user, order.id)
    # book the first week of every machine: the delivery moves later
    for machine in machines:
        for window in session.exec(select(CapacityWindow)
                                  .where(CapacityWindow.machine_id == machine.id)):
            if window.start < free.delivery_date + timedelta(days=3):
                window.status = WindowStatus.booked.value
                session.add(window)
    session.commit()
    later = quotes.instant_quote(session, buyer_user, order.id)
    assert later.price is not None and later.delivery_date > free.delivery_date


def test_quote_refused_for_cancelled_orders(session, buyer_user):
    order = _order(session, buyer_user)
    orders.cancel(session, buyer_user, order.id)
    with pytest.raises(Conflict):
        quotes.instant_quote(session, buyer_user, order.id)


def test_api_instant_quote(client, session, buyer, buyer_user, factory_company):
    seed_capacity(session, factory_company)
    order = _order(session, buyer_user, quantity=20)
    headers = api_token(client, buyer)
    response = client.post(f"/api/v1/orders/{order.id}/instant-quote", headers=headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert {"price", "currency", "delivery_date", "plants", "valid_until"} <= set(body)
    assert isinstance(body["price"], int) and body["currency"] == "CNY"
    assert body["plants"] == 1 and body["reason"] is None
    assert "T" in body["delivery_date"] and body["delivery_date"].endswith(("Z", "+00:00"))


def test_api_quote_without_capacity_gives_a_reason(client, session, buyer, buyer_user):
    order = _order(session, buyer_user)
    response = client.post(f"/api/v1/orders/{order.id}/instant-quote",
                           headers=api_token(client, buyer))
    assert response.status_code == 200
    assert response.json["price"] is None and response.json["delivery_date"] is None
    assert response.json["reason"].startswith("No factory currently offers")


def test_page_quote_fragment(app, session, buyer_client, buyer_user, factory_company):
    seed_capacity(session, factory_company)
    order = _order(session, buyer_user, quantity=20)
    response = buyer_client.post(f"/orders/{order.id}/quote", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "quote-price" in html and "<html" not in html
    full = buyer_client.post(f"/orders/{order.id}/quote")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)


def test_fee_from_config(app, session, buyer_user, factory_company):
    seed_capacity(session, factory_company)
    order = _order(session, buyer_user, quantity=20)
    result = quotes.instant_quote(session, buyer_user, order.id, fee_bps=0)
    assert result.platform_fee == 0 and result.price == result.production_cost


def test_page_reason_is_translated(app, session, buyer_client, buyer_user, factory_company):
    seed_capacity(session, factory_company, processes=(("cnc_milling", ["al6061"]),))
    order = _order(session, buyer_user)
    buyer_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = buyer_client.post(f"/orders/{order.id}/quote",
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No factory currently offers Anodizing (Type II / hard)." in html
    buyer_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh"
    html = buyer_client.post(f"/orders/{order.id}/quote",
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "阳极氧化" in html  # the process's Chinese name


def test_the_solves_get_solver_workers_threads(app, client, session, buyer, buyer_user,
                                               factory_company, monkeypatch):
    """SOLVER_WORKERS reaches the engine's child process: CP-SAT's search threads for the
    instant quote (page and API) as for the matching runs."""
    from market.runs import isolation

    seen = []
    real = isolation.call_engine

    def spy(name, *args, **kwargs):
        seen.append((name, kwargs.get("workers")))
        return real(name, *args, **kwargs)

    monkeypatch.setattr(isolation, "call_engine", spy)
    app.config["SOLVER_WORKERS"] = 3
    seed_capacity(session, factory_company)
    order = _order(session, buyer_user, quantity=20)
    response = client.post(f"/api/v1/orders/{order.id}/instant-quote",
                           headers=api_token(client, buyer))
    assert response.status_code == 200 and response.json["price"], response.json
    assert seen == [("quote", 3)]
    assert quotes.instant_quote(session, buyer_user, order.id).price  # a caller's default: 1
    assert seen[-1] == ("quote", 1)
