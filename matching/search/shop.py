"""Tabu search for pure flexible job shops (the FJSP case of the makespan objective).

A problem is a *pure shop* when the makespan is all that counts and nothing but machine
sequences and job order constrains time: every order must be served, machines are always
available over the horizon, there are no bookings, no transport or delivery legs. There a
plan is fully described by each operation's machine and each machine's sequence, and the
semi-active schedule (every operation at its earliest start) follows from longest paths in
the disjunctive graph. CP-SAT is strong at proving and at small neighbourhoods but slow to
walk the huge plateaus of FJSP; this search walks them quickly.

Neighbourhood (after Mastrolilli and Gambardella, 2000): take a critical operation out of
its machine and re-insert it at any position of any eligible machine. Each move is first
estimated in O(1) from heads and tails of the current graph; the best few are then
evaluated exactly (longest paths, which also rejects cycles). The last positions an
operation left are tabu for a random tenure, unless a move beats the best makespan.
After a long stall the search restarts from the best plan with a few random moves.

The inner loop is compiled with numba when it is installed (about 40,000 moves per second
and thread on mk10); without it the same code runs as plain Python, far slower but correct.
Deterministic: the same seed and iteration count give the same plan.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from matching.geo import Legs
from matching.problem import Problem
from matching.result import Placements

try:  # numba is a declared dependency; the fallback keeps the module importable without it
    from numba import njit
except ImportError:  # pragma: no cover - exercised only where numba is missing
    def njit(*_args, **_kwargs):  # type: ignore[no-redef]
        def wrap(fn):
            return fn
        return wrap

__all__ = ["ShopSearch", "is_pure_shop", "tabu_search"]

TOP_K = 3  # moves evaluated exactly per iteration
STALL = 3000  # iterations without a new best before a restart from the best
KICK_MOVES = 4  # random moves of a restart


def is_pure_shop(problem: Problem, candidates: list[int], forced: set[int],
                 legs: Legs) -> bool:
    """True when only machine sequences and job order constrain the schedule.

    Decided by what the problem means, not how it is written (issue 17): a delivery leg of
    0 minutes and no cost is no leg, windows that cover the horizon (one or several
    touching) are no calendar, an empty booking holds nothing, a due date without a late
    penalty puts no pressure."""
    p = problem
    if p.objective != "makespan" or p.pinned or not candidates:
        return False
    if any(b.end > b.start for b in p.bookings):
        return False
    if not set(candidates) <= forced or len(candidates) != len(p.orders):
        return False
    H = p.horizon_minutes
    for mi in range(len(p.machines)):
        cal = p.calendar(mi)  # clipped to the horizon and merged: the semantics
        if cal.total != H or len(cal.windows) > 1:
            return False
    plants = sorted({p.plant_of(mi) for mi in range(len(p.machines))})
    for a in plants:
        for b in plants:
            if legs.between(a, b) != (0, 0):
                return False
    for order in p.orders:
        if order.has_destination and any(legs.delivery(pl, order) != (0, 0) for pl in plants):
            return False
        if order.due is not None and int(order.late_penalty_per_minute or 0) > 0:
            return False
    return True


# ---------------------------------------------------------------------------------------
# compiled core. State arrays (all int64):
#   assign[n]   machine of each operation     d[n]  its duration there
#   mprev[n], mnext[n]  neighbours on the machine (-1 none);  mfirst[M] first operation
#   jp[n], js[n]        job predecessor / successor (-1 none); rel[n] release
#   dur[n, M]           duration of an operation on a machine, -1 where not eligible
# ---------------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _heads(jp, js, mprev, mnext, d, rel, r, topo, indeg, queue):
    """Earliest starts by Kahn's algorithm; returns the makespan, or -1 on a cycle."""
    n = jp.shape[0]
    head = 0
    tail = 0
    for i in range(n):
        c = 0
        if jp[i] >= 0:
            c += 1
        if mprev[i] >= 0:
            c += 1
        indeg[i] = c
        if c == 0:
            queue[tail] = i
            tail += 1
    cnt = 0
    cmax = 0
    while head < tail:
        i = queue[head]
        head += 1
        s = rel[i]
        a = jp[i]
        if a >= 0 and r[a] + d[a] > s:
            s = r[a] + d[a]
        b = mprev[i]
        if b >= 0 and r[b] + d[b] > s:
            s = r[b] + d[b]
        r[i] = s
        if s + d[i] > cmax:
            cmax = s + d[i]
        topo[cnt] = i
        cnt += 1
        a = js[i]
        if a >= 0:
            indeg[a] -= 1
            if indeg[a] == 0:
                queue[tail] = a
                tail += 1
        b = mnext[i]
        if b >= 0:
            indeg[b] -= 1
            if indeg[b] == 0:
                queue[tail] = b
                tail += 1
    if cnt < n:
        return -1
    return cmax


