"""Re-insertion of unserved orders into the holes of a plan, and honest reasons for the
orders still left out."""

from __future__ import annotations

import time

from matching.result import Placements
from matching.search.context import Run
from matching.search.greedy import insert_order, insert_order_labels, make_timelines


def explain_unserved(run: Run, pl: Placements, un: dict[int, str]) -> dict[int, str]:
    """Reasons from the final plan: can the order still be placed in what is left, and at
    what cost against its penalty (pre-check reasons are kept)."""
    p = run.p
    # half of what the deadline keeps back; the rest is for building the plan
    end = (run.deadline + run.t0 + run.time_limit) / 2
    if time.monotonic() > end:
        return {j: run.reasons.get(j, r) for j, r in un.items()}
    tls = make_timelines(p, run.cals)
    for (_j, _k), (mi, s, e) in pl.items():
        tls[mi].add(s, e)
    out: dict[int, str] = {}
    late = False
    longest = 0.0  # the longest single explanation so far: one more must fit before `end`
    for j, reason in un.items():
        now = time.monotonic()
        late = late or now + longest > end
        if j in run.reasons or late:
            out[j] = run.reasons.get(j, reason)  # out of time: the reason found so far
            continue
        order = p.orders[j]
        opts = [p.options(j, k) for k in range(len(order.operations))]
        ins = insert_order_labels(p, run.legs, tls, order, opts)
        longest = max(longest, time.monotonic() - now)
        if ins is None:
            out[j] = ("not enough capacity: the machines that could make it are taken by "
                      "other orders or closed before the horizon end")
        elif ins.cost >= int(order.unserved_penalty):
            out[j] = (f"chosen unserved: serving it with the capacity left costs {ins.cost}, "
                      f"more than its unserved penalty {int(order.unserved_penalty)}")
        else:
            out[j] = reason
    return out


def repair(run: Run, best_pl: Placements, best_un: dict[int, str],
            forced: set[int]) -> tuple[Placements, dict[int, str], int]:
    """Greedy insertion of unserved orders into the holes the plan leaves (most penalty
    per minute of work first); each insertion is kept only if it lowers the objective.
    Past the deadline it returns at once (the objective returned then is never better)."""
    if time.monotonic() > run.deadline:
        return best_pl, best_un, 1 << 62
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
        if time.monotonic() > run.deadline:
            break
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
