"""Pre-checks of the matching problem, before any model: why an order can never be served
(eligibility, capacity alone), time bounds every plan respects, and the machines worth
modelling per operation on large instances."""

from __future__ import annotations

import time
from dataclasses import dataclass

from matching.geo import Legs
from matching.problem import Order, Problem


@dataclass
class Bounds:
    """Per-operation start lower bounds and end upper bounds that every plan respects."""

    est: dict[tuple[int, int], int]
    lend: dict[tuple[int, int], int]
    finish: dict[int, int]  # earliest end of each order's last operation


def unservable_reason(problem: Problem, order: Order, options: list[list]) -> str | None:
    """Reason an order can never be served, from eligibility alone (None: it might be):
    the first filter that leaves an operation no machine (process, material, tolerance,
    part size, the plant's certifications), said exactly."""
    if not order.operations:
        return "order has no operations"
    for op, opts in zip(order.operations, options, strict=True):
        if opts:
            continue
        if op.fixed is not None:
            if op.fixed.machine not in problem.machine_index:
                return (f"operation {op.id} is fixed on machine {op.fixed.machine}, which is "
                        f"not in the problem")
            return (f"operation {op.id} is fixed on machine {op.fixed.machine}, which cannot "
                    f"do it")
        if op.alternatives is not None:
            if any(a.machine in problem.machine_index for a in op.alternatives):
                return _certification_reason(problem, order, f"operation {op.id}")
            return f"no machine listed for operation {op.id} exists"
        caps = [(m, c) for m in problem.machines for c in m.capabilities
                if c.process == op.process]
        if not caps:
            return f"no machine offers process {op.process}"
        caps = [(m, c) for m, c in caps if c.accepts(op.process, op.material)]
        if not caps:
            return f"no machine offering {op.process} takes material {op.material}"
        caps = [(m, c) for m, c in caps if c.holds(op.tolerance_mm)]
        if not caps:
            return f"no machine holds tolerance {op.tolerance_mm:g} mm for {op.process}"
        part = order.part_mm
        caps = [(m, c) for m, c in caps if c.takes(part)]
        if not caps:
            return f"no machine takes a part of {part:g} mm for {op.process}"
        return _certification_reason(problem, order, str(op.process))
    return None


def _certification_reason(problem: Problem, order: Order, what: str) -> str:
    for c in order.certifications:
        if not any(c in p.certifications for p in problem.plants.values()):
            return f"no plant has certification {c}"
    return (f"no plant with certification {', '.join(order.certifications)} has a machine "
            f"for {what}")


def precheck(problem: Problem, calendars: list, timelines: list | None = None,
             deadline: float | None = None) -> tuple[dict[int, str], Bounds]:
    """Reasons for orders that cannot be served even alone, and time bounds for pruning.

    Each order alone is pushed through its chain at the earliest (windows, and bookings when
    `timelines` are given); moving between plants costs at least the handling minutes, so the
    resulting starts are valid lower bounds (est) and an order that cannot finish this way
    can never be served. lend: horizon minus the minimum work of the later operations.
    Past `deadline` (time.monotonic()) the remaining orders get only the cheap bounds
    (their release, the sum of their least work) and no reason: valid, weaker.
    """
    reasons: dict[int, str] = {}
    est: dict[tuple[int, int], int] = {}
    lend: dict[tuple[int, int], int] = {}
    finish: dict[int, int] = {}
    H = problem.horizon_minutes
    handling = int(problem.transport.handling_minutes)
    inf = 1 << 62
    for j, order in enumerate(problem.orders):
        options = [problem.options(j, k) for k in range(len(order.operations))]
        r = unservable_reason(problem, order, options)
        if r is not None:
            reasons[j] = r
            continue
        if deadline is not None and (j & 63) == 0 and time.monotonic() > deadline:
            deadline = -1.0  # out of time: cheap bounds from here on
        if deadline == -1.0:
            _cheap_bounds(problem, j, options, est, lend, finish)
            continue
        # ends[plant] = earliest end of the previous operation at that plant
        ends: dict[str | None, int] = {None: order.release}
        for k, opts in enumerate(options):
            ranked = sorted((t, q) for q, t in ends.items())
            est[(j, k)] = ranked[0][0]
            op = order.operations[k]
            if op.fixed is not None:  # its own place, reached in time unless it is a fact
                mi, s0, e0 = problem.fixed_place(order, op, opts) or (0, 0, 0)
                pl = problem.plant_of(mi)
                ready = ends.get(pl, inf)
                for t, q in ranked[:2]:
                    if q != pl:
                        ready = min(ready, t + (handling if q is not None else 0))
                        break
                if k > 0 and order.operations[k - 1].fixed is None and ready > s0:
                    reasons[j] = (f"fixed operation {op.id} cannot be kept: the work before "
                                  f"it cannot end by minute {s0}")
                    break
                est[(j, k)] = s0
                ends = {pl: e0}
                continue
            new: dict[str | None, int] = {}
            ready_at: dict[str, int] = {}
            for o in opts:
                pl = problem.plant_of(o.m)
                ready = ready_at.get(pl)
                if ready is None:
                    ready = ends.get(pl, inf)
                    for t, q in ranked[:2]:
                        if q != pl:
                            ready = min(ready, t + (handling if q is not None else 0))
                            break
                    ready_at[pl] = ready
                if timelines is not None:
                    got = timelines[o.m].earliest(ready, o.duration)
                    e = None if got is None else got[1]
                elif o.duration <= 0:  # holds nothing: placeable at `ready` (issue 17)
                    e = calendars[o.m].end_of(ready, 0)
                else:
                    cal = calendars[o.m]
                    s = cal.next_start(ready)
                    e = None if s is None else cal.end_of(s, o.duration)
                if e is not None and e < new.get(pl, inf):
                    new[pl] = e
            if not new:
                reasons[j] = "not enough published capacity before the horizon end"
                break
            ends = new
        if j in reasons:
            continue
        finish[j] = min(ends.values())
        tail = 0
        for k in range(len(order.operations) - 1, -1, -1):
            lend[(j, k)] = H - tail
            if (j, k) in problem.pinned:  # fixed work may end after the horizon
                lend[(j, k)] = max(lend[(j, k)], problem.pinned[(j, k)][2])
            tail += min(o.duration for o in options[k])
    return reasons, Bounds(est, lend, finish)


