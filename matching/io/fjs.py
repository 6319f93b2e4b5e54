"""Loader of flexible job shop benchmark files (.fjs) as yunzao.problem/1 makespan problems.

Format (see ../shared/benchmarks/fjsp/README.md): line 1 `jobs machines flexibility`, then
one line per job: the number of operations, then per operation `k` and `k` pairs
`machine time` with machines numbered from 1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["load_fjs", "parse_fjs"]

FJS_UNSERVED_PENALTY = 10**9  # leaving a job out must never pay on a makespan objective


def _ints(text: str, lineno: int) -> list[int]:
    try:
        return [int(tok) for tok in text.split()]
    except ValueError:
        raise ValueError(f"line {lineno}: expected integers, got {text.strip()!r}") from None


def parse_fjs(text: str, name: str = "fjs") -> dict[str, Any]:
    """Parse the text of an .fjs file; ValueError naming the line on a malformed file."""
    # blank lines carry nothing; keep the original numbers for messages
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if not lines:
        raise ValueError("line 1: empty file, expected 'jobs machines [flexibility]'")
    n0, head_text = lines[0]
    head_toks = head_text.split()
    if len(head_toks) < 2:
        raise ValueError(f"line {n0}: expected 'jobs machines [flexibility]', got {head_text!r}")
    # only two integers: the third number (average flexibility) is often a decimal and is
    # not reliable anyway (the Dauzere-Peres files write 1)
    n_jobs, n_machines = _ints(" ".join(head_toks[:2]), n0)
    if n_jobs < 1 or n_machines < 1:
        raise ValueError(f"line {n0}: jobs and machines must be positive, got {n_jobs}, "
                         f"{n_machines}")
    if len(lines) - 1 < n_jobs:
        last = lines[-1][0]
        raise ValueError(f"line {last + 1}: file ends after {len(lines) - 1} of {n_jobs} jobs")
    if len(lines) - 1 > n_jobs:
        extra = lines[n_jobs + 1][0]
        raise ValueError(f"line {extra}: unexpected content after the {n_jobs} jobs")

    machine_ids = [f"m{i}" for i in range(1, n_machines + 1)]
    orders: list[dict[str, Any]] = []
    horizon = 0
    for j, (lineno, job_text) in enumerate(lines[1:], start=1):
        toks = _ints(job_text, lineno)
        n_ops, pos = toks[0], 1
        if n_ops < 1:
            raise ValueError(f"line {lineno}: job {j} must have at least one operation")
        ops: list[dict[str, Any]] = []
        for k in range(1, n_ops + 1):
            if pos >= len(toks):
                raise ValueError(f"line {lineno}: job {j} ends before operation {k} of {n_ops}")
            n_alt = toks[pos]
            pos += 1
            if n_alt < 1:
                raise ValueError(f"line {lineno}: job {j} operation {k} has {n_alt} machines")
            if pos + 2 * n_alt > len(toks):
                raise ValueError(f"line {lineno}: job {j} operation {k} lists {n_alt} machines "
                                 f"but the line ends first")
            alts: list[dict[str, Any]] = []
            seen: set[int] = set()
            for _ in range(n_alt):
                m, minutes = toks[pos], toks[pos + 1]
                pos += 2
                if not 1 <= m <= n_machines:
                    raise ValueError(f"line {lineno}: job {j} operation {k} names machine {m}, "
                                     f"outside 1..{n_machines}")
                if minutes < 0:
                    raise ValueError(f"line {lineno}: job {j} operation {k} has negative time "
                                     f"{minutes}")
                if m in seen:
                    raise ValueError(f"line {lineno}: job {j} operation {k} lists machine {m} "
                                     f"twice")
                seen.add(m)
                alts.append({"machine": f"m{m}", "minutes": minutes, "cost": 0})
            horizon += max(a["minutes"] for a in alts)
            ops.append({"id": f"j{j}-{k}", "alternatives": alts})
        if pos != len(toks):
            raise ValueError(f"line {lineno}: job {j} has {len(toks) - pos} numbers left over "
                             f"after its {n_ops} operations")
        orders.append({"id": f"j{j}", "quantity": 1, "release": 0,
                       "late_penalty_per_minute": 0, "unserved_penalty": FJS_UNSERVED_PENALTY,
                       "operations": ops})

    # all operations back to back on their slowest machine: a schedule always fits
    return {
        "format": "yunzao.problem/1",
        "currency": "XXX",
        "objective": "makespan",
        "horizon": {"start": "2000-01-01T00:00:00Z", "minutes": horizon},
        "transport": {"speed_kmh": 60, "handling_minutes": 0, "cost_per_km": 0, "fixed_cost": 0},
        "plants": [{"id": "p1", "lat": 0, "lon": 0}],
        "machines": [{"id": mid, "plant": "p1", "capabilities": [], "windows": [[0, horizon]]}
                     for mid in machine_ids],
        "bookings": [],
        "orders": orders,
        "fjs_name": name,
    }


def load_fjs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load an .fjs file as a yunzao.problem/1 makespan problem with explicit alternatives."""
    p = Path(path)
    text = p.read_text(encoding="utf-8", errors="replace")
    try:
        return parse_fjs(text, name=p.stem)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None


def marketplace_form(d: dict[str, Any]) -> dict[str, Any]:
    """The same shop written as the marketplace writes problems (issue 17): every order
    delivered to a point at its plant with zero handling and cost (a zero leg), a due date
    without a late penalty, windows split into touching shifts that run past the horizon,
    an empty booking. Equivalent to `d`: the engine must give it the same plan."""
    import copy

    w = copy.deepcopy(d)
    H = w["horizon"]["minutes"]
    for o in w["orders"]:
        o["lat"], o["lon"] = w["plants"][0]["lat"], w["plants"][0]["lon"]
        o["due"] = 1
    for i, m in enumerate(w["machines"]):
        cut = min(H, 7 * (i + 1))
        m["windows"] = [[0, cut], [cut, H + 500]] if cut < H else [[0, H + 500]]
    w["bookings"] = [{"machine": w["machines"][0]["id"], "start": 3, "end": 3}]
    return w
