# Over 500 lines on purpose: every rule re-implemented independently of the model, in one file.
"""Independent checker of matching plans (yunzao.plan/1) against problems (yunzao.problem/1).

The rules are those of ../shared/MATCHING_FORMAT.md with the readings agreed in issue 3.
This module deliberately shares no helper with the model (its own haversine, its own window
arithmetic, its own eligibility rule): a bug in a shared helper would otherwise hide itself.
It must never raise on malformed input; every problem found becomes one message.

Readings beyond the format text (shared with the engine, decided in issue 3):
- several capabilities of one machine match an operation: the cheapest counts, then the
  shortest, then the first in list order (the plan does not name the capability, and the
  platform never charges more than the machine's cheapest matching rate);
- a missing `transport` (or `speed_kmh`) is 60 km/h, no handling, no cost; a plant without
  coordinates is 0 km from everything; an order without lat/lon has no delivery leg;
- missing `windows`: available over [0, horizon); missing `quantity`: 1;
- zero-duration work holds nothing and needs no window: any start in [0, horizon] (issue 17);
- an operation holds [start, end) with end as reported, and that end must equal the window
  rule's; objective and order figures are recomputed from the reported ends;
- a NO_SOLUTION plan has no assignments and no orders entries; nothing else is checked;
- every unserved entry carries a non-empty reason; money fields of the problem are integers.

Version 1.1 readings (shared with the engine):
- a tolerance or a size limit absent on either side (operation or capability) restricts
  nothing; a plant without `certifications` has none;
- risk (round(risk_cost * risk_per_mille / 1000) per served operation) and change cost are
  part of orders[].cost and of the `cost` objective (the makespan objective stays makespan);
- a fixed operation of a served order is exactly at its place; its end is the window rule's
  when its machine's windows hold the work from its start, else start + duration; it is
  exempt from windows, from the horizon bounds, from the release, and from precedence after
  fixed work (what happened is a fact); its time is held even when its order is unserved;
- an orders entry may carry `parts` (operations, transport, delivery, lateness, risk,
  change); when it does, each must be the recomputed one.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PROBLEM_FORMAT = "yunzao.problem/1"
PLAN_FORMAT = "yunzao.plan/1"
STATUSES = ("OPTIMAL", "FEASIBLE", "NO_SOLUTION")
OBJECTIVES = ("cost", "makespan")
EARTH_RADIUS_KM = 6371.0
DEFAULT_SPEED_KMH = 60.0

__all__ = ["validate", "recompute_objective"]


# --------------------------------------------------------------------------- small helpers


def _is_int(v: Any) -> bool:
    # bool is an int subclass in Python but never a meaningful minute or amount here
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    )


def _kind(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def _unwrap(x: Any) -> Any:
    """Accept objects with a .to_dict() (the engine's data classes) as well as plain dicts."""
    to_dict = getattr(x, "to_dict", None)
    if callable(to_dict) and not isinstance(x, dict):
        return to_dict()
    return x


def _great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    # clamp: rounding can push h a hair above 1 for antipodal points
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))


# --------------------------------------------------------------------------- parsed problem


@dataclass
class _Transport:
    speed_kmh: float
    handling: int
    cost_per_km: float
    fixed: int


@dataclass
class _Machine:
    id: str
    plant: str
    caps: list[dict[str, Any]]
    starts: list[int]
    ends: list[int]
    # cum[i] = window minutes before window i (len = windows + 1): lets the end of an
    # operation running across many windows be found with one bisect instead of a walk
    cum: list[int]


@dataclass
class _Op:
    id: str
    order: str
    process: str | None
    material: str | None
    minutes_per_unit: float
    alternatives: dict[str, tuple[int, int]] | None
    quantity: float | None = None
    tolerance: float | None = None
    fixed: tuple[str, int] | None = None
    previous: tuple[str, int] | None = None


@dataclass
class _Order:
    id: str
    quantity: float
    release: int
    due: int | None
    lat: float | None
    lon: float | None
    late_penalty: int
    unserved_penalty: int
    ops: list[_Op] = field(default_factory=list)
    part_mm: float | None = None
    certifications: set[str] = field(default_factory=set)
    risk_cost: int = 0


@dataclass
class _Problem:
    objective: str
    horizon: int
    transport: _Transport
    plants: dict[str, tuple[float, float] | None]
    machines: dict[str, _Machine]
    bookings: dict[str, list[tuple[int, int, int]]]
    orders: dict[str, _Order]
    ops: dict[str, _Op]
    certifications: dict[str, set[str]] = field(default_factory=dict)  # per plant
    risk: dict[str, int] = field(default_factory=dict)  # risk_per_mille per plant
    change_cost: tuple[int, int] = (0, 0)  # moved, plant_changed


def _opt(d: dict[str, Any], key: str, default: Any) -> Any:
    v = d.get(key, default)
    return default if v is None else v


