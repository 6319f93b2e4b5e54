"""The independent plan checker: a hand-made valid plan, then one broken rule per test."""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from typing import Any

import pytest

from matching.validate import recompute_objective, validate

SHANGHAI = (31.2304, 121.4737)
SUZHOU = (31.2989, 120.5853)


def gc_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance by the spherical law of cosines (not the validator's formula)."""
    p1, l1, p2, l2 = (math.radians(x) for x in (*a, *b))
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(l2 - l1)
    return 6371 * math.acos(c)


KM = gc_km(SHANGHAI, SUZHOU)
LAG = 120 + math.ceil(KM)  # handling + km at 60 km/h = 205 minutes
LEG_COST = 20000 + round(KM * 300)  # 20000 + round(84.78 * 300) = 45435


def test_reference_distance() -> None:
    # Shanghai People's Square to Suzhou centre: about 85 km by road atlases, 84.8 great-circle
    assert abs(KM - 84.8) < 1.0
    assert LAG == 205
    assert LEG_COST == 45435


def problem() -> dict[str, Any]:
    return {
        "format": "yunzao.problem/1",
        "currency": "CNY",
        "objective": "cost",
        "horizon": {"start": "2026-12-07T00:00:00Z", "minutes": 10080},
        "transport": {"speed_kmh": 60, "handling_minutes": 120, "cost_per_km": 300,
                      "fixed_cost": 20000},
        "plants": [{"id": "p1", "lat": SHANGHAI[0], "lon": SHANGHAI[1]},
                   {"id": "p2", "lat": SUZHOU[0], "lon": SUZHOU[1]}],
        "machines": [
            {"id": "m1", "plant": "p1",
             "capabilities": [{"process": "cnc_milling", "materials": ["al6061", "ss304"],
                               "rate_per_hour": 12000, "setup_minutes": 30, "speed": 1.0}],
             "windows": [[480, 960], [1920, 2400]]},
            {"id": "m2", "plant": "p2",
             "capabilities": [{"process": "anodizing", "rate_per_hour": 6000, "speed": 2.0}],
             "windows": [[0, 10080]]},
            {"id": "m3", "plant": "p1",
             "capabilities": [{"process": "cnc_milling", "materials": ["ss304"],
                               "rate_per_hour": 9000}],
             "windows": [[480, 960]]},
        ],
        "bookings": [{"machine": "m3", "start": 600, "end": 700}],
        "orders": [
            {"id": "o1", "quantity": 200, "release": 0, "due": 2000,
             "lat": SHANGHAI[0], "lon": SHANGHAI[1],
             "late_penalty_per_minute": 50, "unserved_penalty": 100_000_000,
             "operations": [
                 {"id": "o1-10", "process": "cnc_milling", "material": "al6061",
                  "minutes_per_unit": 2.5},
                 {"id": "o1-20", "process": "anodizing", "material": "al6061",
                  "minutes_per_unit": 0.5}]},
            {"id": "o2", "quantity": 10, "unserved_penalty": 5_000_000,
             "operations": [{"id": "o2-10", "process": "cnc_milling", "material": "ss304",
                             "minutes_per_unit": 3}]},
            {"id": "o3", "quantity": 5, "unserved_penalty": 7_000_000,
             "operations": [{"id": "o3-10", "process": "electroplating", "material": "brass",
                             "minutes_per_unit": 1}]},
        ],
    }


# o1-10 on m1: 30 setup + ceil(200 * 2.5) = 530 min; 480 in [480, 960), 50 in [1920, ..) -> 1970
#   cost round(12000 * 530 / 60) = 106000
# p1 -> p2: 205 min, 45435; o1-20 on m2 at 1970 + 205 = 2175: ceil(200 * 0.5 / 2) = 50 -> 2225
#   cost round(6000 * 50 / 60) = 5000
# delivery p2 -> buyer in Shanghai: 205 min, 45435; completion 2430, lateness 430, 50 * 430 = 21500
# o1 cost = 106000 + 45435 + 5000 + 45435 + 21500 = 223370
# o2-10 on m3: ceil(10 * 3) = 30 min, [480, 510), cost round(9000 * 30 / 60) = 4500; no due, no
#   delivery (no lat/lon)
# o3 unserved: 7_000_000.  Objective = 223370 + 4500 + 7_000_000 = 7_227_870
def plan() -> dict[str, Any]:
    return {
        "format": "yunzao.plan/1",
        "status": "FEASIBLE",
        "objective": 7_227_870,
        "bound": 7_100_000,
        "assignments": [
            {"operation": "o1-10", "machine": "m1", "start": 480, "end": 1970},
            {"operation": "o1-20", "machine": "m2", "start": 2175, "end": 2225},
            {"operation": "o2-10", "machine": "m3", "start": 480, "end": 510},
        ],
        "unserved": [{"order": "o3", "reason": "no machine offers process electroplating"}],
        "orders": [
            {"order": "o1", "completion": 2430, "lateness": 430, "cost": 223370},
            {"order": "o2", "completion": 510, "lateness": 0, "cost": 4500},
        ],
        "stats": {"wall_seconds": 0.1, "engine": "hand"},
    }


def assignment(pl: dict[str, Any], opid: str) -> dict[str, Any]:
    return next(a for a in pl["assignments"] if a["operation"] == opid)


def entry(pl: dict[str, Any], oid: str) -> dict[str, Any]:
    return next(e for e in pl["orders"] if e["order"] == oid)


def only(msgs: list[str], *words: str) -> str:
    """The plan breaks exactly one rule, and its message names all of `words`."""
    assert len(msgs) == 1, msgs
    for w in words:
        assert w in msgs[0], (w, msgs[0])
    return msgs[0]


def some(msgs: list[str], *words: str) -> str:
    hits = [m for m in msgs if all(w in m for w in words)]
    assert hits, (words, msgs)
    return hits[0]


# --------------------------------------------------------------------------- valid plans


def test_valid_plan_accepted() -> None:
    assert validate(problem(), plan()) == []
    assert recompute_objective(problem(), plan()) == 7_227_870


def test_to_dict_objects_accepted() -> None:
    class Wrap:
        def __init__(self, d: dict[str, Any]) -> None:
            self.d = d

        def to_dict(self) -> dict[str, Any]:
            return self.d

    assert validate(Wrap(problem()), Wrap(plan())) == []
    assert recompute_objective(Wrap(problem()), Wrap(plan())) == 7_227_870


def test_op_spanning_a_gap_from_late_start() -> None:
    # o1-10 at 900: 60 min in [480, 960) then 470 in [1920, 2400) -> ends 2390
    pr, pl = problem(), plan()
    pr["orders"][0]["due"] = 99999
    assignment(pl, "o1-10").update(start=900, end=2390)
    assignment(pl, "o1-20").update(start=2390 + 205, end=2390 + 205 + 50)
    entry(pl, "o1").update(completion=2850, lateness=0, cost=223370 - 21500)
    pl["objective"] = 7_227_870 - 21500
    assert validate(pr, pl) == []


@pytest.mark.parametrize("end", [1969, 1971, 1010])
def test_spanning_end_wrong(end: int) -> None:
    pl = plan()
    assignment(pl, "o1-10")["end"] = end
    msgs = validate(problem(), pl)
    some(msgs, "o1-10", "m1", "ends at 1970", f"not {end}")


def test_end_within_one_window_wrong() -> None:
    pl = plan()
    assignment(pl, "o2-10")["end"] = 511
    msgs = validate(problem(), pl)
    some(msgs, "o2-10", "ends at 510", "not 511")


def test_no_solution_plan() -> None:
    pl = {"format": "yunzao.plan/1", "status": "NO_SOLUTION", "objective": None, "bound": None,
          "assignments": [], "unserved": [], "orders": []}
    assert validate(problem(), pl) == []
    pl["assignments"] = plan()["assignments"]
    only(validate(problem(), pl), "NO_SOLUTION", "no assignments")


def test_missing_windows_means_whole_horizon() -> None:
    pr, pl = problem(), plan()
    del pr["machines"][1]["windows"]
    assert validate(pr, pl) == []
    assignment(pl, "o1-20").update(start=10050, end=10100)
    some(validate(pr, pl), "o1-20", "windows of m2 run out")


def test_zero_minute_work_needs_no_window_even_at_the_horizon_end() -> None:
    pr, pl = problem(), plan()
    pr["orders"].append({"id": "o4", "quantity": 1, "release": 10080, "unserved_penalty": 1,
                         "operations": [{"id": "o4-10", "process": "cnc_milling",
                                         "material": "ss304", "minutes_per_unit": 0}]})
    pl["assignments"].append({"operation": "o4-10", "machine": "m3", "start": 10080,
                              "end": 10080})
    pl["orders"].append({"order": "o4", "completion": 10080, "lateness": 0, "cost": 0})
    assert validate(pr, pl) == []
    # one minute of work at the same place is outside every window of m3
    pr["orders"][3]["operations"][0]["minutes_per_unit"] = 1
    pl["assignments"][-1]["end"] = 10081
    some(validate(pr, pl), "o4-10", "outside every window")


# --------------------------------------------------------------------------- one rule each


def test_problem_format_string() -> None:
    pr = problem()
    pr["format"] = "yunzao.problem/2"
    only(validate(pr, plan()), "problem format", "yunzao.problem/2")


def test_plan_format_string() -> None:
    pl = plan()
    pl["format"] = "plan"
    only(validate(problem(), pl), "plan format", "'plan'")


def test_status() -> None:
    pl = plan()
    pl["status"] = "DONE"
    only(validate(problem(), pl), "status", "DONE")


def test_unknown_operation() -> None:
    pl = plan()
    pl["assignments"].append({"operation": "o9-10", "machine": "m1", "start": 2000, "end": 2060})
    only(validate(problem(), pl), "unknown operation", "o9-10")


def test_unknown_machine() -> None:
    pl = plan()
    assignment(pl, "o2-10")["machine"] = "m7"
    msgs = validate(problem(), pl)
    some(msgs, "o2-10", "unknown machine", "m7")


def test_assigned_twice() -> None:
    pl = plan()
    pl["assignments"].append({"operation": "o2-10", "machine": "m3", "start": 800, "end": 830})
    only(validate(problem(), pl), "o2-10", "assigned twice")


def test_partially_served() -> None:
    pl = plan()
    pl["assignments"] = [a for a in pl["assignments"] if a["operation"] != "o1-20"]
    msgs = validate(problem(), pl)
    some(msgs, "order o1", "partially served", "o1-20")


def test_served_and_listed_unserved() -> None:
    pl = plan()
    pl["unserved"].append({"order": "o2", "reason": "changed my mind"})
    only(validate(problem(), pl), "o2", "both served", "unserved")


def test_neither_served_nor_unserved() -> None:
    pl = plan()
    pl["unserved"] = []
    only(validate(problem(), pl), "o3", "neither served nor listed unserved")


def test_unserved_unknown_order_and_no_reason() -> None:
    pl = plan()
    pl["unserved"] = [{"order": "o3", "reason": ""}, {"order": "o8", "reason": "x"}]
    msgs = validate(problem(), pl)
    assert len(msgs) == 2, msgs
    some(msgs, "o3", "no reason")
    some(msgs, "unknown order", "o8")


def test_machine_lacks_process() -> None:
    pl = plan()
    assignment(pl, "o1-20")["machine"] = "m1"  # m1 only mills
    some(validate(problem(), pl), "o1-20", "m1", "no capability", "anodizing")


def test_machine_lacks_material() -> None:
    pl = plan()
    assignment(pl, "o1-10")["machine"] = "m3"  # m3 mills ss304 only
    some(validate(problem(), pl), "o1-10", "m3", "no capability", "al6061")


def test_cheapest_matching_capability_is_used() -> None:
    pr = problem()
    # a second, dearer capability for the same process does not change the figures
    pr["machines"][0]["capabilities"].append(
        {"process": "cnc_milling", "materials": [], "rate_per_hour": 10**6, "setup_minutes": 0})
    assert validate(pr, plan()) == []
    # a cheaper one does: the recomputed cost and objective no longer match the plan
    pr["machines"][0]["capabilities"].insert(
        0, {"process": "cnc_milling", "materials": [], "rate_per_hour": 1, "setup_minutes": 30})
    assert any("objective" in message for message in validate(pr, plan()))


def test_start_outside_windows() -> None:
    pl = plan()
    assignment(pl, "o2-10").update(start=960, end=990)
    some(validate(problem(), pl), "operation o2-10 on machine m3 starts at 960",
         "outside every window of m3")


def test_start_before_zero_and_end_after_horizon() -> None:
    pl = plan()
    assignment(pl, "o1-20").update(start=-5, end=45)
    some(validate(problem(), pl), "o1-20", "before 0")
    pl = plan()
    assignment(pl, "o1-20").update(start=10060, end=10110)
    some(validate(problem(), pl), "o1-20", "10110", "after the horizon 10080")


def test_overlap_with_booking() -> None:
    pl = plan()
    assignment(pl, "o2-10").update(start=590, end=620)
    entry(pl, "o2")["completion"] = 620
    only(validate(problem(), pl), "booking #0", "o2-10", "overlap on machine m3",
         "[590, 620)", "[600, 700)")


def test_overlap_between_operations() -> None:
    pl = plan()
    # o2-10 on m1: 30 setup + 30 = 60 min, cost 12000, inside o1-10's held span [480, 1970)
    assignment(pl, "o2-10").update(machine="m1", start=1940, end=2000)
    entry(pl, "o2").update(completion=2000, cost=12000)
    pl["objective"] = 7_227_870 - 4500 + 12000
    only(validate(problem(), pl), "operations o1-10 and o2-10 overlap on machine m1",
         "[480, 1970)", "[1940, 2000)")


def test_touching_spans_do_not_overlap() -> None:
    pl = plan()
    assignment(pl, "o2-10").update(start=570, end=600)  # ends where the booking starts
    entry(pl, "o2")["completion"] = 600
    assert validate(problem(), pl) == []


def test_release() -> None:
    pr = problem()
    pr["orders"][1]["release"] = 500
    only(validate(pr, plan()), "o2-10", "starts at 480", "release 500", "o2")


def test_precedence_with_transport_lag() -> None:
    pl = plan()
    assignment(pl, "o1-20").update(start=2100, end=2150)
    # completion 2150 + 205 = 2355, lateness 355: 223370 - 21500 + 50 * 355
    entry(pl, "o1").update(completion=2355, lateness=355, cost=223370 - 21500 + 17750)
    pl["objective"] = 7_227_870 - 21500 + 17750
    only(validate(problem(), pl),
         "operation o1-20 starts at 2100 before o1-10 ends plus transport 205 (2175)")


def test_delivery_lateness_entry() -> None:
    pl = plan()
    entry(pl, "o1")["lateness"] = 0
    only(validate(problem(), pl), "order o1 lateness is 0, recomputed 430")


def test_completion_entry() -> None:
    pl = plan()
    entry(pl, "o1")["completion"] = 2225  # forgot the delivery leg
    only(validate(problem(), pl), "order o1 completion is 2225, recomputed 2430")


def test_cost_entry() -> None:
    pl = plan()
    entry(pl, "o1")["cost"] = 223370 - 45435  # forgot the delivery cost
    only(validate(problem(), pl), "order o1 cost", "recomputed 223370")


def test_orders_entries_missing_and_extra() -> None:
    pl = plan()
    pl["orders"] = [entry(pl, "o1"), {"order": "o3", "completion": 0, "lateness": 0, "cost": 0}]
    msgs = validate(problem(), pl)
    assert len(msgs) == 2, msgs
    some(msgs, "served order o2", "no orders entry")
    some(msgs, "o3", "not served")


def test_objective_mismatch() -> None:
    pl = plan()
    pl["objective"] = 7_300_000
    only(validate(problem(), pl), "objective 7300000 differs from the recomputed 7227870")


def test_bound_above_objective() -> None:
    pl = plan()
    pl["bound"] = 7_227_871
    only(validate(problem(), pl), "bound 7227871", "above the objective 7227870")
    pl["bound"] = None
    assert validate(problem(), pl) == []


def test_delivery_only_when_buyer_has_coordinates() -> None:
    pr, pl = problem(), plan()
    del pr["orders"][0]["lat"], pr["orders"][0]["lon"]
    # no delivery leg: completion 2225, lateness 225, cost 106000 + 45435 + 5000 + 50 * 225
    entry(pl, "o1").update(completion=2225, lateness=225, cost=106000 + 45435 + 5000 + 11250)
    pl["objective"] = 106000 + 45435 + 5000 + 11250 + 4500 + 7_000_000
    assert validate(pr, pl) == []


def test_missing_transport_is_60_kmh_free() -> None:
    pr, pl = problem(), plan()
    del pr["transport"]
    # legs take ceil(84.78) = 85 min and cost nothing; completion 2225 + 85 = 2310, late 310
    entry(pl, "o1").update(completion=2310, lateness=310, cost=106000 + 5000 + 50 * 310)
    pl["objective"] = 106000 + 5000 + 15500 + 4500 + 7_000_000
    assert validate(pr, pl) == []
    assignment(pl, "o1-20").update(start=2050, end=2100)
    entry(pl, "o1").update(completion=2185, lateness=185, cost=106000 + 5000 + 50 * 185)
    pl["objective"] = 106000 + 5000 + 9250 + 4500 + 7_000_000
    only(validate(pr, pl), "o1-20 starts at 2050", "transport 85 (2055)")


def test_plant_without_coordinates_is_zero_km() -> None:
    pr, pl = problem(), plan()
    del pr["plants"][1]["lat"], pr["plants"][1]["lon"]
    # p1 -> p2 and p2 -> buyer: 0 km, so 120 min handling and 20000 fixed each
    entry(pl, "o1").update(completion=2345, lateness=345,
                           cost=106000 + 20000 + 5000 + 20000 + 50 * 345)
    pl["objective"] = 168250 + 4500 + 7_000_000
    assert validate(pr, pl) == []


def test_missing_quantity_is_one() -> None:
    pr = fjsp_problem()
    for o in pr["orders"]:
        del o["quantity"]
    assert validate(pr, fjsp_plan()) == []


# --------------------------------------------------------------------------- makespan


def fjsp_problem() -> dict[str, Any]:
    def alt(m: str, minutes: int, cost: int = 0) -> dict[str, Any]:
        return {"machine": m, "minutes": minutes, "cost": cost}

    return {
        "format": "yunzao.problem/1", "currency": "XXX", "objective": "makespan",
        "horizon": {"start": "2000-01-01T00:00:00Z", "minutes": 100},
        "transport": {"speed_kmh": 60, "handling_minutes": 0, "cost_per_km": 0, "fixed_cost": 0},
        "plants": [{"id": "p1", "lat": 0, "lon": 0}],
        "machines": [{"id": "ma", "plant": "p1", "capabilities": []},
                     {"id": "mb", "plant": "p1", "capabilities": []}],
        "orders": [
            {"id": "j1", "quantity": 1, "unserved_penalty": 1000,
             "operations": [{"id": "j1-1", "alternatives": [alt("ma", 3), alt("mb", 5)]},
                            {"id": "j1-2", "alternatives": [alt("mb", 4)]}]},
            {"id": "j2", "quantity": 1, "unserved_penalty": 1000,
             "operations": [{"id": "j2-1", "alternatives": [alt("ma", 2, 7)]}]},
        ],
    }


def fjsp_plan() -> dict[str, Any]:
    # j2-1 ma [0, 2); j1-1 ma [2, 5); j1-2 mb [5, 9): makespan 9 (costs do not count)
    return {
        "format": "yunzao.plan/1", "status": "OPTIMAL", "objective": 9, "bound": 9,
        "assignments": [
            {"operation": "j2-1", "machine": "ma", "start": 0, "end": 2},
            {"operation": "j1-1", "machine": "ma", "start": 2, "end": 5},
            {"operation": "j1-2", "machine": "mb", "start": 5, "end": 9},
        ],
        "unserved": [],
        "orders": [{"order": "j1", "completion": 9, "lateness": 0, "cost": 0},
                   {"order": "j2", "completion": 2, "lateness": 0, "cost": 7}],
    }


def test_makespan_valid() -> None:
    assert validate(fjsp_problem(), fjsp_plan()) == []
    assert recompute_objective(fjsp_problem(), fjsp_plan()) == 9


def test_makespan_with_unserved_penalty() -> None:
    pl = fjsp_plan()
    pl["assignments"] = pl["assignments"][1:]
    pl["unserved"] = [{"order": "j2", "reason": "test"}]
    pl["orders"] = pl["orders"][:1]
    pl["objective"] = 9 + 1000  # makespan of the served orders + unserved penalties
    pl["bound"] = None
    assert validate(fjsp_problem(), pl) == []
    pl["objective"] = 9
    only(validate(fjsp_problem(), pl), "objective 9 differs from the recomputed 1009")


def test_alternative_not_listed() -> None:
    pl = fjsp_plan()
    assignment(pl, "j1-2").update(machine="ma", start=5, end=9)
    some(validate(fjsp_problem(), pl), "j1-2", "ma", "not among its alternatives")


def test_alternative_minutes_give_the_end() -> None:
    pl = fjsp_plan()
    assignment(pl, "j1-1").update(machine="mb", start=0, end=3)  # mb takes 5
    some(validate(fjsp_problem(), pl), "j1-1", "ends at 5, not 3")


def test_precedence_same_plant() -> None:
    pl = fjsp_plan()
    assignment(pl, "j1-2").update(start=4, end=8)
    entry(pl, "j1")["completion"] = 8
    pl["objective"] = pl["bound"] = 8
    only(validate(fjsp_problem(), pl), "operation j1-2 starts at 4 before j1-1 ends (5)")


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize("bad", [None, 3, "x", [], [1, 2]])
def test_malformed_top_level(bad: Any) -> None:
    msgs = validate(bad, plan())
    some(msgs, "problem is not an object")
    msgs = validate(problem(), bad)
    some(msgs, "plan is not an object")
    with pytest.raises(ValueError):
        recompute_objective(problem(), bad)
    with pytest.raises(ValueError):
        recompute_objective(bad, plan())


@pytest.mark.parametrize("key", ["format", "horizon", "plants", "machines", "orders"])
def test_problem_missing_key(key: str) -> None:
    pr = problem()
    del pr[key]
    msgs = validate(pr, plan())
    assert msgs and all(isinstance(m, str) for m in msgs)


@pytest.mark.parametrize("key", ["format", "status", "objective", "assignments", "unserved",
                                 "orders"])
def test_plan_missing_key(key: str) -> None:
    pl = plan()
    del pl[key]
    msgs = validate(problem(), pl)
    assert msgs and all(isinstance(m, str) for m in msgs)


def test_wrong_types_become_messages() -> None:
    pl = plan()
    assignment(pl, "o2-10")["start"] = "480"
    some(validate(problem(), pl), "o2-10", "integer start and end")
    pl = plan()
    pl["assignments"].append(["o3-10", "m1", 0, 1])
    some(validate(problem(), pl), "assignment #3 is not an object")
    pl = plan()
    pl["assignments"] = "all of them"
    some(validate(problem(), pl), "assignments must be a list")
    pl = plan()
    pl["objective"] = True
    some(validate(problem(), pl), "objective must be a number")
    pr = problem()
    pr["machines"][0]["windows"] = [[960, 480]]
    some(validate(pr, plan()), "machine m1 window #0")
    pr = problem()
    pr["machines"][0]["windows"] = [[1920, 2400], [480, 960]]
    some(validate(pr, plan()), "m1 windows are not sorted")
    pr = problem()
    pr["orders"][0]["quantity"] = "many"
    some(validate(pr, plan()), "order o1 quantity")
    pr = problem()
    pr["transport"] = {"speed_kmh": 0}
    some(validate(pr, plan()), "speed_kmh")
    pr = problem()
    pr["orders"][0]["operations"][0] = {"id": "o1-10", "process": "cnc_milling"}
    some(validate(pr, plan()), "o1-10", "minutes_per_unit")
    pr = problem()
    pr["machines"][0]["plant"] = "p9"
    some(validate(pr, plan()), "m1", "unknown plant")


def test_unwrap_failure_is_a_message() -> None:
    class Broken:
        def to_dict(self) -> dict[str, Any]:
            raise RuntimeError("boom")

    some(validate(Broken(), plan()), "to_dict() failed", "boom")


def test_recompute_objective_rejects_broken_plans() -> None:
    pl = plan()
    pl["assignments"] = pl["assignments"][1:]
    with pytest.raises(ValueError, match="partially served"):
        recompute_objective(problem(), pl)
    pl = plan()
    assignment(pl, "o1-20")["machine"] = "m1"
    with pytest.raises(ValueError, match="not eligible"):
        recompute_objective(problem(), pl)


def test_does_not_mutate_inputs() -> None:
    pr, pl = problem(), plan()
    pr0, pl0 = copy.deepcopy(pr), copy.deepcopy(pl)
    validate(pr, pl)
    recompute_objective(pr, pl)
    assert (pr, pl) == (pr0, pl0)


# --------------------------------------------------------------------------- scale


def test_scale_2000_orders_100k_windows() -> None:
    # 10 machines x 10,000 windows [10k, 10k + 5); each op needs 7 window minutes, so it
    # starts at 20t on its machine and ends at 20t + 12 in the next window.
    machines = [{"id": f"m{i}", "plant": "p1", "capabilities": [],
                 "windows": [[10 * k, 10 * k + 5] for k in range(10_000)]} for i in range(10)]
    orders, assignments, entries = [], [], []
    slot = [0] * 10
    for j in range(2000):
        mid = j % 10
        ops = []
        for k in range(5):
            opid = f"j{j}-{k}"
            ops.append({"id": opid, "alternatives": [{"machine": f"m{mid}", "minutes": 7}]})
            t = slot[mid]
            slot[mid] += 1
            assignments.append({"operation": opid, "machine": f"m{mid}", "start": 20 * t,
                                "end": 20 * t + 12})
        orders.append({"id": f"j{j}", "quantity": 1, "operations": ops})
        entries.append({"order": f"j{j}", "completion": assignments[-1]["end"], "lateness": 0,
                        "cost": 0})
    pr = {"format": "yunzao.problem/1", "objective": "makespan",
          "horizon": {"start": "2000-01-01T00:00:00Z", "minutes": 100_000},
          "plants": [{"id": "p1", "lat": 0, "lon": 0}], "machines": machines, "orders": orders}
    makespan = 20 * 999 + 12
    pl = {"format": "yunzao.plan/1", "status": "FEASIBLE", "objective": makespan, "bound": None,
          "assignments": assignments, "unserved": [], "orders": entries}
    t0 = time.perf_counter()
    assert validate(pr, pl) == []
    assert time.perf_counter() - t0 < 3.0
    pl["assignments"][0]["start"] = 6  # outside [0, 5)
    assert len(validate(pr, pl)) >= 1


def test_random_corruption_never_crashes() -> None:
    # replace random leaves of valid inputs by junk: every outcome must be messages, and the
    # catch-all "could not finish" must never be needed
    rng = random.Random(7)
    junk = [None, 0, -1, 1.5, "x", [], {}, True, [[1, 2]], 10**12, float("nan"), "m1", "o1-10"]

    def corrupt(d: Any) -> Any:
        d = copy.deepcopy(d)
        for _ in range(rng.randint(1, 4)):
            cur = d
            while isinstance(cur, (dict, list)) and cur:
                k = rng.choice(list(cur)) if isinstance(cur, dict) else rng.randrange(len(cur))
                if rng.random() < 0.3 or not isinstance(cur[k], (dict, list)):
                    if isinstance(cur, dict) and rng.random() < 0.2:
                        del cur[k]
                    else:
                        cur[k] = rng.choice(junk)
                    break
                cur = cur[k]
        return d

    for i in range(600):
        pr, pl = (problem(), plan()) if i % 2 else (fjsp_problem(), fjsp_plan())
        if i % 3:
            pl = corrupt(pl)
        else:
            pr = corrupt(pr)
        msgs = validate(pr, pl)
        assert all(isinstance(m, str) for m in msgs)
        assert not any("could not finish" in m for m in msgs), msgs
        with contextlib.suppress(ValueError):
            recompute_objective(pr, pl)
