"""Due-date greedy dispatch: the hint for CP-SAT, the fallback, and the benchmark baseline.

Orders are taken by due date (then release); each operation goes to the eligible machine
with the best score at its earliest free start (windows, bookings and transport respected),
so every plan it returns is valid by construction.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from matching.calendar import Calendar
from matching.geo import Legs
from matching.problem import Option, Order, Problem
from matching.result import Placements, order_outcome

INF = float("inf")
PRUNE_MIN_OPTIONS = 8  # insert_order sorts and prunes options from this many per operation
OUT_OF_TIME = "not placed: the time limit ran out before the engine reached this order"


class Timeline:
    """Held spans of one machine (sorted, disjoint) over its calendar."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.steps = 0  # candidate starts looked at by earliest(): a repeatable work measure
        # spans of fixed operations, held from the start: placing or removing their
        # operation leaves them held (so callers treat fixed work like any other)
        self.pinned: set[tuple[int, int]] = set()

    def copy(self) -> Timeline:
        t = Timeline(self.cal)
        t.starts = list(self.starts)
        t.ends = list(self.ends)
        t.pinned = set(self.pinned)
        return t

    def hold(self, s: int, e: int) -> None:
        """Hold a fixed operation's span for good."""
        if e > s and (s, e) not in self.pinned:
            self.pinned.add((s, e))
            self._insert(s, e)

    def add(self, s: int, e: int) -> None:
        if e <= s or (s, e) in self.pinned:
            return  # zero-length work holds nothing (and would break the sorted ends)
        self._insert(s, e)

    def _insert(self, s: int, e: int) -> None:
        i = bisect_left(self.starts, s)
        self.starts.insert(i, s)
        self.ends.insert(i, e)

    def remove(self, s: int, e: int) -> None:
        if e <= s or (s, e) in self.pinned:
            return
        i = bisect_left(self.starts, s)
        while i < len(self.starts) and self.starts[i] == s:
            if self.ends[i] == e:
                del self.starts[i]
                del self.ends[i]
                return
            i += 1

    def earliest(self, t: int, d: int, latest_end: int | None = None) -> tuple[int, int] | None:
        """Earliest [s, e) with s >= t, s in a window, work d, and free of held spans."""
        cal = self.cal
        if d <= 0:  # an empty span holds nothing: it starts at t, window or not
            s = max(0, t)
            if s > cal.horizon or (latest_end is not None and s > latest_end):
                return None
            return s, s
        s = cal.next_start(max(0, t))
        while s is not None:
            self.steps += 1
            e = cal.end_of(s, d)
            if e is None or (latest_end is not None and e > latest_end):
                return None
            # Spans are disjoint and sorted by start, so also sorted by end.
            i = bisect_right(self.ends, s)
            if i < len(self.starts) and self.starts[i] < e:
                s = cal.next_start(self.ends[i])
                continue
            return s, e
        return None

    def fits(self, s: int, d: int) -> tuple[int, int] | None:
        """[s, e) when work d can start exactly at s (in a window, free of held spans)."""
        e = self.cal.end_of(s, d)
        if e is None:
            return None
        i = bisect_right(self.ends, s)
        if e > s and i < len(self.starts) and self.starts[i] < e:
            return None
        return s, e


def make_timelines(problem: Problem, calendars: list[Calendar] | None = None) -> list[Timeline]:
    cals = calendars or make_calendars(problem)
    tls = [Timeline(c) for c in cals]
    for b in problem.bookings:
        mi = problem.machine_index.get(b.machine)
        if mi is not None and b.end > b.start:
            tls[mi].add(b.start, b.end)
    for mi, s, e in problem.pinned_spans():
        tls[mi].hold(s, e)
    return tls


def slots(problem: Problem, tl: Timeline, order: Order, k: int, opt: Option, ready: int,
          checked: bool = True) -> list[tuple[int, int, int]]:
    """Places (start, end, change cost) worth trying for operation k of `order` on opt's
    machine from `ready`: a fixed operation's own place (checked against `ready` unless it
    follows fixed work or is first: those are facts); else the earliest free start, and the
    operation's previous place when it is still free (moving costs change_cost)."""
    op = order.operations[k]
    if op.fixed is not None:
        fp = problem.fixed_place(order, op, [opt])
        if fp is None or (checked and ready > fp[1]):
            return []
        return [(fp[1], fp[2], 0)]
    out: list[tuple[int, int, int]] = []
    got = tl.earliest(ready, opt.duration)
    if got is not None:
        out.append((got[0], got[1], problem.change_cost_of(op, opt.m, got[0])))
    prev = op.previous
    if (prev is not None and prev.start >= ready and (got is None or got[0] != prev.start)
            and problem.machines[opt.m].id == prev.machine):
        fit = tl.fits(prev.start, opt.duration)
        if fit is not None:
            out.append((fit[0], fit[1], 0))
    return out


