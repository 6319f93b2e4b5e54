"""Lower bounds (matching.bound): the chains bound ignores capacity, the energy LP does not."""

from __future__ import annotations

import pytest

from matching.bound import energy_bound, lower_bound
from matching.io.families import generate_family
from matching.precheck import precheck
from matching.problem import Problem
from matching.search.greedy import make_calendars, make_timelines
from matching.solver import solve
from tests.matching.conftest import assert_valid, machine, order, problem


def _bounds(d: dict) -> tuple[int, int | None, Problem]:
    p = Problem.from_dict(d)
    cals = make_calendars(p)
    reasons, b = precheck(p, cals, make_timelines(p, cals))
    return lower_bound(p, reasons, b), energy_bound(p, reasons, b, cals), p


def test_energy_bound_counts_capacity_the_chains_bound_ignores() -> None:
    # one machine open 100 minutes, two orders of 60 minutes (cost 60 each, penalty 1000):
    # only one fits, the optimum is 1060; chains see 120; the LP serves 5/3 of an order:
    # 60 x 5/3 + 1000 x 1/3 = 433.3, so every (integer) objective is at least 434
    m = machine("m1", "p1", rate=60, windows=[[0, 100]])
    d = problem([m], [order("o1", [("cnc_milling", None, 6)], penalty=1000),
                      order("o2", [("cnc_milling", None, 6)], penalty=1000)], horizon=100)
    chains, energy, _p = _bounds(d)
    assert chains == 120
    assert energy == 434
    # a booking of 40 of the 100 minutes: one order fits exactly, 60 + 1000 = 1060
    d["bookings"] = [{"machine": "m1", "start": 0, "end": 40}]
    assert _bounds(d)[1] == 1060
    plan = solve(d, time_limit=2, workers=1)
    out = assert_valid(d, plan)
    assert out["objective"] == 1060 and out["bound"] == 1060


@pytest.mark.parametrize("family", ["many_small", "capacity_tight", "heavy_bookings"])
def test_energy_bound_is_valid_on_generated_families(family: str) -> None:
    d = generate_family(family, 40, 6, seed=3)
    chains, energy, _p = _bounds(d)
    assert energy is not None
    plan = solve(d, time_limit=2, workers=1)
    out = assert_valid(d, plan)
    assert max(chains, energy) <= out["objective"]
    assert out["bound"] >= chains and out["bound_kind"] in ("relaxation", "cp-sat")


def test_chains_bound_counts_the_lateness_no_plan_avoids() -> None:
    # 100 minutes of work from minute 0, due at 50, 10 per minute late: at least 500 late
    m = machine("m1", "p1", rate=60)
    d = problem([m], [order("o1", [("cnc_milling", None, 10)], due=50, late=10)])
    chains, _energy, _p = _bounds(d)
    assert chains == 100 + 500
    plan = solve(d, time_limit=1, workers=1)
    assert plan.status == "OPTIMAL" and plan.objective == plan.bound == 600
