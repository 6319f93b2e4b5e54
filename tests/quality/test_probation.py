"""Probation: a factory with fewer than 3 jobs takes one live job at a time, on orders worth
at most PROBATION_MAX_AMOUNT; the matching, instant quotes, the directory and run review
follow it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from market.core.models import utcnow
from market.orders import service as orders
from market.orders import validation
from market.quality import probation
from market.runs import instant_quote as quotes
from market.runs import planning
from market.runs.models import PlannedOperation, RunOrder
from tests.conftest import make_account
from tests.deals.test_disruption_pages import client_of
from tests.fakes.orders import order_input, seed_capacity, user
from tests.fakes.quality import give_record, run_matching

EN = {"Accept-Language": "en"}
LIMIT = 50_000  # ¥500: small enough that a 100-piece order is above it


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1,
            "PROBATION_MAX_AMOUNT": LIMIT}


@pytest.fixture
def shops(app, session, taxonomy, buyer, operator):
    """A cheap new factory (also the only one inspecting on a CMM) and a dearer one with a
    record of three done jobs."""
    fresh = make_account(app, "factory", "fresh@example.com")
    proven = make_account(app, "factory", "proven@example.com")
    machines = {
        "fresh": seed_capacity(session, fresh.company_id, rate=10_000, processes=(
            ("cnc_milling", ["al6061"]), ("anodizing", []), ("cmm_inspection", []))),
        "proven": seed_capacity(session, proven.company_id, rate=30_000)}
    history = orders.create_draft(session, user(session, buyer), order_input(quantity=10))
    give_record(session, history, machines["proven"][0], jobs=3)
    return {"fresh": user(session, fresh), "proven": user(session, proven),
            "buyer": user(session, buyer), "operator": user(session, operator),
            "machines": machines, "history": history}


def planned_companies(session, shops, run_id, order_id) -> set[str]:
    ids = {m.id: name for name in ("fresh", "proven") for m in shops["machines"][name]}
    return {ids[p.machine_id] for p in session.exec(select(PlannedOperation).where(
        PlannedOperation.run_id == run_id, PlannedOperation.order_id == order_id))}


def submitted(session, shops, quantity, **kw):
    order = orders.create_draft(session, shops["buyer"], order_input(quantity=quantity, **kw))
    orders.submit(session, shops["buyer"], order.id)
    return order


def test_who_is_on_probation(session, shops):
    fresh, proven = shops["fresh"].company_id, shops["proven"].company_id
    assert probation.jobs_done(session, [fresh, proven]) == {fresh: 0, proven: 3}
    assert probation.on_probation(session, [fresh, proven], LIMIT) == {fresh}
    assert probation.on_probation(session, [fresh, proven], 0) == set()  # switched off
    assert probation.with_live_work(session, [fresh, proven]) == set()


def test_small_orders_go_to_the_new_factory_large_ones_to_a_record(app, session, shops):
    small = submitted(session, shops, 20)
    big = submitted(session, shops, 100)
    with app.app_context():
        problem, index = planning.build_problem(
            session, start=utcnow(), minutes=60 * 24 * 7,
            orders=[quotes.order_to_matching(o, utcnow(), utcnow()) for o in (small, big)])
    assert planning.order_value(problem, problem["orders"][0]) <= LIMIT
    assert planning.order_value(problem, problem["orders"][1]) > LIMIT
    assert "certifications" not in problem["orders"][0]
    assert problem["orders"][1]["certifications"] == [planning.RECORD_CERTIFICATION]
    assert index.probation_limit == LIMIT and len(index.probation_plants) == 1

    done = run_matching(app, session, shops["operator"])
    assert planned_companies(session, shops, done.id, small.id) == {"fresh"}  # cheaper
    assert planned_companies(session, shops, done.id, big.id) == {"proven"}
    page = client_of(app, shops["operator"]).get(f"/operator/runs/{done.id}", headers=EN).text
    assert "on probation" in page
    # each plant's record beside it: the new factory has none yet, the proven one has figures
    records = page.split('id="plant-records"')[1].split("</table>")[0]
    assert "new: fewer than 3 jobs" in records and "%</td>" in records


def test_a_new_factory_with_live_work_takes_no_more(app, session, shops):
    give_record(session, shops["history"], shops["machines"]["fresh"][0], jobs=1,
                status="accepted")
    fresh = shops["fresh"].company_id
    assert probation.with_live_work(session, [fresh]) == {fresh}
    small = submitted(session, shops, 20)
    with app.app_context():
        problem, _index = planning.build_problem(session, start=utcnow(),
                                                 minutes=60 * 24 * 7, orders=[])
    fresh_machines = {planning.machine_key(m.id) for m in shops["machines"]["fresh"]}
    assert fresh_machines.isdisjoint({m["id"] for m in problem["machines"]})
    done = run_matching(app, session, shops["operator"])
    assert planned_companies(session, shops, done.id, small.id) == {"proven"}


def test_switched_off_the_new_factory_takes_any_order(app, session, shops):
    app.config["PROBATION_MAX_AMOUNT"] = 0
    big = submitted(session, shops, 100)
    done = run_matching(app, session, shops["operator"])
    assert planned_companies(session, shops, done.id, big.id) == {"fresh"}


def test_only_new_factories_offer_it_the_quote_and_the_run_say_why(app, session, shops):
    ops = [validation.OperationInput("cmm_inspection", None, 6.0, None, "")]
    big = orders.create_draft(session, shops["buyer"], order_input(quantity=100,
                                                                   operations=ops))
    small = orders.create_draft(session, shops["buyer"], order_input(quantity=5,
                                                                     operations=ops))
    with app.app_context():
        refused = quotes.instant_quote(session, shops["buyer"], big.id)
        fine = quotes.instant_quote(session, shops["buyer"], small.id)
    assert refused.price is None and refused.reason_code == "probation"
    assert "new on the platform" in refused.reason and "¥500.00" in refused.reason
    assert fine.price is not None
    buyer_page = client_of(app, shops["buyer"])
    shown = buyer_page.post(f"/orders/{big.id}/quote", headers={**EN, "HX-Request": "true"})
    assert "are new on the platform" in shown.text

    orders.submit(session, shops["buyer"], big.id)
    done = run_matching(app, session, shops["operator"])
    outcome = session.exec(select(RunOrder).where(RunOrder.run_id == done.id,
                                                  RunOrder.order_id == big.id)).one()
    assert not outcome.served and planning.RECORD_CERTIFICATION in outcome.reason
    page = client_of(app, shops["operator"]).get(f"/operator/runs/{done.id}", headers=EN).text
    assert "No factory off probation has a machine for" in page


def test_the_directory_shows_probation(app, session, shops):
    reader = client_of(app, shops["buyer"])
    fresh = reader.get(f"/factories/{shops['fresh'].company_id}", headers=EN).text
    proven = reader.get(f"/factories/{shops['proven'].company_id}", headers=EN).text
    assert "on probation" in fresh and "on probation" not in proven


def test_approval_gives_a_new_factory_one_order_at_a_time(app, session, shops):
    from market.deals import offers

    first, second = submitted(session, shops, 20), submitted(session, shops, 20)
    done = run_matching(app, session, shops["operator"])
    # the run plans both small orders at the cheap new factory: it has no live work yet
    assert planned_companies(session, shops, done.id, first.id) == {"fresh"}
    assert planned_companies(session, shops, done.id, second.id) == {"fresh"}
    report = offers.approve(session, shops["operator"], done.id)
    assert len(report.approved) == 1 and len(report.conflicts) == 1
    assert "on probation" in next(iter(report.conflicts.values()))
    fresh = shops["fresh"].company_id
    assert probation.with_live_work(session, [fresh]) == {fresh}
