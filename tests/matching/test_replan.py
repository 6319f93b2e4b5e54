"""Re-planning after a breakdown (issue 13, engine side): started work stays, affected
orders move the fewest operations, everything else is held."""

from __future__ import annotations

from matching.bench_replan import disrupt
from matching.io.generate import generate
from matching.solver import solve
from tests.matching.conftest import assert_valid


def test_a_breakdown_replan_keeps_started_work_and_moves_only_what_it_must() -> None:
    d = generate(40, 6, seed=0)
    plan = solve(d, time_limit=3, workers=1, seed=0).to_dict()
    replan, scratch, machine, now = disrupt(d, plan)
    assert replan["orders"] and len(replan["orders"]) < len(d["orders"])
    out = assert_valid(replan, solve(replan, time_limit=5, workers=1, seed=0))
    assert_valid(scratch, solve(scratch, time_limit=2, workers=1, seed=0))
    before = {a["operation"]: a for a in plan["assignments"]}
    after = {a["operation"]: a for a in out["assignments"]}
    for o in replan["orders"]:
        for op in o["operations"]:
            if "fixed" in op and op["id"] in after:
                assert (after[op["id"]]["machine"], after[op["id"]]["start"]) == \
                    (op["fixed"]["machine"], op["fixed"]["start"])
    # nothing is left on the broken machine inside the downtime
    for a in out["assignments"]:
        if a["machine"] == machine and a["start"] < now + 2 * 1440:
            assert a["end"] <= now or a["start"] >= now + 2 * 1440 or \
                before[a["operation"]]["start"] < now
    moved = {c["operation"] for c in out["changes"]}
    # the work in the downtime had to go somewhere, or its order is unserved and says why
    assert moved or all(u["reason"] for u in out["unserved"]) and out["unserved"]
    assert moved <= {op["id"] for o in replan["orders"] for op in o["operations"]}
    assert sum(int(o["parts"]["change"]) for o in out["orders"]) >= 50_000 * len(moved)