def _parse_problem(p: Any, errs: list[str]) -> _Problem | None:
    """Parse and check the problem; append one message per defect; None if unusable."""
    if not isinstance(p, dict):
        errs.append(f"problem is not an object (got {_kind(p)})")
        return None
    n0 = len(errs)
    if p.get("format") != PROBLEM_FORMAT:
        errs.append(f"problem format is {p.get('format')!r}, expected {PROBLEM_FORMAT!r}")
    objective = _opt(p, "objective", "cost")
    if objective not in OBJECTIVES:
        errs.append(f"problem objective is {objective!r}, expected one of {list(OBJECTIVES)}")
    if "currency" in p and not isinstance(p["currency"], str):
        errs.append(f"problem currency must be a string (got {_kind(p['currency'])})")

    horizon = 0
    hz = p.get("horizon")
    if not isinstance(hz, dict):
        errs.append(f"problem horizon must be an object (got {_kind(hz)})")
    else:
        if not _is_int(hz.get("minutes")) or hz["minutes"] < 0:
            errs.append(
                f"horizon minutes must be a non-negative integer (got {hz.get('minutes')!r})"
            )
        else:
            horizon = hz["minutes"]
        start = hz.get("start")
        try:
            datetime.fromisoformat(start.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            errs.append(f"horizon start {start!r} is not an ISO 8601 date-time")

    # reading: a missing `transport` (or speed) is 60 km/h with no handling and no cost
    transport = _Transport(DEFAULT_SPEED_KMH, 0, 0.0, 0)
    tr = p.get("transport")
    if tr is not None:
        if not isinstance(tr, dict):
            errs.append(f"problem transport must be an object (got {_kind(tr)})")
        else:
            speed = _opt(tr, "speed_kmh", DEFAULT_SPEED_KMH)
            handling = _opt(tr, "handling_minutes", 0)
            cpk = _opt(tr, "cost_per_km", 0)
            fixed = _opt(tr, "fixed_cost", 0)
            ok = True
            if not _is_num(speed) or speed <= 0:
                errs.append(f"transport speed_kmh must be a positive number (got {speed!r})")
                ok = False
            if not _is_int(handling) or handling < 0:
                errs.append(f"transport handling_minutes must be a non-negative integer "
                            f"(got {handling!r})")
                ok = False
            if not _is_num(cpk) or cpk < 0:
                errs.append(f"transport cost_per_km must be a non-negative number (got {cpk!r})")
                ok = False
            if not _is_int(fixed) or fixed < 0:
                errs.append(f"transport fixed_cost must be a non-negative integer (got {fixed!r})")
                ok = False
            if ok:
                transport = _Transport(float(speed), handling, float(cpk), fixed)

    plants: dict[str, tuple[float, float] | None] = {}
    plant_certs: dict[str, set[str]] = {}
    plant_risk: dict[str, int] = {}
    raw_plants = p.get("plants")
    if not isinstance(raw_plants, list):
        errs.append(f"problem plants must be a list (got {_kind(raw_plants)})")
        raw_plants = []
    for i, pl in enumerate(raw_plants):
        if not isinstance(pl, dict) or not isinstance(pl.get("id"), str):
            errs.append(f"plant #{i} must be an object with a string id")
            continue
        pid, lat, lon = pl["id"], pl.get("lat"), pl.get("lon")
        if pid in plants:
            errs.append(f"plant id {pid} appears twice")
        certs, per_mille = _opt(pl, "certifications", []), _opt(pl, "risk_per_mille", 0)
        if not isinstance(certs, list) or not all(isinstance(c, str) for c in certs):
            errs.append(f"plant {pid} certifications must be a list of strings")
        else:
            plant_certs[pid] = set(certs)
        if not _is_int(per_mille) or not 0 <= per_mille <= 1000:
            errs.append(f"plant {pid} risk_per_mille must be an integer 0..1000 "
                        f"(got {per_mille!r})")
        else:
            plant_risk[pid] = per_mille
        if lat is None and lon is None:
            plants[pid] = None  # reading: legs from/to it have 0 km (handling, fixed cost)
            continue
        if not _is_num(lat) or not -90 <= lat <= 90 or not _is_num(lon) or not -180 <= lon <= 180:
            errs.append(f"plant {pid} has invalid coordinates lat={lat!r} lon={lon!r}")
            continue
        plants[pid] = (float(lat), float(lon))

    machines: dict[str, _Machine] = {}
    raw_machines = p.get("machines")
    if not isinstance(raw_machines, list):
        errs.append(f"problem machines must be a list (got {_kind(raw_machines)})")
        raw_machines = []
    for i, m in enumerate(raw_machines):
        mach = _parse_machine(i, m, plants, horizon, errs)
        if mach is None:
            continue
        if mach.id in machines:
            errs.append(f"machine id {mach.id} appears twice")
        machines[mach.id] = mach

    bookings: dict[str, list[tuple[int, int, int]]] = {}
    raw_bookings = _opt(p, "bookings", [])
    if not isinstance(raw_bookings, list):
        errs.append(f"problem bookings must be a list (got {_kind(raw_bookings)})")
        raw_bookings = []
    for i, b in enumerate(raw_bookings):
        if not isinstance(b, dict):
            errs.append(f"booking #{i} is not an object")
            continue
        mid, s, e = b.get("machine"), b.get("start"), b.get("end")
        if not isinstance(mid, str) or mid not in machines:
            errs.append(f"booking #{i} names unknown machine {mid!r}")
            continue
        if not _is_int(s) or not _is_int(e) or e < s:
            errs.append(f"booking #{i} on machine {mid} needs integer start <= end "
                        f"(got {s!r}, {e!r})")
            continue
        bookings.setdefault(mid, []).append((s, e, i))

    orders: dict[str, _Order] = {}
    ops: dict[str, _Op] = {}
    raw_orders = p.get("orders")
    if not isinstance(raw_orders, list):
        errs.append(f"problem orders must be a list (got {_kind(raw_orders)})")
        raw_orders = []
    for i, o in enumerate(raw_orders):
        order = _parse_order(i, o, machines, errs)
        if order is None:
            continue
        if order.id in orders:
            errs.append(f"order id {order.id} appears twice")
            continue
        orders[order.id] = order
        for op in order.ops:
            if op.id in ops:
                errs.append(f"operation id {op.id} appears twice")
            ops[op.id] = op

    change = (0, 0)
    cc = p.get("change_cost")
    if cc is not None:
        moved, plant_changed = (_opt(cc, "moved", 0), _opt(cc, "plant_changed", 0)) \
            if isinstance(cc, dict) else (None, None)
        if not _is_int(moved) or not _is_int(plant_changed) or moved < 0 or plant_changed < 0:
            errs.append(f"change_cost must be an object of non-negative integers moved and "
                        f"plant_changed (got {cc!r})")
        else:
            change = (moved, plant_changed)

    if len(errs) > n0:
        return None
    return _Problem(objective, horizon, transport, plants, machines, bookings, orders, ops,
                    plant_certs, plant_risk, change)


def _parse_machine(
    i: int, m: Any, plants: dict[str, Any], horizon: int, errs: list[str]
) -> _Machine | None:
    if not isinstance(m, dict) or not isinstance(m.get("id"), str):
        errs.append(f"machine #{i} must be an object with a string id")
        return None
    mid = m["id"]
    if not isinstance(m.get("plant"), str) or m["plant"] not in plants:
        errs.append(f"machine {mid} is in unknown plant {m.get('plant')!r}")
        return None
    caps = _opt(m, "capabilities", [])
    good_caps: list[dict[str, Any]] = []
    if not isinstance(caps, list):
        errs.append(f"machine {mid} capabilities must be a list")
        caps = []
    for j, c in enumerate(caps):
        where = f"machine {mid} capability #{j}"
        if not isinstance(c, dict) or not isinstance(c.get("process"), str):
            errs.append(f"{where} must be an object with a string process")
            continue
        mats = _opt(c, "materials", [])
        rate = _opt(c, "rate_per_hour", 0)
        setup = _opt(c, "setup_minutes", 0)
        speed = _opt(c, "speed", 1.0)
        if not isinstance(mats, list) or not all(isinstance(x, str) for x in mats):
            errs.append(f"{where} materials must be a list of strings")
        elif not _is_num(rate) or rate < 0:
            errs.append(f"{where} rate_per_hour must be a non-negative number (got {rate!r})")
        elif not _is_int(setup) or setup < 0:
            errs.append(f"{where} setup_minutes must be a non-negative integer (got {setup!r})")
        elif not _is_num(speed) or speed <= 0:
            errs.append(f"{where} speed must be a positive number (got {speed!r})")
        elif not all(c.get(k) is None or (_is_num(c[k]) and c[k] >= 0)
                     for k in ("tolerance_mm", "max_part_mm")):
            errs.append(f"{where} tolerance_mm and max_part_mm must be non-negative numbers")
        else:
            good_caps.append({"process": c["process"], "materials": set(mats), "rate": rate,
                              "setup": setup, "speed": speed,
                              "tolerance": c.get("tolerance_mm"),
                              "max_part": c.get("max_part_mm")})
    wins = m.get("windows")
    if wins is None:
        wins = [[0, horizon]]  # extension: no windows = available over the whole horizon
    starts: list[int] = []
    ends: list[int] = []
    if not isinstance(wins, list):
        errs.append(f"machine {mid} windows must be a list")
        return None
    for j, w in enumerate(wins):
        if (not isinstance(w, (list, tuple)) or len(w) != 2 or not _is_int(w[0])
                or not _is_int(w[1]) or w[1] < w[0]):
            errs.append(f"machine {mid} window #{j} must be [start, end] integers, start <= end "
                        f"(got {w!r})")
            return None
        if ends and w[0] < ends[-1]:
            errs.append(f"machine {mid} windows are not sorted and disjoint: {list(w)} "
                        f"after [{starts[-1]}, {ends[-1]}]")
            return None
        starts.append(w[0])
        ends.append(w[1])
    cum = [0]
    for a, b in zip(starts, ends, strict=True):
        cum.append(cum[-1] + b - a)
    return _Machine(mid, m["plant"], good_caps, starts, ends, cum)


def _parse_order(i: int, o: Any, machines: dict[str, _Machine], errs: list[str]) -> _Order | None:
    if not isinstance(o, dict) or not isinstance(o.get("id"), str):
        errs.append(f"order #{i} must be an object with a string id")
        return None
    oid = o["id"]
    n0 = len(errs)
    qty = _opt(o, "quantity", 1)  # reading: missing quantity is 1 (as .fjs orders have)
    release = _opt(o, "release", 0)
    due = o.get("due")
    lat, lon = o.get("lat"), o.get("lon")
    late = _opt(o, "late_penalty_per_minute", 0)
    unserved = _opt(o, "unserved_penalty", 0)
    if not _is_num(qty) or qty < 0:
        errs.append(f"order {oid} quantity must be a non-negative number (got {qty!r})")
    if not _is_int(release):
        errs.append(f"order {oid} release must be an integer (got {release!r})")
    if due is not None and not _is_int(due):
        errs.append(f"order {oid} due must be an integer or null (got {due!r})")
    if (lat is None) != (lon is None):
        errs.append(f"order {oid} must give both lat and lon or neither")
    elif lat is not None and (not _is_num(lat) or not -90 <= lat <= 90
                              or not _is_num(lon) or not -180 <= lon <= 180):
        errs.append(f"order {oid} has invalid coordinates lat={lat!r} lon={lon!r}")
    if not _is_int(late) or late < 0:
        errs.append(f"order {oid} late_penalty_per_minute must be a non-negative integer "
                    f"(got {late!r})")
    if not _is_int(unserved) or unserved < 0:
        errs.append(f"order {oid} unserved_penalty must be a non-negative integer "
                    f"(got {unserved!r})")
    raw_ops = o.get("operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        errs.append(f"order {oid} must have a non-empty list of operations")
        raw_ops = []
    order = _Order(oid, qty, release, due, lat, lon, late, unserved)
    size, certs, risk_cost = o.get("part_size_mm"), _opt(o, "certifications", []), \
        _opt(o, "risk_cost", 0)
    if size is not None and (not isinstance(size, list) or not size
                             or not all(_is_num(x) and x >= 0 for x in size)):
        errs.append(f"order {oid} part_size_mm must be a list of non-negative numbers")
    elif size:
        order.part_mm = max(size)
    if not isinstance(certs, list) or not all(isinstance(c, str) for c in certs):
        errs.append(f"order {oid} certifications must be a list of strings")
    else:
        order.certifications = set(certs)
    if not _is_int(risk_cost) or risk_cost < 0:
        errs.append(f"order {oid} risk_cost must be a non-negative integer (got {risk_cost!r})")
    else:
        order.risk_cost = risk_cost
    for j, op in enumerate(raw_ops):
        parsed = _parse_op(oid, j, op, machines, errs)
        if parsed is not None:
            order.ops.append(parsed)
    return order if len(errs) == n0 else None


def _parse_op(
    oid: str, j: int, op: Any, machines: dict[str, _Machine], errs: list[str]
) -> _Op | None:
    if not isinstance(op, dict) or not isinstance(op.get("id"), str):
        errs.append(f"order {oid} operation #{j} must be an object with a string id")
        return None
    got = _parse_op_core(oid, op, machines, errs)
    if got is None:
        return None
    opid = op["id"]
    qty, tol = op.get("quantity"), op.get("tolerance_mm")
    if qty is not None and (not _is_num(qty) or qty < 0):
        errs.append(f"operation {opid} quantity must be a non-negative number (got {qty!r})")
        return None
    if tol is not None and (not _is_num(tol) or tol < 0):
        errs.append(f"operation {opid} tolerance_mm must be a non-negative number (got {tol!r})")
        return None
    got.quantity, got.tolerance = qty, tol
    for key in ("fixed", "previous"):
        place = op.get(key)
        if place is None:
            continue
        if (not isinstance(place, dict) or not isinstance(place.get("machine"), str)
                or place["machine"] not in machines or not _is_int(place.get("start"))):
            errs.append(f"operation {opid} {key} must name a known machine and an integer "
                        f"start (got {place!r})")
            return None
        setattr(got, key, (place["machine"], place["start"]))
    return got


def _parse_op_core(
    oid: str, op: dict[str, Any], machines: dict[str, _Machine], errs: list[str]
) -> _Op | None:
    opid = op["id"]
    alts = op.get("alternatives")
    if alts is not None:
        if not isinstance(alts, list):
            errs.append(f"operation {opid} alternatives must be a list")
            return None
        table: dict[str, tuple[int, int]] = {}
        for k, a in enumerate(alts):
            if not isinstance(a, dict) or not isinstance(a.get("machine"), str) \
                    or a["machine"] not in machines:
                errs.append(f"operation {opid} alternative #{k} names unknown machine "
                            f"{a.get('machine') if isinstance(a, dict) else a!r}")
                return None
            minutes, cost = a.get("minutes"), _opt(a, "cost", 0)
            if not _is_int(minutes) or minutes < 0 or not _is_int(cost) or cost < 0:
                errs.append(f"operation {opid} alternative on {a['machine']} needs non-negative "
                            f"integer minutes and cost (got {minutes!r}, {cost!r})")
                return None
            # first listing of a machine wins, like the first matching capability
            table.setdefault(a["machine"], (minutes, cost))
        return _Op(opid, oid, None, None, 0.0, table)
    process, material, mpu = op.get("process"), op.get("material"), op.get("minutes_per_unit")
    if not isinstance(process, str):
        errs.append(f"operation {opid} needs a string process or a list of alternatives")
        return None
    if material is not None and not isinstance(material, str):
        errs.append(f"operation {opid} material must be a string (got {material!r})")
        return None
    if not _is_num(mpu) or mpu < 0:
        errs.append(f"operation {opid} minutes_per_unit must be a non-negative number "
                    f"(got {mpu!r})")
        return None
    return _Op(opid, oid, process, material, float(mpu), None)


# --------------------------------------------------------------------------- the rules


def _work(prob: _Problem, op: _Op, mid: str) -> tuple[int, int] | None:
    """(duration, machine cost) of op on machine mid, or None when the machine is not
    eligible (process, material, tolerance, part size, the plant's certifications)."""
    order = prob.orders[op.order]
    if not order.certifications <= prob.certifications.get(prob.machines[mid].plant, set()):
        return None
    if op.alternatives is not None:
        return op.alternatives.get(mid)
    qty = order.quantity if op.quantity is None else op.quantity
    best: tuple[int, int] | None = None  # (cost, duration)
    for c in prob.machines[mid].caps:
        if c["process"] != op.process:
            continue
        if c["materials"] and op.material not in c["materials"]:
            continue
        if op.tolerance is not None and c["tolerance"] is not None \
                and c["tolerance"] > op.tolerance:
            continue
        if order.part_mm is not None and c["max_part"] is not None \
                and order.part_mm > c["max_part"]:
            continue
        # round(.., 9) first so that 2.9999999999 from float noise does not become 3 + 1
        duration = c["setup"] + math.ceil(round(qty * op.minutes_per_unit / c["speed"], 9))
        cost = round(c["rate"] * duration / 60)
        if best is None or (cost, duration) < best:
            best = (cost, duration)
    return None if best is None else (best[1], best[0])


def _why_not(prob: _Problem, op: _Op, mid: str) -> str:
    """Why machine mid is not eligible for op (the first rule it breaks)."""
    order, machine = prob.orders[op.order], prob.machines[mid]
    missing = sorted(order.certifications - prob.certifications.get(machine.plant, set()))
    if missing:
        return f"whose plant {machine.plant} lacks certification {', '.join(missing)}"
    if op.alternatives is not None:
        return f"which is not among its alternatives {sorted(op.alternatives)}"
    caps = [c for c in machine.caps if c["process"] == op.process
            and (not c["materials"] or op.material in c["materials"])]
    if not caps:
        return f"which has no capability for process {op.process} on material {op.material}"
    caps = [c for c in caps if op.tolerance is None or c["tolerance"] is None
            or c["tolerance"] <= op.tolerance]
    if not caps:
        return f"which does not hold tolerance {op.tolerance:g} mm for {op.process}"
    return f"which does not take a part of {order.part_mm:g} mm for {op.process}"


def _finish(m: _Machine, start: int, duration: int) -> tuple[bool, int | None]:
    """(start is inside a window, end by the window rule or None if the windows run out).
    Zero-duration work holds nothing and needs no window (the horizon is checked apart)."""
    if duration == 0:
        return True, start
    i = bisect_right(m.starts, start) - 1
    if i < 0 or start >= m.ends[i]:
        return False, None
    # window minutes before `start`, plus the work: the end is where that total is reached
    target = m.cum[i] + (start - m.starts[i]) + duration
    k = bisect_left(m.cum, target)
    if k >= len(m.cum):
        return True, None
    j = k - 1  # cum[j] < target <= cum[j + 1]: the work completes inside window j
    return True, m.starts[j] + (target - m.cum[j])


def _leg(
    prob: _Problem, a: tuple[float, float] | None, b: tuple[float, float] | None
) -> tuple[int, int, float]:
    """(minutes, cost, km) of one transport leg between two different places."""
    km = 0.0 if a is None or b is None else _great_circle_km(a[0], a[1], b[0], b[1])
    t = prob.transport
    # round(.., 9): float noise must not push an exact whole number of minutes up by one
    minutes = t.handling + math.ceil(round(km / t.speed_kmh * 60, 9))
    return minutes, t.fixed + round(km * t.cost_per_km), km


def _plant_leg(prob: _Problem, pa: str, pb: str) -> tuple[int, int, float]:
    if pa == pb:
        return 0, 0, 0.0
    return _leg(prob, prob.plants[pa], prob.plants[pb])


def _order_figures(
    prob: _Problem, order: _Order, placed: dict[str, tuple[str, int, int]]
) -> tuple[int, int, int]:
    """(completion, lateness, cost) of a served order from the placements (reported ends)."""
    completion, lateness, parts = _order_parts(prob, order, placed)
    return completion, lateness, sum(parts.values())


def _moved_cost(prob: _Problem, op: _Op, mid: str, start: int) -> int:
    if op.previous is None or op.previous == (mid, start):
        return 0
    moved, plant_changed = prob.change_cost
    same = prob.machines[op.previous[0]].plant == prob.machines[mid].plant
    return moved + (0 if same else plant_changed)


def _order_parts(
    prob: _Problem, order: _Order, placed: dict[str, tuple[str, int, int]]
) -> tuple[int, int, dict[str, int]]:
    parts = {"operations": 0, "transport": 0, "delivery": 0, "lateness": 0, "risk": 0,
             "change": 0}
    prev_plant: str | None = None
    end = 0
    for op in order.ops:
        if op.id not in placed:
            raise ValueError(f"order {order.id} is partially served: operation {op.id} "
                             f"has no assignment")
        mid, start, end = placed[op.id]
        work = _work(prob, op, mid)
        if work is None:
            raise ValueError(f"operation {op.id} is not eligible on machine {mid}")
        plant = prob.machines[mid].plant
        parts["operations"] += work[1]
        parts["risk"] += round(order.risk_cost * prob.risk.get(plant, 0) / 1000)
        parts["change"] += _moved_cost(prob, op, mid, start)
        if prev_plant is not None:
            parts["transport"] += _plant_leg(prob, prev_plant, plant)[1]
        prev_plant = plant
    completion = end
    if order.lat is not None and prev_plant is not None:
        minutes, leg_cost, _ = _leg(prob, prob.plants[prev_plant], (order.lat, order.lon))
        completion += minutes
        parts["delivery"] = leg_cost
    lateness = max(0, completion - order.due) if order.due is not None else 0
    parts["lateness"] = order.late_penalty * lateness
    return completion, lateness, parts


def _objective(
    prob: _Problem, figures: dict[str, tuple[int, int, int]], served: set[str]
) -> int:
    unserved = sum(o.unserved_penalty for oid, o in prob.orders.items() if oid not in served)
    if prob.objective == "makespan":
        return max((f[0] for f in figures.values()), default=0) + unserved
    return sum(f[2] for f in figures.values()) + unserved


def _placements(prob: _Problem, assignments: list[Any]) -> dict[str, tuple[str, int, int]]:
    placed: dict[str, tuple[str, int, int]] = {}
    for i, a in enumerate(assignments):
        if not isinstance(a, dict):
            raise ValueError(f"assignment #{i} is not an object")
        opid, mid, s, e = a.get("operation"), a.get("machine"), a.get("start"), a.get("end")
        if not isinstance(opid, str) or opid not in prob.ops:
            raise ValueError(f"assignment #{i} names unknown operation {opid!r}")
        if not isinstance(mid, str) or mid not in prob.machines:
            raise ValueError(f"assignment #{i} names unknown machine {mid!r}")
        if not _is_int(s) or not _is_int(e):
            raise ValueError(f"assignment of {opid} needs integer start and end")
        if opid in placed:
            raise ValueError(f"operation {opid} is assigned twice")
        placed[opid] = (mid, s, e)
    return placed


def recompute_objective(problem: Any, plan: Any) -> int:
    """The objective of `plan` recomputed from `problem` and the plan's assignments.

    Uses the assignments' reported ends (their agreement with the window rule is checked by
    `validate`). Raises ValueError when the plan is too broken to evaluate.
    """
    errs: list[str] = []
    try:
        problem, plan = _unwrap(problem), _unwrap(plan)
    except Exception as exc:
        raise ValueError(f"to_dict() failed ({type(exc).__name__}: {exc})") from exc
    prob = _parse_problem(problem, errs)
    if prob is None:
        raise ValueError("problem is malformed: " + "; ".join(errs))
    if not isinstance(plan, dict) or not isinstance(plan.get("assignments"), list):
        raise ValueError("plan must be an object with a list of assignments")
    placed = _placements(prob, plan["assignments"])
    served = {prob.ops[opid].order for opid in placed}
    figures = {oid: _order_figures(prob, prob.orders[oid], placed) for oid in served}
    return _objective(prob, figures, served)


def validate(problem: Any, plan: Any) -> list[str]:
    """Every broken rule of `plan` against `problem`, one message each; [] when valid."""
    errs: list[str] = []
    try:
        _validate(problem, plan, errs)
    except Exception as exc:  # never raise: an unforeseen shape is a finding, not a crash
        errs.append(f"validator could not finish ({type(exc).__name__}: {exc})")
    return errs


def _list_field(plan: dict[str, Any], key: str, errs: list[str]) -> list[Any]:
    v = plan.get(key)
    if key not in plan:
        errs.append(f"plan has no {key} list")
        return []
    if not isinstance(v, list):
        errs.append(f"plan {key} must be a list (got {_kind(v)})")
        return []
    return v


def _validate(problem: Any, plan: Any, errs: list[str]) -> None:
    try:
        problem = _unwrap(problem)
    except Exception as exc:
        errs.append(f"problem.to_dict() failed ({type(exc).__name__}: {exc})")
        return
    try:
        plan = _unwrap(plan)
    except Exception as exc:
        errs.append(f"plan.to_dict() failed ({type(exc).__name__}: {exc})")
        return
    prob = _parse_problem(problem, errs)
    if not isinstance(plan, dict):
        errs.append(f"plan is not an object (got {_kind(plan)})")
        return
    if prob is None:
        return  # the plan cannot be judged against a broken problem

    if plan.get("format") != PLAN_FORMAT:
        errs.append(f"plan format is {plan.get('format')!r}, expected {PLAN_FORMAT!r}")
    status = plan.get("status")
    if status not in STATUSES:
        errs.append(f"plan status is {status!r}, expected one of {list(STATUSES)}")
    assignments = _list_field(plan, "assignments", errs)
    unserved_list = _list_field(plan, "unserved", errs)
    order_entries = _list_field(plan, "orders", errs)
    if "stats" in plan and plan["stats"] is not None and not isinstance(plan["stats"], dict):
        errs.append(f"plan stats must be an object (got {_kind(plan['stats'])})")

    if status == "NO_SOLUTION":
        # no plan at all: nothing is placed, and there is nothing further to recompute
        if assignments:
            errs.append(f"a NO_SOLUTION plan must have no assignments (it has {len(assignments)})")
        if order_entries:
            errs.append(f"a NO_SOLUTION plan must have no orders entries "
                        f"(it has {len(order_entries)})")
        return

    objective = plan.get("objective")
    bound = plan.get("bound")
    if not _is_num(objective):
        errs.append(f"plan objective must be a number (got {objective!r})")
        objective = None
    if bound is not None:
        if not _is_num(bound):
            errs.append(f"plan bound must be a number or null (got {bound!r})")
        elif objective is not None and bound > objective:
            errs.append(f"bound {bound} is above the objective {objective} (minimisation)")

    # --- assignments: ids, duplicates, eligibility, windows, horizon
    placed: dict[str, tuple[str, int, int]] = {}
    ineligible: set[str] = set()
    for i, a in enumerate(assignments):
        if not isinstance(a, dict):
            errs.append(f"assignment #{i} is not an object (got {_kind(a)})")
            continue
        opid, mid, s, e = a.get("operation"), a.get("machine"), a.get("start"), a.get("end")
        label = f"assignment #{i}"
        bad = False
        if not isinstance(opid, str) or opid not in prob.ops:
            errs.append(f"{label} names unknown operation {opid!r}")
            bad = True
        else:
            label = f"operation {opid}"
        if not isinstance(mid, str) or mid not in prob.machines:
            errs.append(f"{label} is assigned to unknown machine {mid!r}")
            bad = True
        if not _is_int(s) or not _is_int(e):
            errs.append(f"{label} needs integer start and end (got {s!r}, {e!r})")
            bad = True
        if bad:
            continue
        if opid in placed:
            first = placed[opid]
            errs.append(f"operation {opid} is assigned twice (on {first[0]} at {first[1]} "
                        f"and on {mid} at {s})")
            continue
        placed[opid] = (mid, s, e)
        op = prob.ops[opid]
        if op.fixed is not None and op.fixed != (mid, s):
            errs.append(f"operation {opid} is fixed on {op.fixed[0]} at {op.fixed[1]} but "
                        f"placed on {mid} at {s}")
        fixed_here = op.fixed == (mid, s)  # what happened: windows and horizon do not apply
        if s < 0 and not fixed_here:
            errs.append(f"operation {opid} on machine {mid} starts at {s}, before 0")
        if e > prob.horizon and not fixed_here:
            errs.append(f"operation {opid} on machine {mid} ends at {e}, after the horizon "
                        f"{prob.horizon}")
        if e < s:
            errs.append(f"operation {opid} on machine {mid} ends at {e}, before its start {s}")
        work = _work(prob, op, mid)
        if work is None:
            ineligible.add(opid)
            errs.append(f"operation {opid} is assigned to machine {mid}, "
                        f"{_why_not(prob, op, mid)}")
            continue
        machine = prob.machines[mid]
        inside, end = _finish(machine, s, work[0])
        if fixed_here:
            want = end if inside and end is not None else s + work[0]
            if e != want:
                errs.append(f"fixed operation {opid} on machine {mid} starts at {s} and needs "
                            f"{work[0]} minutes, so it ends at {want}, not {e}")
        elif not inside:
            errs.append(f"operation {opid} on machine {mid} starts at {s}, outside every window "
                        f"of {mid}")
        elif end is None:
            errs.append(f"operation {opid} on machine {mid} starting at {s} needs {work[0]} "
                        f"minutes of work but the windows of {mid} run out first")
        elif end != e:
            errs.append(f"operation {opid} on machine {mid} starts at {s} and needs {work[0]} "
                        f"window minutes, so it ends at {end}, not {e}")

    # --- no overlap of held spans per machine (operations and bookings); sort + sweep
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for mid, blist in prob.bookings.items():
        for s, e, i in blist:
            spans.setdefault(mid, []).append((s, e, f"booking #{i}"))
    for opid, (mid, s, e) in placed.items():
        spans.setdefault(mid, []).append((s, e, f"operation {opid}"))
    for opid, op in prob.ops.items():  # fixed work of unserved orders still holds its time
        if op.fixed is None or opid in placed or any(
                o.id in placed for o in prob.orders[op.order].ops):
            continue
        work = _work(prob, op, op.fixed[0])
        if work is not None:
            fm, fs = op.fixed
            inside, end = _finish(prob.machines[fm], fs, work[0])
            fe = end if inside and end is not None else fs + work[0]
            spans.setdefault(fm, []).append((fs, fe, f"fixed operation {opid}"))
    for mid in sorted(spans):
        reach: tuple[int, int, str] | None = None  # the span reaching furthest so far
        for s, e, what in sorted(spans[mid]):
            if e <= s:
                continue  # an empty span holds nothing
            if reach is not None and s < reach[1]:
                if reach[2].startswith("operation ") and what.startswith("operation "):
                    pair = f"operations {reach[2][10:]} and {what[10:]}"
                else:
                    pair = f"{reach[2]} and {what}"
                errs.append(f"{pair} overlap on machine {mid} ([{reach[0]}, {reach[1]}) and "
                            f"[{s}, {e}))")
            if reach is None or e > reach[1]:
                reach = (s, e, what)

    # --- orders: whole or nothing, release, precedence and transport lag
    served: set[str] = set()
    for oid, order in prob.orders.items():
        done = [op for op in order.ops if op.id in placed]
        if not done:
            continue
        served.add(oid)
        for op in order.ops:
            if op.id not in placed:
                errs.append(f"order {oid} is partially served: operation {op.id} has no "
                            f"assignment")
        first = order.ops[0]
        if first.id in placed and placed[first.id][1] < order.release and first.fixed is None:
            errs.append(f"operation {first.id} starts at {placed[first.id][1]}, before the "
                        f"release {order.release} of order {oid}")
        for prev, nxt in zip(order.ops, order.ops[1:], strict=False):
            if prev.id not in placed or nxt.id not in placed:
                continue
            if prev.fixed is not None and nxt.fixed is not None:
                continue  # both are facts
            pm, _, pe = placed[prev.id]
            nm, ns, _ = placed[nxt.id]
            lag = _plant_leg(prob, prob.machines[pm].plant, prob.machines[nm].plant)[0]
            if ns < pe + lag:
                if lag:
                    errs.append(f"operation {nxt.id} starts at {ns} before {prev.id} ends plus "
                                f"transport {lag} ({pe + lag})")
                else:
                    errs.append(f"operation {nxt.id} starts at {ns} before {prev.id} ends "
                                f"({pe})")

    # --- unserved list: every order is either served or listed unserved, never both
    listed: set[str] = set()
    for i, u in enumerate(unserved_list):
        if not isinstance(u, dict):
            errs.append(f"unserved entry #{i} is not an object (got {_kind(u)})")
            continue
        oid = u.get("order")
        if not isinstance(oid, str) or oid not in prob.orders:
            errs.append(f"unserved entry #{i} names unknown order {oid!r}")
            continue
        if oid in listed:
            errs.append(f"order {oid} is listed as unserved twice")
        listed.add(oid)
        if oid in served:
            errs.append(f"order {oid} is both served (it has assignments) and listed unserved")
        reason = u.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            errs.append(f"unserved order {oid} has no reason")
    for oid in prob.orders:
        if oid not in served and oid not in listed:
            errs.append(f"order {oid} is neither served nor listed unserved")

    # --- per-order figures and the objective
    figures: dict[str, tuple[int, int, int]] = {}
    for oid in served:
        order = prob.orders[oid]
        if any(op.id not in placed or op.id in ineligible for op in order.ops):
            continue  # already reported; its figures cannot be recomputed
        figures[oid] = _order_figures(prob, order, placed)
    seen: set[str] = set()
    for i, entry in enumerate(order_entries):
        if not isinstance(entry, dict):
            errs.append(f"orders entry #{i} is not an object (got {_kind(entry)})")
            continue
        oid = entry.get("order")
        if not isinstance(oid, str) or oid not in prob.orders:
            errs.append(f"orders entry #{i} names unknown order {oid!r}")
            continue
        if oid in seen:
            errs.append(f"order {oid} has more than one orders entry")
            continue
        seen.add(oid)
        if oid not in served:
            errs.append(f"order {oid} has an orders entry but is not served")
            continue
        if oid not in figures:
            continue
        for key, want in zip(("completion", "lateness", "cost"), figures[oid], strict=True):
            got = entry.get(key)
            if got != want or isinstance(got, bool):
                errs.append(f"order {oid} {key} is {got!r}, recomputed {want}")
        parts = entry.get("parts")
        if parts is not None:
            want_parts = _order_parts(prob, prob.orders[oid], placed)[2]
            if not isinstance(parts, dict):
                errs.append(f"order {oid} parts must be an object (got {_kind(parts)})")
            else:
                for key, want in want_parts.items():
                    if parts.get(key, 0) != want:
                        errs.append(f"order {oid} {key} cost is {parts.get(key)!r}, "
                                    f"recomputed {want}")
    for oid in sorted(served - seen):
        errs.append(f"served order {oid} has no orders entry")

    _check_changes(prob, plan, placed, errs)

    if objective is not None and len(figures) == len(served):
        recomputed = _objective(prob, figures, served)
        if objective != recomputed:
            errs.append(f"objective {objective} differs from the recomputed {recomputed}")


def _check_changes(prob: _Problem, plan: dict[str, Any],
                   placed: dict[str, tuple[str, int, int]], errs: list[str]) -> None:
    """`changes` lists exactly the placed operations with a previous place that moved."""
    want = {opid: (op.previous, placed[opid][:2]) for opid, op in prob.ops.items()
            if op.previous is not None and opid in placed and placed[opid][:2] != op.previous}
    raw = plan.get("changes", [])
    if not isinstance(raw, list):
        errs.append(f"plan changes must be a list (got {_kind(raw)})")
        return
    seen: set[str] = set()
    for i, c in enumerate(raw):
        opid = c.get("operation") if isinstance(c, dict) else None
        if opid not in want:
            errs.append(f"changes entry #{i} names {opid!r}, which did not move from a "
                        f"previous place")
            continue
        seen.add(opid)
        (pm, ps), (m, s) = want[opid]
        if c.get("from") != {"machine": pm, "start": ps} or c.get("to") != {"machine": m,
                                                                              "start": s}:
            errs.append(f"change of {opid} must read from {pm} at {ps} to {m} at {s}")
    for opid in sorted(set(want) - seen):
        errs.append(f"operation {opid} moved from its previous place but is not in changes")
