"""CP-SAT large-neighbourhood search: due-date batches (large makespan instances), order-subset
LNS (cost), machine/window/job LNS for shops, and the tabu search + LNS hybrid for pure shops."""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from matching.model import build_model, extract, hint
from matching.result import Placements
from matching.search.context import (
    CHOSEN_UNSERVED,
    DTIME_PER_SECOND,
    DTIME_PER_SECOND_CALENDAR,
    Run,
    allowed_for,
    band,
    cp_params,
    estimate_pieces,
    fixed_spans,
    shop_bands,
)
from matching.search.greedy import insert_order, make_timelines
from matching.search.repair import repair

BATCH_PIECES = 12_000
DECOMPOSE_SHARE = 0.5  # makespan: of the time limit, for the batches; then LNS
LNS_ORDERS = 12
REPAIR_EVERY = 4  # LNS steps between greedy re-insertion passes of unserved orders
LNS_SECONDS = 2.0
# Beside its solve, a step's neighbourhood, fixed spans, model and CP-SAT's loading grow
# with the plan: XL's one step past 296 s (31,800 placed operations) ended 2.3 s after the
# deadline (72 us an operation; kept with a margin). A step is begun only when this
# estimate, or the longest preparation of a step so far, still fits.
STEP_SECONDS_PER_OP = 100e-6
FIRST_SHARE_SHOP = 0.25  # makespan shops: share of the time for the whole model first
SHOP_LNS_SECONDS = 1.0  # per shop LNS step
# parallel mode (not repeatable anyway): shorter steps, ends capped by the incumbent
SHOP_LNS_SECONDS_PARALLEL = 0.5
# pure shops (FJSP): a short whole-model solve (proves the easy ones, gives the bound), then
# rounds of tabu search and CP-SAT LNS
PURE_FIRST_SHARE = 0.05
HYBRID_ROUNDS = 2
TS_SHARE = 0.5  # of each round
TS_ITERS_PER_SECOND = 25_000  # per thread, deterministic mode (~55% of mk10's rate)


def decompose(run: Run, candidates: list[int], forced: set[int], g_un: dict[int, str],
               best_pl: Placements, best_un: dict[int, str],
               best_obj: int) -> tuple[Placements, dict[int, str], int]:
    """Due-date batches: each batch is solved with the earlier ones fixed, its hint from a
    greedy insertion into what is already fixed; operations keep to their best few plants
    and to a band around the hint."""
    p = run.p
    order_seq = sorted(candidates, key=lambda j: (p.orders[j].due if p.orders[j].due
                                                  is not None else 1 << 60,
                                                  p.orders[j].release, j))
    per_order = {j: estimate_pieces(p, run.cals, run.bounds, [j], run.allowed)
                 for j in order_seq}
    batches: list[list[int]] = []
    cur: list[int] = []
    cur_pieces = 0
    for j in order_seq:
        pc = per_order[j]
        if cur and cur_pieces + pc > BATCH_PIECES:
            batches.append(cur)
            cur, cur_pieces = [], 0
        cur.append(j)
        cur_pieces += pc
    if cur:
        batches.append(cur)
    run.stats["batches"] = len(batches)
    placements: Placements = {}
    unserved: dict[int, str] = dict(run.reasons)
    tls = make_timelines(p, run.cals)
    budget_end = run.t0 + run.time_limit * 0.8  # safety net only
    for batch in batches:
        # greedy insertion of this batch against the fixed work = a valid hint
        h_pl: Placements = {}
        h_un: set[int] = set()
        for j in batch:
            order = p.orders[j]
            opts = [p.options(j, k) for k in range(len(order.operations))]
            ins = insert_order(p, run.legs, tls, order, opts, p.objective, commit=False)
            if ins is None or (p.objective != "makespan"
                               and ins.cost > int(order.unserved_penalty)
                               and j not in forced):
                h_un.add(j)
                continue
            for k, (mi, s, e) in enumerate(ins.placed):
                h_pl[(j, k)] = (mi, s, e)
                tls[mi].add(s, e)
        for (mi, s, e) in h_pl.values():  # undo: CP-SAT decides the batch
            tls[mi].remove(s, e)
        seconds = run.work * DECOMPOSE_SHARE / len(batches)
        pl, un = h_pl, h_un
        if seconds > 0.1 and time.monotonic() < budget_end:
            fixed = fixed_spans(run.p, placements)
            b_forced = {j for j in batch if j in forced and j not in h_un}
            allowed = allowed_for(run, batch, h_pl, True)
            bands = {key: b for key in allowed if (b := band(run, h_pl, key))}
            built = build_model(p, run.legs, run.cals, run.bounds, batch, fixed, b_forced,
                                allowed=allowed, bands=bands)
            _st, _solver, c_pl, c_un = run.run_model(built, seconds, h_pl, h_un)
            if c_pl or c_un:
                pl, un = c_pl, c_un
        for key, val in pl.items():
            placements[key] = val
            tls[val[0]].add(val[1], val[2])
        for j in un:
            unserved[j] = run.reasons.get(j) or g_un.get(j) or CHOSEN_UNSERVED
    obj = run.objective(placements, unserved)
    run.stats["decomposition_objective"] = obj
    if obj <= best_obj:
        return placements, unserved, obj
    return best_pl, best_un, best_obj


