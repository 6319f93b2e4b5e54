"""Ruin and recreate for the cost objective: which orders are served, decided by label
insertion into what the others leave."""

from __future__ import annotations

import time

from matching.result import Placements, order_outcome
from matching.search.context import CHOSEN_UNSERVED, Run
from matching.search.greedy import insert_order_labels, make_timelines

# cost problems: ruin-and-recreate with label insertion decides which orders are served
# (CP-SAT LNS then trims their cost); its share of the LNS time, and its deterministic
# budget in slot searches and candidate starts per second (about 60% of the 820,000 per
# second measured on both the M and the L instance)
RR_SHARE = 0.6
RR_SEARCHES_PER_SECOND = 500_000
RR_RUIN = (2, 8)  # served orders taken out per step, near the seed order's machines
RR_EXTRA = 6  # other unserved orders offered a place per step, at most


def ruin_recreate(run: Run, candidates: list[int], best_pl: Placements,
                   best_un: dict[int, str], best_obj: int, seconds: float
                   ) -> tuple[Placements, dict[int, str], int]:
    """Ruin and recreate (cost objective): take out a few served orders near a seed order
    (often an unserved one), re-insert them with the seed and a few other unserved orders
    by label insertion in penalty or random order, keep the result if it costs no more.
    Cheap steps, thousands per minute: this is what finds room for more orders."""
    p = run.p
    legs = run.legs
    cand = [j for j in candidates if j not in run.reasons]
    if not cand or seconds <= 0.2:
        return best_pl, best_un, best_obj
    opts = {j: [p.options(j, k) for k in range(len(p.orders[j].operations))] for j in cand}
    pen = {j: int(p.orders[j].unserved_penalty) for j in cand}
    tls = make_timelines(p, run.cals)
    pl = dict(best_pl)
    users: dict[int, set[int]] = {}
    for (j, _k), (mi, s, e) in pl.items():
        tls[mi].add(s, e)
        users.setdefault(mi, set()).add(j)
    cost = {j: order_outcome(p, legs, j, [pl[(j, k)] for k in range(len(opts[j]))])[2]
            for j in cand if (j, 0) in pl}
    machines = {j: sorted({o.m for ol in opts[j] for o in ol}) for j in cand}
    work = [0]
    t_rr = time.monotonic()
    budget = seconds * RR_SEARCHES_PER_SECOND
    stop = run.stop_at(seconds)
    it = accepted = 0
    rng = run.rng
    while time.monotonic() < stop and (not run.deterministic or work[0] < budget):
        it += 1
        un = [j for j in cand if j not in cost]
        if un and (not cost or rng.random() < 0.7):
            seed_j = rng.choice(un)
        elif cost:
            seed_j = rng.choice(sorted(cost))
        else:
            break
        near = sorted({j2 for m in machines[seed_j] for j2 in users.get(m, ())} - {seed_j})
        rem = rng.sample(near, min(len(near), rng.randint(*RR_RUIN)))
        if seed_j in cost:
            rem.append(seed_j)
        old: dict[int, tuple[int, list[tuple[int, int, int]]]] = {}
        for j in rem:
            spans = [pl.pop((j, k)) for k in range(len(opts[j]))]
            for mi, s, e in spans:
                tls[mi].remove(s, e)
            old[j] = (cost.pop(j), spans)
        others = [j for j in un if j != seed_j]
        pool = rem + ([seed_j] if seed_j not in old else [])
        pool += rng.sample(others, min(len(others), rng.randint(0, RR_EXTRA)))
        if rng.random() < 0.5:
            pool.sort(key=lambda j: (-pen[j], j))
        else:
            rng.shuffle(pool)
        new: dict[int, tuple[int, list[tuple[int, int, int]]]] = {}
        delta = 0
        for j in pool:
            before = old[j][0] if j in old else pen[j]
            ins = insert_order_labels(p, legs, tls, p.orders[j], opts[j], work)
            if ins is None or ins.cost >= pen[j]:
                delta += pen[j] - before
                continue
            for mi, s, e in ins.placed:
                tls[mi].add(s, e)
            new[j] = (ins.cost, ins.placed)
            delta += ins.cost - before
        if delta <= 0:
            accepted += delta < 0
            for j in old:
                for mi, _s, _e in old[j][1]:
                    users[mi].discard(j)
            for j, (c, spans) in new.items():
                cost[j] = c
                for k, (mi, s, e) in enumerate(spans):
                    pl[(j, k)] = (mi, s, e)
                    users.setdefault(mi, set()).add(j)
        else:  # undo
            for _c, spans in new.values():
                for mi, s, e in spans:
                    tls[mi].remove(s, e)
            for j, (c, spans) in old.items():
                cost[j] = c
                for k, (mi, s, e) in enumerate(spans):
                    tls[mi].add(s, e)
                    pl[(j, k)] = (mi, s, e)
    if run.deterministic and work[0] < budget and time.monotonic() >= stop:
        run.clock_cut("ruin-recreate")
    un_d = {j: r for j, r in best_un.items() if j not in cand or j not in cost}
    for j in cand:
        if j not in cost:
            un_d.setdefault(j, CHOSEN_UNSERVED)
    pl = {key: v for key, v in pl.items() if key[0] in cost or key[0] not in pen}
    obj = run.objective(pl, un_d)
    run.stats["rr_searches"] = run.stats.get("rr_searches", 0) + work[0]
    run.stats["rr_seconds"] = round(run.stats.get("rr_seconds", 0) + time.monotonic() - t_rr, 2)
    run.stats["rr_iterations"] = run.stats.get("rr_iterations", 0) + it
    run.stats["rr_improvements"] = run.stats.get("rr_improvements", 0) + accepted
    run.stats["rr_objective"] = obj
    if obj <= best_obj:
        return pl, un_d, obj
    return best_pl, best_un, best_obj
