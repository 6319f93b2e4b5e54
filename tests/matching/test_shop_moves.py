"""The move search of makespan problems that are not pure shops (matching.search.shop_moves):
critical operations moved across shift breaks, plants and machine sequences, and validity on
random problems with shift calendars, transport lags, bookings, release dates and fixed work."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.search.shop_moves as sm
from matching.bench import fjsp_root
from matching.bench_shifts import shifted_form
from matching.io.fjs import load_fjs, parse_fjs
from matching.problem import Problem
from matching.result import build_plan
from matching.search.context import Run
from matching.search.greedy import dispatch_ops
from matching.search.shop_moves import shop_moves
from matching.solver import solve
from tests.matching.conftest import SHENZHEN, assert_valid, machine, order, problem
from tests.matching.test_properties import PLANTS, PROCS, finish

ROOT = fjsp_root()
needs_files = pytest.mark.skipif(not (ROOT / "brandimarte").exists(),
                                 reason="shared FJSP benchmark files not present")


def _run(d: dict[str, Any], seed: int = 0) -> Run:
    return Run(Problem.from_dict(d), 5.0, 1, seed, True, False)


def _search(d: dict[str, Any], pl: dict, seconds: float = 0.5
            ) -> tuple[Run, dict, int, dict[str, Any]]:
    run = _run(d)
    start = run.objective(pl, {})
    got, obj = shop_moves(run, list(range(len(run.p.orders))), pl, start, seconds)
    out = assert_valid(d, build_plan(run.p, got, {}, "FEASIBLE", None, {}, run.legs))
    assert obj == out["objective"] <= start
    return run, got, obj, out


def test_a_critical_operation_crosses_a_shift_break_on_another_machine() -> None:
    # both 100-minute jobs queue on m1 (makespan 200); m2 works 0-60 and from 120: one job
    # there runs 60 minutes, waits out the break and ends at 160
    ms = [machine("m1", "p1"), machine("m2", "p1", windows=[[0, 60], [120, 1000]])]
    d = problem(ms, [order("a", [("cnc_milling", None, 10)]),
                     order("b", [("cnc_milling", None, 10)])],
                horizon=1000, objective="makespan")
    run, got, obj, _out = _search(d, {(0, 0): (0, 0, 100), (1, 0): (0, 100, 200)})
    assert obj == 160
    assert sorted(got.values()) == [(0, 0, 100), (1, 0, 160)]
    assert run.stats["shop_moves_improvements"] >= 1


def test_a_transport_lag_makes_the_far_fast_machine_worse_than_the_near_slow_one() -> None:
    # turning in Shanghai, then milling: 50 minutes on the fast machine in Shenzhen (a lag of
    # 120 minutes' handling and 1,200 km away) or 200 on the slow one next door
    ms = [machine("t1", "p1", "turning"), machine("fast", "p3", speed=4.0),
          machine("slow", "p1")]
    ops = [("turning", None, 1), ("cnc_milling", None, 20)]
    d = problem(ms, [order("o", ops)], objective="makespan")
    lag = _run(d).legs.between("p1", "p3")[0]
    assert lag > 1200
    far = {(0, 0): (0, 0, 10), (0, 1): (1, 10 + lag, 60 + lag)}
    _run_, got, obj, _out = _search(d, far)
    assert got[(0, 1)] == (2, 10, 210) and obj == 210
    # delivered to Shenzhen, the lag comes anyway: the fast machine there is now the better
    d2 = problem(ms, [order("o", ops, dest=SHENZHEN)], objective="makespan")
    near = {(0, 0): (0, 0, 10), (0, 1): (2, 10, 210)}
    run2 = _run(d2)
    assert run2.objective(near, {}) > run2.objective(far, {})
    _run2, got2, _obj2, _out2 = _search(d2, near)
    assert got2[(0, 1)] == far[(0, 1)]


def test_a_critical_operation_jumps_ahead_and_the_work_it_passes_still_fits_a_booking() -> None:
    # m1 is booked 160-260. a (100 min) then b's first step (50 min) on m1, b's second step
    # (200 min) on m2: makespan 350. b first: a runs 50-150, before the booking; 250.
    ms = [machine("m1", "p1"), machine("m2", "p1", "turning")]
    d = problem(ms, [order("a", [("cnc_milling", None, 10)]),
                     order("b", [("cnc_milling", None, 5), ("turning", None, 20)])],
                objective="makespan", bookings=[{"machine": "m1", "start": 160, "end": 260}])
    start = {(0, 0): (0, 0, 100), (1, 0): (0, 100, 150), (1, 1): (1, 150, 350)}
    _run_, got, obj, _out = _search(d, start)
    assert obj == 250
    assert got == {(0, 0): (0, 50, 150), (1, 0): (0, 0, 50), (1, 1): (1, 50, 250)}


def test_a_fixed_operation_is_never_moved_nor_passed() -> None:
    # b's second step is fixed on m2 at 150: b's first step may not end later than that, and
    # the fixed work holds m2 whatever the search does
    ms = [machine("m1", "p1"), machine("m2", "p1")]
    b = order("b", [("cnc_milling", None, 5), ("cnc_milling", None, 5)])
    b["operations"][1]["fixed"] = {"machine": "m2", "start": 150}
    d = problem(ms, [order("a", [("cnc_milling", None, 10)]), b, order("c", [
        ("cnc_milling", None, 10)])], objective="makespan")
    start = {(0, 0): (0, 0, 100), (1, 0): (0, 100, 150), (1, 1): (1, 150, 200),
             (2, 0): (0, 150, 250)}
    _run_, got, obj, _out = _search(d, start)
    assert got[(1, 1)] == (1, 150, 200)
    assert obj < 250


@st.composite
def calendar_shops(draw) -> dict[str, Any]:
    """Random makespan problems that are not pure shops: shift calendars on most machines,
    plants far apart (transport lags), bookings, release dates, delivery points and, half
    the time, the v1.1 terms (one fixed operation among them)."""
    horizon = draw(st.integers(1500, 5000))
    machines = []
    for i in range(draw(st.integers(2, 5))):
        shift, gap = draw(st.integers(60, 480)), draw(st.integers(0, 600))
        windows, t = [], draw(st.integers(0, 200))
        while t < horizon:
            windows.append([t, t + shift])
            t += shift + gap
        caps = [{"process": p, "materials": [], "rate_per_hour": 6000,
                 "setup_minutes": draw(st.integers(0, 20)),
                 "speed": draw(st.sampled_from([0.5, 1.0, 2.0]))}
                for p in draw(st.lists(st.sampled_from(PROCS), min_size=1, max_size=3,
                                       unique=True))]
        m = {"id": f"m{i}", "plant": draw(st.sampled_from(PLANTS))[0], "capabilities": caps}
        if draw(st.integers(0, 4)):
            m["windows"] = windows
        machines.append(m)
    bookings = []
    for m in machines:
        t = draw(st.integers(0, horizon // 3))
        for _ in range(draw(st.integers(0, 2))):  # disjoint on each machine
            end = t + draw(st.integers(1, 200))
            bookings.append({"machine": m["id"], "start": t, "end": end})
            t = end + draw(st.integers(0, 300))
    orders = []
    for j in range(draw(st.integers(2, 8))):
        ops = [{"id": f"o{j}-{k}", "process": draw(st.sampled_from(PROCS)),
                "minutes_per_unit": draw(st.sampled_from([0, 0.5, 1, 2.5, 6]))}
               for k in range(draw(st.integers(1, 4)))]
        o = {"id": f"o{j}", "quantity": draw(st.integers(1, 20)),
             "release": draw(st.integers(0, horizon // 4)), "late_penalty_per_minute": 0,
             "unserved_penalty": 10**9, "operations": ops}
        if draw(st.booleans()):
            o["lat"], o["lon"] = draw(st.sampled_from([(30.0, 120.0), (23.1, 113.3)]))
        orders.append(o)
    return finish(draw, "makespan", horizon, 60, draw(st.integers(0, 180)), machines,
                  bookings, orders)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(calendar_shops(), st.integers(0, 3))
def test_shop_move_plans_are_always_valid_and_never_worse(d: dict[str, Any],
                                                          seed: int) -> None:
    # a small deterministic budget per example: the property is about every move kept
    mp = pytest.MonkeyPatch()
    mp.setattr(sm, "MAKESPAN_STEPS_PER_SECOND", 4000)
    mp.setattr(sm, "PATIENCE", 10**6)  # the whole budget in moves, restarts included
    try:
        p = Problem.from_dict(d)
        run = Run(p, 5.0, 1, seed, True, False)
        pl, un = dispatch_ops(p, run.legs, run.reasons)
        start = run.objective(pl, un)
        served = [j for j in range(len(p.orders)) if j not in un]
        got, obj = shop_moves(run, served, pl, start, 0.5)
    finally:
        mp.undo()
    out = assert_valid(d, build_plan(p, got, un, "FEASIBLE", None, {}, run.legs))
    assert obj == out["objective"] <= start
    assert {o["order"] for o in out["orders"]} == {p.orders[j].id for j in served}


# 8 jobs x 4 machines (drawn once); in shifts over three plants the first CP-SAT solve does
# not prove it, so the search runs
EIGHT_BY_FOUR = """8 4
4  1 1 7  2 2 30 3 26  2 3 11 4 24  1 2 18
4  3 4 22 3 19 2 21  2 1 16 4 19  2 4 21 2 10  3 2 5 1 10 3 15
4  1 2 21  3 3 19 4 30 1 18  3 3 16 4 19 2 10  2 4 21 3 12
4  2 3 21 2 21  2 4 16 2 23  3 4 15 2 27 1 10  3 3 14 2 30 4 27
4  3 4 20 2 21 1 16  3 1 11 2 28 4 8  1 1 13  3 2 29 3 21 1 9
4  2 2 6 1 18  3 1 16 4 10 2 12  3 1 7 4 5 3 6  3 1 9 2 10 3 28
4  1 1 17  3 1 6 4 5 3 16  3 1 20 2 5 3 14  2 1 29 2 17
4  3 2 7 4 26 1 26  2 1 19 4 30  1 4 20  3 3 13 1 13 2 24
"""


def test_solve_runs_the_move_search_on_makespan_shops_with_calendars_and_lags() -> None:
    d = shifted_form(parse_fjs(EIGHT_BY_FOUR), scale=10)
    a = solve(d, time_limit=8, workers=1, seed=0, work_limit=2)
    out = assert_valid(d, a)
    assert a.status == "FEASIBLE"
    assert a.stats.get("shop_moves_iterations", 0) > 0
    assert "shop_moves_round1_objective" in a.stats and "lns_round1_objective" in a.stats
    assert out["objective"] <= a.stats["start_objective"]
    b = solve(d, time_limit=8, workers=1, seed=0, work_limit=2)  # repeatable
    if not a.stats.get("clock_cut") and not b.stats.get("clock_cut"):
        assert [x.to_dict() for x in a.assignments] == [x.to_dict() for x in b.assignments]


@needs_files
def test_shop_moves_improve_a_benchmark_in_shifts_and_plants() -> None:
    # mk06 in shifts (8 h a day), over three plants 2.5-4 h apart, with bookings and
    # releases: the dispatch start is 6,254; the moves alone reach the next day's shift
    d = shifted_form(load_fjs(ROOT / "brandimarte" / "mk06.fjs"), scale=10)
    p = Problem.from_dict(d)
    run = Run(p, 10.0, 1, 0, True, False)
    pl, un = dispatch_ops(p, run.legs, run.reasons)
    start = run.objective(pl, un)
    got, obj = shop_moves(run, list(range(len(p.orders))), pl, start, 1.5)
    out = assert_valid(d, build_plan(p, got, {}, "FEASIBLE", None, {}, run.legs))
    assert obj == out["objective"] < start
