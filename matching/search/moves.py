"""Move-based local search for every problem with the cost objective: the marketplace's
counterpart of the pure shops' tabu search (shop.py), alternating with ruin and recreate and
CP-SAT LNS (cost_search).

The plan is read as machine sequences (the order of the operations on each machine) over
fixed time (bookings and fixed operations, held in the machines' timelines). A move takes one
operation of a costly order out and re-inserts it at a position of the sequence of any
eligible machine, starting at its earliest start there (shift calendars: work crosses
windows by the window rule; release dates, the previous operation's end plus the transport
lag between the plants); the operations after it on that machine and in its own chain are
pushed right as far as needed, through bookings and windows (never past a fixed operation
or the horizon: then the move is impossible). Each candidate is estimated from its option's
cost, the transport legs in and out and the lateness of its own end; the few best are
evaluated exactly (every order whose time changed is re-costed with result.order_outcome:
operations, risk, transport, delivery leg, lateness, change cost) and the best one is kept
if it costs less (or as much, half the time: plateaus are common). Unserved orders are
inserted the same way, operation by operation, pushing others into their slack; kept if the
order's cost and what it adds to the others' stay below its unserved penalty. After an
accepted move the plan is compacted (every operation as early as its sequence allows),
which can only lower lateness. Orders are drawn by how far their cost lies above their
floor (cheapest chain and unavoidable lateness, from the chains bound).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from matching.problem import Option
from matching.result import Placements, order_outcome
from matching.search.context import Run
from matching.search.greedy import Timeline, make_timelines
from matching.search.lns import lns_orders
from matching.search.ruin_recreate import ruin_recreate

# deterministic budget: slot searches (earliest() calls and exact evaluations) per second
# of the move search's share; measured 47,000 at size M and 70,000 on 40 orders (load 2.5),
# so the budget, not the wall-clock safety net (twice the share), ends it even when loaded
MOVE_STEPS_PER_SECOND = 20_000
TOURNAMENT = 4  # orders drawn per move; the one furthest above its floor is moved
POSITIONS = 3  # sequence positions tried per machine, from the first one past ready
EXACT = 4  # candidates evaluated exactly per move (the best estimated)
INSERT_SHARE = 0.3  # moves that try to serve an unserved order
# Building the search's state costs about this per placed operation (1.66 s for XL's
# 31,000, measured): a search that would start too near the deadline is not started.
STATE_SECONDS_PER_OP = 60e-6

Key = tuple[int, int]
Span = tuple[int, int, int]  # (machine, start, end)


class Plan:
    """Machine sequences, spans and order values, with a journal to undo trial moves.

    An order's value is its cost (the cost objective) unless `value` says otherwise (the
    makespan search keeps completions: shop_moves.py)."""

    def __init__(self, run: Run, pl: Placements, served: set[int],
                 value: Callable[[Plan, int], int] | None = None) -> None:
        p = run.p
        self.p, self.legs, self.run = p, run.legs, run
        self.base: list[Timeline] = make_timelines(p, run.cals)  # bookings, fixed work
        self.pl: dict[Key, Span] = dict(pl)
        self.seq: list[list[Key]] = [[] for _ in p.machines]
        self.opt: dict[Key, dict[int, Option]] = {}
        for key, (mi, s, e) in sorted(self.pl.items(), key=lambda kv: (kv[1][1], kv[0])):
            if self.movable(key) and e > s:
                self.seq[mi].append(key)
        self.served = set(served)
        self._value = value
        self.cost = {j: self.value(j) for j in served}  # the value of each served order
        self.journal: list[tuple[Any, ...]] = []
        self.steps = 0

    # ---- small helpers ------------------------------------------------------------
    def movable(self, key: Key) -> bool:
        j, k = key
        return key not in self.p.pinned and self.p.orders[j].operations[k].fixed is None

    def option(self, key: Key, mi: int) -> Option | None:
        got = self.opt.get(key)
        if got is None:
            got = self.opt[key] = {o.m: o for o in self.p.options(*key)}
        return got.get(mi)

    def n_ops(self, j: int) -> int:
        return len(self.p.orders[j].operations)

    def complete(self, j: int) -> bool:
        return all((j, k) in self.pl for k in range(self.n_ops(j)))

    def value(self, j: int) -> int:
        """Order j's value: its cost, or what the `value` hook says."""
        if self._value is not None:
            return self._value(self, j)
        return self.outcome(j)[2]

    def outcome(self, j: int) -> tuple[int, int, int]:
        return order_outcome(self.p, self.legs, j,
                             [self.pl[(j, k)] for k in range(self.n_ops(j))])

    def ready(self, key: Key, mi: int) -> int:
        """Earliest start of operation key on machine mi after its chain predecessor."""
        j, k = key
        if k == 0:
            return self.p.orders[j].release
        pm, _s, pe = self.pl[(j, k - 1)]
        return pe + self.legs.between(self.p.plant_of(pm), self.p.plant_of(mi))[0]

    # ---- journalled edits -----------------------------------------------------------
    def set_span(self, key: Key, span: Span | None) -> None:
        self.journal.append(("span", key, self.pl.get(key)))
        if span is None:
            del self.pl[key]
        else:
            self.pl[key] = span

    def seq_insert(self, mi: int, i: int, key: Key) -> None:
        self.seq[mi].insert(i, key)
        self.journal.append(("ins", mi, i))

    def seq_remove(self, mi: int, key: Key) -> None:
        i = self.seq[mi].index(key)
        del self.seq[mi][i]
        self.journal.append(("del", mi, i, key))

    def undo(self, mark: int) -> None:
        while len(self.journal) > mark:
            e = self.journal.pop()
            if e[0] == "span":
                if e[2] is None:
                    self.pl.pop(e[1], None)
                else:
                    self.pl[e[1]] = e[2]
            elif e[0] == "ins":
                del self.seq[e[1]][e[2]]
            else:
                self.seq[e[1]].insert(e[2], e[3])

    def touched(self, mark: int) -> set[int]:
        return {e[1][0] for e in self.journal[mark:] if e[0] == "span"}

    # ---- pushing ----------------------------------------------------------------------
    def push(self, start: list[Key]) -> bool:
        """Operations after the changed ones (on their machine, in their chain) move right
        as far as needed; False if one would pass a fixed operation or the horizon."""
        p, legs = self.p, self.legs
        stack = list(start)
        while stack:
            key = stack.pop()
            mi, s, e = self.pl[key]
            j, k = key
            nxt: list[tuple[Key, int | None]] = []
            if e > s and self.movable(key):
                sq = self.seq[mi]
                i = sq.index(key)
                if i + 1 < len(sq):
                    nxt.append((sq[i + 1], e))
            if k + 1 < self.n_ops(j) and (j, k + 1) in self.pl:
                nm = self.pl[(j, k + 1)][0]
                nxt.append(((j, k + 1), e + legs.between(p.plant_of(mi), p.plant_of(nm))[0]))
            for nk, r in nxt:
                nm, ns, _ne = self.pl[nk]
                if r is None or ns >= r:
                    continue
                if not self.movable(nk):
                    return False
                self.steps += 1
                got = self.base[nm].earliest(r, self.option(nk, nm).duration)
                if got is None:
                    return False
                self.set_span(nk, (nm, got[0], got[1]))
                stack.append(nk)
        return True

    def place(self, key: Key, mi: int, i: int) -> bool:
        """Put operation key (out of every sequence) at position i of machine mi."""
        opt = self.option(key, mi)
        sq = self.seq[mi]
        r = self.ready(key, mi)
        if i > 0:
            r = max(r, self.pl[sq[i - 1]][2])
        self.steps += 1
        got = self.base[mi].earliest(r, opt.duration)
        if got is None:
            return False
        self.set_span(key, (mi, got[0], got[1]))
        if got[1] > got[0]:
            self.seq_insert(mi, i, key)
        return self.push([key])

    def candidates(self, key: Key, rate: int, last: bool) -> list[tuple[float, int, int]]:
        """(estimate, machine, position) for operation key (out of the plan); the estimate
        is its option's cost, the legs in and out, and the lateness of its end."""
        p, legs = self.p, self.legs
        j, k = key
        out: list[tuple[float, int, int]] = []
        pred_plant = p.plant_of(self.pl[(j, k - 1)][0]) if k > 0 else None
        succ = self.pl.get((j, k + 1))
        order = p.orders[j]
        for opt in p.options(j, k):
            mi = opt.m
            plant = p.plant_of(mi)
            static = opt.cost + (legs.between(pred_plant, plant)[1] if pred_plant else 0)
            if succ is not None:
                static += legs.between(plant, p.plant_of(succ[0]))[1]
            elif last:
                static += legs.delivery(plant, order)[1]
            r0 = self.ready(key, mi)
            sq = self.seq[mi]
            i0 = 0
            while i0 < len(sq) and self.pl[sq[i0]][2] <= r0:
                i0 += 1
            for i in range(i0, min(len(sq), i0 + POSITIONS - 1) + 1):
                r = r0 if i == 0 else max(r0, self.pl[sq[i - 1]][2])
                self.steps += 1
                got = self.base[mi].earliest(r, opt.duration)
                if got is None:
                    break
                late = 0
                if last and order.due is not None:
                    late = max(0, got[1] + legs.delivery(plant, order)[0] - order.due)
                elif succ is not None:
                    late = max(0, got[1] - succ[1])  # the next operation is pushed this far
                out.append((static + rate * late, mi, i))
        out.sort()
        return out

    def trial(self, key: Key, cands: list[tuple[float, int, int]]
              ) -> tuple[float, int, int] | None:
        """Best (delta, machine, position) among the first EXACT candidates, exact for
        every served order (an order being inserted counts its estimate); the plan is left
        as before the trial."""
        best: tuple[float, int, int] | None = None
        own = key[0] not in self.served
        for est, mi, i in cands[:EXACT]:
            mark = len(self.journal)
            if self.place(key, mi, i):
                delta = est if own else 0
                for j in self.touched(mark):
                    if j in self.served and self.complete(j):
                        delta += self.value(j) - self.cost[j]
                self.steps += 1
                if best is None or (delta, mi, i) < best:
                    best = (delta, mi, i)
            self.undo(mark)
        return best

    def commit(self, mark: int) -> None:
        for j in self.touched(mark):
            if j in self.served:
                self.cost[j] = self.value(j)
        self.journal.clear()

    def compact(self) -> None:
        """Every movable operation as early as its machine sequence and chain allow (in
        start order); operations at their previous place stay (moving them costs)."""
        p = self.p
        prev_end: dict[int, int] = {}
        for key, (mi, s, e) in sorted(self.pl.items(), key=lambda kv: (kv[1][1], kv[0])):
            if not self.movable(key):
                continue
            op = p.orders[key[0]].operations[key[1]]
            at_prev = op.previous is not None and op.previous.start == s \
                and p.machines[mi].id == op.previous.machine
            r = max(self.ready(key, mi), prev_end.get(mi, 0) if e > s else 0)
            if not at_prev and r < s:
                got = self.base[mi].earliest(r, self.option(key, mi).duration)
                if got is not None and got[0] < s:
                    self.set_span(key, (mi, got[0], got[1]))
                    s, e = got
            if e > s:
                prev_end[mi] = e


