"""Lower bounds on the objective that every plan respects, reported with the plan.

- chains: per order the cheaper of its penalty and its cheapest chain of operations,
  transport and delivery, capacity ignored, plus the lateness it cannot avoid even alone
  (the pre-check's earliest finish and the fastest delivery against its due date);
- energy (cost objective): a linear programme over the served fraction of each order in which
  every group of machines, from every threshold time on, cannot do more work than its
  published window minutes left after bookings (each operation counted at its least
  duration, on the machines it may use): capacity-tight instances get a bound that means
  something. Both are relaxations (`bound_kind` "relaxation"); CP-SAT's own bound on small
  instances is "cp-sat".
"""

from __future__ import annotations

import math
import time

from matching.calendar import Calendar
from matching.geo import Legs
from matching.precheck import EXACT_PAIRS, Bounds
from matching.problem import Problem

ENERGY_THRESHOLDS = 28  # threshold times per machine group: 0, H/28, ... (half-days on 14 days)
ENERGY_MAX_TERMS = 2_000_000  # LP nonzeros beyond which the energy bound is not tried


def lower_bound(problem: Problem, reasons: dict[int, str], bounds: Bounds,
                deadline: float | None = None, chains: dict[int, int] | None = None) -> int:
    """The chains bound: valid for every plan (capacity ignored). Past `deadline` the
    orders not reached count 0 (still valid: no order costs less). `chains`, if given,
    receives each reached order's floor (chain + unavoidable lateness) for energy_bound."""
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
        if deadline is not None and (j & 63) == 0 and time.monotonic() > deadline:
            deadline = -1.0
        if deadline == -1.0:
            continue
        c = _cheapest_chain(problem, legs, j) + _late_floor(problem, legs, j, bounds)
        if chains is not None:
            chains[j] = c
        lb += min(c, pen[j])
    return lb


def _late_floor(problem: Problem, legs: Legs, j: int, bounds: Bounds) -> int:
    """Least lateness penalty of order j: its last operation cannot end before the
    pre-check's earliest finish, nor be delivered faster than from its nearest plant."""
    order = problem.orders[j]
    if order.due is None or not order.late_penalty_per_minute or j not in bounds.finish:
        return 0
    last = len(order.operations) - 1
    dmin = min((legs.delivery(problem.plant_of(o.m), order)[0]
                for o in problem.options(j, last)), default=0)
    return int(order.late_penalty_per_minute) * max(0, bounds.finish[j] + dmin - order.due)


def _cheapest_chain(problem: Problem, legs: Legs, j: int) -> int:
    """Cheapest operations + transport + delivery of order j, capacity ignored (DP over
    plants). With many plants a move between two plants is counted at its least possible
    cost (the fixed cost): still a lower bound, near-linear instead of all pairs."""
    order = problem.orders[j]
    best: dict[str, int] = {}
    fixed = int(problem.transport.fixed_cost)
    for k in range(len(order.operations)):
        here: dict[str, int] = {}
        for o in problem.options(j, k):
            pl = problem.plant_of(o.m)
            if pl not in here or o.cost < here[pl]:
                here[pl] = o.cost
        if k == 0:
            best = here
        elif len(best) * len(here) <= EXACT_PAIRS:
            best = {p: c + min(v + legs.between(q, p)[1] for q, v in best.items())
                    for p, c in here.items()}
        else:
            low = min(best.values())
            best = {p: c + min(best.get(p, 1 << 62), low + fixed) for p, c in here.items()}
    return min(v + legs.delivery(p, order)[1] for p, v in best.items())


