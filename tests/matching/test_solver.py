"""solve(): FJSP files, generated instances, decomposition, LNS, repeatability."""

from __future__ import annotations

from pathlib import Path

import pytest

from matching import solver as solver_mod
from matching.bench import fjsp_root, greedy_plan
from matching.io.fjs import load_fjs
from matching.io.generate import generate
from matching.problem import Problem
from matching.search import lns as lns_mod
from matching.solver import solve
from tests.matching.conftest import assert_valid

ROOT = fjsp_root()
FILES = sorted(ROOT.glob("**/*.fjs")) if ROOT.exists() else []


@pytest.mark.skipif(not FILES, reason="shared FJSP benchmark files not present")
def test_every_shared_fjsp_file_loads_and_greedy_plan_is_valid() -> None:
    assert len(FILES) >= 50
    for f in FILES:
        d = load_fjs(f)
        p = Problem.from_dict(d)
        plan = greedy_plan(p)
        assert not plan.unserved, f
        assert_valid(d, plan)


@pytest.mark.skipif(not FILES, reason="shared FJSP benchmark files not present")
def test_mk01_solves_to_a_valid_near_optimal_plan() -> None:
    d = load_fjs(ROOT / "brandimarte" / "mk01.fjs")
    plan = solve(d, time_limit=4, workers=2, seed=0)
    out = assert_valid(d, plan)
    assert 40 <= out["objective"] <= 42  # best known 40
    assert out["bound"] is not None and out["bound"] <= out["objective"]
    assert len(out["assignments"]) == 55


def test_generated_instance_beats_greedy_and_is_valid() -> None:
    d = generate(25, 6, seed=3)
    p = Problem.from_dict(d)
    g = greedy_plan(p)
    plan = solve(d, time_limit=4, workers=2, seed=0)
    out = assert_valid(d, plan)
    assert out["objective"] <= g.objective
    assert out["bound"] is None or out["bound"] <= out["objective"]
    assert len(out["orders"]) + len(out["unserved"]) == len(d["orders"])
    for u in out["unserved"]:
        assert u["reason"]


def test_decomposition_path_gives_valid_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver_mod, "WHOLE_MODEL_PIECES", 10)
    monkeypatch.setattr(lns_mod, "BATCH_PIECES", 400)
    d = generate(20, 5, seed=4)
    d["objective"] = "makespan"  # due-date batches: the makespan path of large instances
    plan = solve(d, time_limit=4, workers=1, seed=0)
    out = assert_valid(d, plan)
    assert plan.stats.get("decomposition") == "due-date batches"
    assert plan.stats.get("batches", 0) >= 2
    assert out["objective"] <= greedy_plan(Problem.from_dict(d)).objective


def test_large_cost_instance_ruin_and_recreate(monkeypatch: pytest.MonkeyPatch) -> None:
    # too large for the whole model: label-insertion start, ruin-and-recreate, CP-SAT LNS
    monkeypatch.setattr(solver_mod, "WHOLE_MODEL_PIECES", 10)
    d = generate(60, 6, seed=4)
    p = Problem.from_dict(d)
    g = greedy_plan(p)
    plan = solve(d, time_limit=4, workers=1, seed=0)
    out = assert_valid(d, plan)
    assert plan.stats["decomposition"].startswith("orders one by one")
    assert plan.stats.get("rr_iterations", 0) > 10
    assert out["objective"] <= plan.stats["start_objective"] <= g.objective
    assert len(out["orders"]) >= len(g.orders)
    for u in out["unserved"]:  # reasons come from the final plan, not from the baseline
        assert u["reason"] and not u["reason"].startswith("not enough capacity left")


def test_same_seed_and_workers_give_the_same_plan() -> None:
    # big enough that the whole model is not solved to optimality and LNS steps run; the
    # work limit well below the time limit keeps the clock out of it on a loaded machine
    d = generate(40, 6, seed=5)
    a = solve(d, time_limit=60, work_limit=5, workers=2, seed=1)
    b = solve(d, time_limit=60, work_limit=5, workers=2, seed=1)
    assert "clock_cut" not in a.stats and "clock_cut" not in b.stats
    assert a.stats.get("lns_iterations", 0) >= 1
    assert a.to_dict()["assignments"] == b.to_dict()["assignments"]
    assert a.to_dict()["unserved"] == b.to_dict()["unserved"]
    assert a.objective == b.objective
    assert_valid(d, a)


def test_a_run_the_clock_cut_says_so(monkeypatch) -> None:
    # a budget no machine reaches in time: the safety net ends CP-SAT, and the plan's stats
    # name the phase (such a plan need not repeat)
    import matching.search.context as context

    monkeypatch.setattr(context, "DTIME_PER_SECOND", 1000.0)
    monkeypatch.setattr(context, "DTIME_PER_SECOND_CALENDAR", 1000.0)
    d = generate(40, 6, seed=5)
    plan = solve(d, time_limit=3, workers=2, seed=1, lns=False)
    assert plan.stats["clock_cut"] == ["cp-sat"]
    assert_valid(d, plan)


def test_parallel_mode_is_valid_too() -> None:
    d = generate(20, 5, seed=8)
    plan = solve(d, time_limit=2, workers=2, seed=0, deterministic=False)
    assert_valid(d, plan)


def test_calendar_models_use_every_thread_only_when_asked(monkeypatch) -> None:
    """One CP-SAT thread on shift-calendar models unless the caller, which can survive an
    abort (the web app solves in a child process and retries), asks for all."""
    import matching.search.context as context

    seen: list[int] = []
    real = context.cp_params

    def recording(seconds, workers, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(workers)
        return real(seconds, workers, *args, **kwargs)

    monkeypatch.setattr(context, "cp_params", recording)
    d = generate(20, 5, seed=8)  # shift calendars: windows per machine
    for flag, threads in ((False, {1}), (True, {2})):
        seen.clear()
        plan = solve(d, time_limit=2, workers=2, seed=0, deterministic=False,
                     calendar_threads=flag)
        assert_valid(d, plan)
        assert set(seen) == threads, (flag, seen)


def test_problem_round_trip(tmp_path: Path) -> None:
    d = generate(5, 3, seed=6)
    p = Problem.from_dict(d)
    again = Problem.from_dict(p.to_dict())
    assert again.to_dict() == p.to_dict()
    assert [again.options(j, 0) for j in range(len(again.orders))] == \
        [p.options(j, 0) for j in range(len(p.orders))]
