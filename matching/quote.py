"""Instant quote: place one new order into an existing plan with everything else fixed.

Only the new order's eligible machines are looked at; the plan's assignments and the
bookings on them become fixed spans. A greedy insertion gives a first placement (and the
answer if time is short); a small CP-SAT model then looks for a cheaper or earlier one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from matching.calendar import Calendar
from matching.geo import Legs
from matching.model import build_model, extract, hint, precheck, unservable_reason
from matching.problem import Order, Problem, as_problem, order_from_dict
from matching.result import Assignment, Plan
from matching.search.greedy import Timeline, insert_order

QUOTE_MACHINES = 6  # machines per operation in the improvement model
QUOTE_SLACK = 2 * 1440  # minutes after the greedy end (or the due date) still explored


@dataclass
class Quote:
    ok: bool
    price: int | None = None  # operations + transport + delivery, minor units
    completion: int | None = None  # delivery date in minutes from the horizon start
    lateness: int = 0
    placements: list[Assignment] = field(default_factory=list)
    plants: list[str] = field(default_factory=list)
    reason: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    # expected problem cost of the chosen plants (v1.1): weighs the choice, not in the price
    risk: int = 0

    @property
    def delivery_date(self) -> int | None:
        return self.completion

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "price": self.price, "completion": self.completion,
                "lateness": self.lateness,
                "placements": [a.to_dict() for a in self.placements],
                "plants": list(self.plants), "reason": self.reason, "risk": self.risk,
                "stats": dict(self.stats)}


def _plan_assignments(plan: Plan | dict[str, Any] | None) -> list[Any]:
    if plan is None:
        return []
    if isinstance(plan, Plan):
        return [(a.machine, a.start, a.end) for a in plan.assignments]
    return [(a["machine"], a["start"], a["end"]) for a in plan.get("assignments", [])]


def quote(problem: Problem | dict[str, Any], plan: Plan | dict[str, Any] | None,
          new_order: Order | dict[str, Any], time_limit: float = 0.2, workers: int = 1,
          seed: int = 0) -> Quote:
    """Price and delivery date for `new_order` placed around everything in `plan`."""
    t0 = time.monotonic()
    p = as_problem(problem)
    order = new_order if isinstance(new_order, Order) else order_from_dict(new_order)
    options = [p.options_for(order, op) for op in order.operations]
    reason = unservable_reason(p, order, options)
    if reason is not None:
        return Quote(False, reason=reason, stats={"wall_seconds": _since(t0)})
    eligible = sorted({o.m for opts in options for o in opts})
    sub = Problem(horizon_minutes=p.horizon_minutes, machines=p.machines, orders=[order],
                  plants=p.plants, bookings=[], transport=p.transport,
                  objective=p.objective)
    calendars: list[Calendar | None] = [None] * len(p.machines)
    timelines: list[Timeline | None] = [None] * len(p.machines)
    for mi in eligible:
        calendars[mi] = Calendar(p.machine_windows(mi), p.horizon_minutes)
        timelines[mi] = Timeline(calendars[mi])
    spans: dict[int, list[tuple[int, int]]] = {mi: [] for mi in eligible}
    idx = p.machine_index
    for b in p.bookings:
        mi = idx.get(b.machine)
        if mi in spans and b.end > b.start:
            spans[mi].append((b.start, b.end))
    for m_id, s, e in _plan_assignments(plan):
        mi = idx.get(m_id)
        if mi in spans and e > s:
            spans[mi].append((s, e))
    for mi, s, e in p.pinned_spans():  # fixed work of the problem's orders
        if mi in spans and e > s:
            spans[mi].append((s, e))
    for mi in eligible:
        spans[mi] = sorted(set(spans[mi]))
        tl = timelines[mi]
        tl.starts = [s for s, _ in spans[mi]]
        tl.ends = [e for _, e in spans[mi]]
    legs = Legs(p)
    ins = insert_order(p, legs, timelines, order, options, p.objective, commit=False)
    if ins is None:
        reasons, _ = precheck(sub, calendars)
        why = reasons.get(0) or "not enough free capacity before the horizon end"
        return Quote(False, reason=why, stats={"wall_seconds": _since(t0)})
    placed, engine = ins.placed, "greedy"
    left = time_limit - (time.monotonic() - t0)
    if left > 0.02:
        better = _improve(sub, legs, calendars, timelines, spans, placed, ins.cost, ins.completion,
                          left, workers, seed)
        if better is not None:
            placed, engine = better, "cp-sat"
    return _make(p, legs, order, options, placed, engine, t0)


def _improve(sub: Problem, legs: Legs, calendars: list[Calendar | None],
             timelines: list[Timeline | None],
             spans: dict[int, list[tuple[int, int]]], placed: list[tuple[int, int, int]],
             cost: int, completion: int, seconds: float, workers: int,
             seed: int) -> list[tuple[int, int, int]] | None:
    t0 = time.monotonic()
    reasons, bounds = precheck(sub, calendars, timelines)
    if reasons:
        return None
    # Keep the model small enough for an instant answer: per operation the K cheapest
    # machines (plus the greedy's), and every operation ending by a cap a little after the
    # greedy's end or the due date. Within these limits the search is exact.
    order = sub.orders[0]
    n = len(order.operations)
    allowed: dict[tuple[int, int], set[int]] = {}
    for k in range(n):
        opts = sorted(sub.options(0, k), key=lambda o: (o.cost, o.duration, o.m))
        allowed[(0, k)] = {o.m for o in opts[:QUOTE_MACHINES]} | {placed[k][0]}
    cap = max(placed[-1][2], order.due or 0) + QUOTE_SLACK
    tail = 0
    for k in range(n - 1, -1, -1):
        bounds.lend[(0, k)] = min(bounds.lend[(0, k)], cap - tail)
        tail += min(o.duration for o in sub.options(0, k))
    built = build_model(sub, legs, calendars, bounds, [0], spans, {0}, redundant=False,
                        allowed=allowed)
    placements = {(0, k): v for k, v in enumerate(placed)}
    hint(built, sub, legs, placements, set())
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = max(0.01, seconds - (time.monotonic() - t0))
    prm.num_workers = workers
    prm.random_seed = seed
    prm.cp_model_probing_level = 0
    st = solver.solve(built.model)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    pl, un = extract(built, solver)
    if un:
        return None
    return [pl[(0, k)] for k in range(len(placed))]


def _make(p: Problem, legs: Legs, order: Order, options: list, placed: list[tuple[int, int, int]],
          engine: str, t0: float) -> Quote:
    price = risk = 0
    prev: str | None = None
    plants: list[str] = []
    for k, (mi, _s, _e) in enumerate(placed):
        opt = next(o for o in options[k] if o.m == mi)
        price += opt.cost - opt.risk
        risk += opt.risk
        plant = p.plant_of(mi)
        if prev is not None:
            price += legs.between(prev, plant)[1]
        if plant not in plants:
            plants.append(plant)
        prev = plant
    dmin, dcost = legs.delivery(prev, order)
    price += dcost
    completion = placed[-1][2] + dmin
    lateness = 0 if order.due is None else max(0, completion - order.due)
    reason = None
    if lateness:
        reason = (f"not enough capacity before the due date; earliest possible completion "
                  f"is minute {completion}")
    assignments = [Assignment(op.id, p.machines[mi].id, s, e)
                   for op, (mi, s, e) in zip(order.operations, placed, strict=True)]
    return Quote(True, price, completion, lateness, assignments, plants, reason,
                 {"wall_seconds": _since(t0), "engine": engine}, risk)


def _since(t0: float) -> float:
    return round(time.monotonic() - t0, 4)
