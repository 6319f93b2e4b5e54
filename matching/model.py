"""CP-SAT model of the matching problem.

Per (operation, eligible machine) the feasible starts are cut into pieces of constant held
length (calendar.Calendar.pieces), each an optional fixed-size interval sharing the
operation's start variable; exactly one piece is present per operation of a served order and
none for an unserved one. Per machine a NoOverlap holds the pieces and the fixed spans
(bookings, fixed operations, work fixed by a decomposition). Transport uses per-(operation,
plant) literals: a lag and a cost per pair of plants of two consecutive operations, never per
machine pair. Version 1.1: a fixed operation is one choice at its place (its span comes with
the fixed spans); an operation with a previous place has a "stays" literal and pays
change_cost when served elsewhere; risk is part of each option's cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model
from ortools.sat.python.cp_model import LinearExpr

from matching.calendar import Calendar
from matching.geo import Legs
from matching.precheck import Bounds, plant_candidates, precheck, unservable_reason
from matching.problem import Problem
from matching.result import Placements

__all__ = ["Bounds", "Built", "build_model", "extract", "hint", "plant_candidates", "precheck",
           "unservable_reason"]


@dataclass
class Choice:
    lit: cp_model.IntVar
    m: int
    lo: int
    hi: int
    size: int
    cost: int


@dataclass
class OptionVars:
    x: cp_model.IntVar  # the operation runs on machine m
    m: int
    size: cp_model.IntVar | None  # held length when it depends on the start piece
    end: cp_model.IntVar | None = None


@dataclass
class Built:
    model: cp_model.CpModel
    orders: list[int]
    served: dict[int, cp_model.IntVar | int]
    start: dict[tuple[int, int], cp_model.IntVar]
    end: dict[tuple[int, int], cp_model.IntVar]
    choices: dict[tuple[int, int], list[Choice]]
    plant_lit: dict[tuple[int, int], dict[str, cp_model.IntVar]]
    pair_lit: list[tuple[cp_model.IntVar, tuple[int, int], str, str]]
    late: dict[int, cp_model.IntVar]
    completion: dict[int, cp_model.LinearExpr]
    makespan: cp_model.IntVar | None
    op_interval: dict[tuple[int, int], cp_model.IntervalVar] = field(default_factory=dict)
    forced: set[int] = field(default_factory=set)
    start_lo: dict[tuple[int, int], int] = field(default_factory=dict)
    option_vars: dict[tuple[int, int], list[OptionVars]] = field(default_factory=dict)
    fixed_objective: int = 0  # constant part (orders outside the model)
    # operations with a previous place: (stay literal, previous machine, previous start)
    stays: dict[tuple[int, int], tuple[cp_model.IntVar, int, int]] = field(default_factory=dict)


def build_model(problem: Problem, legs: Legs, calendars: list[Calendar], bounds: Bounds,
                orders: list[int], fixed: dict[int, list[tuple[int, int]]],
                forced: set[int], redundant: bool = True,
                allowed: dict[tuple[int, int], set[int]] | None = None,
                bands: dict[tuple[int, int], tuple[int, int]] | None = None) -> Built:
    """Build the model for `orders` (indices); `fixed` = held spans per machine to avoid.

    forced: orders that must be served (proven by the caller). allowed: optional restriction
    of machines per operation and bands (start lower bound, end upper bound) per operation:
    heuristic cuts used by LNS and decomposition on large instances.
    """
    H = problem.horizon_minutes
    md = cp_model.CpModel()
    served: dict[int, cp_model.IntVar | int] = {}
    start: dict[tuple[int, int], cp_model.IntVar] = {}
    end: dict[tuple[int, int], cp_model.IntVar] = {}
    choices: dict[tuple[int, int], list[Choice]] = {}
    plant_lit: dict[tuple[int, int], dict[str, cp_model.IntVar]] = {}
    pair_lit: list[tuple[cp_model.IntVar, tuple[int, int], str, str]] = []
    late: dict[int, cp_model.IntVar] = {}
    completion: dict[int, cp_model.LinearExpr] = {}
    op_interval: dict[tuple[int, int], cp_model.IntervalVar] = {}
    start_lo: dict[tuple[int, int], int] = {}
    option_vars: dict[tuple[int, int], list[OptionVars]] = {}
    per_machine: dict[int, list[cp_model.IntervalVar]] = {}
    stays: dict[tuple[int, int], tuple[cp_model.IntVar, int, int]] = {}
    obj_vars: list = []
    obj_coefs: list[int] = []
    obj_const = 0
    makespan_obj = problem.objective == "makespan"
    ms_var = md.new_int_var(0, 2 * H + 10**6, "makespan") if makespan_obj else None

    for j in orders:
        order = problem.orders[j]
        n = len(order.operations)
        sv = md.new_constant(1) if j in forced else md.new_bool_var(f"served_{j}")
        served[j] = sv
        enf = [] if j in forced else [sv]
        for k in range(n):
            key = (j, k)
            lo_k = bounds.est[key]
            hi_end = bounds.lend[key]
            if bands is not None and key in bands:
                lo_k = max(lo_k, bands[key][0])
                hi_end = min(hi_end, bands[key][1])
            s = md.new_int_var(lo_k, max(lo_k, hi_end), f"s_{j}_{k}")
            start_lo[key] = lo_k
            e = md.new_int_var(lo_k, max(lo_k, hi_end), f"e_{j}_{k}")
            start[key], end[key] = s, e
            chs: list[Choice] = []
            recs: list[OptionVars] = []
            pin = problem.pinned.get(key)
            for opt in problem.options(j, k):
                if pin is not None:
                    # fixed work: one choice at its own place; its time is held as a fixed
                    # span by the caller, so no interval of its own on the machine
                    x = md.new_bool_var(f"x_{j}_{k}_{opt.m}")
                    md.add(s == pin[1]).only_enforce_if(x)
                    chs.append(Choice(x, opt.m, pin[1], pin[1], pin[2] - pin[1], opt.cost))
                    recs.append(OptionVars(x, opt.m, None))
                    if opt.cost:
                        obj_vars.append(x)
                        obj_coefs.append(opt.cost)
                    break
                if allowed is not None and opt.m not in allowed.get(key, ()):
                    continue
                cal = calendars[opt.m]
                pcs = []
                for pc in cal.pieces(opt.duration, lo_k, hi_end - opt.duration):
                    hi = min(pc.hi, hi_end - pc.size)
                    if hi >= pc.lo:
                        pcs.append((pc.lo, hi, pc.size))
                if not pcs:
                    continue
                x = md.new_bool_var(f"x_{j}_{k}_{opt.m}")
                if len(pcs) == 1:
                    lo, hi, size = pcs[0]
                    iv = md.new_optional_fixed_size_interval_var(s, size, x, "")
                    if lo > lo_k or hi < hi_end:
                        md.add_linear_constraint(s, lo, hi).only_enforce_if(x)
                    chs.append(Choice(x, opt.m, lo, hi, size, opt.cost))
                    recs.append(OptionVars(x, opt.m, None))
                else:
                    # One interval per machine, its length chosen by the start piece: the
                    # NoOverlap sees one interval per option, not one per piece.
                    plits = []
                    for lo, hi, size in pcs:
                        lit = md.new_bool_var("")
                        md.add_linear_constraint(s, lo, hi).only_enforce_if(lit)
                        chs.append(Choice(lit, opt.m, lo, hi, size, 0))
                        plits.append(lit)
                    md.add(LinearExpr.sum(plits) == x)
                    sizes = [size for _lo, _hi, size in pcs]
                    sz = md.new_int_var_from_domain(
                        cp_model.Domain.from_values(sorted({0, *sizes})), "")
                    md.add(sz == LinearExpr.weighted_sum(plits, sizes))
                    eo = md.new_int_var(lo_k, max(lo_k, hi_end), "")
                    iv = md.new_optional_interval_var(s, sz, eo, x, "")
                    recs.append(OptionVars(x, opt.m, sz, eo))
                per_machine.setdefault(opt.m, []).append(iv)
                if opt.cost:
                    obj_vars.append(x)
                    obj_coefs.append(opt.cost)
            choices[key] = chs
            option_vars[key] = recs
            md.add(LinearExpr.sum([r.x for r in recs]) == sv)
            md.add(e == s + LinearExpr.weighted_sum([c.lit for c in chs],
                                                    [c.size for c in chs]))
            by_plant: dict[str, list] = {}
            for r in recs:
                by_plant.setdefault(problem.plant_of(r.m), []).append(r.x)
            pl: dict[str, cp_model.IntVar] = {}
            if len(by_plant) == 1:
                (p0,) = by_plant
                pl[p0] = sv
            else:
                for p, lits in by_plant.items():
                    z = md.new_bool_var(f"z_{j}_{k}_{p}")
                    md.add(z == LinearExpr.sum(lits))
                    pl[p] = z
            plant_lit[key] = pl
            prev = order.operations[k].previous
            cc = problem.change_cost
            if prev is not None and (cc.moved or cc.plant_changed) and recs:
                # served and not at the previous place: `moved`; in another plant than the
                # previous machine's: `plant_changed` on top
                pm = problem.machine_index.get(prev.machine)
                xs = [r.x for r in recs if r.m == pm]
                obj_vars.append(sv)
                obj_coefs.append(int(cc.moved) + int(cc.plant_changed))
                if xs and lo_k <= prev.start <= hi_end:
                    st = md.new_bool_var(f"stay_{j}_{k}")
                    md.add_implication(st, xs[0])
                    md.add(s == prev.start).only_enforce_if(st)
                    stays[key] = (st, pm, prev.start)
                    obj_vars.append(st)
                    obj_coefs.append(-int(cc.moved))
                zp = pl.get(problem.plant_of(pm)) if pm is not None else None
                if zp is not None:
                    obj_vars.append(zp)
                    obj_coefs.append(-int(cc.plant_changed))
            if redundant and makespan_obj and j in forced:
                dmin = min(c.size for c in chs) if chs else 0
                dmax = max(c.size for c in chs) if chs else 0
                dur = md.new_int_var(dmin, dmax, "")
                md.add(dur == e - s)
                op_interval[key] = md.new_interval_var(s, dur, e, "")
        # precedence and transport
        for k in range(n - 1):
            a, b = (j, k), (j, k + 1)
            facts = a in problem.pinned and b in problem.pinned  # what happened, unchecked
            if not facts:
                md.add(start[b] >= end[a]).only_enforce_if(enf)
            for p, zp in plant_lit[a].items():
                for q, zq in plant_lit[b].items():
                    if p == q:
                        continue
                    tmin, tcost = legs.between(p, q)
                    if tmin > 0 and not facts:
                        md.add(start[b] >= end[a] + tmin).only_enforce_if([zp, zq])
                    if tcost > 0:
                        y = md.new_bool_var("")
                        md.add_bool_or([zp.negated(), zq.negated(), y])
                        obj_vars.append(y)
                        obj_coefs.append(tcost)
                        pair_lit.append((y, a, p, q))
        last = (j, n - 1)
        dv, dc = [], []
        for p, zp in plant_lit[last].items():
            dmin, dcost = legs.delivery(p, order)
            if dmin:
                dv.append(zp)
                dc.append(dmin)
            if dcost:
                obj_vars.append(zp)
                obj_coefs.append(dcost)
        comp = end[last] + LinearExpr.weighted_sum(dv, dc) if dv else end[last]
        completion[j] = comp
        if order.due is not None and order.late_penalty_per_minute:
            lv = md.new_int_var(0, 2 * H + 10**6, f"late_{j}")
            md.add(lv >= comp - order.due).only_enforce_if(enf)
            late[j] = lv
            obj_vars.append(lv)
            obj_coefs.append(int(order.late_penalty_per_minute))
        if ms_var is not None:
            md.add(ms_var >= comp).only_enforce_if(enf)
        if order.unserved_penalty and j not in forced:
            obj_const += int(order.unserved_penalty)
            obj_vars.append(sv)
            obj_coefs.append(-int(order.unserved_penalty))

    for mi, spans in fixed.items():
        if mi in per_machine:
            for s0, e0 in dict.fromkeys(spans):  # a fixed operation's span may come twice
                if e0 > s0:
                    per_machine[mi].append(md.new_fixed_size_interval_var(s0, e0 - s0, ""))
    for ivs in per_machine.values():
        if len(ivs) > 1:
            md.add_no_overlap(ivs)

    if op_interval and ms_var is not None:
        _add_redundant(problem, md, op_interval, choices, ms_var, calendars)

    if ms_var is not None:
        obj_vars.append(ms_var)
        obj_coefs.append(1)
    md.minimize(LinearExpr.weighted_sum(obj_vars, obj_coefs) + obj_const)
    return Built(md, list(orders), served, start, end, choices, plant_lit, pair_lit, late,
                 completion, ms_var, op_interval, set(forced) & set(orders), start_lo,
                 option_vars, stays=stays)


def _add_redundant(problem: Problem, md: cp_model.CpModel,
                   op_interval: dict[tuple[int, int], cp_model.IntervalVar],
                   choices: dict[tuple[int, int], list[Choice]], ms_var: cp_model.IntVar,
                   calendars: list[Calendar]) -> None:
    """Cumulative relaxations over machine groups (ops whose machines all lie in the group
    use one unit of a capacity equal to the group size) and the energy bound."""
    if any(len(c.windows) != 1 for c in calendars):
        return  # held length varies with windows; keep the relaxation for plain shops
    elig = {key: frozenset(c.m for c in chs) for key, chs in choices.items() if key in
            op_interval}
    groups = sorted(set(elig.values()), key=lambda g: (len(g), sorted(g)))
    all_m = frozenset(m for g in groups for m in g)
    if all_m not in groups:
        groups.append(all_m)
    for g in groups[:40]:
        members = [key for key, el in elig.items() if el <= g]
        if len(members) < 2:
            continue
        if len(g) == 1:
            continue  # a single machine already has its NoOverlap
        md.add_cumulative([op_interval[key] for key in members], [1] * len(members), len(g))
        # energy: minimum total work of the group's ops fits within makespan x machines
        md.add(len(g) * ms_var >= sum(min(c.size for c in choices[key]) for key in members))


def hint(built: Built, problem: Problem, legs: Legs, placements: Placements,
         unserved: set[int]) -> None:
    """Complete hint (every variable) from a valid plan of the same orders."""
    md = built.model
    md.clear_hints()
    ms = 0
    pair_val: dict[tuple[tuple[int, int], str, str], int] = {}
    for j in built.orders:
        order = problem.orders[j]
        n = len(order.operations)
        on = j not in unserved and all((j, k) in placements for k in range(n))
        sv = built.served[j]
        if j not in built.forced:
            md.add_hint(sv, int(on))
        for k in range(n):
            key = (j, k)
            if on:
                mi, s, _e = placements[key]
            else:
                mi, s = -1, built.start_lo[key]
            md.add_hint(built.start[key], s)
            found = False
            size = 0
            for c in built.choices[key]:
                v = int(on and not found and c.m == mi and c.lo <= s <= c.hi)
                if v:
                    found = True
                    size = c.size
                md.add_hint(c.lit, v)
            for r in built.option_vars.get(key, ()):
                if r.size is not None:
                    md.add_hint(r.x, int(on and r.m == mi))
                    md.add_hint(r.size, size if on and r.m == mi else 0)
                    md.add_hint(r.end, s + size if on and r.m == mi else built.start_lo[key])
            md.add_hint(built.end[key], s + size if on else s)
            if key in built.stays:
                st, pm, ps = built.stays[key]
                md.add_hint(st, int(on and mi == pm and s == ps))
            plant = problem.plant_of(mi) if on else None
            for p, z in built.plant_lit[key].items():
                if z is not sv:
                    md.add_hint(z, int(on and p == plant))
                elif j not in built.forced:
                    pass  # same variable as served, hinted above
        if on:
            for k in range(n - 1):
                pair_val[((j, k), problem.plant_of(placements[(j, k)][0]),
                          problem.plant_of(placements[(j, k + 1)][0]))] = 1
            last = placements[(j, n - 1)]
            dmin = legs.delivery(problem.plant_of(last[0]), order)[0]
            comp = last[2] + dmin
            ms = max(ms, comp)
            if j in built.late:
                md.add_hint(built.late[j], max(0, comp - order.due))
        elif j in built.late:
            md.add_hint(built.late[j], 0)
    for y, a, p, q in built.pair_lit:
        md.add_hint(y, pair_val.get((a, p, q), 0))
    if built.makespan is not None:
        md.add_hint(built.makespan, ms)


def extract(built: Built, solver: cp_model.CpSolver) -> tuple[Placements, set[int]]:
    """Placements and the set of unserved orders from a solved model."""
    placements: Placements = {}
    unserved: set[int] = set()
    for j in built.orders:
        if solver.value(built.served[j]) == 0:
            unserved.add(j)
            continue
        k = 0
        while (j, k) in built.choices:
            key = (j, k)
            s = solver.value(built.start[key])
            mi = next(c.m for c in built.choices[key] if solver.boolean_value(c.lit))
            placements[key] = (mi, s, solver.value(built.end[key]))
            k += 1
    return placements, unserved
