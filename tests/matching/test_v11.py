"""Version 1.1 fields on the engine side (MATCHING_FORMAT.md "Version 1.1 additions"): each
rule changes what the engine chooses, is said exactly when it rules an order out, and every
plan passes the independent validator."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from matching.geo import Legs
from matching.problem import Problem
from matching.quote import quote
from matching.result import build_plan
from matching.search.greedy import greedy
from matching.solver import solve
from tests.matching.conftest import assert_valid, by_op, machine, order, problem


def _cap(m: dict[str, Any], **extra: Any) -> dict[str, Any]:
    m["capabilities"][0].update(extra)
    return m


def _solve(d: dict[str, Any]) -> dict[str, Any]:
    return assert_valid(d, solve(d, time_limit=3, workers=1, seed=0))


def _greedy(d: dict[str, Any]) -> dict[str, Any]:
    p = Problem.from_dict(d)
    pl, un = greedy(p)
    return assert_valid(d, build_plan(p, pl, un, "FEASIBLE", None, {}, Legs(p)))


def test_operation_quantity_prices_and_times_only_its_pieces() -> None:
    # inspect 5 of 200: 5 x 3 min on the CMM, not 200 x 3
    ms = [machine("m1", "p1", rate=6000), machine("m2", "p1", "cmm", rate=12000)]
    o = order("o1", [("cnc_milling", None, 1), ("cmm", None, 3)], quantity=200)
    o["operations"][1]["quantity"] = 5
    d = problem(ms, [o])
    for out in (_solve(d), _greedy(d)):
        a = by_op(out)["o1-20"]
        assert a["end"] - a["start"] == 15
        assert out["orders"][0]["cost"] == 200 * 100 + round(12000 * 15 / 60)


def test_tolerance_picks_the_machine_that_holds_it_and_says_when_none_does() -> None:
    rough = _cap(machine("m1", "p1", rate=3000), tolerance_mm=0.1)
    fine = _cap(machine("m2", "p1", rate=9000), tolerance_mm=0.005)
    o = order("o1", [("cnc_milling", None, 1)])
    d = problem([rough, fine], [o])
    assert by_op(_solve(d))["o1-10"]["machine"] == "m1"  # no tolerance asked: the cheaper
    d["orders"][0]["operations"][0]["tolerance_mm"] = 0.01
    for out in (_solve(d), _greedy(d)):
        assert by_op(out)["o1-10"]["machine"] == "m2"
    d["machines"] = [rough]
    out = _solve(d)
    assert out["unserved"] == [{"order": "o1", "reason":
                                "no machine holds tolerance 0.01 mm for cnc_milling"}]


def test_part_size_needs_a_machine_that_takes_the_largest_dimension() -> None:
    small = _cap(machine("m1", "p1", rate=3000), max_part_mm=500)
    big = _cap(machine("m2", "p1", rate=9000), max_part_mm=1000)
    o = order("o1", [("cnc_milling", None, 1)])
    o["part_size_mm"] = [200, 800, 100]
    d = problem([small, big], [o])
    assert by_op(_solve(d))["o1-10"]["machine"] == "m2"
    d["machines"] = [small]
    assert _solve(d)["unserved"][0]["reason"] == "no machine takes a part of 800 mm for cnc_milling"


def test_certifications_keep_the_order_in_certified_plants() -> None:
    cheap = machine("m1", "p1", rate=3000)
    certified = machine("m2", "p2", rate=9000)
    d = problem([cheap, certified], [order("o1", [("cnc_milling", None, 1)])])
    d["plants"][1]["certifications"] = ["iatf16949", "iso9001"]
    d["orders"][0]["certifications"] = ["iatf16949"]
    for out in (_solve(d), _greedy(d)):
        assert by_op(out)["o1-10"]["machine"] == "m2"
    d["orders"][0]["certifications"] = ["iatf16949", "as9100"]
    assert _solve(d)["unserved"][0]["reason"] == "no plant has certification as9100"
    d["orders"][0]["certifications"] = ["iso9001"]
    d["machines"] = [cheap]
    assert _solve(d)["unserved"][0]["reason"] == (
        "no plant with certification iso9001 has a machine for cnc_milling")


def test_risk_cost_is_added_per_operation_and_steers_away_from_unreliable_plants() -> None:
    # m1 is 1,000 cheaper for 10 minutes, but p1 expects 100 problems per 1000 operations
    ms = [machine("m1", "p1", rate=6000), machine("m2", "p1", rate=12000)]
    ms[1]["plant"] = "p2"
    o = order("o1", [("cnc_milling", None, 1)], quantity=10)
    d = problem(ms, [o])
    d["plants"][0]["risk_per_mille"] = 100
    assert by_op(_solve(d))["o1-10"]["machine"] == "m1"  # no risk_cost: risk costs nothing
    d["orders"][0]["risk_cost"] = 20_000  # 20,000 x 100 / 1000 = 2,000 per operation on p1
    for out in (_solve(d), _greedy(d)):
        assert by_op(out)["o1-10"]["machine"] == "m2"
    d["orders"][0]["risk_cost"] = 5_000  # 500 on p1: still cheaper there, and it is charged
    out = _solve(d)
    assert by_op(out)["o1-10"]["machine"] == "m1"
    assert out["orders"][0]["cost"] == 1000 + 500
    assert out["orders"][0]["parts"] == {"operations": 1000, "transport": 0, "delivery": 0,
                                         "lateness": 0, "risk": 500, "change": 0}


def test_fixed_operation_stays_exactly_there_and_holds_its_machine() -> None:
    # o1-10 started at 50 on m1, outside the windows (they need not cover fixed work); it
    # runs 100 minutes to 150; o2 must wait for it on the only machine
    m1 = machine("m1", "p1", windows=[[100, 1000]])
    o1 = order("o1", [("cnc_milling", None, 10)])
    o1["operations"][0]["fixed"] = {"machine": "m1", "start": 50}
    o2 = order("o2", [("cnc_milling", None, 5)])
    d = problem([m1], [o1, o2])
    for out in (_solve(d), _greedy(d)):
        a, b = by_op(out)["o1-10"], by_op(out)["o2-10"]
        assert (a["machine"], a["start"], a["end"]) == ("m1", 50, 150)
        assert b["start"] == 150
    # started before the horizon: a negative start is a fact, not an error
    d["orders"][0]["operations"][0]["fixed"] = {"machine": "m1", "start": -40}
    out = _solve(d)
    assert (by_op(out)["o1-10"]["end"], by_op(out)["o2-10"]["start"]) == (60, 100)


def test_fixed_work_of_an_unserved_order_still_holds_its_time() -> None:
    m1 = machine("m1", "p1", windows=[[0, 1000]])
    o1 = order("o1", [("cnc_milling", None, 10), ("anodizing", None, 1)], penalty=10)
    o1["operations"][0]["fixed"] = {"machine": "m1", "start": 0}
    o2 = order("o2", [("cnc_milling", None, 5)])
    d = problem([m1], [o1, o2])
    out = _solve(d)
    assert out["unserved"][0]["order"] == "o1"
    assert by_op(out)["o2-10"]["start"] >= 100


def _moving(moved: int, plant_changed: int = 0) -> dict[str, Any]:
    # o1-10 was accepted on m1 at 200; m2 (same plant) is free at once and 1,000 cheaper;
    # m3 in another plant is cheaper still
    ms = [machine("m1", "p1", rate=12000), machine("m2", "p1", rate=6000),
          machine("m3", "p2", rate=1200)]
    o = order("o1", [("cnc_milling", None, 1)], quantity=10)
    o["operations"][0]["previous"] = {"machine": "m1", "start": 200}
    d = problem(ms, [o])
    d["transport"]["fixed_cost"] = 0
    d["transport"]["cost_per_km"] = 0
    d["change_cost"] = {"moved": moved, "plant_changed": plant_changed}
    return d


def test_previous_place_is_kept_when_moving_costs_more_than_it_saves() -> None:
    d = _moving(5000, 5000)
    for out in (_solve(d), _greedy(d)):
        a = by_op(out)["o1-10"]
        assert (a["machine"], a["start"]) == ("m1", 200)
        assert out["changes"] == []
        assert out["orders"][0]["cost"] == 2000


def test_a_move_pays_change_cost_and_is_listed_in_changes() -> None:
    d = _moving(500, 5000)  # m2 saves 1,000 for 500; m3 saves 1,800 but pays 5,500
    out = _solve(d)
    a = by_op(out)["o1-10"]
    assert a["machine"] == "m2"
    assert out["changes"] == [{"operation": "o1-10", "from": {"machine": "m1", "start": 200},
                               "to": {"machine": "m2", "start": a["start"]}}]
    assert out["orders"][0]["parts"]["change"] == 500
    assert out["orders"][0]["cost"] == 1000 + 500
    d = _moving(0, 0)  # free moves: the cheapest machine, wherever it is
    assert by_op(_solve(d))["o1-10"]["machine"] == "m3"


def test_problems_without_v11_fields_give_the_same_plan_as_with_neutral_ones() -> None:
    from matching.io.generate import generate

    d = generate(12, 4, seed=3)
    neutral = copy.deepcopy(d)
    neutral["change_cost"] = {"moved": 0, "plant_changed": 0}
    for p in neutral["plants"]:
        p["risk_per_mille"] = 0
        p["certifications"] = []
    for o in neutral["orders"]:
        o["risk_cost"] = 0
        o["certifications"] = []
    a = solve(d, time_limit=2, workers=1, seed=0).to_dict()
    b = solve(neutral, time_limit=2, workers=1, seed=0).to_dict()
    for key in ("objective", "assignments", "unserved", "orders", "changes"):
        assert a[key] == b[key]


@pytest.mark.parametrize("field,value,reason", [
    ("tolerance_mm", 0.01, "no machine holds tolerance 0.01 mm for cnc_milling"),
    ("certifications", ["iso13485"], "no plant has certification iso13485"),
])
def test_quote_respects_the_new_eligibility(field: str, value: Any, reason: str) -> None:
    d = problem([_cap(machine("m1", "p1"), tolerance_mm=0.05)], [])
    new = order("q1", [("cnc_milling", None, 1)])
    if field == "tolerance_mm":
        new["operations"][0][field] = value
    else:
        new[field] = value
    q = quote(d, None, new)
    assert not q.ok and q.reason == reason


def test_quote_weighs_risk_but_prices_without_it_and_times_operation_quantity() -> None:
    ms = [machine("m1", "p1", rate=6000), machine("m2", "p2", rate=7200)]
    d = problem(ms, [])
    d["plants"][0]["risk_per_mille"] = 500
    new = order("q1", [("cnc_milling", None, 1)], quantity=100)
    new["operations"][0]["quantity"] = 10
    new["risk_cost"] = 10_000  # 5,000 expected on p1 against 200 more on p2
    q = quote(d, None, new)
    assert q.ok and q.placements[0].machine == "m2"
    assert q.price == round(7200 * 10 / 60) and q.risk == 0
    assert q.placements[0].end - q.placements[0].start == 10


def test_fixed_work_is_a_fact_even_when_it_broke_the_transport_lag() -> None:
    # done on m1 (Shanghai) from 0, then started on m2 (Suzhou) at 20: faster than the
    # 205-minute lag; a fact, so the order is still served, its last step after both
    ms = [machine("m1", "p1"), machine("m2", "p2"), machine("m3", "p2")]
    o = order("o1", [("cnc_milling", None, 1)] * 3)
    for k, op in enumerate(o["operations"]):
        op["id"] = f"o1-{k}"
    o["operations"][0]["fixed"] = {"machine": "m1", "start": 0}
    o["operations"][1]["fixed"] = {"machine": "m2", "start": 20}
    d = problem(ms, [o])
    for out in (_solve(d), _greedy(d)):
        assert out["unserved"] == []
        assert by_op(out)["o1-2"]["start"] >= 30


def test_fixed_on_a_machine_that_cannot_do_it_is_unserved_and_says_so() -> None:
    ms = [machine("m1", "p1"), machine("m2", "p1", "anodizing")]
    o = order("o1", [("cnc_milling", None, 1)])
    o["operations"][0]["fixed"] = {"machine": "m2", "start": 0}
    d = problem(ms, [o])
    assert _solve(d)["unserved"][0]["reason"] == (
        "operation o1-10 is fixed on machine m2, which cannot do it")
    p = Problem.from_dict({**d, "orders": [{**o, "operations": [
        {**o["operations"][0], "fixed": {"machine": "m9", "start": 0}}]}]})
    assert p.options(0, 0) == []  # not "anywhere": a fixed operation has one place
