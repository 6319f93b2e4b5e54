"""Each rule of the format, on the engine side: the plan is right, not only valid."""

from __future__ import annotations

import math
import random

import pytest

from matching.calendar import Calendar
from matching.solver import solve
from tests.matching.conftest import (
    SHANGHAI,
    SHENZHEN,
    SUZHOU,
    assert_valid,
    by_op,
    km,
    machine,
    order,
    problem,
)


def _brute_end(windows: list[tuple[int, int]], s: int, d: int) -> int | None:
    if d == 0:  # zero-duration work holds nothing: no window needed (issue 17)
        return s
    if not any(a <= s < b for a, b in windows):
        return None
    done, t = 0, s
    while t < 200:
        done += any(a <= t < b for a, b in windows)
        t += 1
        if done == d:
            return t
    return None


def test_calendar_pieces_match_minute_by_minute_rule() -> None:
    rng = random.Random(7)
    for _ in range(60):
        horizon = rng.randint(10, 70)
        windows, t = [], rng.randint(0, 5)
        while t < horizon + 8:
            length = rng.randint(1, 9)
            windows.append((t, t + length))
            t += length + rng.randint(0, 5)
        cal = Calendar(windows, horizon)
        for d in range(0, 20):
            starts: dict[int, int] = {}
            for pc in cal.pieces(d):
                for s in range(pc.lo, pc.hi + 1):
                    assert s not in starts
                    starts[s] = s + pc.size
            for s in range(horizon + 3):
                want = _brute_end(cal.windows, s, d)
                if want is not None and want > horizon:
                    want = None
                assert cal.end_of(s, d) == want
                assert starts.get(s) == want


def test_operation_runs_across_windows() -> None:
    # 150 minutes of work, windows of 100: runs 0-100, pauses, ends at 250 in the second
    prob = problem([machine("m1", "p1", windows=[[0, 100], [200, 300], [400, 500]])],
                   [order("o1", [("cnc_milling", None, 15)], quantity=10)],
                   objective="makespan")
    d = assert_valid(prob, solve(prob, time_limit=5))
    a = by_op(d)["o1-10"]
    assert (a["start"], a["end"]) == (0, 250)
    assert d["status"] == "OPTIMAL"


def test_too_long_for_all_windows_is_unserved_with_reason() -> None:
    prob = problem([machine("m1", "p1", windows=[[0, 100], [200, 300]])],
                   [order("o1", [("cnc_milling", None, 25)], quantity=10)])
    d = assert_valid(prob, solve(prob, time_limit=2))
    assert d["unserved"] == [{"order": "o1", "reason":
                              "not enough published capacity before the horizon end"}]


def test_missing_windows_mean_always_available_and_bookings_block() -> None:
    prob = problem([machine("m1", "p1")], [order("o1", [("cnc_milling", None, 3)])],
                   bookings=[{"machine": "m1", "start": 0, "end": 50}], objective="makespan")
    d = assert_valid(prob, solve(prob, time_limit=5))
    assert by_op(d)["o1-10"] == {"operation": "o1-10", "machine": "m1", "start": 50, "end": 80}
    assert d["objective"] == 80


def test_setup_speed_and_float_noise_in_duration() -> None:
    # 10 * 0.7 = 7.000000000000001 in floats: the agreed rounding gives 7, + setup 5 = 12
    prob = problem([machine("m1", "p1", setup=5, speed=1.0)],
                   [order("o1", [("cnc_milling", None, 0.7)], quantity=10)],
                   objective="makespan")
    d = assert_valid(prob, solve(prob, time_limit=5))
    a = by_op(d)["o1-10"]
    assert a["end"] - a["start"] == 12


def test_transport_lag_and_cost_between_plants() -> None:
    prob = problem([machine("m1", "p1", "cnc_milling", rate=6000),
                    machine("m2", "p2", "anodizing", rate=6000)],
                   [order("o1", [("cnc_milling", None, 6), ("anodizing", None, 6)])])
    d = assert_valid(prob, solve(prob, time_limit=5))
    a, b = by_op(d)["o1-10"], by_op(d)["o1-20"]
    dist = km(SHANGHAI, SUZHOU)
    lag = 120 + math.ceil(dist)  # 60 km/h: one minute per km
    assert b["start"] >= a["end"] + lag
    leg_cost = 20000 + round(dist * 300)
    assert d["orders"][0]["cost"] == 6000 + 6000 + leg_cost


def test_same_plant_is_preferred_over_transport() -> None:
    # same price at both plants for the second step: staying at p1 saves the leg
    prob = problem([machine("m1", "p1", "cnc_milling"), machine("m2", "p2", "anodizing"),
                    machine("m3", "p1", "anodizing")],
                   [order("o1", [("cnc_milling", None, 6), ("anodizing", None, 6)])])
    d = assert_valid(prob, solve(prob, time_limit=5))
    assert by_op(d)["o1-20"]["machine"] == "m3"
    assert d["status"] == "OPTIMAL"


def test_delivery_leg_and_lateness() -> None:
    prob = problem([machine("m1", "p1")],
                   [order("o1", [("cnc_milling", None, 6)], due=100, dest=SHENZHEN, late=7)])
    d = assert_valid(prob, solve(prob, time_limit=5))
    dist = km(SHANGHAI, SHENZHEN)
    comp = 60 + 120 + math.ceil(round(dist, 9))
    o = d["orders"][0]
    assert o["completion"] == comp
    assert o["lateness"] == comp - 100
    assert o["cost"] == 6000 + 20000 + round(dist * 300) + 7 * (comp - 100)


def test_release_date_respected() -> None:
    prob = problem([machine("m1", "p1")],
                   [order("o1", [("cnc_milling", None, 1)], release=333)], objective="makespan")
    d = assert_valid(prob, solve(prob, time_limit=5))
    assert by_op(d)["o1-10"]["start"] == 333


