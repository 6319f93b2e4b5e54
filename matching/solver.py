"""solve(): pre-checks, greedy and label-insertion starts, CP-SAT, large-neighbourhood search
(ruin and recreate and CP-SAT LNS for cost; tabu search and CP-SAT LNS for pure shops),
decomposition.

Repeatability (deterministic=True, the default): every CP-SAT call runs one search thread
with `random_seed` and a deterministic-time limit derived from the caller's seconds (never
from the clock), our own randomness is a seeded `random.Random`, and loops stop on a
deterministic-time budget; the same problem, seed and workers give the same plan unless the
wall-clock safety net (twice a call's share, never past `time_limit`) cuts a call short,
which can happen on a loaded machine. deterministic=False runs `workers` threads as a
parallel portfolio, up to the wall clock: better plans, not repeatable.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left, bisect_right
from typing import Any

from ortools.sat.python import cp_model

from matching.calendar import Calendar
from matching.geo import Legs
from matching.greedy import (
    dispatch_ops,
    greedy,
    insert_order,
    insert_order_labels,
    make_calendars,
    make_timelines,
)
from matching.model import (
    Bounds,
    Built,
    build_model,
    extract,
    hint,
    plant_candidates,
    precheck,
)
from matching.problem import Problem, as_problem
from matching.result import Placements, Plan, build_plan, order_outcome

# Deterministic time units per wall second of one search thread on the reference machine
# (2 cores), at about 60% of the measured rates so that the budget, not the wall-clock
# safety net, ends a call on a normally loaded machine. Used only to turn the caller's
# seconds into a repeatable budget: deterministic runs end at roughly 60% of time_limit.
DTIME_PER_SECOND = 0.06
DTIME_PER_SECOND_CALENDAR = 0.15  # models with shift calendars advance it faster
# Above this many (operation, machine, start-piece) literals the whole model is not built
# at once; orders are solved in due-date batches instead, then improved by LNS.
WHOLE_MODEL_PIECES = 60_000
BATCH_PIECES = 12_000
DECOMPOSE_SHARE = 0.5  # makespan: of the time limit, for the batches; then LNS
PLANTS_PER_OP = 3  # large instances: plants kept per operation (cheapest chains)
BAND_MINUTES = 3 * 1440  # large instances: how far an operation may move from its hint
LNS_ORDERS = 12
# cost problems: ruin-and-recreate with label insertion decides which orders are served
# (CP-SAT LNS then trims their cost); its share of the LNS time, and its deterministic
# budget in slot searches and candidate starts per second (about 60% of the 820,000 per
# second measured on both the M and the L instance)
RR_SHARE = 0.6
RR_SEARCHES_PER_SECOND = 500_000
RR_RUIN = (2, 8)  # served orders taken out per step, near the seed order's machines
RR_EXTRA = 6  # other unserved orders offered a place per step, at most
REPAIR_EVERY = 4  # LNS steps between greedy re-insertion passes of unserved orders
LNS_SECONDS = 2.0
FIRST_SHARE_SHOP = 0.25  # makespan shops: share of the time for the whole model first
SHOP_LNS_SECONDS = 1.0  # per shop LNS step
# parallel mode (not repeatable anyway): shorter steps, ends capped by the incumbent
SHOP_LNS_SECONDS_PARALLEL = 0.5
SHOP_TIGHT_HORIZON = True
# pure shops (FJSP): a short whole-model solve (proves the easy ones, gives the bound), then
# rounds of tabu search and CP-SAT LNS
PURE_FIRST_SHARE = 0.05
HYBRID_ROUNDS = 2
TS_SHARE = 0.5  # of each round
TS_ITERS_PER_SECOND = 25_000  # per thread, deterministic mode (~55% of mk10's rate)

CHOSEN_UNSERVED = ("chosen unserved: serving it with the capacity left costs more than its "
                   "unserved penalty")


def _params(seconds: float, workers: int, seed: int, deterministic: bool,
            log: bool = False, light_presolve: bool = False,
            wall_cap: float | None = None) -> cp_model.CpSolver:
    """CP-SAT parameters. Deterministic mode limits the search by deterministic time
    (seconds x a calibrated rate) with interleaved workers; the wall clock (twice the
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
        wall *= 2
    if wall_cap is not None:
        wall = min(wall, max(0.05, wall_cap))
    p.max_time_in_seconds = wall
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
                     orders: list[int],
                     allowed: dict[tuple[int, int], set[int]] | None = None) -> int:
    total = 0
    for j in orders:
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
    legs = Legs(problem)
    for j in range(len(problem.orders)):
        if j in reasons:
            lb += pen[j]
            continue
        lb += min(_cheapest_chain(problem, legs, j), pen[j])
    return lb


