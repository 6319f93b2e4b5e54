"""Eligibility (MATCHING_FORMAT 1.1) through the product's own path: the tolerance a machine
holds, the largest part it takes, an operation's own quantity. Matching runs, instant quotes
and capacity search respect them, and an order no machine can make says why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from market.capacity import availability
from market.capacity.models import Capability
from market.core.errors import ValidationError
from market.core.models import utcnow
from market.orders import service as orders
from market.orders import validation
from market.runs import instant_quote as quotes
from market.runs import service as matching_runs
from market.runs.models import MatchingRun, PlannedOperation, RunOrder
from tests.conftest import api_token, make_account
from tests.fakes.orders import api_body, order_input, seed_capacity, user


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1}


@pytest.fixture
def shops(app, session, taxonomy):
    """A coarse cheap mill (±0.1 mm, parts up to 300 mm) and a precise dear one (±0.005 mm,
    parts up to 100 mm), both with anodizing."""
    coarse = make_account(app, "factory", "coarse@example.com")
    fine = make_account(app, "factory", "fine@example.com")
    machines = {}
    for name, account, rate, tol, size in (("coarse", coarse, 10_000, 0.1, 300),
                                           ("fine", fine, 40_000, 0.005, 100)):
        made = seed_capacity(session, account.company_id, rate=rate)
        for cap in session.exec(select(Capability).where(
                Capability.machine_id == made[0].id)):
            cap.tolerance_mm, cap.max_part_mm = tol, size
            session.add(cap)
        machines[name] = made[0].id
    session.commit()
    return machines


def draft(session, buyer, **kw):
    return orders.create_draft(session, user(session, buyer), order_input(**kw))


def test_the_order_carries_part_size_and_operation_quantity(session, taxonomy, buyer):
    ops = [validation.OperationInput("cnc_milling", "al6061", 6.0, 0.05, ""),
           validation.OperationInput("cmm_inspection", None, 3.0, None, "", 5)]
    order = draft(session, buyer, quantity=200, part_size_mm=[120, 80, 30], operations=ops)
    assert order.part_size_mm == [120.0, 80.0, 30.0]
    assert [op.quantity for op in order.operations] == [None, 5]
    engine = quotes.order_to_matching(order, utcnow(), utcnow())
    assert engine["part_size_mm"] == [120.0, 80.0, 30.0]
    assert engine["operations"][1]["quantity"] == 5 and "quantity" not in engine["operations"][0]


@pytest.mark.parametrize(("size", "field"), [([1, 2], "part_size_mm"), ([0, 2, 3], "part_size_mm"),
                                             ([1, 2, 20_000], "part_size_mm"),
                                             (["a", 2, 3], "part_size_mm")])
def test_bad_part_sizes_are_refused(session, taxonomy, buyer, size, field):
    with pytest.raises(ValidationError) as exc:
        draft(session, buyer, part_size_mm=size)
    assert field in exc.value.fields


def test_an_operation_quantity_beyond_the_order_is_refused(session, taxonomy, buyer):
    ops = [validation.OperationInput("cnc_milling", "al6061", 6.0, None, "", 500)]
    with pytest.raises(ValidationError) as exc:
        draft(session, buyer, quantity=200, operations=ops)
    assert "operations.0.quantity" in exc.value.fields


def test_a_tight_tolerance_goes_to_the_machine_that_holds_it(app, session, shops, buyer,
                                                             operator):
    loose = draft(session, buyer, title="Loose", quantity=20)  # ±0.05: only "fine" holds it
    for o in (loose,):
        orders.submit(session, user(session, buyer), o.id)
    run = matching_runs.start_run(session, user(session, operator), 2)
    with app.app_context():
        matching_runs.execute(app, run.id, "test")
    session.expire_all()
    assert session.get(MatchingRun, run.id).status == "done"
    milling = session.exec(select(PlannedOperation).where(
        PlannedOperation.run_id == run.id, PlannedOperation.order_id == loose.id)).all()
    machines = {p.machine_id for p in milling}
    assert shops["fine"] in machines  # the cheap ±0.1 mm mill cannot hold ±0.05 mm
    assert shops["coarse"] not in {p.machine_id for p in milling
                                   if p.operation_id == loose.operations[0].id}


def test_a_part_too_large_for_the_precise_machine_is_not_served_and_says_why(
        app, session, shops, buyer, operator):
    big = draft(session, buyer, title="Big", quantity=10, part_size_mm=[250, 80, 30])
    result = quotes.instant_quote(session, user(session, buyer), big.id)
    assert result.price is None
    assert result.reason == ("No factory currently takes a 250.0 mm part for CNC milling "
                             "(3-axis); the largest offered is 100.0 mm.")
    orders.submit(session, user(session, buyer), big.id)
    run = matching_runs.start_run(session, user(session, operator), 2)
    with app.app_context():
        matching_runs.execute(app, run.id, "test")
    session.expire_all()
    outcome = session.exec(select(RunOrder).where(RunOrder.run_id == run.id)).one()
    assert not outcome.served and outcome.reason


def test_no_machine_holds_the_tolerance(session, shops, buyer):
    ops = [validation.OperationInput("cnc_milling", "al6061", 6.0, 0.001, "")]
    order = draft(session, buyer, operations=ops)
    result = quotes.instant_quote(session, user(session, buyer), order.id)
    assert result.price is None
    assert result.reason == ("No factory currently holds ±0.001 mm for CNC milling (3-axis); "
                             "the best offered is ±0.005 mm.")


def test_inspecting_five_of_two_hundred_is_priced_on_five(session, shops, buyer):
    def priced(own):
        ops = [validation.OperationInput("anodizing", "al6061", 30.0, None, "", own)]
        order = draft(session, buyer, quantity=200, operations=ops)
        return quotes.instant_quote(session, user(session, buyer), order.id)

    all_200, only_5 = priced(None), priced(5)
    assert all_200.price is not None and only_5.price is not None
    assert only_5.production_cost < all_200.production_cost / 10


def test_capacity_search_respects_tolerance_and_part_size(session, shops, buyer):
    start, end = utcnow(), utcnow() + timedelta(days=5)
    viewer = user(session, buyer)

    def found(**kw):
        return {h.machine.id for h in availability.search_capacity(
            session, viewer, "cnc_milling", "al6061", start, end, **kw)}

    assert found() == {shops["coarse"], shops["fine"]}
    assert found(tolerance_mm=0.01) == {shops["fine"]}
    assert found(part_mm=200) == {shops["coarse"]}
    assert found(tolerance_mm=0.01, part_mm=200) == set()


def test_api_round_trip_and_search_filters(client, session, shops, buyer):
    headers = api_token(client, buyer)
    body = api_body(part_size_mm=[120.0, 80.0, 30.0])
    body["operations"][1]["quantity"] = 5
    r = client.post("/api/v1/orders", json=body, headers=headers)
    assert r.status_code == 201, r.json
    assert r.json["part_size_mm"] == [120.0, 80.0, 30.0]
    assert [op["quantity"] for op in r.json["operations"]] == [200, 5]
    bad = client.post("/api/v1/orders", json=api_body(part_size_mm=[1, 2]), headers=headers)
    assert bad.status_code == 422
    day = (utcnow() + timedelta(days=1)).date().isoformat()
    hits = client.get(f"/api/v1/capacity?process=cnc_milling&from={day}&to={day}"
                      "&tolerance_mm=0.01", headers=headers).json["items"]
    assert {h["machine_id"] for h in hits} == {shops["fine"]}
    assert client.get(f"/api/v1/capacity?process=cnc_milling&from={day}&to={day}"
                      "&part_mm=nan", headers=headers).status_code == 422