def _cheap_bounds(problem: Problem, j: int, options: list[list], est: dict, lend: dict,
                  finish: dict) -> None:
    """Bounds without the chain pass: every start after the order's release (or its
    earliest fixed start), every end before the horizon less the least later work."""
    order = problem.orders[j]
    n = len(order.operations)
    lo = min([order.release] + [problem.pinned[(j, k)][1] for k in range(n)
                                if (j, k) in problem.pinned])
    tail = 0
    for k in range(n - 1, -1, -1):
        est[(j, k)] = problem.pinned[(j, k)][1] if (j, k) in problem.pinned else lo
        lend[(j, k)] = problem.horizon_minutes - tail
        if (j, k) in problem.pinned:
            lend[(j, k)] = max(lend[(j, k)], problem.pinned[(j, k)][2])
        tail += min(o.duration for o in options[k])
    finish[j] = lo + tail


# Above this many plant pairs between two operations the chain through the plants is
# estimated from the few cheapest predecessors only (exact below: M instances, 40 plants)
EXACT_PAIRS = 2_500
NEAR_PLANTS = 8


def _chain_min(prev: dict[str, int], to: str, legs: Legs, exact: bool,
               near: list[tuple[int, str]], forward: bool = True) -> int:
    """min over plants q of prev[q] + transport cost between q and `to`; inexact mode looks
    at the same plant and the NEAR_PLANTS cheapest of prev only."""
    if exact:
        return min(v + (legs.between(q, to) if forward else legs.between(to, q))[1]
                   for q, v in prev.items())
    best = prev.get(to, 1 << 62)
    for v, q in near:
        if v >= best:
            break
        best = min(best, v + legs.between(q, to)[1])
    return best


def cheapest_plants(problem: Problem, j: int, k: int, per_op: int) -> set[int]:
    """Machines of the `per_op` plants with the cheapest option for operation k of order j
    (the cut without chains, when time is short)."""
    best: dict[str, int] = {}
    for o in problem.options(j, k):
        pl = problem.plant_of(o.m)
        if pl not in best or o.cost < best[pl]:
            best[pl] = o.cost
    keep = {p for _c, p in sorted((c, p) for p, c in best.items())[:per_op]}
    return {o.m for o in problem.options(j, k) if problem.plant_of(o.m) in keep}


def plant_candidates(problem: Problem, legs: Legs, j: int, per_op: int) -> dict[int, set[int]]:
    """Machines worth modelling per operation of order j (a heuristic cut for large
    instances): those in the `per_op` plants with the cheapest capacity-free chain through
    them (operation costs + transport + delivery, by dynamic programming over plants; with
    many capable plants each step looks at the cheapest few predecessors only, so the cut
    stays near-linear in the plants)."""
    order = problem.orders[j]
    n = len(order.operations)
    cost: list[dict[str, int]] = []
    for k in range(n):
        best: dict[str, int] = {}
        for o in problem.options(j, k):
            pl = problem.plant_of(o.m)
            if pl not in best or o.cost < best[pl]:
                best[pl] = o.cost
        cost.append(best)
    exact = max((len(cost[k]) * len(cost[k + 1]) for k in range(n - 1)),
                default=0) <= EXACT_PAIRS
    fwd: list[dict[str, int]] = [dict(cost[0])]
    for k in range(1, n):
        near = sorted((v, q) for q, v in fwd[k - 1].items())[:NEAR_PLANTS]
        fwd.append({p: c + _chain_min(fwd[k - 1], p, legs, exact, near)
                    for p, c in cost[k].items()})
    bwd: list[dict[str, int]] = [{} for _ in range(n)]
    bwd[n - 1] = {p: c + legs.delivery(p, order)[1] for p, c in cost[n - 1].items()}
    for k in range(n - 2, -1, -1):
        near = sorted((v, q) for q, v in bwd[k + 1].items())[:NEAR_PLANTS]
        bwd[k] = {p: c + _chain_min(bwd[k + 1], p, legs, exact, near, forward=False)
                  for p, c in cost[k].items()}
    out: dict[int, set[int]] = {}
    for k in range(n):
        through = sorted((fwd[k][p] + bwd[k][p] - cost[k][p], p) for p in cost[k])
        keep = {p for _, p in through[:per_op]}
        out[k] = {o.m for o in problem.options(j, k) if problem.plant_of(o.m) in keep}
    return out
