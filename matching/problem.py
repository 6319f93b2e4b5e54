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

    def accepts(self, process: str | None, material: str | None) -> bool:
        if process != self.process:
            return False
        return not self.materials or material in self.materials


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


@dataclass
class Operation:
    id: str
    process: str | None = None
    material: str | None = None
    minutes_per_unit: float = 0.0
    alternatives: list[Alternative] | None = None


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

    @property
    def has_destination(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class Plant:
    id: str
    lat: float | None = None
    lon: float | None = None


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
    """One way to run an operation: on machine index `m`, taking `duration`, costing `cost`."""

    m: int
    duration: int
    cost: int


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
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.machine_index = {m.id: i for i, m in enumerate(self.machines)}
        self.order_index = {o.id: i for i, o in enumerate(self.orders)}
        self._options: dict[tuple[int, int], list[Option]] = {}

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
        if op.alternatives is not None:
            for alt in op.alternatives:
                mi = self.machine_index.get(alt.machine)
                if mi is not None:
                    out.append(Option(mi, int(alt.minutes), int(alt.cost)))
            return out
        for mi, mach in enumerate(self.machines):
            best: Option | None = None
            for cap in mach.capabilities:
                if not cap.accepts(op.process, op.material):
                    continue
                d = work_minutes(order.quantity, op.minutes_per_unit, cap.speed, cap.setup_minutes)
                c = round(cap.rate_per_hour * d / 60)
                # Two capabilities of one machine for the same process: keep the cheaper,
                # then the faster (the plan does not say which capability was used).
                if best is None or (c, d) < (best.cost, best.duration):
                    best = Option(mi, d, int(c))
            if best is not None:
                out.append(best)
        return out

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
            p["id"]: Plant(p["id"], p.get("lat"), p.get("lon")) for p in d.get("plants", [])
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
                 "machines", "bookings", "orders"}
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
        out["plants"] = [_drop_none({"id": p.id, "lat": p.lat, "lon": p.lon})
                         for p in self.plants.values()]
        ms = []
        for m in self.machines:
            md: dict[str, Any] = {"id": m.id, "plant": m.plant, "capabilities": [
                {"process": c.process, "materials": list(c.materials),
                 "rate_per_hour": c.rate_per_hour, "setup_minutes": c.setup_minutes,
                 "speed": c.speed} for c in m.capabilities]}
            if m.windows is not None:
                md["windows"] = [[a, b] for a, b in m.windows]
            ms.append(md)
        out["machines"] = ms
        out["bookings"] = [{"machine": b.machine, "start": b.start, "end": b.end}
                           for b in self.bookings]
        out["orders"] = [order_to_dict(o) for o in self.orders]
        out.update(self.extra)
        return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


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
        ))
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
        ops.append(od)
    return _drop_none({
        "id": o.id, "quantity": o.quantity, "release": o.release, "due": o.due,
        "lat": o.lat, "lon": o.lon, "late_penalty_per_minute": o.late_penalty_per_minute,
        "unserved_penalty": o.unserved_penalty, "operations": ops,
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
