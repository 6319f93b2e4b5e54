"""Every phase watches the deadline (issue 17): pre-checks, starts, candidate cuts and
search; the anytime mode uses the whole time limit unless the gap is closed."""

from __future__ import annotations

import time

import pytest

from matching import bound as bound_mod
from matching import precheck as precheck_mod
from matching.geo import Legs
from matching.io.generate import generate
from matching.model import plant_candidates, precheck
from matching.problem import Problem
from matching.search.greedy import OUT_OF_TIME, greedy, make_calendars, make_timelines
from matching.solver import solve
from tests.matching.conftest import assert_valid, machine, order, problem


def test_precheck_past_its_deadline_gives_cheap_valid_bounds_and_keeps_eligibility() -> None:
    ms = [machine("m1", "p1", windows=[[0, 100]])]
    too_long = order("o1", [("cnc_milling", None, 50)], release=30)  # 500 min: never fits
    no_proc = order("o2", [("grinding", None, 1)])
    p = Problem.from_dict(problem(ms, [too_long, no_proc], horizon=1000))
    cals = make_calendars(p)
    reasons, bounds = precheck(p, cals, make_timelines(p, cals))
    assert reasons[0].startswith("not enough") and "grinding" in reasons[1]
    reasons, bounds = precheck(p, cals, make_timelines(p, cals), deadline=time.monotonic() - 1)
    assert 0 not in reasons and "grinding" in reasons[1]
    assert bounds.est[(0, 0)] == 30 and bounds.lend[(0, 0)] == 1000


def test_greedy_past_its_deadline_leaves_the_rest_unserved_and_says_why() -> None:
    d = generate(20, 4, seed=1)
    p = Problem.from_dict(d)
    pl, un = greedy(p, deadline=time.monotonic() - 1)
    assert not pl and set(un) == set(range(20))
    assert OUT_OF_TIME in un.values()


def test_relaxed_chain_bound_never_exceeds_the_exact_one(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    p = Problem.from_dict(generate(30, 8, seed=2))
    legs = Legs(p)
    js = [j for j in range(len(p.orders))
          if all(p.options(j, k) for k in range(len(p.orders[j].operations)))]
    exact = [bound_mod._cheapest_chain(p, legs, j) for j in js]
    monkeypatch.setattr(bound_mod, "EXACT_PAIRS", 0)
    relaxed = [bound_mod._cheapest_chain(p, legs, j) for j in js]
    assert all(r <= e for r, e in zip(relaxed, exact, strict=True))
    assert relaxed != exact  # with transport costs the relaxation is weaker somewhere


def test_plant_candidates_with_many_plants_stay_fast_and_keep_the_cheapest() -> None:
    # one order of 4 operations, 600 capable plants: all pairs would be 1M transport legs
    plants = [{"id": f"p{i}", "lat": 20 + (i % 30) * 0.5, "lon": 100 + (i // 30) * 0.5}
              for i in range(600)]
    ms = [machine(f"m{i}", f"p{i}", rate=6000 + 7 * i) for i in range(600)]
    o = order("o1", [("cnc_milling", None, 1)] * 4)
    for k, op in enumerate(o["operations"]):
        op["id"] = f"o1-{k}"
    p = Problem.from_dict(problem(ms, [o], plants=plants))
    t0 = time.monotonic()
    got = plant_candidates(p, Legs(p), 0, 3)
    assert time.monotonic() - t0 < 2.0
    assert all(0 in got[k] for k in range(4))  # the cheapest plant, all on one plant
    assert all(len({p.plant_of(m) for m in got[k]}) <= 3 for k in range(4))
    assert precheck_mod.EXACT_PAIRS < 600 * 600 * 3


@pytest.mark.slow
def test_anytime_mode_uses_the_whole_time_and_never_exceeds_it() -> None:
    d = generate(60, 6, seed=5)
    plan = solve(d, time_limit=4, workers=2, seed=0, deterministic=False)
    assert_valid(d, plan)
    assert plan.status == "FEASIBLE"  # nothing proven: so the whole time is used
    assert 3.0 <= plan.stats["wall_seconds"] <= 4.3


def test_a_gap_limit_ends_the_anytime_search_early() -> None:
    d = generate(60, 6, seed=5)
    plan = solve(d, time_limit=6, workers=2, seed=0, deterministic=False, gap_limit=1.0)
    assert_valid(d, plan)
    assert plan.stats["wall_seconds"] < 4
    # CP-SAT stopped at the gap calls itself optimal; the plan must not claim it
    assert plan.status == "FEASIBLE" and plan.bound < plan.objective


class _Clock:
    """A fake monotonic clock: each slow call advances it, so the test needs no real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run_with_unserved(monkeypatch: pytest.MonkeyPatch, clock: _Clock):
    from matching.search.context import Run

    monkeypatch.setattr(time, "monotonic", clock)
    p = Problem.from_dict(generate(30, 4, seed=3))
    run = Run(p, time_limit=100, workers=1, seed=0, deterministic=False, log=False)
    pl, un = greedy(p)
    return run, pl, {j: "not placed" for j in range(len(p.orders)) if j not in run.reasons}


def test_explaining_unserved_orders_stops_before_its_end_even_when_one_is_slow(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # XL: explanations of 2 s each were checked every 8 orders and ran 2.2 s past the deadline
    from matching.search import repair as repair_mod

    clock = _Clock()
    run, pl, un = _run_with_unserved(monkeypatch, clock)
    end = (run.deadline + run.t0 + run.time_limit) / 2  # what explain_unserved allows
    clock.now = end - 5.0
    calls = []

    def slow(*args, **kwargs):
        calls.append(1)
        clock.now += 2.0
        return None

    monkeypatch.setattr(repair_mod, "insert_order_labels", slow)
    out = repair_mod.explain_unserved(run, {}, un)
    assert set(out) == set(un)
    assert len(calls) == 2 and clock.now <= end  # a third would have ended past `end`


def test_the_move_search_is_not_started_when_its_state_would_outlast_the_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from matching.search import moves

    clock = _Clock()
    run, pl, _un = _run_with_unserved(monkeypatch, clock)
    p = run.p
    served = [j for j in range(len(p.orders))
              if all((j, k) in pl for k in range(len(p.orders[j].operations)))]
    assert served
    built = []
    monkeypatch.setattr(moves, "Plan", lambda *a, **k: built.append(1) or 1 / 0)
    clock.now = run.deadline - 0.2 - moves.STATE_SECONDS_PER_OP * len(pl) + 0.01
    out = moves.move_search(run, served, pl, {}, 10**12, seconds=30)
    assert out == (pl, {}, 10**12) and not built


def test_an_lns_step_is_not_begun_when_its_building_would_outlast_the_phase(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from matching.search import lns

    clock = _Clock()
    run, pl, _un = _run_with_unserved(monkeypatch, clock)
    candidates = list(range(len(run.p.orders)))

    class Built(Exception):
        """Raised where a step builds its model: a step was begun."""

    def build(*args, **kwargs):
        raise Built

    monkeypatch.setattr(lns, "build_model", build)
    need = 0.3 + lns.STEP_SECONDS_PER_OP * len(pl)
    clock.now = run.deadline - need + 0.01  # the last phase runs to the deadline
    out = lns.lns_orders(run, candidates, set(), {}, pl, {}, 10**12, False, 30.0)
    assert out == (pl, {}, 10**12)
    clock.now = run.deadline - need - 0.01
    with pytest.raises(Built):
        lns.lns_orders(run, candidates, set(), {}, pl, {}, 10**12, False, 30.0)
