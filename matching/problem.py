"""Problem data classes for the `yunzao.problem/1` format (see MATCHING_FORMAT.md).

Plain data plus the derived quantities every part of the engine needs (durations, costs,
eligible machines). Nothing here knows about CP-SAT.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matching.calendar import Calendar

FORMAT = "yunzao.problem/1"

# Defaults for fields the format leaves implicit; documented in docs/benchmarks.md.
DEFAULT_SPEED_KMH = 60.0


def work_minutes(quantity: float, minutes_per_unit: float, speed: float, setup: int) -> int:
    """Duration on a capability; round(..., 9) removes float noise such as 10*0.7."""
    return int(setup) + math.ceil(round(quantity * minutes_per_unit / speed, 9))


@dataclass(frozen=True)
class Capability:
    process: str
    materials: tuple[str, ...] = ()
    rate_per_hour: float = 0
    setup_minutes: int = 0
    speed: float = 1.0
    tolerance_mm: float | None = None  # the best it holds (v1.1); None: not stated, no limit
    max_part_mm: float | None = None  # largest part dimension it takes (v1.1); None: no limit

    def accepts(self, process: str | None, material: str | None) -> bool:
        if process != self.process:
            return False
        return not self.materials or material in self.materials

    def holds(self, tolerance_mm: float | None) -> bool:
        return tolerance_mm is None or self.tolerance_mm is None or \
            self.tolerance_mm <= tolerance_mm

    def takes(self, part_mm: float | None) -> bool:
        return part_mm is None or self.max_part_mm is None or part_mm <= self.max_part_mm


@dataclass
class Machine:
    id: str
    plant: str
    capabilities: list[Capability] = field(default_factory=list)
    windows: list[tuple[int, int]] | None = None  # None = always available (extension)


@dataclass(frozen=True)
class Alternative:
    machine: str
    minutes: int
    cost: int = 0


@dataclass(frozen=True)
class Place:
    """Where an operation is (fixed) or was (previous): machine id and start."""

    machine: str
    start: int


@dataclass
class Operation:
    id: str
    process: str | None = None
    material: str | None = None
    minutes_per_unit: float = 0.0
    alternatives: list[Alternative] | None = None
    quantity: float | None = None  # v1.1: None = the order's
    tolerance_mm: float | None = None
    fixed: Place | None = None  # started or done: stays exactly there
    previous: Place | None = None  # accepted earlier: moving it costs change_cost


@dataclass
class Order:
    id: str
    operations: list[Operation]
    quantity: float = 1
    release: int = 0
    due: int | None = None
    lat: float | None = None
    lon: float | None = None
    late_penalty_per_minute: int = 0
    unserved_penalty: int = 0  # missing = 0 (documented reading)
    part_size_mm: tuple[float, ...] | None = None
    certifications: tuple[str, ...] = ()
    risk_cost: int = 0  # what one problem with an operation costs (v1.1)

    @property
    def has_destination(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def part_mm(self) -> float | None:
        """The part's largest dimension (what capabilities' max_part_mm is compared with)."""
        return max(self.part_size_mm) if self.part_size_mm else None


@dataclass(frozen=True)
class Plant:
    id: str
    lat: float | None = None
    lon: float | None = None
    certifications: frozenset[str] = frozenset()
    risk_per_mille: int = 0  # expected problems per 1000 operations (v1.1)


@dataclass(frozen=True)
class Transport:
    speed_kmh: float = DEFAULT_SPEED_KMH
    handling_minutes: int = 0
    cost_per_km: float = 0
    fixed_cost: int = 0


@dataclass(frozen=True)
class Booking:
    machine: str
    start: int
    end: int


@dataclass(frozen=True)
class Option:
    """One way to run an operation: on machine index `m`, taking `duration`, costing `cost`
    (machine cost plus `risk`, the plant's expected problem cost; v1.1)."""

    m: int
    duration: int
    cost: int
    risk: int = 0


@dataclass(frozen=True)
class ChangeCost:
    moved: int = 0
    plant_changed: int = 0


@dataclass
class Problem:
    horizon_minutes: int
    machines: list[Machine]
    orders: list[Order]
    plants: dict[str, Plant] = field(default_factory=dict)
    bookings: list[Booking] = field(default_factory=list)
    transport: Transport = field(default_factory=Transport)
    objective: str = "cost"
    horizon_start: str | None = None
    currency: str | None = None
    change_cost: ChangeCost = field(default_factory=ChangeCost)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.machine_index = {m.id: i for i, m in enumerate(self.machines)}
        self.order_index = {o.id: i for i, o in enumerate(self.orders)}
        self._options: dict[tuple[int, int], list[Option]] = {}
        self._calendars: dict[int, Calendar] = {}
        # machines per process, in machine order: eligibility looks at these only (at 1,000
        # plants a scan of every machine per operation dominated the set-up)
        self._by_process: dict[str, list[int]] = {}
        for mi, m in enumerate(self.machines):
            for proc in dict.fromkeys(c.process for c in m.capabilities):
                self._by_process.setdefault(proc, []).append(mi)
        # fixed operations of this problem's orders: (j, k) -> (machine, start, end); their
        # time is held like a booking's by every strategy (see pinned_spans)
        self.pinned: dict[tuple[int, int], tuple[int, int, int]] = {}
        for j, o in enumerate(self.orders):
            for k, op in enumerate(o.operations):
                got = self.fixed_place(o, op, self.options(j, k)) if op.fixed else None
                if got is not None:
                    self.pinned[(j, k)] = got

    # ---- derived data -------------------------------------------------------------
    def options(self, j: int, k: int) -> list[Option]:
        """Eligible (machine, duration, cost) choices of operation k of order j (cached)."""
        key = (j, k)
        got = self._options.get(key)
        if got is None:
            got = self._compute_options(self.orders[j], self.orders[j].operations[k])
            self._options[key] = got
        return got

    def options_for(self, order: Order, op: Operation) -> list[Option]:
        """Same as options() for an order that may not be part of the problem (quotes)."""
        return self._compute_options(order, op)

    def _compute_options(self, order: Order, op: Operation) -> list[Option]:
        out: list[Option] = []
        need = set(order.certifications)
        fixed_m = self.machine_index.get(op.fixed.machine) if op.fixed else None
        if op.fixed is not None and fixed_m is None:
            return out  # fixed on a machine the problem does not have: nowhere to go
        if op.alternatives is not None:
            for alt in op.alternatives:
                mi = self.machine_index.get(alt.machine)
                if mi is not None and self._plant_ok(mi, need) and fixed_m in (None, mi):
                    r = self.risk(order, mi)
                    out.append(Option(mi, int(alt.minutes), int(alt.cost) + r, r))
            return out
        qty = order.quantity if op.quantity is None else op.quantity
        part = order.part_mm
        for mi in self._by_process.get(op.process or "", ()):
            mach = self.machines[mi]
            if not self._plant_ok(mi, need) or fixed_m not in (None, mi):
                continue
            best: Option | None = None
            for cap in mach.capabilities:
                if not (cap.accepts(op.process, op.material) and cap.holds(op.tolerance_mm)
                        and cap.takes(part)):
                    continue
                d = work_minutes(qty, op.minutes_per_unit, cap.speed, cap.setup_minutes)
                c = round(cap.rate_per_hour * d / 60)
                # Two capabilities of one machine for the same process: keep the cheaper,
                # then the faster (the plan does not say which capability was used).
                if best is None or (c, d) < (best.cost, best.duration):
                    best = Option(mi, d, int(c))
            if best is not None:
                r = self.risk(order, mi)
                out.append(Option(mi, best.duration, best.cost + r, r) if r else best)
        return out

    def _plant_ok(self, mi: int, need: set[str]) -> bool:
        if not need:
            return True
        plant = self.plants.get(self.machines[mi].plant)
        return plant is not None and need <= plant.certifications

    def risk(self, order: Order, mi: int) -> int:
        """Expected problem cost of one operation of `order` on machine mi (v1.1)."""
        if not order.risk_cost:
            return 0
        plant = self.plants.get(self.machines[mi].plant)
        per_mille = plant.risk_per_mille if plant is not None else 0
        return round(order.risk_cost * per_mille / 1000)

    def calendar(self, mi: int) -> Calendar:
        got = self._calendars.get(mi)
        if got is None:
            got = self._calendars[mi] = Calendar(self.machine_windows(mi), self.horizon_minutes)
        return got

    def fixed_place(self, order: Order, op: Operation,
                    options: list[Option]) -> tuple[int, int, int] | None:
        """(machine, start, end) of a fixed operation; None if its machine cannot do it.
        Windows need not cover fixed work (it may have started before the horizon or on a
        machine since withdrawn): the end is the window rule's when the windows hold the
        work from that start, else start + duration (the validator reads it alike)."""
        assert op.fixed is not None
        mi = self.machine_index.get(op.fixed.machine)
        opt = next((o for o in options if o.m == mi), None)
        if mi is None or opt is None:
            return None
        s = int(op.fixed.start)
        e = self.calendar(mi).end_of(s, opt.duration) if s >= 0 else None
        return mi, s, s + opt.duration if e is None else e

    def change_cost_of(self, op: Operation, mi: int, start: int) -> int:
        """What placing `op` at (machine mi, start) costs against its previous place."""
        prev = op.previous
        if prev is None or (self.machines[mi].id == prev.machine and start == prev.start):
            return 0
        cc = self.change_cost
        pm = self.machine_index.get(prev.machine)
        same_plant = pm is not None and self.machines[pm].plant == self.machines[mi].plant
        return int(cc.moved) + (0 if same_plant else int(cc.plant_changed))

    def pinned_spans(self) -> list[tuple[int, int, int]]:
        """(machine, start, end) of every fixed operation: held like bookings."""
        return list(self.pinned.values())

    def machine_windows(self, mi: int) -> list[tuple[int, int]]:
        w = self.machines[mi].windows
        return [(0, self.horizon_minutes)] if w is None else list(w)

    def plant_of(self, mi: int) -> str:
        return self.machines[mi].plant

    # ---- (de)serialisation ---------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Problem:
        tr = d.get("transport") or {}
        transport = Transport(
            speed_kmh=float(tr.get("speed_kmh", DEFAULT_SPEED_KMH) or DEFAULT_SPEED_KMH),
            handling_minutes=int(tr.get("handling_minutes", 0) or 0),
            cost_per_km=tr.get("cost_per_km", 0) or 0,
            fixed_cost=int(tr.get("fixed_cost", 0) or 0),
        )
        plants = {
            p["id"]: Plant(p["id"], p.get("lat"), p.get("lon"),
                           frozenset(p.get("certifications") or ()),
                           int(p.get("risk_per_mille", 0) or 0))
            for p in d.get("plants", [])
        }
        machines = []
        for m in d.get("machines", []):
            caps = [
                Capability(
                    process=c["process"],
                    materials=tuple(c.get("materials") or ()),
                    rate_per_hour=c.get("rate_per_hour", 0) or 0,
                    setup_minutes=int(c.get("setup_minutes", 0) or 0),
                    speed=float(c.get("speed", 1.0) or 1.0),
                    tolerance_mm=c.get("tolerance_mm"),
                    max_part_mm=c.get("max_part_mm"),
                )
                for c in m.get("capabilities", []) or []
            ]
            win = m.get("windows")
            windows = None if win is None else [(int(a), int(b)) for a, b in win]
            machines.append(Machine(m["id"], m.get("plant", ""), caps, windows))
        bookings = [
            Booking(b["machine"], int(b["start"]), int(b["end"])) for b in d.get("bookings", [])
        ]
        orders = [order_from_dict(o) for o in d.get("orders", [])]
        known = {"format", "currency", "objective", "horizon", "transport", "plants",
                 "machines", "bookings", "orders", "change_cost"}
        cc = d.get("change_cost") or {}
        hz = d.get("horizon") or {}
        return cls(
            horizon_minutes=int(hz.get("minutes", 0)),
            horizon_start=hz.get("start"),
            machines=machines,
            orders=orders,
            plants=plants,
            bookings=bookings,
            transport=transport,
            objective=d.get("objective", "cost") or "cost",
            currency=d.get("currency"),
            change_cost=ChangeCost(int(cc.get("moved", 0) or 0),
                                   int(cc.get("plant_changed", 0) or 0)),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT}
        if self.currency is not None:
            out["currency"] = self.currency
        out["objective"] = self.objective
        hz: dict[str, Any] = {"minutes": self.horizon_minutes}
        if self.horizon_start is not None:
            hz = {"start": self.horizon_start, **hz}
        out["horizon"] = hz
        t = self.transport
        out["transport"] = {"speed_kmh": t.speed_kmh, "handling_minutes": t.handling_minutes,
                            "cost_per_km": t.cost_per_km, "fixed_cost": t.fixed_cost}
        out["plants"] = [_drop_none({
            "id": p.id, "lat": p.lat, "lon": p.lon,
            "certifications": sorted(p.certifications) or None,
            "risk_per_mille": p.risk_per_mille or None}) for p in self.plants.values()]
        ms = []
        for m in self.machines:
            md: dict[str, Any] = {"id": m.id, "plant": m.plant, "capabilities": [
                _drop_none({"process": c.process, "materials": list(c.materials),
                            "rate_per_hour": c.rate_per_hour, "setup_minutes": c.setup_minutes,
                            "speed": c.speed, "tolerance_mm": c.tolerance_mm,
                            "max_part_mm": c.max_part_mm}) for c in m.capabilities]}
            if m.windows is not None:
                md["windows"] = [[a, b] for a, b in m.windows]
            ms.append(md)
        out["machines"] = ms
        out["bookings"] = [{"machine": b.machine, "start": b.start, "end": b.end}
                           for b in self.bookings]
        out["orders"] = [order_to_dict(o) for o in self.orders]
        if self.change_cost != ChangeCost():
            out["change_cost"] = {"moved": self.change_cost.moved,
                                  "plant_changed": self.change_cost.plant_changed}
        out.update(self.extra)
        return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _place(d: dict[str, Any] | None) -> Place | None:
    return None if not d else Place(str(d["machine"]), int(d["start"]))


def order_from_dict(o: dict[str, Any]) -> Order:
    ops = []
    for op in o.get("operations", []):
        alts = op.get("alternatives")
        ops.append(Operation(
            id=op["id"],
            process=op.get("process"),
            material=op.get("material"),
            minutes_per_unit=op.get("minutes_per_unit", 0) or 0,
            alternatives=None if alts is None else [
                Alternative(a["machine"], int(a["minutes"]), int(a.get("cost", 0) or 0))
                for a in alts],
            quantity=op.get("quantity"),
            tolerance_mm=op.get("tolerance_mm"),
            fixed=_place(op.get("fixed")),
            previous=_place(op.get("previous")),
        ))
    size = o.get("part_size_mm")
    return Order(
        id=o["id"],
        operations=ops,
        quantity=o.get("quantity", 1) if o.get("quantity") is not None else 1,
        release=int(o.get("release", 0) or 0),
        due=None if o.get("due") is None else int(o["due"]),
        lat=o.get("lat"),
        lon=o.get("lon"),
        late_penalty_per_minute=o.get("late_penalty_per_minute", 0) or 0,
        unserved_penalty=o.get("unserved_penalty", 0) or 0,
        part_size_mm=None if not size else tuple(float(x) for x in size),
        certifications=tuple(o.get("certifications") or ()),
        risk_cost=int(o.get("risk_cost", 0) or 0),
    )


def order_to_dict(o: Order) -> dict[str, Any]:
    ops = []
    for op in o.operations:
        od: dict[str, Any] = {"id": op.id}
        if op.alternatives is not None:
            od["alternatives"] = [{"machine": a.machine, "minutes": a.minutes, "cost": a.cost}
                                  for a in op.alternatives]
        else:
            od.update(_drop_none({"process": op.process, "material": op.material}))
            od["minutes_per_unit"] = op.minutes_per_unit
        od.update(_drop_none({
            "quantity": op.quantity, "tolerance_mm": op.tolerance_mm,
            "fixed": op.fixed and {"machine": op.fixed.machine, "start": op.fixed.start},
            "previous": op.previous and {"machine": op.previous.machine,
                                         "start": op.previous.start}}))
        ops.append(od)
    return _drop_none({
        "id": o.id, "quantity": o.quantity, "release": o.release, "due": o.due,
        "lat": o.lat, "lon": o.lon, "late_penalty_per_minute": o.late_penalty_per_minute,
        "unserved_penalty": o.unserved_penalty,
        "part_size_mm": list(o.part_size_mm) if o.part_size_mm else None,
        "certifications": list(o.certifications) or None,
        "risk_cost": o.risk_cost or None, "operations": ops,
    })


def as_problem(p: Problem | dict[str, Any]) -> Problem:
    return p if isinstance(p, Problem) else Problem.from_dict(p)


def load(path: str | Path) -> Problem:
    """Load a problem JSON file, or a `.fjs` flexible job shop file via matching.io.fjs."""
    path = Path(path)
    if path.suffix.lower() == ".fjs":
        from matching.io.fjs import load_fjs

        return Problem.from_dict(load_fjs(str(path)))
    with open(path, encoding="utf-8") as f:
        return Problem.from_dict(json.load(f))
