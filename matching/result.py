"""The plan (`yunzao.plan/1`) and its construction from raw placements."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from matching.geo import Legs
from matching.problem import Problem

PLAN_FORMAT = "yunzao.plan/1"

# placements: (order index, op index) -> (machine index, start, end)
Placements = dict[tuple[int, int], tuple[int, int, int]]


@dataclass(frozen=True)
class Assignment:
    operation: str
    machine: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "machine": self.machine,
                "start": self.start, "end": self.end}


@dataclass
class Plan:
    status: str
    objective: int
    bound: int | None
    assignments: list[Assignment] = field(default_factory=list)
    unserved: list[dict[str, str]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # v1.1: operations with a `previous` place that moved, {operation, from, to}
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            **({"bound_kind": self.stats["bound_kind"]} if self.stats.get("bound_kind")
               and self.bound is not None else {}),
            "assignments": [a.to_dict() for a in self.assignments],
            "unserved": [dict(u) for u in self.unserved],
            "orders": [dict(o) for o in self.orders],
            "changes": [dict(c) for c in self.changes],
            "stats": dict(self.stats),
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def placements(self, problem: Problem) -> Placements:
        """Inverse of build_plan for plans of this problem."""
        where: dict[str, tuple[int, int]] = {}
        for j, o in enumerate(problem.orders):
            for k, op in enumerate(o.operations):
                where[op.id] = (j, k)
        out: Placements = {}
        for a in self.assignments:
            out[where[a.operation]] = (problem.machine_index[a.machine], a.start, a.end)
        return out


def order_parts(problem: Problem, legs: Legs, j: int, placed: list[tuple[int, int, int]]
                ) -> tuple[int, int, dict[str, int]]:
    """(completion, lateness, cost parts) of served order j placed as [(machine, start,
    end)...]; the parts (operations, transport, delivery, lateness, risk, change) add up to
    the order's cost."""
    order = problem.orders[j]
    parts = dict.fromkeys(COST_PARTS, 0)
    prev_plant: str | None = None
    for k, (mi, s, _e) in enumerate(placed):
        opt = next(o for o in problem.options(j, k) if o.m == mi)
        parts["operations"] += opt.cost - opt.risk
        parts["risk"] += opt.risk
        parts["change"] += problem.change_cost_of(order.operations[k], mi, s)
        plant = problem.plant_of(mi)
        if prev_plant is not None:
            parts["transport"] += legs.between(prev_plant, plant)[1]
        prev_plant = plant
    dmin, dcost = legs.delivery(prev_plant, order) if prev_plant is not None else (0, 0)
    completion = (placed[-1][2] if placed else order.release) + dmin
    lateness = 0 if order.due is None else max(0, completion - order.due)
    parts["delivery"] = int(dcost)
    parts["lateness"] = int(order.late_penalty_per_minute) * lateness
    return completion, lateness, {key: int(v) for key, v in parts.items()}


COST_PARTS = ("operations", "transport", "delivery", "lateness", "risk", "change")


def order_outcome(problem: Problem, legs: Legs, j: int,
                  placed: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """(completion, lateness, cost) of served order j placed as [(machine, start, end)...]."""
    completion, lateness, parts = order_parts(problem, legs, j, placed)
    return completion, lateness, sum(parts.values())


def build_plan(problem: Problem, placements: Placements, unserved: dict[int, str],
               status: str, bound: int | None, stats: dict[str, Any],
               legs: Legs | None = None) -> Plan:
    """Compute every derived number of the plan in plain Python (not from the model)."""
    legs = legs or Legs(problem)
    assignments: list[Assignment] = []
    orders_out: list[dict[str, Any]] = []
    unserved_out: list[dict[str, str]] = []
    changes: list[dict[str, Any]] = []
    total = 0
    makespan = 0
    for j, order in enumerate(problem.orders):
        if j in unserved:
            unserved_out.append({"order": order.id, "reason": unserved[j]})
            total += int(order.unserved_penalty)
            continue
        placed = [placements[(j, k)] for k in range(len(order.operations))]
        for k, (mi, s, e) in enumerate(placed):
            op = order.operations[k]
            assignments.append(Assignment(op.id, problem.machines[mi].id, s, e))
            prev = op.previous
            if prev is not None and (prev.machine, prev.start) != (problem.machines[mi].id, s):
                changes.append({"operation": op.id,
                                "from": {"machine": prev.machine, "start": prev.start},
                                "to": {"machine": problem.machines[mi].id, "start": s}})
        completion, lateness, parts = order_parts(problem, legs, j, placed)
        cost = sum(parts.values())
        orders_out.append({"order": order.id, "completion": completion,
                           "lateness": lateness, "cost": cost, "parts": parts})
        total += cost
        makespan = max(makespan, completion)
    if problem.objective == "makespan":
        objective = makespan + sum(int(problem.orders[j].unserved_penalty) for j in unserved)
    else:
        objective = total
    if status == "NO_SOLUTION" and not problem.orders:
        status = "OPTIMAL"
    return Plan(status, int(objective), bound, assignments, unserved_out, orders_out, stats,
                changes)
