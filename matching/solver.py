"""solve(): pre-checks, greedy hint, CP-SAT, large-neighbourhood search, decomposition.

Repeatability: CP-SAT runs with `random_seed=seed`, `num_workers=workers`,
`interleave_search` and a deterministic-time limit, and our own randomness is a seeded
`random.Random`; the same seed and workers give the same plan as long as no wall-clock
safety limit (the hard `time_limit`) cuts a run short.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left, bisect_right
from typing import Any

from ortools.sat.python import cp_model

from matching.calendar import Calendar
from matching.geo import Legs
from matching.greedy import greedy, insert_order, make_calendars, make_timelines
from matching.model import Bounds, Built, build_model, extract, hint, precheck
from matching.problem import Problem, as_problem
from matching.result import Placements, Plan, build_plan

# Deterministic time units per wall second on the reference machine (2 cores); only used to
# turn the caller's seconds into a repeatable budget. The wall limit stays a safety net.
DTIME_PER_SECOND = 1.0
# Above this many (operation, machine, start-piece) literals the whole model is not built
# at once; orders are solved in due-date batches instead, then improved by LNS.
WHOLE_MODEL_PIECES = 60_000
BATCH_PIECES = 12_000

CHOSEN_UNSERVED = ("chosen unserved: serving it with the capacity left costs more than its "
                   "unserved penalty")


def _params(seconds: float, workers: int, seed: int, deterministic: bool,
            log: bool = False, light_presolve: bool = False) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = max(1, int(workers))
    p.random_seed = int(seed)
    p.max_time_in_seconds = max(0.05, float(seconds))
    if deterministic:
        p.max_deterministic_time = max(0.05, seconds * DTIME_PER_SECOND)
        if p.num_workers > 1:
            p.interleave_search = True
    p.log_search_progress = log
    if light_presolve:
        # Piece models of shift calendars have thousands of literals sharing start
        # variables; probing them costs seconds and finds little.
        p.cp_model_probing_level = 0
    return solver


def _fixed_spans(problem: Problem, placements: Placements | None = None,
                 skip_orders: set[int] | None = None) -> dict[int, list[tuple[int, int]]]:
    spans: dict[int, list[tuple[int, int]]] = {}
    for b in problem.bookings:
        mi = problem.machine_index.get(b.machine)
        if mi is not None:
            spans.setdefault(mi, []).append((b.start, b.end))
    if placements:
        for (j, _k), (mi, s, e) in placements.items():
            if skip_orders is None or j not in skip_orders:
                spans.setdefault(mi, []).append((s, e))
    return spans


def _estimate_pieces(problem: Problem, calendars: list[Calendar], bounds: Bounds,
                     orders: list[int]) -> int:
    total = 0
    for j in orders:
        for k in range(len(problem.orders[j].operations)):
            lo, hi = bounds.est[(j, k)], bounds.lend[(j, k)]
            for o in problem.options(j, k):
                cal = calendars[o.m]
                a = max(0, bisect_right(cal.starts, lo) - 1)
                b = bisect_left(cal.starts, hi)
                total += max(1, b - a) * (1 + (o.duration > 0 and len(cal.windows) > 1))
    return total


def lower_bound(problem: Problem, reasons: dict[int, str], bounds: Bounds) -> int:
    """A relaxation bound valid for every plan (capacity and transport ignored)."""
    pen = [int(o.unserved_penalty) for o in problem.orders]
    if problem.objective == "makespan":
        lb = sum(pen[j] for j in reasons)
        best = 0
        for j in range(len(problem.orders)):
            if j not in reasons:
                best = max(best, min(bounds.finish[j], pen[j]))
        return lb + best
    lb = 0
    for j, order in enumerate(problem.orders):
        if j in reasons:
            lb += pen[j]
            continue
        work = sum(min(o.cost for o in problem.options(j, k))
                   for k in range(len(order.operations)))
        lb += min(work, pen[j])
    return lb


class _Run:
    """State of one solve() call."""

    def __init__(self, problem: Problem, time_limit: float, workers: int, seed: int,
                 deterministic: bool, log: bool) -> None:
        self.p = problem
        self.t0 = time.monotonic()
        self.deadline = self.t0 + time_limit
        self.time_limit = time_limit
        self.workers = workers
        self.seed = seed
        self.deterministic = deterministic
        self.log = log
        self.rng = random.Random(seed)
        self.cals = make_calendars(problem)
        self.legs = Legs(problem)
        self.reasons, self.bounds = precheck(problem, self.cals)
        self.stats: dict[str, Any] = {"engine": "cp-sat"}
        self.light_presolve = any(len(c.windows) > 1 for c in self.cals)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def plan(self, placements: Placements, unserved: dict[int, str], status: str,
             bound: int | None) -> Plan:
        return build_plan(self.p, placements, unserved, status, bound, dict(self.stats),
                          self.legs)

    def objective(self, placements: Placements, unserved: dict[int, str]) -> int:
        return self.plan(placements, unserved, "FEASIBLE", None).objective

    def run_model(self, built: Built, seconds: float, placements: Placements,
                  unserved: set[int]) -> tuple[int, cp_model.CpSolver, Placements, set[int]]:
        hint(built, self.p, self.legs, placements, unserved)
        solver = _params(min(seconds, max(0.05, self.left())), self.workers, self.seed,
                         self.deterministic, self.log, self.light_presolve)
        st = solver.solve(built.model)
        if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            pl, un = extract(built, solver)
            return st, solver, pl, un
        return st, solver, {}, set()


def _reasons_for(run: _Run, unserved: set[int], greedy_reasons: dict[int, str]) -> dict[int, str]:
    out = dict(run.reasons)
    for j in unserved:
        if j in run.reasons:
            out[j] = run.reasons[j]
        elif greedy_reasons.get(j, "").startswith("not enough"):
            out[j] = greedy_reasons[j]
        else:
            out[j] = CHOSEN_UNSERVED
    return out


def solve(problem: Problem | dict[str, Any], time_limit: float = 10.0, workers: int = 2,
          seed: int = 0, deterministic: bool = True, log: bool = False,
          lns: bool = True) -> Plan:
    """Solve a matching problem; always returns a plan that follows every rule of the format."""
    p = as_problem(problem)
    run = _Run(p, time_limit, workers, seed, deterministic, log)
    g_pl, g_un = greedy(p, run.legs, run.reasons)
    best_pl, best_un = g_pl, dict(g_un)
    best_obj = run.objective(g_pl, g_un)
    run.stats["greedy_objective"] = best_obj
    lb = lower_bound(p, run.reasons, run.bounds)
    # An order whose unserved penalty exceeds a known plan's whole objective is served in
    # every optimal plan: fixing it served is exact and tightens the model.
    candidates = [j for j in range(len(p.orders)) if j not in run.reasons]
    forced = {j for j in candidates if int(p.orders[j].unserved_penalty) > best_obj}
    status = "FEASIBLE"
    bound: int | None = lb
    pieces = _estimate_pieces(p, run.cals, run.bounds, candidates)
    run.stats["pieces_estimate"] = pieces
    if not candidates:
        status = "OPTIMAL"
    elif pieces <= WHOLE_MODEL_PIECES:
        built = build_model(p, run.legs, run.cals, run.bounds, candidates,
                            _fixed_spans(p), forced)
        run.stats["build_seconds"] = round(time.monotonic() - run.t0, 3)
        share = 1.0 if not lns else 0.5
        st, solver, pl, un = run.run_model(built, run.left() * share, best_pl,
                                           set(best_un))
        run.stats["cp_status"] = solver.status_name(st)
        if pl or un:
            obj = run.objective(pl, _reasons_for(run, un, g_un))
            run.stats["cp_objective"] = obj
            if obj <= best_obj:
                best_pl, best_un, best_obj = pl, _reasons_for(run, un, g_un), obj
            # the model leaves out orders that can never be served: add their penalties
            outside = sum(int(p.orders[j].unserved_penalty) for j in run.reasons)
            cp_bound = int(-(-solver.best_objective_bound // 1)) + outside
            bound = max(lb, cp_bound)
            if st == cp_model.OPTIMAL:
                status = "OPTIMAL"
                bound = best_obj
    else:
        run.stats["decomposition"] = "due-date batches"
        best_pl, best_un, best_obj = _decompose(run, candidates, forced, g_un, best_pl,
                                                best_un, best_obj)
    if status != "OPTIMAL" and lns and run.left() > 0.5 and candidates:
        best_pl, best_un, best_obj = _lns(run, candidates, forced, g_un, best_pl, best_un,
                                          best_obj)
    if bound is not None and bound >= best_obj:
        status, bound = "OPTIMAL", best_obj
    run.stats["wall_seconds"] = round(time.monotonic() - run.t0, 3)
    run.stats["workers"] = workers
    run.stats["seed"] = seed
    return run.plan(best_pl, best_un, status, bound)


def _decompose(run: _Run, candidates: list[int], forced: set[int], g_un: dict[int, str],
               best_pl: Placements, best_un: dict[int, str],
               best_obj: int) -> tuple[Placements, dict[int, str], int]:
    """Due-date batches: each batch is solved with the earlier ones fixed, its hint from a
    greedy insertion into what is already fixed."""
    p = run.p
    order_seq = sorted(candidates, key=lambda j: (p.orders[j].due if p.orders[j].due
                                                  is not None else 1 << 60,
                                                  p.orders[j].release, j))
    batches: list[list[int]] = []
    cur: list[int] = []
    cur_pieces = 0
    for j in order_seq:
        pc = _estimate_pieces(p, run.cals, run.bounds, [j])
        if cur and cur_pieces + pc > BATCH_PIECES:
            batches.append(cur)
            cur, cur_pieces = [], 0
        cur.append(j)
        cur_pieces += pc
    if cur:
        batches.append(cur)
    run.stats["batches"] = len(batches)
    placements: Placements = {}
    unserved: dict[int, str] = dict(run.reasons)
    tls = make_timelines(p, run.cals)
    budget_end = run.t0 + run.time_limit * 0.6
    for bi, batch in enumerate(batches):
        # greedy insertion of this batch against the fixed work = a valid hint
        h_pl: Placements = {}
        h_un: set[int] = set()
        for j in batch:
            order = p.orders[j]
            opts = [p.options(j, k) for k in range(len(order.operations))]
            ins = insert_order(p, run.legs, tls, order, opts, p.objective, commit=False)
            if ins is None or (p.objective != "makespan"
                               and ins.cost > int(order.unserved_penalty)
                               and j not in forced):
                h_un.add(j)
                continue
            for k, (mi, s, e) in enumerate(ins.placed):
                h_pl[(j, k)] = (mi, s, e)
                tls[mi].add(s, e)
        for (mi, s, e) in h_pl.values():  # undo: CP-SAT decides the batch
            tls[mi].remove(s, e)
        seconds = max(0.2, (budget_end - time.monotonic()) / (len(batches) - bi))
        fixed = _fixed_spans(run.p, placements)
        b_forced = {j for j in batch if j in forced and j not in h_un}
        built = build_model(p, run.legs, run.cals, run.bounds, batch, fixed, b_forced)
        st, _solver, pl, un = run.run_model(built, seconds, h_pl, h_un)
        if not pl and not un:
            pl, un = h_pl, h_un
        for key, val in pl.items():
            placements[key] = val
            tls[val[0]].add(val[1], val[2])
        for j in un:
            unserved[j] = run.reasons.get(j) or g_un.get(j) or CHOSEN_UNSERVED
    obj = run.objective(placements, unserved)
    if obj <= best_obj:
        return placements, unserved, obj
    return best_pl, best_un, best_obj


def _lns(run: _Run, candidates: list[int], forced: set[int], g_un: dict[int, str],
         best_pl: Placements, best_un: dict[int, str],
         best_obj: int) -> tuple[Placements, dict[int, str], int]:
    """Order-subset LNS: free a few orders (related by machines or time), fix the rest."""
    p = run.p
    it = 0
    improved = 0
    size = min(len(candidates), 12)
    by_machine: dict[int, list[int]] = {}
    while run.left() > 0.3:
        it += 1
        by_machine.clear()
        for (j, _k), (mi, _s, _e) in best_pl.items():
            by_machine.setdefault(mi, []).append(j)
        seed_j = run.rng.choice(candidates)
        chosen = {seed_j}
        # grow through shared machines: orders competing for the same machines interact
        frontier = [seed_j]
        while frontier and len(chosen) < size:
            j = frontier.pop(0)
            ms = [best_pl[(j, k)][0] for k in range(len(p.orders[j].operations))
                  if (j, k) in best_pl]
            ms += [o.m for k in range(len(p.orders[j].operations)) for o in p.options(j, k)][:8]
            run.rng.shuffle(ms)
            for mi in ms:
                for j2 in by_machine.get(mi, []):
                    if j2 not in chosen and len(chosen) < size:
                        chosen.add(j2)
                        frontier.append(j2)
        while len(chosen) < size:
            chosen.add(run.rng.choice(candidates))
        sub = sorted(chosen)
        fixed = _fixed_spans(p, best_pl, skip_orders=chosen)
        sub_forced = {j for j in sub if j in forced}
        built = build_model(p, run.legs, run.cals, run.bounds, sub, fixed, sub_forced)
        un_h = {j for j in sub if j in best_un}
        st, _solver, pl, un = run.run_model(built, min(2.0, run.left()), best_pl, un_h)
        if not pl and not un:
            continue
        new_pl = {key: v for key, v in best_pl.items() if key[0] not in chosen}
        new_pl.update(pl)
        new_un = {j: r for j, r in best_un.items() if j not in chosen}
        for j in un:
            new_un[j] = run.reasons.get(j) or g_un.get(j) or CHOSEN_UNSERVED
        obj = run.objective(new_pl, new_un)
        if obj < best_obj:
            best_pl, best_un, best_obj = new_pl, new_un, obj
            improved += 1
        if st == cp_model.OPTIMAL and size < len(candidates):
            size = min(len(candidates), size + 2)
    run.stats["lns_iterations"] = it
    run.stats["lns_improvements"] = improved
    return best_pl, best_un, best_obj