@njit(cache=True, nogil=True)
def _tails(js, mnext, d, q, topo):
    """Longest path from the end of each operation to the end of the schedule."""
    n = js.shape[0]
    for t in range(n - 1, -1, -1):
        i = topo[t]
        v = 0
        a = js[i]
        if a >= 0 and d[a] + q[a] > v:
            v = d[a] + q[a]
        b = mnext[i]
        if b >= 0 and d[b] + q[b] > v:
            v = d[b] + q[b]
        q[i] = v


@njit(cache=True, nogil=True)
def _remove(v, assign, mprev, mnext, mfirst):
    a = assign[v]
    pu = mprev[v]
    pw = mnext[v]
    if pu >= 0:
        mnext[pu] = pw
    else:
        mfirst[a] = pw
    if pw >= 0:
        mprev[pw] = pu
    mprev[v] = -1
    mnext[v] = -1
    return pu


@njit(cache=True, nogil=True)
def _insert(v, k, u, assign, mprev, mnext, mfirst, d, dur):
    """Insert v on machine k right after u (u = -1: first)."""
    if u >= 0:
        w = mnext[u]
        mnext[u] = v
    else:
        w = mfirst[k]
        mfirst[k] = v
    mprev[v] = u
    mnext[v] = w
    if w >= 0:
        mprev[w] = v
    assign[v] = k
    d[v] = dur[v, k]


@njit(cache=True, nogil=True)
def _move(v, k, u, assign, mprev, mnext, mfirst, d, dur):
    """Move v after u on machine k; returns (old machine, old predecessor) for undo."""
    a = assign[v]
    pu = _remove(v, assign, mprev, mnext, mfirst)
    _insert(v, k, u, assign, mprev, mnext, mfirst, d, dur)
    return a, pu