def move_search(run: Run, candidates: list[int], best_pl: Placements,
                best_un: dict[int, str], best_obj: int, seconds: float,
                floors: dict[int, int] | None = None) -> tuple[Placements, dict[int, str], int]:
    """Relocation and insertion moves with pushing (module doc) for `seconds` (a
    deterministic budget of steps in repeatable mode). Returns the best plan."""
    p = run.p
    cand = [j for j in candidates if j not in run.reasons and p.orders[j].operations]
    served = {j for j in cand if j not in best_un
              and all((j, k) in best_pl for k in range(len(p.orders[j].operations)))}
    if not served or seconds <= 0.2:
        return best_pl, best_un, best_obj
    if run.left() < 0.2 + STATE_SECONDS_PER_OP * len(best_pl):
        run.clock_cut("moves")
        return best_pl, best_un, best_obj
    t_ms = time.monotonic()
    st = Plan(run, best_pl, served)
    st.compact()
    st.commit(0)
    floors = floors or {}
    pool = sorted(j for j in served if any(st.movable((j, k)) for k in range(st.n_ops(j))))
    un = {j: r for j, r in best_un.items()}
    rng = run.rng
    budget = seconds * MOVE_STEPS_PER_SECOND
    stop = run.stop_at(seconds)
    it = improved = inserted = accepted = 0
    # compaction re-times the whole plan: on wide plans only every few accepted moves
    every = max(1, len(st.pl) // 2000)
    # unserved orders without fixed work may be inserted (fixed work is placed by the model)
    open_un = [j for j in cand if j in un and all(st.movable((j, k))
                                                  for k in range(st.n_ops(j)))]
    while pool and time.monotonic() < stop and (not run.deterministic or st.steps < budget):
        it += 1
        if open_un and rng.random() < INSERT_SHARE:
            j = rng.choice(open_un)
            if _insert(st, j):
                del un[j]
                open_un.remove(j)
                pool.append(j)
                inserted += 1
            continue
        drawn = [rng.choice(pool) for _ in range(TOURNAMENT)]
        j = max(drawn, key=lambda i: (st.cost[i] - floors.get(i, 0), -i))
        n = st.n_ops(j)
        movable = [k for k in range(n) if st.movable((j, k))]
        late = st.outcome(j)[1] > 0
        k = n - 1 if late and n - 1 in movable and rng.random() < 0.5 else rng.choice(movable)
        key = (j, k)
        mark = len(st.journal)
        mi0 = st.pl[key][0]
        if st.pl[key][2] > st.pl[key][1]:
            st.seq_remove(mi0, key)
        cands = st.candidates(key, int(p.orders[j].late_penalty_per_minute), k == n - 1)
        best = st.trial(key, cands)
        if best is not None and (best[0] < 0 or (best[0] == 0 and rng.random() < 0.5)) \
                and st.place(key, best[1], best[2]):
            improved += best[0] < 0
            accepted += 1
            if accepted % every == 0:
                st.compact()
            st.commit(mark)
            continue
        st.undo(mark)
    if pool and run.deterministic and st.steps < budget:
        run.clock_cut("moves")
    obj = run.objective(st.pl, un)
    run.stats["moves_steps"] = run.stats.get("moves_steps", 0) + st.steps
    run.stats["moves_seconds"] = round(run.stats.get("moves_seconds", 0)
                                       + time.monotonic() - t_ms, 2)
    run.stats["moves_iterations"] = run.stats.get("moves_iterations", 0) + it
    run.stats["moves_improvements"] = run.stats.get("moves_improvements", 0) + improved
    run.stats["moves_inserted"] = run.stats.get("moves_inserted", 0) + inserted
    run.stats["moves_objective"] = obj
    if obj <= best_obj:
        return st.pl, un, obj
    return best_pl, best_un, best_obj


def _insert(st: Plan, j: int) -> bool:
    """Serve unserved order j, operation by operation at the exactly best of the estimated
    places, pushing others; kept if it costs less than its unserved penalty."""
    p = st.p
    order = p.orders[j]
    n = st.n_ops(j)
    mark = len(st.journal)
    rate = int(order.late_penalty_per_minute)
    for k in range(n):
        key = (j, k)
        cands = st.candidates(key, rate, k == n - 1)
        best = st.trial(key, cands)
        mark_k = len(st.journal)
        if best is not None and st.place(key, best[1], best[2]):
            continue
        st.undo(mark_k)
        if not _eject(st, key):
            break
    else:
        delta = st.outcome(j)[2] - int(order.unserved_penalty)
        for i in st.touched(mark) - {j}:
            if i in st.cost:
                delta += st.outcome(i)[2] - st.cost[i]
        if delta < 0:
            st.served.add(j)
            st.compact()
            st.commit(mark)  # re-costs every touched order, j included
            return True
    st.undo(mark)
    return False


def _eject(st: Plan, key: Key) -> bool:
    """Place operation key at its earliest start on one of its machines (the rest of the
    plan ignored there) by taking out the operations in its way (at most EJECT_MAX) and
    re-inserting each of them at its best place elsewhere (or later, pushing): an ejection
    chain of depth one, for orders that find no room as the plan stands."""
    p = st.p
    rng = st.run.rng
    opts = p.options(*key)
    opt = rng.choice(opts)
    mi = opt.m
    got = st.base[mi].earliest(st.ready(key, mi), opt.duration)
    st.steps += 1
    if got is None or got[1] <= got[0]:
        return False
    s, e = got
    sq = st.seq[mi]
    way = [k2 for k2 in sq if st.pl[k2][1] < e and st.pl[k2][2] > s]
    if not way or len(way) > EJECT_MAX or any(k2[0] == key[0] for k2 in way):
        return False
    for k2 in way:  # out of the plan until re-inserted below
        st.seq_remove(mi, k2)
        st.set_span(k2, None)
    i = sum(1 for k2 in sq if st.pl[k2][1] < s)
    if not st.place(key, mi, i):
        return False
    for k2 in way:
        cands = st.candidates(k2, int(p.orders[k2[0]].late_penalty_per_minute),
                              k2[1] == st.n_ops(k2[0]) - 1)
        best = st.trial(k2, cands)
        if best is None or not st.place(k2, best[1], best[2]):
            return False
    return True


EJECT_MAX = 2

# cost problems after the starts: rounds of ruin and recreate (which orders are served),
# the move search (where their operations go) and CP-SAT LNS over order subsets (trims what
# both leave); shares of each round's time
COST_ROUNDS = 2
RR_ROUND_SHARE = 0.45
MOVES_ROUND_SHARE = 0.15


def cost_search(run: Run, candidates: list[int], forced: set[int], g_un: dict[int, str],
                best_pl: Placements, best_un: dict[int, str], best_obj: int, large: bool,
                seconds: float, floors: dict[int, int] | None = None
                ) -> tuple[Placements, dict[int, str], int]:
    """The cost objective's search: COST_ROUNDS rounds of ruin and recreate, move search
    and CP-SAT LNS; in anytime mode the last LNS runs to the deadline."""
    share = seconds / COST_ROUNDS
    for r in range(COST_ROUNDS):
        last = r == COST_ROUNDS - 1
        best_pl, best_un, best_obj = ruin_recreate(run, candidates, best_pl, best_un,
                                                    best_obj, share * RR_ROUND_SHARE)
        best_pl, best_un, best_obj = move_search(run, candidates, best_pl, best_un, best_obj,
                                                 share * MOVES_ROUND_SHARE, floors)
        if run.good_enough(best_obj) or run.left() < 0.5:
            break
        lns_s = share * (1 - RR_ROUND_SHARE - MOVES_ROUND_SHARE)
        best_pl, best_un, best_obj = lns_orders(run, candidates, forced, g_un, best_pl,
                                                best_un, best_obj, large, lns_s, last=last)
    return best_pl, best_un, best_obj