def test_cheaper_machine_chosen_and_material_filter() -> None:
    prob = problem([machine("m1", "p1", rate=9000, materials=["al6061"]),
                    machine("m2", "p1", rate=3000, materials=["ss304"]),
                    machine("m3", "p1", rate=6000)],
                   [order("o1", [("cnc_milling", "al6061", 6)])])
    d = assert_valid(prob, solve(prob, time_limit=5))
    assert by_op(d)["o1-10"]["machine"] == "m3"  # m2 refuses al6061, m1 costs more
    assert d["objective"] == 6000


@pytest.mark.parametrize(("ops", "reason"), [
    ([("anodizing", None, 1)], "no machine offers process anodizing"),
    ([("cnc_milling", "pa12", 1)], "no machine offering cnc_milling takes material pa12"),
])
def test_unserved_reasons_from_eligibility(ops, reason) -> None:
    prob = problem([machine("m1", "p1", materials=["al6061"])],
                   [order("o1", ops, penalty=12345), order("o2", [("cnc_milling", "al6061", 1)])])
    d = assert_valid(prob, solve(prob, time_limit=2))
    assert d["unserved"] == [{"order": "o1", "reason": reason}]
    assert d["objective"] == 12345 + 1000


def test_chosen_unserved_when_penalty_is_cheaper() -> None:
    prob = problem([machine("m1", "p1", rate=60000)],
                   [order("o1", [("cnc_milling", None, 6)], penalty=100)])
    d = assert_valid(prob, solve(prob, time_limit=2))
    assert d["unserved"][0]["order"] == "o1"
    assert d["unserved"][0]["reason"].startswith("chosen unserved")
    assert d["objective"] == 100


def test_capacity_shared_between_orders_forces_one_out() -> None:
    # one 100-minute window, two orders of 60 minutes each: only one fits
    prob = problem([machine("m1", "p1", windows=[[0, 100]])],
                   [order("o1", [("cnc_milling", None, 6)], penalty=5000),
                    order("o2", [("cnc_milling", None, 6)], penalty=9000)])
    d = assert_valid(prob, solve(prob, time_limit=5))
    assert [u["order"] for u in d["unserved"]] == ["o1"]
    assert d["objective"] == 6000 + 5000
    assert d["status"] == "OPTIMAL"


def test_lateness_trades_against_machine_cost() -> None:
    # cheap machine busy until 1000; due 100; late penalty makes the dear machine better
    prob = problem([machine("m1", "p1", rate=600), machine("m2", "p1", rate=6000)],
                   [order("o1", [("cnc_milling", None, 6)], due=100, late=100)],
                   bookings=[{"machine": "m1", "start": 0, "end": 1000}])
    d = assert_valid(prob, solve(prob, time_limit=5))
    assert by_op(d)["o1-10"]["machine"] == "m2"
    assert d["orders"][0]["lateness"] == 0


def test_makespan_objective_with_alternatives() -> None:
    prob = problem([{"id": "m1", "plant": "p1"}, {"id": "m2", "plant": "p1"}], [
        {"id": "j1", "unserved_penalty": 1000, "operations": [
            {"id": "j1-1", "alternatives": [{"machine": "m1", "minutes": 5, "cost": 0},
                                            {"machine": "m2", "minutes": 7, "cost": 0}]},
            {"id": "j1-2", "alternatives": [{"machine": "m2", "minutes": 4, "cost": 0}]}]},
        {"id": "j2", "unserved_penalty": 1000, "operations": [
            {"id": "j2-1", "alternatives": [{"machine": "m1", "minutes": 6, "cost": 0}]}]},
    ], objective="makespan")
    d = assert_valid(prob, solve(prob, time_limit=5))
    # m1 cannot take both j1-1 and j2-1 under 11, nor m2 both j1 steps: 11 is optimal
    assert d["objective"] == 11
    assert d["status"] == "OPTIMAL"
    assert d["bound"] == 11


def test_empty_problem() -> None:
    prob = problem([machine("m1", "p1")], [])
    d = assert_valid(prob, solve(prob, time_limit=1))
    assert d["objective"] == 0


def test_missing_unserved_penalty_reads_as_zero() -> None:
    # documented reading: without a penalty, leaving an order out costs nothing
    prob = problem([{"id": "m1", "plant": "p1"}], [
        {"id": "j1", "operations": [
            {"id": "j1-1", "alternatives": [{"machine": "m1", "minutes": 5, "cost": 0}]}]}],
        objective="makespan")
    d = assert_valid(prob, solve(prob, time_limit=2))
    assert d["objective"] == 0


def test_zero_minute_operation_released_at_the_horizon_end_is_placed_there() -> None:
    # zero-duration work holds no machine time: placeable at its earliest start, even at the
    # horizon end and outside every window (issue 17), by the pre-check, greedy and model
    m = machine("m1", "p1", windows=[[0, 100]])
    o = order("o1", [("cnc_milling", None, 0)], release=1000, penalty=10**6)
    d = problem([m], [o], horizon=1000)
    plan = solve(d, time_limit=2, workers=1)
    out = assert_valid(d, plan)
    assert out["unserved"] == []
    assert by_op(out)["o1-10"] == {"operation": "o1-10", "machine": "m1",
                                        "start": 1000, "end": 1000}
    # one minute of work there does not fit: the pre-check says why
    o2 = order("o2", [("cnc_milling", None, 0.1)], release=1000, penalty=10**6)
    out2 = assert_valid(d2 := problem([m], [o2], horizon=1000), solve(d2, time_limit=2))
    assert out2["unserved"][0]["reason"].startswith("not enough")
