"""Move search for makespan problems that are not pure shops (issue 17): shift calendars,
transport lags between plants, bookings and fixed work, release dates, delivery legs; every
order served. The counterpart of the pure shops' tabu search (shop.py), alternating with
CP-SAT LNS the same way (shop_search).

The plan is read as machine sequences over fixed time (moves.Plan: bookings and fixed
operations held in the machines' timelines, its journal to undo trial moves) and kept
semi-active: every operation at its earliest start after its machine predecessor and its
chain predecessor's end plus the transport lag between their plants, by the window rule
(work crosses shift breaks). The critical operations are found backwards from the orders
whose completion is the makespan: at each operation, the predecessor (in its chain, or on its
machine) whose end sets its ready time; a wait for a window or past a booking belongs to the
operation that has to wait. A move takes one critical operation out and re-inserts it at a
position of any eligible machine's sequence (positions that cannot close a cycle: after the
operations that end before its chain predecessor starts, before those that start after its
chain successor starts; a few either side of its ready time). Each place is estimated from
its exact end there (window rule, lag from the previous plant, bookings) plus the longest tail
after it (its chain successor's with the lag, the delivery leg, or the next operation's on
that machine; tails from the current plan, calendar waits left out); the best two are
evaluated exactly: everything from the earliest changed start re-timed semi-actively in a
topological order (later work pushed right, earlier work pulled left; a move is impossible
when work would pass the horizon or a fixed operation would have to move) and the makespan
recomputed.

Moves are compared by (makespan, sum of ready times): on calendars the makespan is flat for
hours (a night absorbs any gain until a chain crosses one fewer), the ready times show the
progress. The best place is kept if it scores lower, or the same half the time, or keeps the
makespan at a worse second score (SIDEWAYS). The place an operation left is tabu for a few
iterations unless a move beats the best; after STALL iterations without a new best, the
search restarts from the best plan with a few random moves, and after PATIENCE restarts
without a lower makespan it ends (CP-SAT LNS, which follows, gets the time).
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right

from matching.result import Placements
from matching.search.context import Run
from matching.search.lns import FIRST_SHARE_SHOP, lns_shop
from matching.search.moves import Key, Plan

# deterministic budget: slot searches (earliest() calls, analyses) per second of the move
# search's share; measured 150,000-250,000 on mk06, mk10, 01a and 13a in shifts
# (matching/bench_shifts.py, load 2-3), so the budget, not the clock, ends it when loaded
MAKESPAN_STEPS_PER_SECOND = 80_000
EXACT = 2  # places evaluated exactly per move (the best estimated)
BACK = 2  # positions tried before the first one whose operation ends after the ready time
POSITIONS = 8  # ... and after it, per machine
STALL = 100  # iterations without a new best before a restart from the best
KICK = 3  # random moves of a restart
PATIENCE = 5  # restarts without a new best makespan end the phase (LNS gets the time)
TENURE = (4, 8)  # iterations a left place stays tabu (random in this range)
SIDEWAYS = 0.1  # chance to keep a move that leaves the makespan but worsens the second score

# non-pure makespan shops after the first whole-model solve: rounds of this search and CP-SAT
# LNS from its best, as hybrid_shop does on pure shops
ROUNDS = 2
MOVES_SHARE = 0.4  # of each round


class ShopState:
    """A moves.Plan whose order values are completions, with the analysis of the current
    plan (machine neighbours, tails, critical operations) cached until it changes."""

    def __init__(self, run: Run, pl: Placements, served: set[int]) -> None:
        self.run = run
        self._deliv: dict[tuple[str, int], int] = {}
        self.st = Plan(run, pl, served, value=self.completion)
        # semi-active from the start (a valid plan only moves left: this cannot fail)
        self.ok = self.retime(0)
        if not self.ok:
            self.st.undo(0)
        self.st.commit(0)
        self.dirty = True
        self.mpred: dict[Key, Key] = {}
        self.mnext: dict[Key, Key] = {}
        self.tail: dict[Key, int] = {}

    # ---- values ------------------------------------------------------------------------
    def delivery(self, plant: str, j: int) -> int:
        got = self._deliv.get((plant, j))
        if got is None:
            got = self._deliv[(plant, j)] = self.run.legs.delivery(plant,
                                                                    self.run.p.orders[j])[0]
        return got

    def completion(self, st: Plan, j: int) -> int:
        mi, _s, e = st.pl[(j, st.n_ops(j) - 1)]
        return e + self.delivery(st.p.plant_of(mi), j)

    def makespan(self) -> int:
        return max(self.st.cost.values(), default=0)

    def score(self) -> tuple[int, int]:
        return self.trial_score(len(self.st.journal))

    def trial_score(self, mark: int) -> tuple[int, int]:
        """(makespan, second) with the changes since journal position `mark`; the second
        tells moves apart on a plateau of the first."""
        st = self.st
        touched = st.touched(mark)
        cmax = 0
        for j, c in st.cost.items():
            if j in touched:
                c = self.completion(st, j)
            cmax = max(cmax, c)
        return cmax, self.ready_sum()

    def ready_sum(self) -> int:
        """Sum of every operation's ready time (its chain predecessor's end plus the lag, or
        its machine predecessor's end): a chain that gets shorter shows here even when a
        night still absorbs the gain (the makespan moves only once the chain crosses one
        fewer night)."""
        st = self.st
        pl = st.pl
        after: dict[Key, int] = {}
        for sq in st.seq:
            for a, b in zip(sq, sq[1:], strict=False):
                after[b] = pl[a][2]
        tot = 0
        for key, (mi, _s, _e) in pl.items():
            tot += max(st.ready(key, mi), after.get(key, 0))
        return tot

    def lag(self, a: int, b: int) -> int:
        p = self.st.p
        return self.st.legs.between(p.plant_of(a), p.plant_of(b))[0]

    # ---- re-timing ---------------------------------------------------------------------
    def retime(self, since: int, moved: Key | None = None) -> bool:
        """Re-time semi-actively (each operation at its earliest start after its machine
        predecessor and its chain predecessor's end plus the lag, by the window rule) every
        operation starting at or after `since`, and `moved` (just put into a sequence, its
        span still the old one), in a topological order of the sequences and chains: left
        where something before it moved away, right where it must wait. A move affects
        nothing that starts before both its old start and its new machine successor's start,
        so that is `since`. False (the plan half changed: undo) when an operation would
        pass the horizon or a fixed one would have to move."""
        st = self.st
        pl = st.pl
        nodes = {key for key, v in pl.items() if v[1] >= since}
        if moved is not None:
            nodes.add(moved)
        indeg = dict.fromkeys(nodes, 0)
        succ: dict[Key, list[Key]] = {}
        mpred: dict[Key, Key] = {}
        for sq in st.seq:
            for a, b in zip(sq, sq[1:], strict=False):
                if b in indeg:
                    mpred[b] = a
                    if a in indeg:
                        indeg[b] += 1
                        succ.setdefault(a, []).append(b)
        for key in nodes:
            j, k = key
            if k > 0 and (j, k - 1) in indeg:
                indeg[key] += 1
                succ.setdefault((j, k - 1), []).append(key)
        queue = sorted(key for key, c in indeg.items() if c == 0)
        done = 0
        while queue:
            key = queue.pop()
            done += 1
            mi, s, e = pl[key]
            j, k = key
            r = st.ready(key, mi)
            u = mpred.get(key)
            if u is not None:
                r = max(r, pl[u][2])
            if not st.movable(key):
                # fixed work stays; a movable predecessor may not end too late for it
                if k > 0 and r > s and st.movable((j, k - 1)):
                    return False
            elif r != s or key == moved:
                st.steps += 1
                got = st.base[mi].earliest(r, st.option(key, mi).duration)
                if got is None:
                    return False
                if got != (s, e):
                    st.set_span(key, (mi, got[0], got[1]))
            for x in succ.get(key, ()):
                indeg[x] -= 1
                if indeg[x] == 0:
                    queue.append(x)
        return done == len(nodes)  # else a cycle (the position rules should prevent it)

    # ---- analysis ----------------------------------------------------------------------
    def analyse(self) -> None:
        """Machine neighbours and tails (the longest chain of held spans and lags from an
        operation's start to the end of the plan) of the current plan."""
        if not self.dirty:
            return
        st = self.st
        pl = st.pl
        self.mpred, self.mnext = {}, {}
        for sq in st.seq:
            for a, b in zip(sq, sq[1:], strict=False):
                self.mnext[a] = b
                self.mpred[b] = a
        tail: dict[Key, int] = {}
        for key in sorted(pl, key=lambda key: (pl[key][1], key), reverse=True):
            mi, s, e = pl[key]
            j, k = key
            if k + 1 < st.n_ops(j):  # (fixed work may start before its fixed predecessor)
                q = self.lag(mi, pl[(j, k + 1)][0]) + tail.get((j, k + 1), 0)
            else:
                q = self.delivery(st.p.plant_of(mi), j)
            w = self.mnext.get(key)
            if w is not None:
                q = max(q, tail[w])
            tail[key] = e - s + q
        self.tail = tail
        st.steps += len(pl) // 8  # the analysis is work too (repeatable budgets)
        self.dirty = False

    def critical(self) -> list[Key]:
        """Movable operations on a critical path of the current (semi-active) plan."""
        self.analyse()
        st = self.st
        p, pl = st.p, st.pl
        cmax = self.makespan()
        todo = [(j, st.n_ops(j) - 1) for j, c in st.cost.items() if c == cmax]
        seen: set[Key] = set()
        out: list[Key] = []
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            j, k = key
            mi = pl[key][0]
            if st.movable(key):
                out.append(key)
            rc = p.orders[j].release if k == 0 else \
                pl[(j, k - 1)][2] + self.lag(pl[(j, k - 1)][0], mi)
            u = self.mpred.get(key)
            rm = pl[u][2] if u is not None else -1
            r = max(rc, rm)
            if k > 0 and rc == r:
                todo.append((j, k - 1))
            if u is not None and rm == r:
                todo.append(u)
        out.sort()
        return out

    # ---- moves -------------------------------------------------------------------------
    def positions(self, key: Key, mi: int) -> tuple[int, int, int]:
        """(lo, first, hi): the positions of machine mi's sequence where key may go without
        closing a cycle are lo..hi; `first` is the first whose operation ends after key's
        ready time there. key is out of the sequences."""
        st = self.st
        pl = st.pl
        j, k = key
        sq = st.seq[mi]
        ends = [pl[x][2] for x in sq]
        lo = 0
        if k > 0:  # after everything that ends before the chain predecessor starts
            jp = (j, k - 1)
            lo = bisect_right(ends, pl[jp][1])
            if lo < len(sq) and sq[lo] == jp:
                lo += 1
        hi = len(sq)
        if k + 1 < st.n_ops(j):  # before everything that starts at or after the successor
            starts = [pl[x][1] for x in sq]
            hi = bisect_left(starts, pl[(j, k + 1)][1])
        first = bisect_right(ends, st.ready(key, mi))
        return lo, first, hi

    def estimates(self, key: Key, m0: int, i_old: int, tabu: dict, it: int, best: int
                  ) -> list[tuple[int, float, int, int]]:
        """(estimated makespan, tie-break, machine, position) of the places of key (out of
        the sequences), tabu ones left out unless their estimate beats the best."""
        st = self.st
        p, pl = st.p, st.pl
        rng = self.run.rng
        j, k = key
        last = k + 1 >= st.n_ops(j)
        out: list[tuple[int, float, int, int]] = []
        for opt in p.options(j, k):
            mi = opt.m
            if last:
                out_tail = self.delivery(p.plant_of(mi), j)
            else:
                js = (j, k + 1)
                out_tail = self.lag(mi, pl[js][0]) + self.tail[js]
            r0 = st.ready(key, mi)
            if opt.duration <= 0:  # holds nothing: only the lags change
                if mi != m0:
                    out.append((max(0, r0) + out_tail, rng.random(), mi, 0))
                continue
            lo, first, hi = self.positions(key, mi)
            sq = st.seq[mi]
            for i in range(max(lo, first - BACK), min(hi, first + POSITIONS) + 1):
                if mi == m0 and i == i_old:
                    continue
                pred = sq[i - 1] if i > 0 else None
                r = r0 if pred is None else max(r0, pl[pred][2])
                st.steps += 1
                got = st.base[mi].earliest(r, opt.duration)
                if got is None:
                    break  # later positions start later still
                w = sq[i] if i < len(sq) else None
                est = got[1] + max(out_tail, self.tail[w] if w is not None else 0)
                if tabu.get((key, mi, pred), -1) > it and est >= best:
                    continue
                out.append((est, rng.random(), mi, i))
        out.sort()
        return out

    def apply(self, key: Key, mi: int, i: int) -> bool:
        """Put key (out of the sequences) at position i of mi and re-time what follows."""
        st = self.st
        s0 = st.pl[key][1]
        sq = st.seq[mi]
        since = s0
        m0, _s, _e = st.pl[key]
        if st.option(key, mi).duration > 0:
            if i < len(sq):
                since = min(since, st.pl[sq[i]][1])
            st.seq_insert(mi, i, key)
        if m0 != mi:  # its span stands for the old machine's: re-timed from the new one
            st.set_span(key, (mi, s0, s0))
        return self.retime(since, key)

    def take_out(self, key: Key) -> tuple[int, int, Key | None]:
        """Take key out of its machine's sequence: (machine, old position, old predecessor)."""
        st = self.st
        m0, s0, e0 = st.pl[key]
        if e0 <= s0:
            return m0, -1, None
        sq = st.seq[m0]
        i_old = sq.index(key)
        pred = sq[i_old - 1] if i_old > 0 else None
        st.seq_remove(m0, key)
        return m0, i_old, pred


def shop_moves(run: Run, candidates: list[int], best_pl: Placements, best_obj: int,
               seconds: float, last: bool = False) -> tuple[Placements, int]:
    """Critical-operation moves (module doc) for `seconds` (a deterministic budget of steps
    in repeatable mode; in anytime mode the clock, to the deadline when `last`). Returns the
    best plan and its makespan, never worse than the start."""
    p = run.p
    served = set(candidates)
    # every candidate placed, nothing else (work outside the search would not be held)
    if seconds <= 0.1 or not served or any((j, k) not in best_pl for j in served
                                           for k in range(len(p.orders[j].operations))) \
            or any(j not in served for j, _k in best_pl):
        return best_pl, best_obj
    t_ms = time.monotonic()
    S = ShopState(run, best_pl, served)
    if not S.ok:
        return best_pl, best_obj
    rng = run.rng
    budget = seconds * MAKESPAN_STEPS_PER_SECOND
    stop = run.stop_at(seconds, last=last)
    steps0 = 0
    cur = S.score()
    best, best_mine = cur, dict(S.st.pl)
    tabu: dict[tuple[Key, int, Key | None], int] = {}
    it = improved = accepted = restarts = 0
    last_best = 0
    idle = 0  # restarts since the best makespan last fell
    while time.monotonic() < stop and (not run.deterministic
                                       or steps0 + S.st.steps < budget):
        if run.good_enough(best[0]):
            break
        it += 1
        if it - last_best > STALL:
            idle += 1
            if idle > PATIENCE:
                break
            steps0 += S.st.steps
            S = ShopState(run, best_mine, served)
            _kick(S)
            cur = S.score()
            last_best = it
            restarts += 1
            continue
        crit = S.critical()
        if not crit:
            break
        key = rng.choice(crit)
        st = S.st
        mark = len(st.journal)
        m0, i_old, pred0 = S.take_out(key)
        cands = S.estimates(key, m0, i_old, tabu, it, best[0])
        pick: tuple[tuple[int, int], float, int, int] | None = None
        for _est, tie, mi, i in cands[:EXACT]:
            m2 = len(st.journal)
            pred = st.seq[mi][i - 1] if i > 0 else None
            if S.apply(key, mi, i):
                val = S.trial_score(mark)
                aspired = val < best or tabu.get((key, mi, pred), -1) <= it
                if aspired and (pick is None or (val, tie) < pick[:2]):
                    pick = (val, tie, mi, i)
            st.undo(m2)
        if pick is not None and (pick[0] < cur or (pick[0] == cur and rng.random() < 0.5)
                                 or (pick[0][0] == cur[0] and rng.random() < SIDEWAYS)):
            S.apply(key, pick[2], pick[3])
            st.commit(mark)
            S.dirty = True
            tabu[(key, m0, pred0)] = it + rng.randint(*TENURE)
            accepted += 1
            cur = pick[0]
            if cur < best:
                if cur[0] < best[0]:
                    improved += 1
                    idle = 0
                best, best_mine, last_best = cur, dict(st.pl), it
            continue
        st.undo(mark)
    steps = steps0 + S.st.steps
    if run.deterministic and steps < budget and idle <= PATIENCE \
            and not run.good_enough(best[0]):
        run.clock_cut("shop_moves")
    stats = run.stats
    stats["shop_moves_iterations"] = stats.get("shop_moves_iterations", 0) + it
    stats["shop_moves_improvements"] = stats.get("shop_moves_improvements", 0) + improved
    stats["shop_moves_accepted"] = stats.get("shop_moves_accepted", 0) + accepted
    stats["shop_moves_restarts"] = stats.get("shop_moves_restarts", 0) + restarts
    stats["shop_moves_steps"] = stats.get("shop_moves_steps", 0) + steps
    stats["shop_moves_seconds"] = round(stats.get("shop_moves_seconds", 0)
                                        + time.monotonic() - t_ms, 2)
    # orders outside `candidates` are unserved (their penalty counts, as in best_obj)
    un = {j: run.reasons.get(j, "") for j in range(len(p.orders)) if j not in served}
    obj = run.objective(best_mine, un)
    if obj <= best_obj:
        return best_mine, obj
    return best_pl, best_obj


def _kick(S: ShopState) -> None:
    """A few random moves of critical operations, kept whatever they do to the makespan."""
    rng = S.run.rng
    for _ in range(KICK):
        crit = S.critical()
        if not crit:
            return
        key = rng.choice(crit)
        st = S.st
        mark = len(st.journal)
        m0, i_old, _pred = S.take_out(key)
        opts = st.p.options(*key)
        mi = rng.choice(opts).m
        lo = hi = 0
        if st.option(key, mi).duration > 0:
            lo, _first, hi = S.positions(key, mi)
        i = rng.randint(lo, hi) if lo <= hi else -1
        if i >= 0 and (mi, i) != (m0, i_old) and S.apply(key, mi, i):
            st.commit(mark)
            S.dirty = True
        else:
            st.undo(mark)


def shop_search(run: Run, candidates: list[int], best_pl: Placements, best_obj: int,
                bound: int | None) -> tuple[Placements, int]:
    """Makespan shops that are not pure: ROUNDS rounds of the move search then CP-SAT LNS
    from its best (lns_shop); in anytime mode the last LNS runs to the deadline."""
    total = run.work * (1 - FIRST_SHARE_SHOP)  # the caller's seconds: repeatable
    per_round = total / ROUNDS
    for r in range(ROUNDS):
        if (bound is not None and best_obj <= bound) or run.good_enough(best_obj) \
                or run.left() < 0.3:
            break
        best_pl, best_obj = shop_moves(run, candidates, best_pl, best_obj,
                                       per_round * MOVES_SHARE)
        run.stats[f"shop_moves_round{r + 1}_objective"] = best_obj
        if (bound is not None and best_obj <= bound) or run.left() < 0.3:
            break
        best_pl, best_obj, _b = lns_shop(run, candidates, best_pl, best_obj,
                                         per_round * (1 - MOVES_SHARE),
                                         last=r == ROUNDS - 1)
        run.stats[f"lns_round{r + 1}_objective"] = best_obj
    return best_pl, best_obj
