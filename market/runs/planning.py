"""The bridge between the marketplace database and the matching engine.

`build_problem` reads verified factories' machines, capabilities, plants and live capacity
windows into a `yunzao.problem/1` dict (see MATCHING_FORMAT.md). Matching ids are derived
from database ids (`m12` is machine 12, `p3` plant 3) and `ProblemIndex` maps them back.

Trust decides who may take an order; runs asks, the quality domain answers (runs never
imports quality):
- `plant_risk`: each plant's `risk_per_mille`;
- `plant_certifications`: each plant's verified, unexpired certifications, as
  `plants[].certifications`; an order's `required_certifications` become its
  `orders[].certifications`, so the engine plans it only on plants holding all of them;
- `plant_probation`: plants of factories on probation. One with live work is left out of
  the problem (its machines are not eligible for any order). For the value limit the format
  has no per-order machine list (explicit `alternatives` would bypass the process, material,
  tolerance and size rules), so the limit is said with the one per-plant, per-order rule it
  has: while some plant is on probation, every other plant carries the marker
  RECORD_CERTIFICATION in its certifications, and an order worth more than the limit
  (`order_value`: its machine cost at the cheapest eligible machines) asks for it. The
  engine's unserved reason then names the marker, and the run page says it in words."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from market.accounts.models import Company, CompanyStatus
from market.capacity.models import (
    Capability,
    CapacityWindow,
    Machine,
    MachineStatus,
    Plant,
    WindowStatus,
)
from market.core import dates, events

# Road freight between plants in China, in CNY fen: ~3 CNY per km plus 200 CNY a pick-up,
# and half a day's handling (packing, loading, unloading). Operators will be able to edit it.
DEFAULT_TRANSPORT = {"speed_kmh": 50, "handling_minutes": 240, "cost_per_km": 300,
                     "fixed_cost": 20000}


# Not a certificate: the marker of plants whose factory has a record (off probation), which
# orders above the probation limit ask for (see the module's docstring).
RECORD_CERTIFICATION = "yunzao_record"


@dataclass
class ProblemIndex:
    start: datetime
    machine_ids: dict[str, int] = field(default_factory=dict)
    plant_ids: dict[str, int] = field(default_factory=dict)
    company_of_plant: dict[str, int] = field(default_factory=dict)
    # the largest order value (fen) plants on probation may take; None: none on probation
    probation_limit: int | None = None
    probation_plants: set[str] = field(default_factory=set)

    def at(self, minute: int) -> datetime:
        """The UTC datetime of a minute of the problem."""
        return self.start + timedelta(minutes=minute)

    def minute(self, when: datetime) -> int:
        return int((when - self.start).total_seconds() // 60)


SLACK_DAYS = 14  # past the latest due date, so a late placement is found and reported
MAX_HORIZON_DAYS = 90


def horizon(due_dates: Iterable[datetime], now: datetime, at_least_minutes: int
            ) -> tuple[datetime, int]:
    """The planning horizon: from now (rounded down to the hour) to the latest due date plus
    SLACK_DAYS, at most MAX_HORIZON_DAYS. The cap is applied before any addition, so a due
    date at the end of the calendar cannot overflow (it once failed every run)."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    cap = start + timedelta(days=MAX_HORIZON_DAYS)
    latest = max(due_dates, default=start)
    end = cap if latest >= cap - timedelta(days=SLACK_DAYS) else latest + timedelta(
        days=SLACK_DAYS)
    return start, max(at_least_minutes, int((end - start).total_seconds() // 60))


def unusable_reason(order: Any) -> str | None:
    """Why the engine cannot plan this order as stored (data that slipped past validation
    or predates it), or None."""
    if not order.operations:
        return "it has no operations"
    if not int(order.quantity or 0) > 0:
        return "its quantity is not positive"
    due = order.due_date
    if due is None or not dates.MIN_YEAR <= due.year <= dates.MAX_YEAR:
        return f"its due date is outside {dates.MIN_YEAR}-{dates.MAX_YEAR}"
    for op in order.operations:
        minutes = op.minutes_per_unit
        if minutes is None or not math.isfinite(minutes) or minutes < 0:
            return f"operation {op.seq} has no usable work content"
    for value, low, high in ((order.delivery_lat, -90, 90), (order.delivery_lon, -180, 180)):
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            return "its delivery place is not on the map"
    return None


def machine_key(machine_id: int) -> str:
    return f"m{machine_id}"


def plant_key(plant_id: int) -> str:
    return f"p{plant_id}"


def _merge(spans: Iterable[tuple[int, int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def build_problem(
    session: Session,
    *,
    start: datetime,
    minutes: int,
    orders: list[dict[str, Any]],
    currency: str = "CNY",
    processes: set[str] | None = None,
    transport: dict[str, Any] | None = None,
    objective: str = "cost",
    own: set[int] | frozenset[int] = frozenset(),
    dropped: set[int] | frozenset[int] = frozenset(),
    busy: Iterable[tuple[int, datetime, datetime]] = (),
    keep_machines: set[int] | frozenset[int] = frozenset(),
) -> tuple[dict[str, Any], ProblemIndex]:
    """A matching problem over [start, start + minutes) with the given orders.

    Only verified companies' active machines with time in the horizon take part. Held and
    booked segments stay inside the machine's windows and are listed as `bookings`, so an
    operation can neither overlap them nor run across them. `processes` prunes machines that
    cannot do any of them (the instant quote needs only a handful).

    For a re-plan: the segments held or booked by the `own` planned operations (the orders
    being re-planned) count as free time, those of `dropped` ones (on a machine reported
    down) do not exist, `busy` adds spans the orders must not take (a slot its factory
    declined), and `keep_machines` stay in the problem without time (fixed work on them)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = start.astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    index = ProblemIndex(start)

    cap_rows = session.execute(
        select(Capability.machine_id, Capability.process_code, Capability.materials,
               Capability.rate_per_hour, Capability.setup_minutes, Capability.speed,
               Capability.tolerance_mm, Capability.max_part_mm,
               Machine.plant_id, Plant.lat, Plant.lon, Plant.company_id)
        .join(Machine, Machine.id == Capability.machine_id)
        .join(Plant, Plant.id == Machine.plant_id)
        .join(Company, Company.id == Plant.company_id)
        .where(Machine.status == MachineStatus.active.value,
               Company.status == CompanyStatus.verified.value)
        .order_by(Capability.machine_id, Capability.id)
    ).all()
    capabilities: dict[int, list[dict[str, Any]]] = defaultdict(list)
    plant_of: dict[int, int] = {}
    plants: dict[int, tuple[float, float, int]] = {}
    for row in cap_rows:
        capability = {
            "process": row.process_code, "materials": list(row.materials or []),
            "rate_per_hour": int(row.rate_per_hour), "setup_minutes": int(row.setup_minutes),
            "speed": float(row.speed),
        }
        # version 1.1 eligibility: the tolerance it holds and the largest part it takes
        if row.tolerance_mm is not None:
            capability["tolerance_mm"] = float(row.tolerance_mm)
        if row.max_part_mm is not None:
            capability["max_part_mm"] = float(row.max_part_mm)
        capabilities[row.machine_id].append(capability)
        plant_of[row.machine_id] = row.plant_id
        plants[row.plant_id] = (row.lat, row.lon, row.company_id)
    if processes is not None:
        capabilities = defaultdict(list, {
            mid: caps for mid, caps in capabilities.items()
            if any(c["process"] in processes for c in caps)})

    windows: dict[int, list[tuple[int, int]]] = defaultdict(list)
    bookings: list[dict[str, Any]] = []
    if capabilities:
        w = CapacityWindow.__table__.c  # type: ignore[attr-defined]
        rows = session.execute(
            select(w.machine_id, w.start, w.end, w.status, w.planned_operation_id)
            .where(w.machine_id.in_(list(capabilities)), w.status != WindowStatus.withdrawn.value,
                   w.end > start, w.start < end)
        ).all()
        for machine_id, w_start, w_end, status, planned_id in rows:
            if planned_id is not None and planned_id in dropped:
                continue
            # Round inwards to whole minutes: the engine never plans outside real time.
            a = max(0, math.ceil((_utc(w_start) - start).total_seconds() / 60))
            b = min(minutes, math.floor((_utc(w_end) - start).total_seconds() / 60))
            if b <= a:
                continue
            windows[machine_id].append((a, b))
            if status != WindowStatus.published.value and planned_id not in own:
                bookings.append({"machine": machine_key(machine_id), "start": a, "end": b})
        for machine_id, b_start, b_end in busy:
            a = max(0, math.floor((_utc(b_start) - start).total_seconds() / 60))
            b = min(minutes, math.ceil((_utc(b_end) - start).total_seconds() / 60))
            if machine_id in capabilities and b > a:
                bookings.append({"machine": machine_key(machine_id), "start": a, "end": b})

    # factories on probation (the quality domain answers): one with live work takes no more
    probation = events.collect(
        events.plant_probation, session,
        plant_companies={plant_of[m]: plants[plant_of[m]][2] for m in capabilities},
        now=start, own=set(own))
    machines_out = []
    used_plants: set[int] = set()
    for machine_id in sorted(capabilities):
        spans = _merge(windows.get(machine_id, []))
        if not spans and machine_id not in keep_machines:
            continue  # no time in the horizon: nothing to plan on
        if (probation.get(plant_of[machine_id]) or {}).get("live") and (
                machine_id not in keep_machines):
            continue  # on probation with live work: no second job until it has a record
        key = machine_key(machine_id)
        index.machine_ids[key] = machine_id
        plant_id = plant_of[machine_id]
        used_plants.add(plant_id)
        machines_out.append({"id": key, "plant": plant_key(plant_id),
                             "capabilities": capabilities[machine_id], "windows": spans})
    # each plant's record as the risk the engine charges for it (the quality domain answers)
    risk = events.collect(events.plant_risk, session,
                          plant_companies={p: plants[p][2] for p in used_plants}, now=start)
    # verified, unexpired certifications (MATCHING_FORMAT 1.1), valid at the horizon's start
    certified = events.collect(events.plant_certifications, session,
                               plant_companies={p: plants[p][2] for p in used_plants},
                               now=start)
    limits = [int(probation[p]["max_amount"]) for p in used_plants if p in probation]
    index.probation_limit = min(limits) if limits else None
    plants_out = []
    for plant_id in sorted(used_plants):
        lat, lon, company_id = plants[plant_id]
        key = plant_key(plant_id)
        index.plant_ids[key] = plant_id
        index.company_of_plant[key] = company_id
        plant_out: dict[str, Any] = {"id": key, "lat": lat, "lon": lon}
        if plant_id in risk:
            plant_out["risk_per_mille"] = int(risk[plant_id])
        certs = list(certified.get(plant_id) or [])
        if plant_id in probation:
            index.probation_plants.add(key)
        elif index.probation_limit is not None:
            certs.append(RECORD_CERTIFICATION)
        if certs:
            plant_out["certifications"] = certs
        plants_out.append(plant_out)
    by_machine: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for b in bookings:
        if b["machine"] in index.machine_ids:
            by_machine[b["machine"]].append((b["start"], b["end"]))
    # a declined slot may touch booked time: held spans must not overlap (the format)
    bookings = [{"machine": key, "start": a, "end": b}
                for key in sorted(by_machine) for a, b in _merge(by_machine[key])]
    problem = {
        "format": "yunzao.problem/1",
        "currency": currency,
        "objective": objective,
        "horizon": {"start": start.isoformat().replace("+00:00", "Z"), "minutes": minutes},
        "transport": dict(transport or DEFAULT_TRANSPORT),
        "plants": plants_out,
        "machines": machines_out,
        "bookings": bookings,
        "orders": orders,
    }
    if not own:
        # a re-plan (`own` work) keeps where its orders were placed: the limit was applied
        # when they were first planned, and started work may not move off its plant
        for order in orders:
            apply_probation(problem, index, order)
    return problem, index


def apply_probation(problem: dict[str, Any], index: ProblemIndex, order: dict[str, Any]
                    ) -> None:
    """An order worth more than the probation limit asks for RECORD_CERTIFICATION, which
    only plants off probation carry (nothing happens while no plant is on probation)."""
    if index.probation_limit is None or order_value(problem, order) <= index.probation_limit:
        return
    need = list(order.get("certifications") or [])
    if RECORD_CERTIFICATION not in need:
        order["certifications"] = [*need, RECORD_CERTIFICATION]


def order_value(problem: dict[str, Any], order: dict[str, Any]) -> int:
    """What the order's machine time costs at its cheapest eligible machines (minor units):
    the least the factories are paid for it, before transport. Eligibility as the engine
    reads it (process, material, tolerance, part size, certifications); an operation no
    machine can do adds nothing (the engine reports it unserved anyway)."""
    plants = {p["id"]: set(p.get("certifications") or []) for p in problem["plants"]}
    need = set(order.get("certifications") or []) - {RECORD_CERTIFICATION}
    part = max(order["part_size_mm"]) if order.get("part_size_mm") else None
    total = 0
    for op in order["operations"]:
        quantity = int(op.get("quantity") or order["quantity"])
        costs = []
        for machine in problem["machines"]:
            if not need <= plants.get(machine["plant"], set()):
                continue
            for cap in machine["capabilities"]:
                if cap["process"] != op.get("process") or (
                        cap["materials"] and op.get("material") not in cap["materials"]):
                    continue
                if op.get("tolerance_mm") is not None and cap.get("tolerance_mm") is not None \
                        and cap["tolerance_mm"] > op["tolerance_mm"]:
                    continue
                if part is not None and cap.get("max_part_mm") is not None \
                        and cap["max_part_mm"] < part:
                    continue
                minutes = cap["setup_minutes"] + math.ceil(
                    round(quantity * float(op["minutes_per_unit"]) / cap["speed"], 9))
                costs.append(round(cap["rate_per_hour"] * minutes / 60))
        total += min(costs, default=0)
    return total


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
