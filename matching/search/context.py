"""State shared by the search strategies of one solve() call: the deadline, the CP-SAT
parameters of repeatable and parallel runs, fixed spans, and the pruning helpers."""

from __future__ import annotations

import random
import time
from bisect import bisect_left, bisect_right
from typing import Any

from ortools.sat.python import cp_model

from matching.calendar import Calendar
from matching.geo import Legs
from matching.model import Bounds, Built, extract, hint, precheck
from matching.problem import Problem
from matching.result import Placements, Plan, build_plan
from matching.search.greedy import make_calendars, make_timelines

# Deterministic time units per wall second of one search thread on the reference machine
# (2 cores), at about 60% of the measured rates so that the budget, not the wall-clock
# safety net, ends a call on a normally loaded machine. Used only to turn the caller's
# seconds into a repeatable budget: deterministic runs end at roughly 60% of time_limit.
DTIME_PER_SECOND = 0.06
DTIME_PER_SECOND_CALENDAR = 0.15  # models with shift calendars advance it faster
BAND_MINUTES = 3 * 1440  # large instances: how far an operation may move from its hint
SHOP_TIGHT_HORIZON = True  # parallel shops: end bands from the incumbent

CHOSEN_UNSERVED = ("chosen unserved: serving it with the capacity left costs more than its "
                   "unserved penalty")


def cp_params(seconds: float, workers: int, seed: int, deterministic: bool,
            log: bool = False, light_presolve: bool = False,
            wall_cap: float | None = None, gap_limit: float | None = None,
            net: float = 2.0) -> cp_model.CpSolver:
    """CP-SAT parameters. Deterministic mode limits the search by deterministic time
    (seconds x a calibrated rate) with one worker; the wall clock (`net` times the
    seconds, never past the caller's deadline) is only a safety net."""
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = max(1, int(workers))
    p.random_seed = int(seed)
    wall = max(0.05, float(seconds))
    if deterministic:
        # One search thread is deterministic under a deterministic-time limit. (Interleaved
        # multi-worker search is too, but aborted once in our runs on a large instance
        # with "Check failed: heuristics.fixed_search", and it lost quality.)
        p.num_workers = 1
        rate = DTIME_PER_SECOND_CALENDAR if light_presolve else DTIME_PER_SECOND
        p.max_deterministic_time = max(0.01, seconds * rate)
        wall *= net
    if wall_cap is not None:
        wall = min(wall, max(0.05, wall_cap))
    p.max_time_in_seconds = wall
    if gap_limit is not None:  # the caller's gap, against CP-SAT's own bound
        p.relative_gap_limit = float(gap_limit)
    p.log_search_progress = log
    if light_presolve:
        # Piece models of shift calendars have thousands of literals sharing start
        # variables; probing them costs seconds and finds little.
        p.cp_model_probing_level = 0
    return solver


def fixed_spans(problem: Problem, placements: Placements | None = None,
                 skip_orders: set[int] | None = None) -> dict[int, list[tuple[int, int]]]:
    spans: dict[int, list[tuple[int, int]]] = {}
    for b in problem.bookings:
        mi = problem.machine_index.get(b.machine)
        if mi is not None:
            spans.setdefault(mi, []).append((b.start, b.end))
    for mi, s, e in problem.pinned_spans():  # fixed work is held whatever the plan does
        spans.setdefault(mi, []).append((s, e))
    if placements:
        for (j, k), (mi, s, e) in placements.items():
            if (j, k) in problem.pinned:
                continue
            if skip_orders is None or j not in skip_orders:
                spans.setdefault(mi, []).append((s, e))
    return spans


def estimate_pieces(problem: Problem, calendars: list[Calendar], bounds: Bounds,
                     orders: list[int],
                     allowed: dict[tuple[int, int], set[int]] | None = None,
                     stop_above: int | None = None) -> int:
    """Start pieces a model of `orders` would have; counting stops past `stop_above` (all
    the caller needs to know is whether the model is too large)."""
    total = 0
    for j in orders:
        if stop_above is not None and total > stop_above:
            break
        for k in range(len(problem.orders[j].operations)):
            lo, hi = bounds.est[(j, k)], bounds.lend[(j, k)]
            for o in problem.options(j, k):
                if allowed is not None and o.m not in allowed.get((j, k), ()):
                    continue
                cal = calendars[o.m]
                a = max(0, bisect_right(cal.starts, lo) - 1)
                b = bisect_left(cal.starts, hi)
                total += max(1, b - a) * (1 + (o.duration > 0 and len(cal.windows) > 1))
    return total