def energy_bound(problem: Problem, reasons: dict[int, str], bounds: Bounds,
                 calendars: list[Calendar], deadline: float | None = None,
                 chains: dict[int, int] | None = None) -> int | None:
    """The energy LP bound of the cost objective (None: not computed, e.g. out of time or
    too large). min sum_j pen_j + (chain_j - pen_j) x_j, 0 <= x_j <= 1, s.t. for every
    machine group G (the eligible set of some operation) and threshold t: the least work of
    the operations that may only use machines of G and cannot start before t, times the
    served fraction of their order, fits in G's window minutes from t on less the bookings'.
    Fixed operations are left out of both sides (their time need not be window time).
    `chains` (from lower_bound) saves recomputing the order floors."""
    if problem.objective == "makespan" or not problem.orders:
        return None
    from ortools.linear_solver import pywraplp

    H = problem.horizon_minutes
    legs = Legs(problem)
    pen = [int(o.unserved_penalty) for o in problem.orders]
    const = sum(pen[j] for j in reasons)
    gain: dict[int, int] = {}  # j -> chain - penalty (< 0: serving may pay)
    for j in range(len(problem.orders)):
        if j in reasons:
            continue
        c = chains[j] if chains is not None and j in chains else \
            _cheapest_chain(problem, legs, j) + _late_floor(problem, legs, j, bounds)
        const += min(c, pen[j])
        if c < pen[j]:
            gain[j] = c - pen[j]
        if deadline is not None and (j & 255) == 0 and time.monotonic() > deadline:
            return None
    if not gain:
        return None
    ts = [H * i // ENERGY_THRESHOLDS for i in range(ENERGY_THRESHOLDS)]
    # per group and threshold bucket: (order, least work) terms
    terms: dict[frozenset[int], list[tuple[int, int, int]]] = {}
    n_terms = 0
    for j in gain:
        for k in range(len(problem.orders[j].operations)):
            if (j, k) in problem.pinned:
                continue
            opts = problem.options(j, k)
            d = min(o.duration for o in opts)
            if d <= 0:
                continue
            g = frozenset(o.m for o in opts)
            terms.setdefault(g, []).append((j, d, bounds.est.get((j, k), 0)))
            n_terms += 1
    groups = sorted(terms, key=lambda g: (len(g), sorted(g)))
    if n_terms * ENERGY_THRESHOLDS > ENERGY_MAX_TERMS:
        return None
    booked: dict[int, list[tuple[int, int]]] = {}
    for b in problem.bookings:
        mi = problem.machine_index.get(b.machine)
        if mi is not None and b.end > b.start:
            booked.setdefault(mi, []).append((b.start, b.end))

    def free_from(mi: int, t: int) -> int:
        cal = calendars[mi]
        total = cal.total - cal.work_before(t)
        for s, e in booked.get(mi, ()):
            s, e = max(s, t), max(e, t)
            total -= cal.work_before(e) - cal.work_before(s)
        return max(0, total)

    cap_cache: dict[tuple[int, int], int] = {}
    solver = pywraplp.Solver.CreateSolver("GLOP")
    x = {j: solver.NumVar(0.0, 1.0, "") for j in sorted(gain)}
    # a group's constraint holds every operation whose machines all lie in the group
    members: dict[frozenset[int], list[tuple[int, int, int]]] = {}
    for g in groups:
        members[g] = [t for h in groups if h <= g for t in terms[h]] \
            if len(groups) <= 200 else list(terms[g])
    for g in groups:
        for t in ts:
            work: dict[int, int] = {}
            for j, d, est in members[g]:
                if est >= t:
                    work[j] = work.get(j, 0) + d
            if not work:
                continue
            cap = 0
            for mi in g:
                key = (mi, t)
                if key not in cap_cache:
                    cap_cache[key] = free_from(mi, t)
                cap += cap_cache[key]
            if sum(work.values()) <= cap:
                continue  # cannot bind
            solver.Add(sum(w * x[j] for j, w in work.items()) <= cap)
        if deadline is not None and time.monotonic() > deadline:
            return None
    # const counts every order at its chain; an unserved fraction pays the difference
    solver.Minimize(sum(-gain[j] * (1 - x[j]) for j in x))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    # objectives are integers: the next integer above the LP optimum, less float noise
    value = const + solver.Objective().Value()
    return math.ceil(value - 1e-6 * max(1.0, abs(value)))