def _cheapest_chain(problem: Problem, legs: Legs, j: int) -> int:
    """Cheapest operations + transport + delivery of order j, capacity ignored (DP over
    plants)."""
    order = problem.orders[j]
    best: dict[str, int] = {}
    for k in range(len(order.operations)):
        here: dict[str, int] = {}
        for o in problem.options(j, k):
            pl = problem.plant_of(o.m)
            if pl not in here or o.cost < here[pl]:
                here[pl] = o.cost
        if k == 0:
            best = here
        else:
            best = {p: c + min(v + legs.between(q, p)[1] for q, v in best.items())
                    for p, c in here.items()}
    return min(v + legs.delivery(p, order)[1] for p, v in best.items())


class _Run:
    """State of one solve() call."""

    def __init__(self, problem: Problem, time_limit: float, workers: int, seed: int,
                 deterministic: bool, log: bool) -> None:
        self.p = problem
        self.t0 = time.monotonic()
        # a little kept back for building the plan and explaining unserved orders
        self.deadline = self.t0 + time_limit - min(2.0, 0.02 * time_limit)
        self.time_limit = time_limit
        self.workers = workers
        self.seed = seed
        self.deterministic = deterministic
        self.log = log
        self.rng = random.Random(seed)
        self.cals = make_calendars(problem)
        self.legs = Legs(problem)
        self.reasons, self.bounds = precheck(problem, self.cals,
                                              make_timelines(problem, self.cals))
        self.stats: dict[str, Any] = {"engine": "cp-sat"}
        self.light_presolve = any(len(c.windows) > 1 for c in self.cals)
        self.allowed: dict[tuple[int, int], set[int]] = {}
        self.dtime_used = 0.0

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
        solver = _params(seconds, self.workers, self.seed, self.deterministic, self.log,
                         self.light_presolve, wall_cap=self.left())
        st = solver.solve(built.model)
        self.dtime_used += solver.response_proto.deterministic_time
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