def lns_orders(run: Run, candidates: list[int], forced: set[int], g_un: dict[int, str],
         best_pl: Placements, best_un: dict[int, str], best_obj: int,
         large: bool, seconds: float, last: bool = True
         ) -> tuple[Placements, dict[int, str], int]:
    """Order-subset LNS: free a few orders, fix the rest. Neighbourhoods alternate between
    'an unserved order and the orders on the machines it could use' and 'orders sharing
    machines with a random order'. `last`: in anytime mode the last phase runs to the
    deadline."""
    p = run.p
    it = 0
    improved = 0
    size = min(len(candidates), LNS_ORDERS)
    cand_set = set(candidates)
    repaired = 0
    rate = DTIME_PER_SECOND_CALENDAR if run.light_presolve else DTIME_PER_SECOND
    budget = run.dtime_used + max(0.0, seconds) * rate
    # large instances spend about as long building each step's model as solving it
    max_steps = max(1, int(seconds / (LNS_SECONDS * (2.0 if large else 1.2))))
    stop = run.stop_at(seconds, last=last)
    overhead = STEP_SECONDS_PER_OP * len(best_pl)
    while stop - time.monotonic() > 0.3 + overhead and (not run.deterministic
                                                        or (run.dtime_used < budget
                                                            and it < max_steps)):
        if run.good_enough(best_obj):
            break
        it += 1
        t_step = time.monotonic()
        by_machine: dict[int, list[int]] = {}
        for (j, _k), (mi, _s, _e) in best_pl.items():
            by_machine.setdefault(mi, []).append(j)
        open_un = [j for j in sorted(best_un) if j in cand_set]
        pool = open_un if open_un and it % 2 == 1 else candidates
        seed_j = run.rng.choice(pool)
        chosen = [seed_j]
        chosen_set = {seed_j}
        frontier = [seed_j]
        while frontier and len(chosen) < size:
            j = frontier.pop(0)
            ms: list[int] = []
            for k in range(len(p.orders[j].operations)):
                if (j, k) in best_pl:
                    ms.append(best_pl[(j, k)][0])
                allowed = run.allowed.get((j, k)) if large else None
                ms += sorted(allowed if allowed is not None
                             else {o.m for o in p.options(j, k)})
            run.rng.shuffle(ms)
            for mi in ms:
                users = by_machine.get(mi, [])
                for j2 in run.rng.sample(users, min(len(users), 3)):
                    if j2 not in chosen_set and len(chosen) < size:
                        chosen.append(j2)
                        chosen_set.add(j2)
                        frontier.append(j2)
        sub = sorted(chosen_set)
        fixed = fixed_spans(p, best_pl, skip_orders=chosen_set)
        sub_forced = {j for j in sub if j in forced}
        allowed = allowed_for(run, sub, best_pl, large)
        bands = None
        if large:
            bands = {key: b for key in allowed if (b := band(run, best_pl, key))}
        built = build_model(p, run.legs, run.cals, run.bounds, sub, fixed, sub_forced,
                            allowed=allowed, bands=bands)
        un_h = {j for j in sub if j in best_un}
        step_s = LNS_SECONDS
        if run.deterministic:  # the last step of the phase takes only what is left of it
            step_s = max(0.25, min(step_s, (budget - run.dtime_used) / rate))
        t_solve = time.monotonic()
        st, _solver, pl, un = run.run_model(built, step_s, best_pl, un_h)
        overhead = max(overhead, t_solve - t_step)
        if not pl and not un:
            continue
        new_pl = {key: v for key, v in best_pl.items() if key[0] not in chosen_set}
        new_pl.update(pl)
        new_un = {j: r for j, r in best_un.items() if j not in chosen_set}
        for j in un:
            new_un[j] = run.reasons.get(j) or g_un.get(j) or CHOSEN_UNSERVED
        obj = run.objective(new_pl, new_un)
        if obj < best_obj:
            best_pl, best_un, best_obj = new_pl, new_un, obj
            improved += 1
        if it % REPAIR_EVERY == 0 and any(j in cand_set for j in best_un):
            r_pl, r_un, r_obj = repair(run, best_pl, best_un, forced)
            if r_obj < best_obj:
                best_pl, best_un, best_obj = r_pl, r_un, r_obj
                repaired += 1
        if st == cp_model.OPTIMAL and size < len(candidates):
            size = min(len(candidates), size + 1)
    if run.deterministic and run.dtime_used < budget and it < max_steps \
            and not run.good_enough(best_obj):
        run.clock_cut("lns")
    run.stats["lns_iterations"] = run.stats.get("lns_iterations", 0) + it
    run.stats["lns_improvements"] = run.stats.get("lns_improvements", 0) + improved
    run.stats["repair_improvements"] = run.stats.get("repair_improvements", 0) + repaired
    return best_pl, best_un, best_obj


