"""quote(): one new order placed around a fixed plan."""

from __future__ import annotations

import copy
from typing import Any

from matching.quote import quote
from matching.solver import solve
from tests.matching.conftest import SHENZHEN, assert_valid, machine, order, problem


def _as_plan_for_new_order(prob: dict[str, Any], plan: dict[str, Any], new: dict[str, Any],
                           q) -> tuple[dict[str, Any], dict[str, Any]]:
    """The problem 'old plan frozen as bookings + the new order' and the quote as its plan."""
    p2 = copy.deepcopy(prob)
    p2["bookings"] = prob["bookings"] + [
        {"machine": a["machine"], "start": a["start"], "end": a["end"]}
        for a in plan["assignments"]]
    p2["orders"] = [new]
    plan2 = {"format": "yunzao.plan/1", "status": "FEASIBLE", "objective": 0, "bound": None,
             "assignments": [a.to_dict() for a in q.placements], "unserved": [],
             "orders": [{"order": new["id"], "completion": q.completion,
                         "lateness": q.lateness, "cost": 0}], "stats": {}}
    from matching.validate import recompute_objective

    cost = recompute_objective(p2, plan2)
    plan2["objective"] = cost
    plan2["orders"][0]["cost"] = cost
    return p2, plan2


def _base() -> dict[str, Any]:
    return problem([machine("m1", "p1", "cnc_milling", rate=6000, windows=[[0, 600]]),
                    machine("m2", "p1", "cnc_milling", rate=12000),
                    machine("m3", "p2", "anodizing", rate=3000)],
                   [order("o1", [("cnc_milling", None, 30)], quantity=10),
                    order("o2", [("cnc_milling", None, 20), ("anodizing", None, 6)])])


def test_quote_places_around_the_plan_and_prices_exactly() -> None:
    prob = _base()
    plan = assert_valid(prob, solve(prob, time_limit=3))
    before = copy.deepcopy(plan)
    new = order("n1", [("cnc_milling", None, 6), ("anodizing", None, 6)], due=5000,
                dest=SHENZHEN, late=10)
    q = quote(prob, plan, new)
    assert q.ok and q.reason is None
    assert plan == before  # nothing in the plan moves
    p2, plan2 = _as_plan_for_new_order(prob, plan, new, q)
    assert_valid(p2, plan2)
    # price = ops + transport + delivery, here without lateness
    assert q.lateness == 0
    assert q.price == plan2["objective"]
    assert q.plants == ["p1", "p2"]
    assert q.delivery_date == q.completion == plan2["orders"][0]["completion"]


def test_quote_prefers_the_free_cheap_machine_once_it_is_free() -> None:
    prob = _base()
    plan = assert_valid(prob, solve(prob, time_limit=3))
    new = order("n1", [("cnc_milling", None, 6)])
    q = quote(prob, plan, new)
    # m1 is half the price of m2 and has room inside [0, 600) after the plan's work
    used = sum(a["end"] - a["start"] for a in plan["assignments"] if a["machine"] == "m1")
    if used + 60 <= 600:
        assert q.placements[0].machine == "m1"
    assert q.ok


def test_quote_reasons() -> None:
    prob = _base()
    plan = assert_valid(prob, solve(prob, time_limit=3))
    q = quote(prob, plan, order("n1", [("laser_cutting", None, 1)]))
    assert not q.ok and q.reason == "no machine offers process laser_cutting"
    q = quote(prob, plan, order("n2", [("anodizing", None, 10**6)]))
    assert not q.ok and "capacity" in q.reason
    # m1 full, m2 the only other: a due date it cannot meet gives a late quote with the date
    q = quote(prob, plan, order("n3", [("cnc_milling", None, 60)], due=10))
    assert q.ok and q.lateness > 0
    assert q.reason == ("not enough capacity before the due date; earliest possible completion "
                        f"is minute {q.completion}")


def test_quote_respects_release_and_bookings() -> None:
    prob = _base()
    prob["bookings"] = [{"machine": "m2", "start": 1000, "end": 3000}]
    plan = assert_valid(prob, solve(prob, time_limit=3))
    new = order("n1", [("cnc_milling", None, 100)], release=900)
    q = quote(prob, plan, new)
    assert q.ok
    p2, plan2 = _as_plan_for_new_order(prob, plan, new, q)
    assert_valid(p2, plan2)
    assert q.placements[0].start >= 900


def test_package_level_api() -> None:
    import matching

    prob = _base()
    plan = matching.solve(prob, time_limit=2)
    q = matching.quote(prob, plan, order("n9", [("anodizing", None, 1)]))
    assert isinstance(q, matching.Quote) and q.ok
    assert q.to_dict()["placements"][0]["machine"] == "m3"
