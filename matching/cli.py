"""Command line: solve, validate, generate, bench."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _load_problem_dict(path: str) -> dict[str, Any]:
    if path.lower().endswith(".fjs"):
        from matching.io.fjs import load_fjs

        return load_fjs(path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


def cmd_solve(a: argparse.Namespace) -> int:
    from matching.solver import solve

    problem = _load_problem_dict(a.problem)
    plan = solve(problem, time_limit=a.time_limit, workers=a.workers, seed=a.seed, log=a.log,
                 deterministic=not a.parallel, gap_limit=a.gap_limit, work_limit=a.work_limit,
                 calendar_threads=a.calendar_threads)
    served = len(plan.orders)
    print(f"{plan.status} objective={plan.objective} bound={plan.bound} served={served}/"
          f"{served + len(plan.unserved)} in {plan.stats.get('wall_seconds')} s",
          file=sys.stderr)
    _write(plan.to_json(), a.output)
    return 0


def cmd_validate(a: argparse.Namespace) -> int:
    from matching.validate import validate

    problem = _load_problem_dict(a.problem)
    with open(a.plan, encoding="utf-8") as f:
        plan = json.load(f)
    errors = validate(problem, plan)
    for e in errors:
        print(e)
    if not errors:
        print("valid", file=sys.stderr)
    return 1 if errors else 0


def cmd_generate(a: argparse.Namespace) -> int:
    from matching.io.families import generate_family

    problem = generate_family(a.family, a.orders, a.plants, days=a.days, seed=a.seed)
    _write(json.dumps(problem, indent=1), a.output)
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    from matching import bench

    return bench.main(a)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m matching",
                                 description="Yunzao matching engine")
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("solve", help="solve a problem JSON or a .fjs file")
    s.add_argument("problem")
    s.add_argument("--time-limit", type=float, default=10.0)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-o", "--output")
    s.add_argument("--log", action="store_true", help="print CP-SAT's search log")
    s.add_argument("--parallel", "--anytime", action="store_true",
                   help="anytime mode: a parallel portfolio using the whole time limit "
                        "(often better, not repeatable)")
    s.add_argument("--gap-limit", type=float, default=None,
                   help="anytime mode: stop once within this relative gap of the bound")
    s.add_argument("--calendar-threads", action="store_true",
                   help="anytime mode: all workers' CP-SAT threads on shift-calendar models "
                        "too (by default one: OR-Tools 9.15 has aborted with more there)")
    s.add_argument("--work-limit", type=float, default=None,
                   help="repeatable mode: the work budget in reference seconds (default: the "
                        "time limit); lower than the time limit, the plan repeats on a "
                        "loaded machine")
    s.set_defaults(func=cmd_solve)

    v = sub.add_parser("validate", help="check a plan against a problem")
    v.add_argument("problem")
    v.add_argument("plan")
    v.set_defaults(func=cmd_validate)

    g = sub.add_parser("generate", help="synthetic marketplace instance")
    g.add_argument("--orders", type=int, required=True)
    g.add_argument("--plants", type=int, required=True)
    g.add_argument("--days", type=int, default=14)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--family", default="base",
                   help="base, capacity_tight, many_small, long_routings, fragmented, "
                        "far_apart, rush or heavy_bookings")
    g.add_argument("-o", "--output")
    g.set_defaults(func=cmd_generate)

    b = sub.add_parser("bench", help="benchmarks (Markdown tables)")
    b.add_argument("what", choices=["fjsp", "market", "quote", "families", "replan", "risk",
                                       "all"])
    b.add_argument("--families", default="all", help="families: all or a comma list")
    b.add_argument("--instances", default=None, help="fjsp: only these, e.g. mk02,mk06")
    b.add_argument("--both-forms", action="store_true",
                   help="fjsp: also solve each instance in the marketplace's form")
    b.add_argument("--seeds", default="0-9", help="families: reporting seeds, e.g. 0-9")
    b.add_argument("--tune-seeds", default="100-102", help="families: tuning seeds")
    b.add_argument("--set", default="brandimarte",
                   help="brandimarte|hurink|dauzere_paulli|kacem|fattahi|all (fjsp)")
    b.add_argument("--size", default="M", help="S|M|L (market, families, replan)")
    b.add_argument("--time-limit", type=float, default=None)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--root", default=None, help="FJSP instances folder")
    b.add_argument("--samples", type=int, default=40, help="quote: number of quotes")
    b.add_argument("--write", default=None, help="update this Markdown file (bench all)")
    b.add_argument("--parallel", action="store_true",
                   help="parallel CP-SAT portfolio (better, not repeatable)")
    b.add_argument("--calendar-threads", action="store_true",
                   help="families: every worker's CP-SAT thread on calendar models (the web "
                        "app's first attempt with SOLVER_CALENDAR_THREADS=true)")
    b.add_argument("--clock-factor", type=float, default=1.0,
                   help="families, repeatable mode: the time limit is the work budget and "
                        "the clock may run this many times longer (figures of a quiet "
                        "machine on a loaded one)")
    b.set_defaults(func=cmd_bench)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