def _sequences(p: Problem, reasons: dict[int, str], labels: bool = False) -> list[list[int]]:
    """Greedy orders to try: due date first (the baseline), then by unserved penalty per
    minute of work (capacity is what orders compete for), then by penalty. For the label
    insertion: penalty, penalty per minute, due date."""
    from matching.greedy import edd_sequence

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
          lns: bool = True) -> Plan:
    """Solve a matching problem; always returns a plan that follows every rule of the format."""
    p = as_problem(problem)
    run = _Run(p, time_limit, workers, seed, deterministic, log)
    best_pl: Placements = {}
    best_un: dict[int, str] = {}
    best_obj = -1
    g_un: dict[int, str] = {}
    for i, seq in enumerate(_sequences(p, run.reasons)):
        pl, un = greedy(p, run.legs, run.reasons, sequence=seq)
        obj = run.objective(pl, un)
        if i == 0:
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
            pl, un = greedy(p, run.legs, run.reasons, sequence=seq, labels=True)
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
    lb = lower_bound(p, run.reasons, run.bounds)
    # An order whose unserved penalty exceeds a known plan's whole objective is served in
    # every optimal plan: fixing it served is exact and tightens the model.
    candidates = [j for j in range(len(p.orders)) if j not in run.reasons]
    forced = {j for j in candidates if int(p.orders[j].unserved_penalty) > best_obj}
    status = "FEASIBLE"
    bound: int | None = lb
    pieces = _estimate_pieces(p, run.cals, run.bounds, candidates)
    run.stats["pieces_estimate"] = pieces
    large = pieces > WHOLE_MODEL_PIECES
    if not candidates:
        status = "OPTIMAL"
    elif not large:
        shop = p.objective == "makespan" and set(candidates) <= forced
        pure = shop and _is_pure_shop(run, candidates, forced)
        # Redundant cumulatives tighten the bound but slow the search for solutions: keep
        # them out of the first solve (the relaxation bound is computed separately).
        built = build_model(p, run.legs, run.cals, run.bounds, candidates,
                            _fixed_spans(p), forced, redundant=not shop,
                            bands=_shop_bands(run, candidates, best_obj) if shop else None)
        run.stats["build_seconds"] = round(time.monotonic() - run.t0, 3)
        share = 1.0 if not lns else (PURE_FIRST_SHARE if pure else
                                     FIRST_SHARE_SHOP if shop else 0.5)
        # seconds from the caller's limit, not from the clock: repeatable budgets
        st, solver, pl, un = run.run_model(built, time_limit * share, best_pl,
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
        run.allowed = {}
        for j in candidates:
            for k, ms in plant_candidates(p, run.legs, j, PLANTS_PER_OP).items():
                run.allowed[(j, k)] = ms
        if p.objective == "makespan":
            run.stats["decomposition"] = "due-date batches"
            best_pl, best_un, best_obj = _decompose(run, candidates, forced, g_un, best_pl,
                                                    best_un, best_obj)
            run.stats["decomposition_seconds"] = round(time.monotonic() - run.t0, 2)
        else:
            # Cost: the label-insertion start is already a decomposition into single orders
            # (each placed alone into what the others left) and beat the due-date CP-SAT
            # batches on every generated instance (M, L) while costing a tenth of the time;
            # ruin-and-recreate and CP-SAT LNS over order batches follow.
            run.stats["decomposition"] = "orders one by one (label insertion)"
        r_pl, r_un, r_obj = _repair(run, best_pl, best_un, forced)
        run.stats["repair_objective"] = r_obj
        if r_obj < best_obj:
            best_pl, best_un, best_obj = r_pl, r_un, r_obj
    if status != "OPTIMAL" and lns and run.left() > 0.5 and candidates:
        if p.objective == "makespan" and set(candidates) <= forced and not large:
            if _is_pure_shop(run, candidates, forced):
                best_pl, best_obj = _hybrid_shop(run, candidates, best_pl, best_obj, bound)
            else:
                best_pl, best_obj, lns_bound = _lns_shop(run, candidates, best_pl, best_obj)
                if bound is not None and lns_bound is not None:
                    bound = max(bound, lns_bound)
        else:
            if not large:
                rest = run.time_limit * 0.5
            elif p.objective == "makespan":
                rest = run.time_limit * (1 - DECOMPOSE_SHARE)
            else:
                rest = run.time_limit * 0.8  # after the starts
            if p.objective != "makespan":
                best_pl, best_un, best_obj = _ruin_recreate(run, candidates, best_pl, best_un,
                                                            best_obj, rest * RR_SHARE)
                rest *= 1 - RR_SHARE
            best_pl, best_un, best_obj = _lns(run, candidates, forced, g_un, best_pl, best_un,
                                              best_obj, large, rest)
    if p.objective != "makespan" and any(j not in run.reasons for j in best_un):
        # a last re-insertion pass (LNS steps may have opened holes), then honest reasons
        r_pl, r_un, r_obj = _repair(run, best_pl, best_un, forced)
        if r_obj < best_obj:
            best_pl, best_un, best_obj = r_pl, r_un, r_obj
        best_un = _explain_unserved(run, best_pl, best_un)
    if bound is not None and bound >= best_obj:
        status, bound = "OPTIMAL", best_obj
    run.stats["wall_seconds"] = round(time.monotonic() - run.t0, 3)
    run.stats["workers"] = workers
    run.stats["seed"] = seed
    return run.plan(best_pl, best_un, status, bound)


def _shop_bands(run: _Run, candidates: list[int],
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


def _band(run: _Run, placements: Placements, key: tuple[int, int]) -> tuple[int, int] | None:
    got = placements.get(key)
    if got is None:
        return None
    return got[1] - BAND_MINUTES, got[2] + BAND_MINUTES


def _allowed_for(run: _Run, orders: list[int], placements: Placements,
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


def _decompose(run: _Run, candidates: list[int], forced: set[int], g_un: dict[int, str],
               best_pl: Placements, best_un: dict[int, str],
               best_obj: int) -> tuple[Placements, dict[int, str], int]:
    """Due-date batches: each batch is solved with the earlier ones fixed, its hint from a
    greedy insertion into what is already fixed; operations keep to their best few plants
    and to a band around the hint."""
    p = run.p
    order_seq = sorted(candidates, key=lambda j: (p.orders[j].due if p.orders[j].due
                                                  is not None else 1 << 60,
                                                  p.orders[j].release, j))
    per_order = {j: _estimate_pieces(p, run.cals, run.bounds, [j], run.allowed)
                 for j in order_seq}
    batches: list[list[int]] = []
    cur: list[int] = []
    cur_pieces = 0
    for j in order_seq:
        pc = per_order[j]
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
    budget_end = run.t0 + run.time_limit * 0.8  # safety net only
    for batch in batches:
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
        seconds = run.time_limit * DECOMPOSE_SHARE / len(batches)
        pl, un = h_pl, h_un
        if seconds > 0.1 and time.monotonic() < budget_end:
            fixed = _fixed_spans(run.p, placements)
            b_forced = {j for j in batch if j in forced and j not in h_un}
            allowed = _allowed_for(run, batch, h_pl, True)
            bands = {key: b for key in allowed if (b := _band(run, h_pl, key))}
            built = build_model(p, run.legs, run.cals, run.bounds, batch, fixed, b_forced,
                                allowed=allowed, bands=bands)
            _st, _solver, c_pl, c_un = run.run_model(built, seconds, h_pl, h_un)
            if c_pl or c_un:
                pl, un = c_pl, c_un
        for key, val in pl.items():
            placements[key] = val
            tls[val[0]].add(val[1], val[2])
        for j in un:
            unserved[j] = run.reasons.get(j) or g_un.get(j) or CHOSEN_UNSERVED
    obj = run.objective(placements, unserved)
    run.stats["decomposition_objective"] = obj
    if obj <= best_obj:
        return placements, unserved, obj
    return best_pl, best_un, best_obj


def _lns(run: _Run, candidates: list[int], forced: set[int], g_un: dict[int, str],
         best_pl: Placements, best_un: dict[int, str], best_obj: int,
         large: bool, seconds: float) -> tuple[Placements, dict[int, str], int]:
    """Order-subset LNS: free a few orders, fix the rest. Neighbourhoods alternate between
    'an unserved order and the orders on the machines it could use' and 'orders sharing
    machines with a random order'."""
    p = run.p
    it = 0
    improved = 0
    size = min(len(candidates), LNS_ORDERS)
    cand_set = set(candidates)
    repaired = 0
    rate = DTIME_PER_SECOND_CALENDAR if run.light_presolve else DTIME_PER_SECOND
    budget = run.dtime_used + max(0.0, seconds) * rate
    # large instances spend about as long building each step's model as solving it
    max_steps = max(1, int(seconds / (LNS_SECONDS * (2.0 if large else 1.2))))
    stop = min(run.deadline, time.monotonic() + seconds * (2 if run.deterministic else 1))
    while stop - time.monotonic() > 0.3 and (not run.deterministic
                                             or (run.dtime_used < budget
                                                 and it < max_steps)):
        it += 1
        by_machine: dict[int, list[int]] = {}
        for (j, _k), (mi, _s, _e) in best_pl.items():
            by_machine.setdefault(mi, []).append(j)
        open_un = [j for j in sorted(best_un) if j in cand_set]
        pool = open_un if open_un and it % 2 == 1 else candidates
        seed_j = run.rng.choice(pool)
        chosen = [seed_j]
        chosen_set = {seed_j}
        frontier = [seed_j]
        while frontier and len(chosen) < size:
            j = frontier.pop(0)
            ms: list[int] = []
            for k in range(len(p.orders[j].operations)):
                if (j, k) in best_pl:
                    ms.append(best_pl[(j, k)][0])
                allowed = run.allowed.get((j, k)) if large else None
                ms += sorted(allowed if allowed is not None
                             else {o.m for o in p.options(j, k)})
            run.rng.shuffle(ms)
            for mi in ms:
                users = by_machine.get(mi, [])
                for j2 in run.rng.sample(users, min(len(users), 3)):
                    if j2 not in chosen_set and len(chosen) < size:
                        chosen.append(j2)
                        chosen_set.add(j2)
                        frontier.append(j2)
        sub = sorted(chosen_set)
        fixed = _fixed_spans(p, best_pl, skip_orders=chosen_set)
        sub_forced = {j for j in sub if j in forced}
        allowed = _allowed_for(run, sub, best_pl, large)
        bands = None
        if large:
            bands = {key: b for key in allowed if (b := _band(run, best_pl, key))}
        built = build_model(p, run.legs, run.cals, run.bounds, sub, fixed, sub_forced,
                            allowed=allowed, bands=bands)
        un_h = {j for j in sub if j in best_un}
        st, _solver, pl, un = run.run_model(built, LNS_SECONDS, best_pl, un_h)
        if not pl and not un:
            continue
        new_pl = {key: v for key, v in best_pl.items() if key[0] not in chosen_set}
        new_pl.update(pl)
        new_un = {j: r for j, r in best_un.items() if j not in chosen_set}
        for j in un:
            new_un[j] = run.reasons.get(j) or g_un.get(j) or CHOSEN_UNSERVED
        obj = run.objective(new_pl, new_un)
        if obj < best_obj:
            best_pl, best_un, best_obj = new_pl, new_un, obj
            improved += 1
        if it % REPAIR_EVERY == 0 and any(j in cand_set for j in best_un):
            r_pl, r_un, r_obj = _repair(run, best_pl, best_un, forced)
            if r_obj < best_obj:
                best_pl, best_un, best_obj = r_pl, r_un, r_obj
                repaired += 1
        if st == cp_model.OPTIMAL and size < len(candidates):
            size = min(len(candidates), size + 1)
    run.stats["lns_iterations"] = it
    run.stats["lns_improvements"] = improved
    run.stats["repair_improvements"] = repaired
    return best_pl, best_un, best_obj


def _lns_shop(run: _Run, candidates: list[int], best_pl: Placements,
              best_obj: int, seconds: float | None = None
              ) -> tuple[Placements, int, int | None]:
    """Makespan LNS for shops where every order is served (the FJSP case).

    Each step keeps most operations on their machine and in their machine order, and frees
    the rest (a time window, a few machines, or a few jobs) to be re-assigned and
    re-sequenced by CP-SAT, hinted with the incumbent; equal makespans are accepted so the
    search can drift across plateaus. The loop stops on a deterministic-time budget (wall
    clock only as a safety net), so it repeats with the same seed and workers.
    """
    p = run.p
    keys = [(j, k) for j in candidates for k in range(len(p.orders[j].operations))]
    if seconds is None:
        seconds = run.time_limit * (1 - FIRST_SHARE_SHOP)
    budget = run.dtime_used + seconds * DTIME_PER_SECOND
    # wall clock: this call's share (twice it in deterministic mode, as a safety net only)
    stop = min(run.deadline, time.monotonic() + seconds * (2 if run.deterministic else 1))
    it = improved = 0
    bound: int | None = None
    forced = set(candidates)
    kinds = ("window", "machines", "jobs")
    # adaptive neighbourhood sizes: grow when a step is solved to optimality without gain,
    # shrink when it runs out of time
    frac = {"window": 0.25, "machines": 0.25, "jobs": 0.25}
    build_s = solve_s = 0.0
    # deterministic mode: also a step count from the caller's seconds, so that per-step
    # overhead (model building, presolve) cannot push the loop onto the wall clock
    max_steps = int(seconds / (SHOP_LNS_SECONDS * 0.5))
    while stop - time.monotonic() > 0.2 and (not run.deterministic
                                             or (run.dtime_used < budget
                                                 and it < max_steps)):
        it += 1
        kind = kinds[it % 3]
        f = frac[kind] * run.rng.uniform(0.8, 1.2)
        if kind == "window":
            width = max(1, int(best_obj * f))
            t0 = run.rng.randint(0, max(0, best_obj - width))
            free = {key for key in keys if t0 <= best_pl[key][1] < t0 + width}
        elif kind == "machines":
            ms = sorted({v[0] for v in best_pl.values()})
            pick = set(run.rng.sample(ms, min(len(ms), max(2, round(len(ms) * f)))))
            free = {key for key in keys if best_pl[key][0] in pick}
        else:
            js = run.rng.sample(candidates, min(len(candidates),
                                                max(2, round(len(candidates) * f))))
            free = {key for key in keys if key[0] in set(js)}
        allowed = {key: ({best_pl[key][0]} if key not in free
                         else {o.m for o in p.options(*key)}) for key in keys}
        tb = time.monotonic()
        built = build_model(p, run.legs, run.cals, run.bounds, candidates, _fixed_spans(p),
                            forced, allowed=allowed, redundant=False,
                            bands=_shop_bands(run, candidates, best_obj))
        build_s += time.monotonic() - tb
        # keep the machine order of the fixed operations
        by_m: dict[int, list[tuple[int, tuple[int, int]]]] = {}
        for key in keys:
            if key not in free:
                by_m.setdefault(best_pl[key][0], []).append((best_pl[key][1], key))
        for seq in by_m.values():
            seq.sort()
            for (_s1, a), (_s2, b) in zip(seq, seq[1:], strict=False):
                built.model.add(built.start[b] >= built.end[a])
        built.model.add(built.makespan <= best_obj)
        hint(built, p, run.legs, best_pl, set())
        step_s = SHOP_LNS_SECONDS if run.deterministic else SHOP_LNS_SECONDS_PARALLEL
        solver = _params(step_s, run.workers, run.seed + it, run.deterministic,
                         run.log, wall_cap=stop - time.monotonic())
        # neighbourhood models are re-built every step: a light presolve pays off
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
        st = solver.solve(built.model)
        solve_s += solver.wall_time
        run.dtime_used += solver.response_proto.deterministic_time
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            frac[kind] = max(0.05, frac[kind] * 0.9)
            continue
        pl, _un = extract(built, solver)
        obj = run.objective(pl, {})
        if st == cp_model.OPTIMAL and obj >= best_obj:
            frac[kind] = min(0.8, frac[kind] * 1.15)
        elif st != cp_model.OPTIMAL:
            frac[kind] = max(0.05, frac[kind] * 0.9)
        if obj < best_obj:
            improved += 1
        if obj <= best_obj:
            best_pl, best_obj = pl, obj
    st = run.stats  # accumulated: the hybrid search calls this more than once
    st["lns_iterations"] = st.get("lns_iterations", 0) + it
    st["lns_improvements"] = st.get("lns_improvements", 0) + improved
    st["lns_build_seconds"] = round(st.get("lns_build_seconds", 0) + build_s, 2)
    st["lns_solve_seconds"] = round(st.get("lns_solve_seconds", 0) + solve_s, 2)
    return best_pl, best_obj, bound


def _is_pure_shop(run: _Run, candidates: list[int], forced: set[int]) -> bool:
    # imported here: numba's import costs half a second that cost problems never need
    from matching.shop import is_pure_shop

    return is_pure_shop(run.p, candidates, forced, run.legs)


def _hybrid_shop(run: _Run, candidates: list[int], best_pl: Placements, best_obj: int,
                 bound: int | None) -> tuple[Placements, int]:
    """Pure shops: rounds of tabu search (fast moves across plateaus) then CP-SAT LNS
    (re-optimises whole regions) from the tabu search's best."""
    from matching.shop import tabu_search

    total = run.time_limit * (1 - PURE_FIRST_SHARE)  # the caller's seconds: repeatable
    per_round = total / HYBRID_ROUNDS
    ts_iters = 0
    for r in range(HYBRID_ROUNDS):
        if bound is not None and best_obj <= bound:
            break
        ts_s = per_round * TS_SHARE
        iters = int(ts_s * TS_ITERS_PER_SECOND) if run.deterministic else None
        wall = min(ts_s * (2 if run.deterministic else 1), run.left() - 0.1)
        if wall <= 0:
            break
        pl, _obj, its = tabu_search(run.p, candidates, best_pl, seconds=wall,
                                    iterations=iters, seed=run.seed + 7919 * r,
                                    threads=run.workers)
        ts_iters += its
        obj = run.objective(pl, {})
        if obj <= best_obj:
            best_pl, best_obj = pl, obj
        run.stats[f"tabu_round{r + 1}_objective"] = best_obj
        lns_s = min(per_round * (1 - TS_SHARE), run.left() - 0.1)
        if lns_s > 0.3 and (bound is None or best_obj > bound):
            best_pl, best_obj, _b = _lns_shop(run, candidates, best_pl, best_obj, lns_s)
        run.stats[f"lns_round{r + 1}_objective"] = best_obj
    run.stats["tabu_iterations"] = ts_iters
    return best_pl, best_obj


def _ruin_recreate(run: _Run, candidates: list[int], best_pl: Placements,
                   best_un: dict[int, str], best_obj: int, seconds: float
                   ) -> tuple[Placements, dict[int, str], int]:
    """Ruin and recreate (cost objective): take out a few served orders near a seed order
    (often an unserved one), re-insert them with the seed and a few other unserved orders
    by label insertion in penalty or random order, keep the result if it costs no more.
    Cheap steps, thousands per minute: this is what finds room for more orders."""
    p = run.p
    legs = run.legs
    cand = [j for j in candidates if j not in run.reasons]
    if not cand or seconds <= 0.2:
        return best_pl, best_un, best_obj
    opts = {j: [p.options(j, k) for k in range(len(p.orders[j].operations))] for j in cand}
    pen = {j: int(p.orders[j].unserved_penalty) for j in cand}
    tls = make_timelines(p, run.cals)
    pl = dict(best_pl)
    users: dict[int, set[int]] = {}
    for (j, _k), (mi, s, e) in pl.items():
        tls[mi].add(s, e)
        users.setdefault(mi, set()).add(j)
    cost = {j: order_outcome(p, legs, j, [pl[(j, k)] for k in range(len(opts[j]))])[2]
            for j in cand if (j, 0) in pl}
    machines = {j: sorted({o.m for ol in opts[j] for o in ol}) for j in cand}
    work = [0]
    t_rr = time.monotonic()
    budget = seconds * RR_SEARCHES_PER_SECOND
    stop = min(run.deadline, time.monotonic() + seconds * (2 if run.deterministic else 1))
    it = accepted = 0
    rng = run.rng
    while time.monotonic() < stop and (not run.deterministic or work[0] < budget):
        it += 1
        un = [j for j in cand if j not in cost]
        if un and (not cost or rng.random() < 0.7):
            seed_j = rng.choice(un)
        elif cost:
            seed_j = rng.choice(sorted(cost))
        else:
            break
        near = sorted({j2 for m in machines[seed_j] for j2 in users.get(m, ())} - {seed_j})
        rem = rng.sample(near, min(len(near), rng.randint(*RR_RUIN)))
        if seed_j in cost:
            rem.append(seed_j)
        old: dict[int, tuple[int, list[tuple[int, int, int]]]] = {}
        for j in rem:
            spans = [pl.pop((j, k)) for k in range(len(opts[j]))]
            for mi, s, e in spans:
                tls[mi].remove(s, e)
            old[j] = (cost.pop(j), spans)
        others = [j for j in un if j != seed_j]
        pool = rem + ([seed_j] if seed_j not in old else [])
        pool += rng.sample(others, min(len(others), rng.randint(0, RR_EXTRA)))
        if rng.random() < 0.5:
            pool.sort(key=lambda j: (-pen[j], j))
        else:
            rng.shuffle(pool)
        new: dict[int, tuple[int, list[tuple[int, int, int]]]] = {}
        delta = 0
        for j in pool:
            before = old[j][0] if j in old else pen[j]
            ins = insert_order_labels(p, legs, tls, p.orders[j], opts[j], work)
            if ins is None or ins.cost >= pen[j]:
                delta += pen[j] - before
                continue
            for mi, s, e in ins.placed:
                tls[mi].add(s, e)
            new[j] = (ins.cost, ins.placed)
            delta += ins.cost - before
        if delta <= 0:
            accepted += delta < 0
            for j in old:
                for mi, _s, _e in old[j][1]:
                    users[mi].discard(j)
            for j, (c, spans) in new.items():
                cost[j] = c
                for k, (mi, s, e) in enumerate(spans):
                    pl[(j, k)] = (mi, s, e)
                    users.setdefault(mi, set()).add(j)
        else:  # undo
            for _c, spans in new.values():
                for mi, s, e in spans:
                    tls[mi].remove(s, e)
            for j, (c, spans) in old.items():
                cost[j] = c
                for k, (mi, s, e) in enumerate(spans):
                    tls[mi].add(s, e)
                    pl[(j, k)] = (mi, s, e)
    un_d = {j: r for j, r in best_un.items() if j not in cand or j not in cost}
    for j in cand:
        if j not in cost:
            un_d.setdefault(j, CHOSEN_UNSERVED)
    pl = {key: v for key, v in pl.items() if key[0] in cost or key[0] not in pen}
    obj = run.objective(pl, un_d)
    run.stats["rr_searches"] = run.stats.get("rr_searches", 0) + work[0]
    run.stats["rr_seconds"] = round(run.stats.get("rr_seconds", 0) + time.monotonic() - t_rr, 2)
    run.stats["rr_iterations"] = run.stats.get("rr_iterations", 0) + it
    run.stats["rr_improvements"] = run.stats.get("rr_improvements", 0) + accepted
    run.stats["rr_objective"] = obj
    if obj <= best_obj:
        return pl, un_d, obj
    return best_pl, best_un, best_obj


def _explain_unserved(run: _Run, pl: Placements, un: dict[int, str]) -> dict[int, str]:
    """Reasons from the final plan: can the order still be placed in what is left, and at
    what cost against its penalty (pre-check reasons are kept)."""
    p = run.p
    tls = make_timelines(p, run.cals)
    for (_j, _k), (mi, s, e) in pl.items():
        tls[mi].add(s, e)
    out: dict[int, str] = {}
    for j, reason in un.items():
        if j in run.reasons:
            out[j] = run.reasons[j]
            continue
        order = p.orders[j]
        opts = [p.options(j, k) for k in range(len(order.operations))]
        ins = insert_order_labels(p, run.legs, tls, order, opts)
        if ins is None:
            out[j] = ("not enough capacity: the machines that could make it are taken by "
                      "other orders or closed before the horizon end")
        elif ins.cost >= int(order.unserved_penalty):
            out[j] = (f"chosen unserved: serving it with the capacity left costs {ins.cost}, "
                      f"more than its unserved penalty {int(order.unserved_penalty)}")
        else:
            out[j] = reason
    return out


def _repair(run: _Run, best_pl: Placements, best_un: dict[int, str],
            forced: set[int]) -> tuple[Placements, dict[int, str], int]:
    """Greedy insertion of unserved orders into the holes the plan leaves (most penalty
    per minute of work first); each insertion is kept only if it lowers the objective."""
    p = run.p
    tls = make_timelines(p, run.cals)
    for (_j, _k), (mi, s, e) in best_pl.items():
        tls[mi].add(s, e)
    pl = dict(best_pl)
    un = dict(best_un)

    def density(j: int) -> float:
        work = sum(min(o.duration for o in p.options(j, k))
                   for k in range(len(p.orders[j].operations)))
        return -int(p.orders[j].unserved_penalty) / max(1, work)

    for j in sorted((j for j in un if j not in run.reasons), key=lambda j: (density(j), j)):
        order = p.orders[j]
        opts = [p.options(j, k) for k in range(len(order.operations))]
        if p.objective == "makespan":
            ins = insert_order(p, run.legs, tls, order, opts, p.objective, commit=False)
        else:
            ins = insert_order_labels(p, run.legs, tls, order, opts)
        if ins is None:
            continue
        if p.objective != "makespan" and ins.cost >= int(order.unserved_penalty):
            continue
        if p.objective == "makespan" and j not in forced:
            continue  # serving may lengthen the makespan; left to the model
        for k, (mi, s, e) in enumerate(ins.placed):
            tls[mi].add(s, e)
            pl[(j, k)] = (mi, s, e)
        del un[j]
    obj = run.objective(pl, un)
    return pl, un, obj