def _checked(order: Order, k: int) -> bool:
    """Whether operation k's start is checked against what precedes it (not for fixed work
    that is first or follows fixed work)."""
    ops = order.operations
    return ops[k].fixed is None or (k > 0 and ops[k - 1].fixed is None)


def make_calendars(problem: Problem) -> list[Calendar]:
    return [Calendar(problem.machine_windows(i), problem.horizon_minutes)
            for i in range(len(problem.machines))]


@dataclass
class Insertion:
    placed: list[tuple[int, int, int]]  # (machine, start, end) per operation
    completion: int
    lateness: int
    cost: int


def insert_order(problem: Problem, legs: Legs, timelines: list[Timeline], order: Order,
                 options: list[list[Option]], objective: str = "cost",
                 commit: bool = True) -> Insertion | None:
    """Place one order's chain greedily; None when some operation finds no room."""
    n = len(order.operations)
    min_d = [min((o.duration for o in opts), default=0) for opts in options]
    tail = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        tail[k] = tail[k + 1] + min_d[k]
    rate = int(order.late_penalty_per_minute)
    due = order.due
    prev_plant: str | None = None
    prev_end = order.release
    placed: list[tuple[int, int, int]] = []
    fixed_cost = int(problem.transport.fixed_cost)
    for k, opts in enumerate(options):
        best = None
        best_key: tuple = (INF,)
        checked = _checked(order, k)
        prune = objective != "makespan" and len(opts) >= PRUNE_MIN_OPTIONS
        if prune:
            # cheapest first, so that options which cannot beat the best so far even
            # before their slot search are skipped (exact: the key's first term only grows)
            opts = sorted(opts, key=lambda o: o.cost)
        for opt in opts:
            plant = problem.plant_of(opt.m)
            if prune and best is not None:
                if opt.cost > best_key[0]:
                    break  # sorted: no later option can win either
                if prev_plant is not None and plant != prev_plant \
                        and opt.cost + fixed_cost > best_key[0]:
                    continue  # a move to another plant costs at least the fixed cost
            tmin, tcost = legs.between(prev_plant, plant) if prev_plant is not None else (0, 0)
            for s, e, cc in slots(problem, timelines[opt.m], order, k, opt, prev_end + tmin,
                                  checked):
                if k == n - 1:
                    dmin, dcost = legs.delivery(plant, order)
                    finish = e + dmin
                else:
                    dcost, finish = 0, e + tail[k + 1]
                late = 0 if due is None else max(0, finish - due)
                if objective == "makespan":
                    key = (finish, opt.cost + tcost + dcost + cc, opt.m)
                else:
                    key = (opt.cost + tcost + dcost + cc + rate * late, e, opt.m)
                if key < best_key:
                    best_key, best = key, (opt.m, s, e)
        if best is None:
            return None
        placed.append(best)
        prev_plant, prev_end = problem.plant_of(best[0]), best[2]
    if commit:
        for mi, s, e in placed:
            timelines[mi].add(s, e)
    completion, lateness, cost = _outcome(problem, legs, order, options, placed)
    return Insertion(placed, completion, lateness, cost)


LABELS_PER_PLANT = 4  # label insertion: (cost, end) labels kept per plant and operation
LABELS_MAX = 32  # ... and in all
LABEL_SEARCHES = 600  # slot searches per operation: fewer labels when it has many machines


Label = tuple[int, int, "str | None", tuple]  # (cost so far, end, plant, placements so far)


