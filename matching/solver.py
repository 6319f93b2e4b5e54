"""solve(): pre-checks, greedy and label-insertion starts, CP-SAT, large-neighbourhood search
(rounds of ruin and recreate, move search and CP-SAT LNS for cost; tabu search and CP-SAT
LNS for pure shops; critical-operation moves and CP-SAT LNS for other makespan shops),
decomposition.

Repeatability (deterministic=True, the default): every CP-SAT call runs one search thread
with `random_seed` and a deterministic-time limit derived from the caller's seconds (never
from the clock), our own randomness is a seeded `random.Random`, and loops stop on a
deterministic-time budget; the same problem, seed and workers give the same plan unless the
wall-clock safety net (twice a call's share, never past `time_limit`) cuts a call short,
which can happen on a loaded machine: the plan's stats then name the phases (`clock_cut`).
A `work_limit` below `time_limit` widens the net by their ratio. deterministic=False runs
`workers` threads as a parallel portfolio, up to the wall clock: better plans, not
repeatable.
"""

from __future__ import annotations

import time
from typing import Any

from ortools.sat.python import cp_model

from matching.bound import energy_bound, lower_bound
from matching.model import build_model, plant_candidates
from matching.precheck import cheapest_plants
from matching.problem import Problem, as_problem
from matching.result import Placements, Plan
from matching.search.context import (
    Run,
    estimate_pieces,
    fixed_spans,
    reasons_for,
    shop_bands,
)
from matching.search.greedy import dispatch_ops, edd_sequence, greedy
from matching.search.lns import (
    DECOMPOSE_SHARE,
    FIRST_SHARE_SHOP,
    PURE_FIRST_SHARE,
    decompose,
    hybrid_shop,
    lns_orders,
    pure_shop,
)
from matching.search.moves import cost_search
from matching.search.repair import explain_unserved, repair
from matching.search.shop_moves import shop_search

# Above this many (operation, machine, start-piece) literals the whole model is not built
# at once; orders are solved in due-date batches instead, then improved by LNS.
WHOLE_MODEL_PIECES = 60_000
PLANTS_PER_OP = 3  # large instances: plants kept per operation (cheapest chains)
LABEL_PASS_COST = 8  # a label-insertion start, in greedy passes (7-8 measured)


def _sequences(p: Problem, reasons: dict[int, str], labels: bool = False) -> list[list[int]]:
    """Greedy orders to try: due date first (the baseline), then by unserved penalty per
    minute of work (capacity is what orders compete for), then by penalty. For the label
    insertion: penalty, penalty per minute, due date."""

    def work(j: int) -> int:
        if j in reasons:
            return 1
        return max(1, sum(min(o.duration for o in p.options(j, k))
                          for k in range(len(p.orders[j].operations))))

    n = len(p.orders)
    if labels:
        return [sorted(range(n), key=lambda j: (-int(p.orders[j].unserved_penalty), j)),
                sorted(range(n), key=lambda j: (-int(p.orders[j].unserved_penalty) / work(j),
                                                j)),
                edd_sequence(p)]
    seqs = [edd_sequence(p)]
    if p.objective != "makespan":
        seqs.append(sorted(range(n), key=lambda j: (-int(p.orders[j].unserved_penalty)
                                                    / work(j), j)))
        seqs.append(sorted(range(n), key=lambda j: (-int(p.orders[j].unserved_penalty), j)))
    else:
        seqs.append(sorted(range(n), key=lambda j: (-work(j), j)))
    return seqs