def lns_shop(run: Run, candidates: list[int], best_pl: Placements,
             best_obj: int, seconds: float | None = None, last: bool = True
             ) -> tuple[Placements, int, int | None]:
    """Makespan LNS for shops where every order is served (the FJSP case).

    Each step keeps most operations on their machine and in their machine order, and frees
    the rest (a time window, a few machines, or a few jobs) to be re-assigned and
    re-sequenced by CP-SAT, hinted with the incumbent; equal makespans are accepted so the
    search can drift across plateaus. The loop stops on a deterministic-time budget (wall
    clock only as a safety net), so it repeats with the same seed and workers.
    """
    p = run.p
    keys = [(j, k) for j in candidates for k in range(len(p.orders[j].operations))]
    if seconds is None:
        seconds = run.work * (1 - FIRST_SHARE_SHOP)
    budget = run.dtime_used + seconds * DTIME_PER_SECOND
    # wall clock: this call's share (twice it in deterministic mode, as a safety net only)
    stop = run.stop_at(seconds, last=last)
    it = improved = 0
    bound: int | None = None
    forced = set(candidates)
    kinds = ("window", "machines", "jobs")
    # adaptive neighbourhood sizes: grow when a step is solved to optimality without gain,
    # shrink when it runs out of time
    frac = {"window": 0.25, "machines": 0.25, "jobs": 0.25}
    build_s = solve_s = 0.0
    # deterministic mode: also a step count from the caller's seconds, so that per-step
    # overhead (model building, presolve) cannot push the loop onto the wall clock
    max_steps = int(seconds / (SHOP_LNS_SECONDS * 0.5))
    while stop - time.monotonic() > 0.2 and (not run.deterministic
                                             or (run.dtime_used < budget
                                                 and it < max_steps)):
        if run.good_enough(best_obj):
            break
        it += 1
        kind = kinds[it % 3]
        f = frac[kind] * run.rng.uniform(0.8, 1.2)
        if kind == "window":
            width = max(1, int(best_obj * f))
            t0 = run.rng.randint(0, max(0, best_obj - width))
            free = {key for key in keys if t0 <= best_pl[key][1] < t0 + width}
        elif kind == "machines":
            ms = sorted({v[0] for v in best_pl.values()})
            pick = set(run.rng.sample(ms, min(len(ms), max(2, round(len(ms) * f)))))
            free = {key for key in keys if best_pl[key][0] in pick}
        else:
            js = run.rng.sample(candidates, min(len(candidates),
                                                max(2, round(len(candidates) * f))))
            free = {key for key in keys if key[0] in set(js)}
        allowed = {key: ({best_pl[key][0]} if key not in free
                         else {o.m for o in p.options(*key)}) for key in keys}
        tb = time.monotonic()
        built = build_model(p, run.legs, run.cals, run.bounds, candidates, fixed_spans(p),
                            forced, allowed=allowed, redundant=False,
                            bands=shop_bands(run, candidates, best_obj))
        build_s += time.monotonic() - tb
        # keep the machine order of the fixed operations
        by_m: dict[int, list[tuple[int, tuple[int, int]]]] = {}
        for key in keys:
            if key not in free:
                by_m.setdefault(best_pl[key][0], []).append((best_pl[key][1], key))
        for seq in by_m.values():
            seq.sort()
            for (_s1, a), (_s2, b) in zip(seq, seq[1:], strict=False):
                built.model.add(built.start[b] >= built.end[a])
        built.model.add(built.makespan <= best_obj)
        hint(built, p, run.legs, best_pl, set())
        step_s = SHOP_LNS_SECONDS if run.deterministic else SHOP_LNS_SECONDS_PARALLEL
        solver = cp_params(step_s, run.cp_workers(), run.seed + it, run.deterministic,
                         run.log, wall_cap=stop - time.monotonic(), net=run.net)
        # neighbourhood models are re-built every step: a light presolve pays off
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
        st = solver.solve(built.model)
        solve_s += solver.wall_time
        run.dtime_used += solver.response_proto.deterministic_time
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            frac[kind] = max(0.05, frac[kind] * 0.9)
            continue
        pl, _un = extract(built, solver)
        obj = run.objective(pl, dict(run.reasons))  # with what cannot be served, as best_obj
        if st == cp_model.OPTIMAL and obj >= best_obj:
            frac[kind] = min(0.8, frac[kind] * 1.15)
        elif st != cp_model.OPTIMAL:
            frac[kind] = max(0.05, frac[kind] * 0.9)
        if obj < best_obj:
            improved += 1
        if obj <= best_obj:
            best_pl, best_obj = pl, obj
    if run.deterministic and run.dtime_used < budget and it < max_steps \
            and not run.good_enough(best_obj):
        run.clock_cut("lns")
    st = run.stats  # accumulated: the hybrid search calls this more than once
    st["lns_iterations"] = st.get("lns_iterations", 0) + it
    st["lns_improvements"] = st.get("lns_improvements", 0) + improved
    st["lns_build_seconds"] = round(st.get("lns_build_seconds", 0) + build_s, 2)
    st["lns_solve_seconds"] = round(st.get("lns_solve_seconds", 0) + solve_s, 2)
    return best_pl, best_obj, bound


