"""Risk benchmark (issue 15): how much work the engine gives unreliable plants with the
scorecard's risk term on and off."""

from __future__ import annotations

import copy
import sys
from typing import Any, TextIO

UNRELIABLE_SHARE = 5  # every 5th plant (20%) is unreliable
UNRELIABLE_PER_MILLE = 150  # problems per 1000 operations
RELIABLE_PER_MILLE = 10


def with_risk(d: dict[str, Any], on: bool) -> tuple[dict[str, Any], set[str]]:
    """The instance with 20% unreliable plants; risk_cost = a tenth of the unserved penalty
    (about the order's value) when `on`, else 0."""
    r = copy.deepcopy(d)
    bad = set()
    for i, p in enumerate(r["plants"]):
        unreliable = i % UNRELIABLE_SHARE == 0
        p["risk_per_mille"] = UNRELIABLE_PER_MILLE if unreliable else RELIABLE_PER_MILLE
        if unreliable:
            bad.add(p["id"])
    for o in r["orders"]:
        o["risk_cost"] = int(o["unserved_penalty"]) // 10 if on else 0
    return r, bad


def bench_risk(size: str, time_limit: float | None, workers: int, seed: int,
               out: TextIO = sys.stdout) -> str:
    from matching.bench import MARKET
    from matching.io.generate import generate
    from matching.solver import solve
    from matching.validate import validate

    n_orders, n_plants, default_limit = MARKET[size]
    limit = time_limit or default_limit
    d = generate(n_orders, n_plants, seed=seed)
    lines = ["| risk term | served | operations | on unreliable plants | share | risk cost "
             "(of the plan) | valid |", "|---|---|---|---|---|---|---|"]
    capacity_share = None
    for on in (False, True):
        r, bad = with_risk(d, on)
        plant_of = {m["id"]: m["plant"] for m in r["machines"]}
        if capacity_share is None:
            capacity_share = sum(plant_of[m["id"]] in bad for m in r["machines"]) / max(
                1, len(r["machines"]))
        plan = solve(r, time_limit=limit, workers=workers, seed=0).to_dict()
        ops = plan["assignments"]
        on_bad = sum(plant_of[a["machine"]] in bad for a in ops)
        risk = sum(int(o["parts"]["risk"]) for o in plan["orders"])
        row = (f"| {'on' if on else 'off'} | {len(plan['orders'])} | {len(ops)} | {on_bad} | "
               f"{on_bad / max(1, len(ops)):.1%} | {risk} | "
               f"{'yes' if not validate(r, plan) else 'NO'} |")
        lines.append(row)
        print(row, file=out, flush=True)
    lines += ["", f"`generate({n_orders}, {n_plants}, seed={seed})`, {limit:g} s, {workers} "
              f"workers, deterministic mode. Every {UNRELIABLE_SHARE}th plant is unreliable "
              f"(risk_per_mille {UNRELIABLE_PER_MILLE}, the others {RELIABLE_PER_MILLE}); they "
              f"hold {capacity_share:.1%} of the machines. Risk on: each order's risk_cost is "
              f"a tenth of its unserved penalty (about its value), so an operation on an "
              f"unreliable plant costs 15% of the order's value in expected problems."]
    return "\n".join(lines)