class Run:
    """State of one solve() call."""

    def __init__(self, problem: Problem, time_limit: float, workers: int, seed: int,
                 deterministic: bool, log: bool, t0: float | None = None,
                 work_limit: float | None = None) -> None:
        self.p = problem
        self.t0 = time.monotonic() if t0 is None else t0  # the caller's clock: parsing counts
        # a little kept back for building the plan and explaining unserved orders
        self.deadline = self.t0 + time_limit - min(2.0, 0.04 * time_limit)
        self.time_limit = time_limit
        # Repeatable mode: the budgets come from `work` (reference seconds, see
        # DTIME_PER_SECOND); the clock only guards time_limit. A work limit well below the
        # time limit keeps a run repeatable on a loaded machine; by default they are equal.
        self.work = (min(float(work_limit), time_limit) if deterministic and work_limit
                     else time_limit)
        # how far past its share a phase may run on the clock before the net stops it
        self.net = 2.0 * time_limit / self.work if deterministic else 1.0
        self.workers = workers
        self.seed = seed
        self.deterministic = deterministic
        self.log = log
        self.rng = random.Random(seed)
        self.cals = make_calendars(problem)
        self.legs = Legs(problem)
        # the pre-check may take a sixth of the time; past it, cheap valid bounds
        self.reasons, self.bounds = precheck(problem, self.cals,
                                              make_timelines(problem, self.cals),
                                              deadline=self.t0 + time_limit / 6)
        self.stats: dict[str, Any] = {"engine": "cp-sat"}
        self.light_presolve = any(len(c.windows) > 1 for c in self.cals)
        self.calendar_threads = False  # solve(calendar_threads=): all workers on calendars too
        self.allowed: dict[tuple[int, int], set[int]] = {}
        self.dtime_used = 0.0
        self.bound: int | None = None  # best proven lower bound so far (set by solve)
        self.gap_limit: float | None = None

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def cp_workers(self) -> int:
        """CP-SAT threads in anytime mode: `workers`, but one on shift-calendar models unless
        the caller asks for all (`calendar_threads`): with two there OR-Tools 9.15 aborted
        the process in 3 of about 20 solves at size M (its issue #4176; docs/benchmarks.md),
        so a caller that cannot survive an abort keeps one; the clock still ends the search."""
        return 1 if self.light_presolve and not self.calendar_threads else self.workers

    def stop_at(self, seconds: float, last: bool = False) -> float:
        """Wall-clock end of a phase given `seconds`: its share (twice it in deterministic
        mode, where budgets end it and the clock is a safety net); in anytime mode the
        last phase runs to the deadline (the caller's whole time is used)."""
        if last and not self.deterministic:
            return self.deadline
        return min(self.deadline, time.monotonic() + seconds * self.net)

    def clock_cut(self, phase: str) -> None:
        """Repeatable mode: the clock, not the budget, ended `phase`; the plan may differ
        from another run's, and its stats say so (`clock_cut`)."""
        if self.deterministic:
            cuts = self.stats.setdefault("clock_cut", [])
            if phase not in cuts:
                cuts.append(phase)

    def good_enough(self, objective: int) -> bool:
        """Proven optimal, or within the caller's gap_limit of the bound."""
        if self.bound is None:
            return False
        if objective <= self.bound:
            return True
        return self.gap_limit is not None and \
            objective - self.bound <= self.gap_limit * max(1, abs(objective))

    def plan(self, placements: Placements, unserved: dict[int, str], status: str,
             bound: int | None) -> Plan:
        return build_plan(self.p, placements, unserved, status, bound, dict(self.stats),
                          self.legs)

    def objective(self, placements: Placements, unserved: dict[int, str]) -> int:
        return self.plan(placements, unserved, "FEASIBLE", None).objective

    def run_model(self, built: Built, seconds: float, placements: Placements,
                  unserved: set[int]) -> tuple[int, cp_model.CpSolver, Placements, set[int]]:
        hint(built, self.p, self.legs, placements, unserved)
        solver = cp_params(seconds, self.cp_workers(), self.seed, self.deterministic, self.log,
                         self.light_presolve, wall_cap=self.left(),
                         gap_limit=self.gap_limit, net=self.net)
        st = solver.solve(built.model)
        self.dtime_used += solver.response_proto.deterministic_time
        prm = solver.parameters
        if st not in (cp_model.OPTIMAL, cp_model.INFEASIBLE) and \
                solver.wall_time >= 0.98 * prm.max_time_in_seconds and \
                solver.response_proto.deterministic_time < 0.98 * prm.max_deterministic_time:
            self.clock_cut("cp-sat")
        if st == cp_model.OPTIMAL and solver.best_objective_bound < solver.objective_value:
            st = cp_model.FEASIBLE  # stopped at the caller's gap_limit: nothing proven
        if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            pl, un = extract(built, solver)
            return st, solver, pl, un
        return st, solver, {}, set()


def reasons_for(run: Run, unserved: set[int], greedy_reasons: dict[int, str]) -> dict[int, str]:
    out = dict(run.reasons)
    for j in unserved:
        if j in run.reasons:
            out[j] = run.reasons[j]
        elif greedy_reasons.get(j, "").startswith("not enough"):
            out[j] = greedy_reasons[j]
        else:
            out[j] = CHOSEN_UNSERVED
    return out


def shop_bands(run: Run, candidates: list[int],
                best_obj: int) -> dict[tuple[int, int], tuple[int, int]] | None:
    """Makespan shops in parallel mode: no better plan ends an operation later than the
    incumbent's makespan minus the least work after it, so the horizon shrinks to that."""
    if run.deterministic or not SHOP_TIGHT_HORIZON:
        return None
    H = run.p.horizon_minutes
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for j in candidates:
        for k in range(len(run.p.orders[j].operations)):
            tail = H - run.bounds.lend[(j, k)]
            out[(j, k)] = (run.bounds.est[(j, k)], best_obj - tail)
    return out


def band(run: Run, placements: Placements, key: tuple[int, int]) -> tuple[int, int] | None:
    got = placements.get(key)
    if got is None:
        return None
    return got[1] - BAND_MINUTES, got[2] + BAND_MINUTES


def allowed_for(run: Run, orders: list[int], placements: Placements,
                 large: bool) -> dict[tuple[int, int], set[int]] | None:
    if not large:
        return None
    out: dict[tuple[int, int], set[int]] = {}
    for j in orders:
        for k in range(len(run.p.orders[j].operations)):
            ms = set(run.allowed.get((j, k), ()))
            if (j, k) in placements:
                ms.add(placements[(j, k)][0])
            out[(j, k)] = ms
    return out
