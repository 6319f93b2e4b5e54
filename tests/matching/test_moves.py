"""The move-based local search of cost problems (matching.search.moves): relocation with
pushing, insertion with ejection, and validity on random problems with shift calendars,
transport between plants, bookings and the v1.1 terms."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.search.moves as moves_mod
from matching.problem import Problem
from matching.result import build_plan
from matching.search.context import Run
from matching.search.greedy import greedy
from matching.search.moves import move_search
from matching.solver import solve
from tests.matching.conftest import assert_valid, machine, order, problem
from tests.matching.test_properties import PLANTS, PROCS, finish


def _run(d: dict[str, Any], seconds: float = 5.0) -> Run:
    return Run(Problem.from_dict(d), seconds, 1, 0, True, False)


def _plan(run: Run, pl: dict, un: dict) -> dict[str, Any]:
    return build_plan(run.p, pl, un, "FEASIBLE", None, {}, run.legs).to_dict()


def test_a_late_order_goes_first_and_the_one_with_slack_is_pushed() -> None:
    # one machine; a (due late) holds [0, 100), b (due at 100, dear lateness) follows it
    d = problem([machine("m1", "p1")],
                [order("a", [("cnc_milling", None, 10)], due=1000, late=1),
                 order("b", [("cnc_milling", None, 10)], due=100, late=1000)])
    run = _run(d)
    pl = {(0, 0): (0, 0, 100), (1, 0): (0, 100, 200)}
    start = run.objective(pl, {})
    got_pl, got_un, obj = move_search(run, [0, 1], pl, {}, start, 0.5)
    out = assert_valid(d, _plan(run, got_pl, got_un))
    assert got_pl[(1, 0)] == (0, 0, 100) and got_pl[(0, 0)] == (0, 100, 200)
    assert obj == out["objective"] < start
    assert run.stats["moves_improvements"] >= 1


def test_an_operation_leaves_a_dear_machine_across_a_window_gap_for_a_cheap_one() -> None:
    # the cheap machine is closed until 300 then open in two shifts; moving there is still
    # cheaper (no due date), and the work crosses the shift break by the window rule
    ms = [machine("dear", "p1", rate=60000),
          machine("cheap", "p1", rate=600, windows=[[300, 350], [400, 1000]])]
    d = problem(ms, [order("o", [("cnc_milling", None, 10)])])
    run = _run(d)
    pl = {(0, 0): (0, 0, 100)}
    got_pl, got_un, obj = move_search(run, [0], pl, {}, run.objective(pl, {}), 0.5)
    assert_valid(d, _plan(run, got_pl, got_un))
    assert got_pl[(0, 0)] == (1, 300, 450)  # 50 minutes, the break of 50, then 50 more


def test_an_unserved_order_gets_in_by_ejecting_the_one_that_can_go_elsewhere() -> None:
    # u (steel) can only use m1, which a holds for the whole horizon; a (aluminium) may
    # also use m2 (dearer, in another plant)
    ms = [machine("m1", "p1"), machine("m2", "p2", rate=12000, materials=["al6061"]),
          machine("t1", "p1", "turning")]
    d = problem(ms, [order("a", [("cnc_milling", "al6061", 10)], quantity=100),
                     order("u", [("turning", None, 1), ("cnc_milling", "ss304", 10)],
                           penalty=10**8)], horizon=1000)
    run = _run(d)
    pl = {(0, 0): (0, 0, 1000)}
    un = {1: "left out"}
    got_pl, got_un, obj = move_search(run, [0, 1], pl, un, run.objective(pl, un), 1.0)
    out = assert_valid(d, _plan(run, got_pl, got_un))
    assert not got_un and {o["order"] for o in out["orders"]} == {"a", "u"}
    assert got_pl[(0, 0)][0] == 1 and got_pl[(1, 1)][0] == 0
    assert run.stats["moves_inserted"] == 1


def test_solve_runs_the_move_search_on_marketplace_problems() -> None:
    from matching.io.generate import generate

    # anytime mode (the web app's): the phases follow the clock, so each gets its share
    d = generate(40, 6, seed=5)
    plan = solve(d, time_limit=6, workers=1, seed=0, deterministic=False)
    out = assert_valid(d, plan)
    assert plan.stats.get("moves_iterations", 0) > 0
    assert out["objective"] <= plan.stats["start_objective"]


@st.composite
def market(draw) -> dict[str, Any]:
    """Random cost problems: shift calendars, plants far apart (transport lags and costs),
    bookings, release and due dates with lateness cost, orders that may be left out, and
    at random the v1.1 terms (risk, change cost, fixed operations, previous places)."""
    horizon = draw(st.integers(600, 3000))
    machines = []
    for i in range(draw(st.integers(2, 6))):
        windows, t = [], draw(st.integers(0, 120))
        while t < horizon and len(windows) < 8:
            length = draw(st.integers(30, 400))
            windows.append([t, t + length])
            t += length + draw(st.integers(0, 240))
        caps = [{"process": p, "materials": [], "rate_per_hour": draw(st.integers(600, 20000)),
                 "setup_minutes": draw(st.integers(0, 20)),
                 "speed": draw(st.sampled_from([0.5, 1.0, 2.0]))}
                for p in draw(st.lists(st.sampled_from(PROCS), min_size=1, max_size=3,
                                       unique=True))]
        m = {"id": f"m{i}", "plant": draw(st.sampled_from(PLANTS))[0], "capabilities": caps}
        if draw(st.integers(0, 3)):
            m["windows"] = windows
        machines.append(m)
    bookings = []
    for m in machines:
        t = draw(st.integers(0, horizon // 2))
        for _ in range(draw(st.integers(0, 2))):  # disjoint on each machine
            end = t + draw(st.integers(1, 200))
            bookings.append({"machine": m["id"], "start": t, "end": end})
            t = end + draw(st.integers(0, 300))
    orders = []
    for j in range(draw(st.integers(2, 9))):
        ops = [{"id": f"o{j}-{k}", "process": draw(st.sampled_from(PROCS)),
                "minutes_per_unit": draw(st.sampled_from([0.5, 1, 2.5, 6]))}
               for k in range(draw(st.integers(1, 4)))]
        o = {"id": f"o{j}", "quantity": draw(st.integers(1, 40)),
             "release": draw(st.integers(0, horizon // 3)),
             "late_penalty_per_minute": draw(st.integers(0, 500)),
             "unserved_penalty": draw(st.sampled_from([0, 10**5, 10**6, 10**8])),
             "operations": ops}
        if draw(st.booleans()):
            o["due"] = draw(st.integers(0, horizon))
        if draw(st.booleans()):
            o["lat"], o["lon"] = draw(st.sampled_from([(30.0, 120.0), (23.1, 113.3)]))
        orders.append(o)
    return finish(draw, "cost", horizon, 60, draw(st.integers(0, 180)), machines, bookings,
                  orders)


@settings(deadline=None,  # examples: the profile's (ci 100, random 500)
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(market(), st.integers(0, 3))
def test_move_search_plans_are_always_valid_and_never_worse(
        d: dict[str, Any], seed: int) -> None:
    # a small deterministic budget per example: the property is about every move kept
    mp = pytest.MonkeyPatch()
    mp.setattr(moves_mod, "MOVE_STEPS_PER_SECOND", 2000)
    try:
        p = Problem.from_dict(d)
        run = Run(p, 5.0, 1, seed, True, False)
        pl, un = greedy(p, run.legs, run.reasons)
        start = run.objective(pl, un)
        got_pl, got_un, obj = move_search(run, list(range(len(p.orders))), pl, un, start,
                                          0.5)
    finally:
        mp.undo()
    out = assert_valid(d, _plan(run, got_pl, got_un))
    assert obj == out["objective"] <= start
    assert len(out["orders"]) + len(out["unserved"]) == len(d["orders"])
    assert set(got_un) <= set(un)  # the search only adds orders to the served ones
