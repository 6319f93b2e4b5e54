"""Re-plan benchmark (issue 13): a downtime on the busiest machine of a solved instance,
re-planned with started work fixed, the rest of the affected orders at their previous places
with a change cost, and every other order's work held as bookings; compared with solving the
disrupted instance from scratch."""

from __future__ import annotations

import copy
import sys
import time
from typing import Any, TextIO

DOWNTIME_MINUTES = 2 * 1440
CHANGE_COST = {"moved": 50_000, "plant_changed": 200_000}  # 500 and 2,000 CNY


def disrupt(d: dict[str, Any], plan: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                                str, int]:
    """(re-plan problem, from-scratch problem, busiest machine, downtime start)."""
    busy: dict[str, int] = {}
    for a in plan["assignments"]:
        busy[a["machine"]] = busy.get(a["machine"], 0) + a["end"] - a["start"]
    machine = max(sorted(busy), key=lambda m: busy[m])
    H = d["horizon"]["minutes"]
    on_m = sorted((a for a in plan["assignments"] if a["machine"] == machine),
                  key=lambda a: a["start"])
    # the breakdown comes when a job on it ends, after the first quarter of the horizon
    now = next((a["end"] for a in on_m if a["end"] >= H // 4), on_m[0]["start"])
    down = (now, now + DOWNTIME_MINUTES)
    where = {a["operation"]: a for a in plan["assignments"]}
    affected = {a["operation"].rsplit("-", 1)[0] for a in on_m
                if down[0] <= a["start"] < down[1]}
    affected = {o["id"] for o in d["orders"]
                if any(op["id"] in where and where[op["id"]]["machine"] == machine
                       and down[0] <= where[op["id"]]["start"] < down[1]
                       for op in o["operations"])} or affected
    base = copy.deepcopy(d)
    for m in base["machines"]:
        if m["id"] == machine:
            cut = []
            for a, b in m.get("windows", [[0, H]]):
                if a < down[0]:
                    cut.append([a, min(b, down[0])])
                if b > down[1]:
                    cut.append([max(a, down[1]), b])
            m["windows"] = cut
    base["bookings"] = [b for b in base["bookings"] if b["machine"] != machine
                        or b["end"] <= down[0] or b["start"] >= down[1]]
    scratch = copy.deepcopy(base)
    for o in scratch["orders"]:  # started work stays where it is even from scratch
        for op in o["operations"]:
            a = where.get(op["id"])
            if a is not None and a["start"] < now:
                op["fixed"] = {"machine": a["machine"], "start": a["start"]}
    replan = copy.deepcopy(scratch)
    replan["change_cost"] = dict(CHANGE_COST)
    keep = []
    for o in replan["orders"]:
        if o["id"] in affected:
            for op in o["operations"]:
                a = where.get(op["id"])
                if a is not None and "fixed" not in op:
                    op["previous"] = {"machine": a["machine"], "start": a["start"]}
            keep.append(o)
        else:  # the rest of the book is held fixed
            for op in o["operations"]:
                a = where.get(op["id"])
                if a is not None and a["end"] > a["start"]:
                    replan["bookings"].append({"machine": a["machine"], "start": a["start"],
                                               "end": a["end"]})
    replan["orders"] = keep
    return replan, scratch, machine, now


def bench_replan(size: str, time_limit: float | None, workers: int, seed: int,
                 out: TextIO = sys.stdout) -> str:
    from matching.bench import MARKET
    from matching.io.generate import generate
    from matching.solver import solve
    from matching.validate import validate

    n_orders, n_plants, default_limit = MARKET[size]
    limit = time_limit or default_limit
    d = generate(n_orders, n_plants, seed=seed)
    plan = solve(d, time_limit=limit, workers=workers, seed=0).to_dict()
    cost_of = {o["order"]: int(o["cost"]) for o in plan["orders"]}
    replan, scratch, machine, now = disrupt(d, plan)
    t = time.monotonic()
    rp = solve(replan, time_limit=10, workers=workers, seed=0).to_dict()
    rp_wall = time.monotonic() - t
    ok_rp = not validate(replan, rp)
    t = time.monotonic()
    sc = solve(scratch, time_limit=limit, workers=workers, seed=0).to_dict()
    sc_wall = time.monotonic() - t
    ok_sc = not validate(scratch, sc)
    where = {a["operation"]: (a["machine"], a["start"]) for a in plan["assignments"]}
    moved_rp = len(rp["changes"])
    moved_sc = sum(1 for a in sc["assignments"]
                   if where.get(a["operation"]) not in (None, (a["machine"], a["start"])))
    on_broken = sum(1 for c in rp["changes"] if c["from"]["machine"] == machine)
    n_aff = len(replan["orders"])
    aff_ops = sum(len(o["operations"]) for o in replan["orders"])
    before = sum(cost_of.get(o["id"], 0) for o in replan["orders"])
    change = sum(int(o.get("parts", {}).get("change", 0)) for o in rp["orders"])
    pen = {o["id"]: int(o["unserved_penalty"]) for o in d["orders"]}
    after = sum(int(o["cost"]) for o in rp["orders"]) - change + \
        sum(pen[u["order"]] for u in rp["unserved"])
    # whole book after the re-plan: the others at their old cost, without change costs
    untouched = int(plan["objective"]) - before - sum(
        pen[u["order"]] for u in plan["unserved"] if u["order"] in {o["id"] for o in
                                                                   replan["orders"]})
    book_rp = untouched + after
    lines = [
        "| step | wall s | orders | operations moved | of them on the broken machine | "
        "book cost (no change cost) | change cost | unserved | valid |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| original plan ({limit:g} s) | {plan['stats'].get('wall_seconds')} | "
        f"{len(d['orders'])} | - | - | {plan['objective']} | - | {len(plan['unserved'])} | "
        f"yes |",
        f"| re-plan of the affected orders (10 s) | {rp_wall:.1f} | {n_aff} ({aff_ops} ops) | "
        f"{moved_rp} | {on_broken} | {book_rp} | {change} | {len(rp['unserved'])} | "
        f"{'yes' if ok_rp else 'NO'} |",
        f"| from scratch ({limit:g} s) | {sc_wall:.1f} | {len(scratch['orders'])} | "
        f"{moved_sc} | - | {sc['objective']} | - | {len(sc['unserved'])} | "
        f"{'yes' if ok_sc else 'NO'} |",
        "",
        f"`generate({n_orders}, {n_plants}, seed={seed})`, solved {limit:g} s; machine "
        f"{machine} (the busiest: most assigned minutes) down for "
        f"{DOWNTIME_MINUTES // 1440} days from minute {now} (when a job on it ends, after a "
        f"quarter of the horizon); work started before then is fixed. The re-plan takes "
        f"the orders with an operation on that machine in the downtime; their other "
        f"operations keep their previous place at a change cost of "
        f"{CHANGE_COST['moved']} per move (+{CHANGE_COST['plant_changed']} to another "
        f"plant); every other order's work is held as bookings. From scratch re-solves every "
        f"order (started work fixed) with no change cost: moved = operations not at their "
        f"original place.",
    ]
    text = "\n".join(lines)
    print(text, file=out, flush=True)
    return text