def pure_shop(run: Run, candidates: list[int], forced: set[int]) -> bool:
    # imported here: numba's import costs half a second that cost problems never need
    from matching.search.shop import is_pure_shop

    return is_pure_shop(run.p, candidates, forced, run.legs)


def hybrid_shop(run: Run, candidates: list[int], best_pl: Placements, best_obj: int,
                 bound: int | None) -> tuple[Placements, int]:
    """Pure shops: rounds of tabu search (fast moves across plateaus) then CP-SAT LNS
    (re-optimises whole regions) from the tabu search's best."""
    from matching.search.shop import tabu_search

    total = run.work * (1 - PURE_FIRST_SHARE)  # the caller's seconds: repeatable
    per_round = total / HYBRID_ROUNDS
    ts_iters = 0
    for r in range(HYBRID_ROUNDS):
        if (bound is not None and best_obj <= bound) or run.good_enough(best_obj):
            break
        ts_s = per_round * TS_SHARE
        iters = int(ts_s * TS_ITERS_PER_SECOND) if run.deterministic else None
        wall = min(ts_s * run.net, run.left() - 0.1)
        if wall <= 0:
            break
        pl, _obj, its = tabu_search(run.p, candidates, best_pl, seconds=wall,
                                    iterations=iters, seed=run.seed + 7919 * r,
                                    threads=run.workers)
        ts_iters += its
        obj = run.objective(pl, {})
        if obj <= best_obj:
            best_pl, best_obj = pl, obj
        run.stats[f"tabu_round{r + 1}_objective"] = best_obj
        lns_s = min(per_round * (1 - TS_SHARE), run.left() - 0.1)
        if lns_s > 0.3 and (bound is None or best_obj > bound):
            best_pl, best_obj, _b = lns_shop(run, candidates, best_pl, best_obj, lns_s,
                                             last=r == HYBRID_ROUNDS - 1)
        run.stats[f"lns_round{r + 1}_objective"] = best_obj
    run.stats["tabu_iterations"] = ts_iters
    return best_pl, best_obj