def solve(problem: Problem | dict[str, Any], time_limit: float = 10.0, workers: int = 2,
          seed: int = 0, deterministic: bool = True, log: bool = False,
          lns: bool = True, gap_limit: float | None = None,
          work_limit: float | None = None, calendar_threads: bool = False) -> Plan:
    """Solve a matching problem; always returns a plan that follows every rule of the format.

    deterministic=True: repeatable (budgets from the caller's seconds; it may end early);
    `work_limit` (seconds of work on the reference machine, at most time_limit) sets the
    budgets apart from the clock, so that a loaded machine still repeats the plan.
    deterministic=False: anytime, a parallel portfolio that uses the whole time_limit unless
    it proves optimality or, with gap_limit (e.g. 0.01), a gap that small to its bound.
    `calendar_threads`: anytime mode uses `workers` CP-SAT threads on shift-calendar models
    too (by default one there: OR-Tools has aborted the process with more; for a caller that
    runs the engine in a process of its own and retries).
    Every phase watches the deadline; the time limit is never knowingly exceeded."""
    t0 = time.monotonic()
    p = as_problem(problem)
    run = Run(p, time_limit, workers, seed, deterministic, log, t0=t0, work_limit=work_limit)
    run.calendar_threads = calendar_threads
    run.gap_limit = gap_limit
    best_pl: Placements = {}
    best_un: dict[int, str] = {}
    best_obj = -1
    g_un: dict[int, str] = {}
    greedy_s = 0.0
    for i, seq in enumerate(_sequences(p, run.reasons)):
        if i and run.left() < time_limit * 0.5:
            break  # the other orders of dispatch only while time is plentiful
        t_g = time.monotonic()
        pl, un = greedy(p, run.legs, run.reasons, sequence=seq, deadline=run.deadline)
        obj = run.objective(pl, un)
        if i == 0:
            greedy_s = time.monotonic() - t_g
            g_un = un
            run.stats["greedy_objective"] = obj
        if best_obj < 0 or obj < best_obj:
            best_pl, best_un, best_obj = pl, dict(un), obj
    if p.objective != "makespan":
        # label insertion avoids the plain greedy's dead ends; penalty order first (time,
        # not machine minutes, is what orders compete for), each pass only while time allows
        for i, seq in enumerate(_sequences(p, run.reasons, labels=True)):
            if i and run.left() < time_limit * 0.85:
                break
            # a label pass costs about 7 greedy passes (measured, 300-1,000 plants): on
            # very wide instances it would eat the time ruin and recreate needs
            if run.left() < time_limit * 0.5 or LABEL_PASS_COST * greedy_s > 0.35 * run.left():
                run.stats["labels_skipped"] = True
                break
            pl, un = greedy(p, run.legs, run.reasons, sequence=seq, labels=True,
                            deadline=run.deadline)
            obj = run.objective(pl, un)
            run.stats[f"labels_start{i + 1}_objective"] = obj
            if obj < best_obj:
                best_pl, best_un, best_obj = pl, dict(un), obj
    if p.objective == "makespan":
        for rule in ("work", "finish"):
            pl, un = dispatch_ops(p, run.legs, run.reasons, priority=rule)
            obj = run.objective(pl, un)
            run.stats[f"dispatch_{rule}_objective"] = obj
            if obj < best_obj:
                best_pl, best_un, best_obj = pl, dict(un), obj
    run.stats["start_objective"] = best_obj
    run.stats["start_seconds"] = round(time.monotonic() - run.t0, 2)
    chains: dict[int, int] = {}
    lb = lower_bound(p, run.reasons, run.bounds, deadline=run.deadline, chains=chains)
    run.stats["bound_kind"] = "relaxation"
    if p.objective != "makespan" and best_obj > lb:
        # the capacity-aware LP, if it fits in a tenth of the time
        t_lp = time.monotonic()
        energy = energy_bound(p, run.reasons, run.bounds, run.cals,
                              deadline=min(run.deadline, t_lp + 0.1 * time_limit),
                              chains=chains)
        run.stats["energy_bound"] = energy
        run.stats["energy_bound_seconds"] = round(time.monotonic() - t_lp, 3)
        if energy is not None:
            lb = max(lb, min(energy, best_obj))
    # An order whose unserved penalty exceeds a known plan's whole objective is served in
    # every optimal plan: fixing it served is exact and tightens the model.
    candidates = [j for j in range(len(p.orders)) if j not in run.reasons]
    forced = {j for j in candidates if int(p.orders[j].unserved_penalty) > best_obj}
    status = "FEASIBLE"
    bound: int | None = lb
    pieces = estimate_pieces(p, run.cals, run.bounds, candidates,
                             stop_above=WHOLE_MODEL_PIECES)
    run.stats["pieces_estimate"] = pieces
    large = pieces > WHOLE_MODEL_PIECES
    if not candidates:
        status = "OPTIMAL"
    elif not large:
        shop = p.objective == "makespan" and set(candidates) <= forced
        pure = shop and pure_shop(run, candidates, forced)
        # Redundant cumulatives tighten the bound but slow the search for solutions: keep
        # them out of the first solve (the relaxation bound is computed separately).
        built = build_model(p, run.legs, run.cals, run.bounds, candidates,
                            fixed_spans(p), forced, redundant=not shop,
                            bands=shop_bands(run, candidates, best_obj) if shop else None)
        run.stats["build_seconds"] = round(time.monotonic() - run.t0, 3)
        share = 1.0 if not lns else (PURE_FIRST_SHARE if pure else
                                     FIRST_SHARE_SHOP if shop else 0.5)
        # seconds from the caller's limit, not from the clock: repeatable budgets
        st, solver, pl, un = run.run_model(built, run.work * share, best_pl,
                                           set(best_un))
        run.stats["cp_status"] = solver.status_name(st)
        if pl or un:
            obj = run.objective(pl, reasons_for(run, un, g_un))
            run.stats["cp_objective"] = obj
            if obj <= best_obj:
                best_pl, best_un, best_obj = pl, reasons_for(run, un, g_un), obj
            # the model leaves out orders that can never be served: add their penalties
            outside = sum(int(p.orders[j].unserved_penalty) for j in run.reasons)
            cp_bound = int(-(-solver.best_objective_bound // 1)) + outside
            bound = max(lb, cp_bound)
            if cp_bound > lb:
                run.stats["bound_kind"] = "cp-sat"
            if st == cp_model.OPTIMAL:
                status = "OPTIMAL"
                bound = best_obj
    else:
        run.allowed = {}
        cut_end = run.t0 + 0.5 * time_limit  # the cut may take what the starts left of half
        # no time left for any search that would use the cut: skip it
        for i, j in enumerate(candidates if run.left() > 0.1 * time_limit else ()):
            if (i & 63) == 0 and time.monotonic() > cut_end:
                cut_end = -1.0
            if cut_end < 0:  # out of time: the cheapest plants per operation, no chain
                for k in range(len(p.orders[j].operations)):
                    run.allowed[(j, k)] = cheapest_plants(p, j, k, PLANTS_PER_OP)
                continue
            for k, ms in plant_candidates(p, run.legs, j, PLANTS_PER_OP).items():
                run.allowed[(j, k)] = ms
        if p.objective == "makespan":
            run.stats["decomposition"] = "due-date batches"
            best_pl, best_un, best_obj = decompose(run, candidates, forced, g_un, best_pl,
                                                    best_un, best_obj)
            run.stats["decomposition_seconds"] = round(time.monotonic() - run.t0, 2)
        else:
            # Cost: the label-insertion start is already a decomposition into single orders
            # (each placed alone into what the others left) and beat the due-date CP-SAT
            # batches on every generated instance (M, L) while costing a tenth of the time;
            # ruin-and-recreate and CP-SAT LNS over order batches follow.
            run.stats["decomposition"] = "orders one by one (label insertion)"
        r_pl, r_un, r_obj = repair(run, best_pl, best_un, forced)
        run.stats["repair_objective"] = r_obj
        if r_obj < best_obj:
            best_pl, best_un, best_obj = r_pl, r_un, r_obj
    run.bound = bound
    if status != "OPTIMAL" and lns and run.left() > 0.5 and candidates \
            and not run.good_enough(best_obj):
        if p.objective == "makespan" and set(candidates) <= forced and not large:
            if pure_shop(run, candidates, forced):
                best_pl, best_obj = hybrid_shop(run, candidates, best_pl, best_obj, bound)
            else:  # calendars, transport, bookings...: move search and LNS in rounds
                best_pl, best_obj = shop_search(run, candidates, best_pl, best_obj, bound)
        else:
            if not large:
                rest = run.work * 0.5
            elif p.objective == "makespan":
                rest = run.work * (1 - DECOMPOSE_SHARE)
            else:
                rest = run.work * 0.8  # after the starts
            if p.objective != "makespan":
                best_pl, best_un, best_obj = cost_search(run, candidates, forced, g_un,
                                                         best_pl, best_un, best_obj, large,
                                                         rest, chains)
            else:
                best_pl, best_un, best_obj = lns_orders(run, candidates, forced, g_un,
                                                        best_pl, best_un, best_obj, large,
                                                        rest)
    run.stats["search_end_seconds"] = round(time.monotonic() - run.t0, 3)
    if p.objective != "makespan" and any(j not in run.reasons for j in best_un):
        # a last re-insertion pass (LNS steps may have opened holes), then honest reasons
        r_pl, r_un, r_obj = repair(run, best_pl, best_un, forced)
        if r_obj < best_obj:
            best_pl, best_un, best_obj = r_pl, r_un, r_obj
        run.stats["repair_end_seconds"] = round(time.monotonic() - run.t0, 3)
        best_un = explain_unserved(run, best_pl, best_un)
    if bound is not None and bound >= best_obj:
        status, bound = "OPTIMAL", best_obj
    run.stats["wall_seconds"] = round(time.monotonic() - run.t0, 3)
    run.stats["workers"] = workers
    run.stats["seed"] = seed
    return run.plan(best_pl, best_un, status, bound)
