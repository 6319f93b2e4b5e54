"""The independent validator on each version 1.1 rule: a plan breaking one rule gets exactly
one message naming it; figures are recomputed with risk and change cost."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from matching.validate import recompute_objective, validate


def base() -> dict[str, Any]:
    # one plant pair without coordinates: legs cost only the fixed cost
    return {
        "format": "yunzao.problem/1", "objective": "cost",
        "horizon": {"start": "2026-12-07T00:00:00Z", "minutes": 1000},
        "transport": {"speed_kmh": 60, "handling_minutes": 10, "cost_per_km": 0,
                      "fixed_cost": 700},
        "plants": [{"id": "p1", "risk_per_mille": 100},
                   {"id": "p2", "certifications": ["iatf16949"]}],
        "machines": [
            {"id": "m1", "plant": "p1", "windows": [[100, 500]], "capabilities": [
                {"process": "cnc", "rate_per_hour": 6000, "tolerance_mm": 0.1,
                 "max_part_mm": 500}]},
            {"id": "m2", "plant": "p2", "capabilities": [
                {"process": "cnc", "rate_per_hour": 6000, "tolerance_mm": 0.005}]},
        ],
        "orders": [{"id": "o1", "quantity": 100, "unserved_penalty": 10**6, "risk_cost": 3000,
                    "operations": [{"id": "o1-10", "process": "cnc", "minutes_per_unit": 1,
                                    "quantity": 20}]}],
    }


def plan(machine: str = "m1", start: int = 100, end: int = 120, cost: int = 2000 + 300
         ) -> dict[str, Any]:
    # 20 pieces x 1 min = 20 min, 2,000; risk on p1 round(3000 x 100 / 1000) = 300
    return {"format": "yunzao.plan/1", "status": "FEASIBLE", "objective": cost, "bound": None,
            "assignments": [{"operation": "o1-10", "machine": machine, "start": start,
                             "end": end}],
            "unserved": [], "orders": [{"order": "o1", "completion": end, "lateness": 0,
                                        "cost": cost}], "changes": []}


def one(msgs: list[str], *words: str) -> None:
    assert len(msgs) == 1, msgs
    assert all(w in msgs[0] for w in words), msgs


def test_operation_quantity_and_risk_cost_are_recomputed() -> None:
    assert validate(base(), plan()) == []
    assert recompute_objective(base(), plan()) == 2300
    pr = base()
    del pr["orders"][0]["operations"][0]["quantity"]  # 100 pieces: 100 minutes
    msgs = validate(pr, plan())
    assert any("o1-10" in m and "ends at 200, not 120" in m for m in msgs), msgs
    assert "order o1 cost is 2300, recomputed 10300" in msgs
    pr = base()
    pr["plants"][0]["risk_per_mille"] = 0
    msgs = validate(pr, plan())
    assert any("cost is 2300, recomputed 2000" in m for m in msgs), msgs


def test_tolerance_rule() -> None:
    pr = base()
    pr["orders"][0]["operations"][0]["tolerance_mm"] = 0.01
    msgs = validate(pr, plan())
    assert any("m1, which does not hold tolerance 0.01 mm for cnc" in m for m in msgs), msgs
    assert validate(pr, plan("m2", 0, 20, 2000)) == []  # p2: no risk, and it holds 0.005


def test_part_size_rule() -> None:
    pr = base()
    pr["orders"][0]["part_size_mm"] = [100, 600, 20]
    msgs = validate(pr, plan())
    assert any("m1, which does not take a part of 600 mm for cnc" in m for m in msgs), msgs
    assert validate(pr, plan("m2", 0, 20, 2000)) == []  # m2 states no size limit


def test_certification_rule() -> None:
    pr = base()
    pr["orders"][0]["certifications"] = ["iatf16949"]
    msgs = validate(pr, plan())
    assert any("whose plant p1 lacks certification iatf16949" in m for m in msgs), msgs
    assert validate(pr, plan("m2", 0, 20, 2000)) == []


def test_fixed_operation_must_stay_and_is_exempt_from_windows_and_horizon() -> None:
    pr = base()
    pr["orders"][0]["operations"][0]["fixed"] = {"machine": "m1", "start": 20}
    # 20 is outside m1's windows: a fixed start is what happened; windows hold no work from
    # there, so it ends at 20 + 20
    assert validate(pr, plan(start=20, end=40)) == []
    one(validate(pr, plan(start=20, end=120)), "fixed operation o1-10", "ends at 40, not 120")
    one(validate(pr, plan(start=100, end=120)), "fixed on m1 at 20", "placed on m1 at 100")
    pr["orders"][0]["operations"][0]["fixed"] = {"machine": "m1", "start": -50}
    assert validate(pr, plan(start=-50, end=-30)) == []
    pr["orders"][0]["operations"][0]["fixed"] = {"machine": "m1", "start": 490}
    # inside the last window with 10 minutes left: no window end, so 490 + 20
    assert validate(pr, plan(start=490, end=510)) == []


def test_fixed_work_of_an_unserved_order_still_holds_its_machine() -> None:
    pr = base()
    pr["orders"].append({"id": "o2", "unserved_penalty": 5, "operations": [
        {"id": "o2-10", "process": "cnc", "minutes_per_unit": 30,
         "fixed": {"machine": "m1", "start": 100}}]})
    pl = plan()
    pl["unserved"] = [{"order": "o2", "reason": "chosen unserved"}]
    pl["objective"] += 5
    one(validate(pr, pl), "fixed operation o2-10", "overlap on machine m1")
    pl = plan(start=130, end=150)
    pl["unserved"] = [{"order": "o2", "reason": "chosen unserved"}]
    pl["objective"] += 5
    assert validate(pr, pl) == []


def test_previous_place_change_cost_and_changes_list() -> None:
    pr = base()
    pr["change_cost"] = {"moved": 400, "plant_changed": 1000}
    pr["orders"][0]["operations"][0]["previous"] = {"machine": "m1", "start": 100}
    assert validate(pr, plan()) == []  # not moved: nothing to pay, nothing to list
    moved = plan(start=200, end=220, cost=2300 + 400)
    moved["changes"] = [{"operation": "o1-10", "from": {"machine": "m1", "start": 100},
                         "to": {"machine": "m1", "start": 200}}]
    assert validate(pr, moved) == []
    assert recompute_objective(pr, moved) == 2700
    other_plant = plan("m2", 0, 20, 2000 + 400 + 1000)
    other_plant["changes"] = [{"operation": "o1-10", "from": {"machine": "m1", "start": 100},
                               "to": {"machine": "m2", "start": 0}}]
    assert validate(pr, other_plant) == []
    unlisted = copy.deepcopy(moved)
    unlisted["changes"] = []
    one(validate(pr, unlisted), "o1-10 moved from its previous place", "not in changes")
    wrong = copy.deepcopy(moved)
    wrong["changes"][0]["to"]["start"] = 300
    one(validate(pr, wrong), "change of o1-10 must read from m1 at 100 to m1 at 200")
    extra = plan()
    extra["changes"] = moved["changes"]
    one(validate(pr, extra), "did not move")


@pytest.mark.parametrize("part,value", [("risk", 299), ("operations", 1), ("change", 5)])
def test_cost_parts_when_given_must_be_the_recomputed_ones(part: str, value: int) -> None:
    pl = plan()
    pl["orders"][0]["parts"] = {"operations": 2000, "transport": 0, "delivery": 0,
                                "lateness": 0, "risk": 300, "change": 0}
    assert validate(base(), pl) == []
    pl["orders"][0]["parts"][part] = value
    one(validate(base(), pl), f"o1 {part} cost is {value}")


@pytest.mark.parametrize("where,key,value", [
    ("op", "tolerance_mm", "fine"), ("op", "quantity", -1), ("op", "fixed", {"machine": "m9"}),
    ("order", "part_size_mm", [1, "x"]), ("order", "risk_cost", 1.5),
    ("plant", "risk_per_mille", 1001), ("top", "change_cost", {"moved": -1}),
])
def test_malformed_v11_fields_are_reported_not_raised(where: str, key: str, value: Any) -> None:
    pr = base()
    target = {"op": pr["orders"][0]["operations"][0], "order": pr["orders"][0],
              "plant": pr["plants"][0], "top": pr}[where]
    target[key] = value
    msgs = validate(pr, plan())
    assert len(msgs) == 1 and key in msgs[0], msgs