@njit(cache=True, nogil=True)
def _search(iters, seed, jp, js, rel, dur, assign, mprev, mnext, mfirst, d,
            best_assign, best_mprev, best_mnext, best_mfirst, tabu, st):
    """Run `iters` tabu iterations from the current state. st = [iteration, best makespan,
    current makespan, last improvement iteration, tenure min, tenure span, stall limit,
    restart moves, moves evaluated exactly]; the best state is kept in best_*. Returns the
    best makespan."""
    np.random.seed(seed)
    n = jp.shape[0]
    M = mfirst.shape[0]
    r = np.zeros(n, np.int64)
    q = np.zeros(n, np.int64)
    topo = np.zeros(n, np.int64)
    indeg = np.zeros(n, np.int64)
    queue = np.zeros(n, np.int64)
    topk = st[8]
    stall = st[6]
    cand_v = np.zeros(topk, np.int64)
    cand_k = np.zeros(topk, np.int64)
    cand_u = np.zeros(topk, np.int64)
    cand_e = np.zeros(topk, np.int64)
    it = st[0]
    best = st[1]
    end_it = it + iters
    while it < end_it:
        it += 1
        cur = _heads(jp, js, mprev, mnext, d, rel, r, topo, indeg, queue)
        _tails(js, mnext, d, q, topo)
        if cur < 0 or it - st[3] > stall:  # (moves are checked: a cycle is not expected)
            # restart from the best plan with a few random acyclic moves
            for i in range(n):
                assign[i] = best_assign[i]
                mprev[i] = best_mprev[i]
                mnext[i] = best_mnext[i]
                d[i] = dur[i, assign[i]]
            for m in range(M):
                mfirst[m] = best_mfirst[m]
            for _kick in range(st[7]):
                v = np.random.randint(0, n)
                m_ok = 0
                for m in range(M):
                    if dur[v, m] >= 0:
                        m_ok += 1
                pick = np.random.randint(0, m_ok)
                k = -1
                for m in range(M):
                    if dur[v, m] >= 0:
                        if pick == 0:
                            k = m
                            break
                        pick -= 1
                # a random position on k: walk from the first
                steps = np.random.randint(0, n // M + 2)
                u = -1
                w = mfirst[k]
                while steps > 0 and w >= 0:
                    if w != v:
                        u = w
                    w = mnext[w]
                    steps -= 1
                if u == v:
                    continue
                a, pu = _move(v, k, u, assign, mprev, mnext, mfirst, d, dur)
                if _heads(jp, js, mprev, mnext, d, rel, r, topo, indeg, queue) < 0:
                    _move(v, a, pu, assign, mprev, mnext, mfirst, d, dur)
            st[3] = it
            cur = _heads(jp, js, mprev, mnext, d, rel, r, topo, indeg, queue)
            _tails(js, mnext, d, q, topo)
        nc = 0
        for v in range(n):
            if r[v] + d[v] + q[v] != cur:
                continue  # only critical operations can shorten the makespan
            a = assign[v]
            hj = rel[v]
            if jp[v] >= 0:
                hj = max(hj, r[jp[v]] + d[jp[v]])
            tj = 0
            if js[v] >= 0:
                tj = d[js[v]] + q[js[v]]
            jsr = -1  # finish of the job successor: no machine predecessor may start after
            if js[v] >= 0:
                jsr = r[js[v]] + d[js[v]]
            jpr = -1
            if jp[v] >= 0:
                jpr = r[jp[v]]
            for k in range(M):
                dk = dur[v, k]
                if dk < 0:
                    continue
                u = -1
                w = mfirst[k]
                if w == v:
                    w = mnext[w]
                while True:
                    # candidate: v between u and w on k
                    ok = True
                    if k == a and u == mprev[v]:
                        ok = False
                    # acyclic for sure: u cannot follow v's job successor, w cannot
                    # precede v's job predecessor
                    if ok and u >= 0 and jsr >= 0 and (u == js[v] or r[u] >= jsr):
                        ok = False
                    if ok and w >= 0 and jpr >= 0 and (w == jp[v] or r[w] + d[w] <= jpr):
                        ok = False
                    if ok:
                        hm = 0
                        if u >= 0:
                            hm = r[u] + d[u]
                        tm = 0
                        if w >= 0:
                            tm = d[w] + q[w]
                        est = max(hj, hm) + dk + max(tj, tm)
                        key = u if u >= 0 else n + k
                        if tabu[v, key] > it and est >= best:
                            ok = False
                        if ok:
                            # keep the TOP_K smallest estimates (random tie-break)
                            if nc < topk:
                                pos = nc
                                nc += 1
                            else:
                                pos = -1
                                worst = -1
                                for c in range(topk):
                                    if cand_e[c] > worst:
                                        worst = cand_e[c]
                                        pos = c
                                if est > worst or (est == worst
                                                   and np.random.randint(0, 2) == 0):
                                    pos = -1
                            if pos >= 0:
                                cand_v[pos] = v
                                cand_k[pos] = k
                                cand_u[pos] = u
                                cand_e[pos] = est
                    if w < 0:
                        break
                    u = w
                    w = mnext[w]
                    if w == v:
                        w = mnext[w]
        if nc == 0:
            st[3] = it - stall - 1  # nothing allowed: force a restart next iteration
            continue
        # exact evaluation of the shortlisted moves
        bv = -1
        bk = -1
        bu = -1
        bval = -1
        for c in range(nc):
            v = cand_v[c]
            a, pu = _move(v, cand_k[c], cand_u[c], assign, mprev, mnext, mfirst, d, dur)
            val = _heads(jp, js, mprev, mnext, d, rel, r, topo, indeg, queue)
            _move(v, a, pu, assign, mprev, mnext, mfirst, d, dur)
            if val < 0:
                continue
            key = cand_u[c] if cand_u[c] >= 0 else n + cand_k[c]
            if tabu[v, key] > it and val >= best:
                continue
            if bval < 0 or val < bval or (val == bval and np.random.randint(0, 2) == 0):
                bv = v
                bk = cand_k[c]
                bu = cand_u[c]
                bval = val
        if bv < 0:
            st[3] = it - stall - 1
            continue
        a, pu = _move(bv, bk, bu, assign, mprev, mnext, mfirst, d, dur)
        key = pu if pu >= 0 else n + a
        tabu[bv, key] = it + st[4] + np.random.randint(0, st[5] + 1)
        if bval < best:
            best = bval
            st[3] = it
            for i in range(n):
                best_assign[i] = assign[i]
                best_mprev[i] = mprev[i]
                best_mnext[i] = mnext[i]
            for m in range(M):
                best_mfirst[m] = mfirst[m]
    st[0] = it
    st[1] = best
    return best


@dataclass
class ShopSearch:
    """One tabu search over a pure shop, resumable in slices of iterations."""

    keys: list[tuple[int, int]]
    jp: np.ndarray
    js: np.ndarray
    rel: np.ndarray
    dur: np.ndarray
    assign: np.ndarray
    mprev: np.ndarray
    mnext: np.ndarray
    mfirst: np.ndarray
    d: np.ndarray
    best_assign: np.ndarray
    best_mprev: np.ndarray
    best_mnext: np.ndarray
    best_mfirst: np.ndarray
    tabu: np.ndarray
    st: np.ndarray
    seed: int

    @classmethod
    def start(cls, problem: Problem, candidates: list[int], placements: Placements,
              seed: int) -> ShopSearch:
        p = problem
        keys = [(j, k) for j in candidates for k in range(len(p.orders[j].operations))]
        index = {key: i for i, key in enumerate(keys)}
        n, M = len(keys), len(p.machines)
        jp = np.full(n, -1, np.int64)
        js = np.full(n, -1, np.int64)
        rel = np.zeros(n, np.int64)
        dur = np.full((n, M), -1, np.int64)
        for i, (j, k) in enumerate(keys):
            if k > 0:
                jp[i] = index[(j, k - 1)]
            if (j, k + 1) in index:
                js[i] = index[(j, k + 1)]
            rel[i] = int(p.orders[j].release)
            for o in p.options(j, k):
                if dur[i, o.m] < 0 or o.duration < dur[i, o.m]:
                    dur[i, o.m] = int(o.duration)
        assign = np.array([placements[key][0] for key in keys], np.int64)
        d = dur[np.arange(n), assign].copy()
        mprev = np.full(n, -1, np.int64)
        mnext = np.full(n, -1, np.int64)
        mfirst = np.full(M, -1, np.int64)
        by_m: dict[int, list[tuple[int, int, int]]] = {}
        for i, key in enumerate(keys):
            mi, s, e = placements[key]
            by_m.setdefault(mi, []).append((s, e, i))
        for mi, seq in by_m.items():
            seq.sort()
            mfirst[mi] = seq[0][2]
            for (_s, _e, a), (_s2, _e2, b) in zip(seq, seq[1:], strict=False):
                mnext[a] = b
                mprev[b] = a
        tenure_min = 2 + n // max(1, M)
        st = np.array([0, 0, 0, 0, tenure_min, max(2, tenure_min), STALL, KICK_MOVES, TOP_K],
                      np.int64)
        r = np.zeros(n, np.int64)
        q = np.zeros(n, np.int64)
        topo = np.zeros(n, np.int64)
        tmp = np.zeros(n, np.int64)
        queue = np.zeros(n, np.int64)
        cmax = _heads(jp, js, mprev, mnext, d, rel, r, topo, tmp, queue)
        if cmax < 0:
            raise ValueError("the start plan's machine sequences contain a cycle")
        _tails(js, mnext, d, q, topo)
        st[1] = st[2] = cmax
        return cls(keys, jp, js, rel, dur, assign, mprev, mnext, mfirst, d,
                   assign.copy(), mprev.copy(), mnext.copy(), mfirst.copy(),
                   np.zeros((n, n + M), np.int64), st, seed)

    @property
    def best(self) -> int:
        return int(self.st[1])

    @property
    def iterations(self) -> int:
        return int(self.st[0])

    def run(self, iters: int) -> int:
        """Run `iters` more iterations (each slice re-seeds from seed and position, so the
        result depends only on the seed and the total count)."""
        return int(_search(int(iters), self.seed * 1_000_003 + self.iterations, self.jp,
                           self.js, self.rel, self.dur, self.assign, self.mprev, self.mnext,
                           self.mfirst, self.d, self.best_assign, self.best_mprev,
                           self.best_mnext, self.best_mfirst, self.tabu, self.st))

    def best_placements(self) -> Placements:
        """The best plan found, every operation at its earliest start."""
        n = len(self.keys)
        d = self.dur[np.arange(n), self.best_assign].copy()
        r = np.zeros(n, np.int64)
        topo = np.zeros(n, np.int64)
        tmp = np.zeros(n, np.int64)
        queue = np.zeros(n, np.int64)
        cmax = _heads(self.jp, self.js, self.best_mprev, self.best_mnext, d, self.rel, r,
                      topo, tmp, queue)
        assert cmax >= 0
        return {key: (int(self.best_assign[i]), int(r[i]), int(r[i] + d[i]))
                for i, key in enumerate(self.keys)}


def tabu_search(problem: Problem, candidates: list[int], placements: Placements,
                seconds: float | None = None, iterations: int | None = None, seed: int = 0,
                threads: int = 1, slice_iters: int = 2000) -> tuple[Placements, int, int]:
    """Improve a pure-shop plan; returns (placements, makespan, iterations done).

    With `iterations` the run is repeatable (each of `threads` searches does that many,
    seeds seed, seed+1, ...); with `seconds` it stops on the wall clock. The searches run in
    threads without the GIL when numba is present; the best plan wins (lowest thread on ties).
    """
    searches = [ShopSearch.start(problem, candidates, placements, seed + t)
                for t in range(max(1, threads))]
    deadline = time.monotonic() + seconds if seconds is not None else None

    def work(s: ShopSearch) -> None:
        while True:
            if iterations is not None:
                todo = min(slice_iters, iterations - s.iterations)
                if todo <= 0:
                    return
            else:
                todo = slice_iters
            if deadline is not None and time.monotonic() >= deadline:
                return
            s.run(todo)

    if len(searches) == 1:
        work(searches[0])
    else:
        ts = [threading.Thread(target=work, args=(s,)) for s in searches]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    win = min(searches, key=lambda s: s.best)
    done = sum(s.iterations for s in searches)
    # Zero-minute work holds no machine time, so the start may have it inside another
    # operation's span, which machine sequences cannot express: never return worse than it.
    mine = {key: v for key, v in placements.items() if key[0] in set(candidates)}
    start = max((e for _m, _s, e in mine.values()), default=0)
    if win.best > start:
        return mine, start, done
    return win.best_placements(), win.best, done
