"""FJSP benchmark files as makespan problems that are not pure shops (issue 17): the same
jobs worked in shifts (8 h windows, 16 h gaps), machines spread over plants some way apart
(transport lags between consecutive operations in different plants), a few bookings and
release dates. No published optimum exists for these; they compare engine versions.

Runs as a script too, so that another checkout's engine can be measured on the very same
problems: `cd <checkout> && python - mk10 --time 15 [--anytime] < <this file>` (the script from
stdin: run by path, its folder would come first on sys.path and shadow the standard
library's `calendar` with matching/calendar.py).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

# Yangtze delta plants: 80-170 km apart, so a lag of 2.5-4 h at 60 km/h plus handling
PLANTS = [("sha", 31.23, 121.47), ("hgh", 30.27, 120.15), ("ngb", 29.87, 121.55)]
SHIFT, GAP = 480, 960  # one 8 h shift a day, starting at 08:00
DAY = SHIFT + GAP


def shifted_form(d: dict[str, Any], scale: int = 1, plants: int = 3, bookings: int = 2,
                 releases: bool = True, seed: int = 0) -> dict[str, Any]:
    """`d` (a loaded .fjs problem) with durations times `scale`, one shift a day on every
    machine, machines dealt round-robin to `plants` plants, `bookings` busy spans per
    machine in the first days and release dates within the first two days."""
    import copy

    rng = random.Random(seed)
    w = copy.deepcopy(d)
    n_m = len(w["machines"])
    total_min = 0
    longest_job = 0
    for o in w["orders"]:
        job = 0
        for op in o["operations"]:
            for a in op["alternatives"]:
                a["minutes"] = int(a["minutes"]) * scale
            job += min(a["minutes"] for a in op["alternatives"])
        total_min += job
        longest_job = max(longest_job, job)
    # room for a dispatch plan several times the lower bound, in whole days
    lb = max(total_min / n_m, longest_job)
    days = max(3, math.ceil(5 * lb / SHIFT)) + 2
    H = days * DAY
    w["horizon"]["minutes"] = H
    w["transport"] = {"speed_kmh": 60, "handling_minutes": 60, "cost_per_km": 0,
                      "fixed_cost": 0}
    used = PLANTS[:max(1, plants)]
    w["plants"] = [{"id": pid, "lat": lat, "lon": lon} for pid, lat, lon in used]
    for i, m in enumerate(w["machines"]):
        m["plant"] = used[i % len(used)][0]
        m["windows"] = [[t * DAY + 480, t * DAY + 480 + SHIFT] for t in range(days)]
    w["bookings"] = []
    for m in w["machines"]:
        for t in rng.sample(range(min(days, 4)), min(bookings, min(days, 4))):
            s = t * DAY + 480 + rng.randrange(0, SHIFT // 2)
            w["bookings"].append({"machine": m["id"], "start": s,
                                  "end": s + rng.randrange(60, SHIFT // 2)})
    if releases:
        for o in w["orders"]:
            o["release"] = rng.randrange(0, 2 * DAY)
    w["fjs_name"] = f"{d.get('fjs_name', 'fjs')}-shifts"
    return w


INSTANCES = {"mk06": ("brandimarte/mk06.fjs", 10), "mk10": ("brandimarte/mk10.fjs", 10),
             "01a": ("dauzere_paulli/01a.fjs", 1), "13a": ("dauzere_paulli/13a.fjs", 1)}


def main(argv: list[str] | None = None) -> int:
    from matching.io.fjs import load_fjs
    from matching.solver import solve
    from matching.validate import validate

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("instances", nargs="+", choices=sorted(INSTANCES))
    ap.add_argument("--root", default="/work/shared/benchmarks/fjsp")
    ap.add_argument("--time", type=float, default=15.0)
    ap.add_argument("--work-limit", type=float, default=None)
    ap.add_argument("--anytime", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    for name in a.instances:
        rel, scale = INSTANCES[name]
        d = shifted_form(load_fjs(Path(a.root) / rel), scale=scale)
        t = time.monotonic()
        plan = solve(d, time_limit=a.time, workers=a.workers, seed=a.seed,
                     deterministic=not a.anytime, work_limit=a.work_limit)
        wall = time.monotonic() - t
        errors = validate(d, plan.to_dict())
        keep = ("start_objective", "cp_objective", "clock_cut", "lns_iterations",
                "shop_moves_iterations", "shop_moves_improvements")
        stats = {k: plan.stats[k] for k in keep if k in plan.stats}
        stats.update({k: v for k, v in plan.stats.items() if k.endswith("round1_objective")
                      or k.endswith("round2_objective")})
        print(json.dumps({"instance": name, "objective": plan.objective,
                          "valid": not errors, "wall": round(wall, 1), **stats}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