def chain_labels(problem: Problem, legs: Legs, timelines: list[Timeline], order: Order,
                 options: list[list[Option]], k0: int, k1: int, ready: int,
                 plant: str | None, work: list[int] | None = None,
                 latest_end: int | None = None) -> list[Label]:
    """Label search over operations k0..k1-1 of `order`, from `ready` at `plant` (None: no
    leg before): after each operation keep, per plant, the (cost so far, end) pairs that no
    other dominates. Labels ending after `latest_end` are dropped (they cannot make the
    next fixed step). Empty list: some operation found no room."""
    labels: list[Label] = [(0, ready, plant, ())]
    searches = 0
    for k in range(k0, k1):
        opts = options[k]
        by_plant: dict[str, list[Label]] = {}
        checked = _checked(order, k)
        for cost, end, plant, placed in labels:
            for opt in opts:
                pl = problem.plant_of(opt.m)
                tmin, tcost = legs.between(plant, pl) if plant is not None else (0, 0)
                tl = timelines[opt.m]
                before = tl.steps
                got = slots(problem, tl, order, k, opt, end + tmin, checked)
                searches += 1 + tl.steps - before
                for s, e, cc in got:
                    if latest_end is not None and e > latest_end:
                        continue
                    by_plant.setdefault(pl, []).append((cost + opt.cost + tcost + cc, e, pl,
                                                        placed + ((opt.m, s, e),)))
        labels = []
        for ls in by_plant.values():
            ls.sort(key=lambda x: (x[0], x[1]))
            front = []
            for lab in ls:  # Pareto front: each kept label ends earlier than the cheaper ones
                if not front or lab[1] < front[-1][1]:
                    front.append(lab)
            if len(front) > LABELS_PER_PLANT:  # the cheapest few and the earliest
                front = front[:LABELS_PER_PLANT - 1] + [front[-1]]
            labels += front
        nxt = len(options[k + 1]) if k + 1 < k1 else 1
        cap = max(6, min(LABELS_MAX, LABEL_SEARCHES // max(1, nxt)))
        if len(labels) > cap:
            labels.sort(key=lambda x: (x[0], x[1]))
            early = sorted(labels[cap - 3:], key=lambda x: (x[1], x[0]))[:3]
            labels = labels[:cap - 3] + early
        if not labels:
            break
    if work is not None:
        work[0] += searches
    return labels


def insert_order_labels(problem: Problem, legs: Legs, timelines: list[Timeline], order: Order,
                        options: list[list[Option]], work: list[int] | None = None
                        ) -> Insertion | None:
    """Place one order's chain by a label search (chain_labels), so that a cheap early
    choice cannot lead into a dead end later (insert_order's weakness on tight calendars).
    Cost objective only; nothing is committed. `work` (one counter) adds the slot searches
    and the candidate starts they looked at."""
    labels = chain_labels(problem, legs, timelines, order, options, 0, len(options),
                          order.release, None, work)
    best: Insertion | None = None
    rate = int(order.late_penalty_per_minute)
    for cost, end, plant, placed in labels:
        dmin, dcost = legs.delivery(plant, order) if plant is not None else (0, 0)
        completion = end + dmin
        late = 0 if order.due is None else max(0, completion - order.due)
        total = cost + dcost + rate * late
        if best is None or (total, completion) < (best.cost, best.completion):
            best = Insertion(list(placed), completion, late, total)
    return best


def _outcome(problem: Problem, legs: Legs, order: Order, options: list[list[Option]],
             placed: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    cost = 0
    prev: str | None = None
    for k, (mi, s, _e) in enumerate(placed):
        cost += next(o.cost for o in options[k] if o.m == mi)
        cost += problem.change_cost_of(order.operations[k], mi, s)
        plant = problem.plant_of(mi)
        if prev is not None:
            cost += legs.between(prev, plant)[1]
        prev = plant
    dmin, dcost = legs.delivery(prev, order) if prev is not None else (0, 0)
    completion = (placed[-1][2] if placed else order.release) + dmin
    lateness = 0 if order.due is None else max(0, completion - order.due)
    return completion, lateness, cost + dcost + int(order.late_penalty_per_minute) * lateness


def edd_sequence(problem: Problem) -> list[int]:
    big = 1 << 60
    return sorted(range(len(problem.orders)),
                  key=lambda j: (problem.orders[j].due if problem.orders[j].due is not None
                                 else big, problem.orders[j].release, j))


def greedy(problem: Problem, legs: Legs | None = None,
           prechecked: dict[int, str] | None = None,
           sequence: list[int] | None = None,
           timelines: list[Timeline] | None = None,
           labels: bool = False,
           deadline: float | None = None) -> tuple[Placements, dict[int, str]]:
    """Due-date dispatch. Returns placements and {order index: reason} for unserved orders.
    labels=True places each order by insert_order_labels (cost objective; slower, better).
    Past `deadline` (time.monotonic()) the orders not reached are left unserved, said so."""
    legs = legs or Legs(problem)
    tls = timelines if timelines is not None else make_timelines(problem)
    prechecked = prechecked or {}
    placements: Placements = {}
    unserved: dict[int, str] = {}
    for j in sequence if sequence is not None else edd_sequence(problem):
        if j in prechecked:
            unserved[j] = prechecked[j]
            continue
        if deadline is not None and (deadline < 0 or time.monotonic() > deadline):
            deadline = -1.0
            unserved[j] = OUT_OF_TIME
            continue
        order = problem.orders[j]
        options = [problem.options(j, k) for k in range(len(order.operations))]
        if labels and problem.objective != "makespan":
            ins = insert_order_labels(problem, legs, tls, order, options)
        else:
            ins = insert_order(problem, legs, tls, order, options, problem.objective,
                               commit=False)
        if ins is None:
            unserved[j] = "not enough capacity left before the horizon end"
            continue
        if problem.objective != "makespan" and ins.cost > int(order.unserved_penalty):
            unserved[j] = (f"chosen unserved: serving costs {ins.cost}, more than the unserved "
                           f"penalty {int(order.unserved_penalty)}")
            continue
        for k, (mi, s, e) in enumerate(ins.placed):
            tls[mi].add(s, e)
            placements[(j, k)] = (mi, s, e)
    return placements, unserved


__all__ = ["Timeline", "greedy", "insert_order", "insert_order_labels", "make_timelines",
           "make_calendars", "edd_sequence", "order_outcome"]


def dispatch_ops(problem: Problem, legs: Legs | None = None,
                 prechecked: dict[int, str] | None = None,
                 priority: str = "work") -> tuple[Placements, dict[int, str]]:
    """Operation-level list scheduling for makespan problems: repeatedly place, among the
    next operations of all orders, the one that can finish earliest (ties: the order with
    the most work left). Much better than order-by-order insertion on job shops."""
    legs = legs or Legs(problem)
    tls = make_timelines(problem)
    prechecked = prechecked or {}
    n = len(problem.orders)
    nxt = {j: 0 for j in range(n) if j not in prechecked and problem.orders[j].operations}
    ready = {j: problem.orders[j].release for j in nxt}
    plant: dict[int, str | None] = {j: None for j in nxt}
    left = {j: sum(min(o.duration for o in problem.options(j, k))
                   for k in range(len(problem.orders[j].operations))) for j in nxt}
    placements: Placements = {}
    unserved: dict[int, str] = dict(prechecked)
    for j in range(n):
        if j not in nxt and j not in unserved:
            unserved[j] = "order has no operations"
    while nxt:
        # each candidate operation on its earliest-finishing machine
        cands = []
        for j, k in nxt.items():
            cb = None
            order = problem.orders[j]
            for opt in problem.options(j, k):
                pl = problem.plant_of(opt.m)
                tmin = legs.between(plant[j], pl)[0] if plant[j] is not None else 0
                got = min(((s, e) for s, e, _cc in slots(problem, tls[opt.m], order, k, opt,
                                                        ready[j] + tmin, _checked(order, k))),
                          key=lambda se: (se[1], se[0]), default=None)
                if got is not None and (cb is None or (got[1], got[0], opt.m) < cb[0]):
                    cb = ((got[1], got[0], opt.m), j, k, opt, got)
            if cb is not None:
                cands.append(cb)
        best = None
        if cands:
            if priority == "work":
                # Giffler-Thompson: among operations that could start before the earliest
                # finish, take the one whose order has the most work left
                e_min = min(c[0][0] for c in cands)
                conflict = [c for c in cands if c[0][1] < e_min] or cands
                pick = min(conflict, key=lambda c: (-left[c[1]], c[0], c[1]))
            else:
                pick = min(cands, key=lambda c: (c[0], -left[c[1]], c[1]))
            best = pick[1:]
        if best is None:
            for j in sorted(nxt):  # nothing fits any more: these orders cannot be finished
                for k in range(nxt[j]):
                    mi, s, e = placements.pop((j, k))
                    tls[mi].remove(s, e)
                unserved[j] = "not enough capacity left before the horizon end"
            break
        j, k, opt, (s, e) = best
        tls[opt.m].add(s, e)
        placements[(j, k)] = (opt.m, s, e)
        ready[j], plant[j] = e, problem.plant_of(opt.m)
        left[j] -= min(o.duration for o in problem.options(j, k))
        if k + 1 < len(problem.orders[j].operations):
            nxt[j] = k + 1
        else:
            del nxt[j]
    return placements, unserved
