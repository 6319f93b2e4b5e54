"""The instant, indicative quote: one order placed into the current book.

How it is computed
------------------
* Horizon: from now rounded down to the hour, until the due date plus 14 days (at most 90
  days), so a late placement can still be found and reported as "earliest possible".
* Supply: `planning.build_problem` reads verified factories' live windows; held and booked
  time is already in its `bookings`, so the existing plan passed to the engine is empty.
* The order becomes one matching order (`o<id>`, operations `o<id>-<seq>`) with
  LATE_PENALTY_PER_MINUTE and UNSERVED_PENALTY below, and `matching.quote` places it.
* Price = the engine's cost of the order (machine time and transport, without the lateness
  penalty) plus the platform fee: PLATFORM_FEE_BPS basis points (config, default 800 = 8%),
  integer arithmetic, half a fen rounded up. Valid for QUOTE_VALID_MINUTES (15).
* When nothing can be placed the quote says why, in the buyer's words.

Nothing is reserved: the quote is indicative. Firm quotes come from approved matching runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from market.accounts import service as accounts
from market.accounts.models import User
from market.catalog.certifications import certification_name
from market.catalog.models import Material, Process
from market.core.errors import Conflict, Unavailable
from market.core.models import utcnow
from market.core.money import DEFAULT_FEE_BPS, format_money, platform_fee
from market.orders import service as orders
from market.orders.models import Order, OrderStatus
from market.runs import isolation, planning

QUOTE_VALID_MINUTES = 15
# 10 CNY a minute (14,400 CNY a day) late: enough that the engine pays for a faster plant
# rather than deliver late, small enough to stay far from the unserved penalty.
LATE_PENALTY_PER_MINUTE = 1_000
# Leaving the quote's order unserved must never look cheaper than any placement.
UNSERVED_PENALTY = 10**13
RISK_COST = 8 * 60 * LATE_PENALTY_PER_MINUTE
ENGINE_SECONDS = 0.3  # CP-SAT improves on the greedy placement for this long
QUOTABLE = (OrderStatus.draft, OrderStatus.open, OrderStatus.quoted)


@dataclass
class QuoteResult:
    price: int | None
    currency: str
    delivery_date: datetime | None
    plants: int
    valid_until: datetime
    reason: str | None = None
    production_cost: int | None = None
    platform_fee: int | None = None
    on_time: bool | None = None
    machines: list[int] = field(default_factory=list)
    reason_code: str | None = None  # a key of REASONS
    reason_params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"price": self.price, "currency": self.currency,
                "delivery_date": self.delivery_date, "plants": self.plants,
                "valid_until": self.valid_until, "reason": self.reason,
                "production_cost": self.production_cost, "platform_fee": self.platform_fee,
                "indicative": True}


def horizon(order: Order, now: datetime) -> tuple[datetime, int]:
    return planning.horizon([order.due_date], now, at_least_minutes=60)


def order_to_matching(order: Order, start: datetime, now: datetime) -> dict[str, Any]:
    """The order in the matching format (MATCHING_FORMAT.md), times in minutes from start."""
    return {
        "id": f"o{order.id}",
        "quantity": order.quantity,
        "release": max(0, math.ceil((now - start).total_seconds() / 60)),
        "due": max(0, int((order.due_date - start).total_seconds() // 60)),
        "lat": order.delivery_lat,
        "lon": order.delivery_lon,
        "late_penalty_per_minute": LATE_PENALTY_PER_MINUTE,
        "unserved_penalty": UNSERVED_PENALTY,
        # what one problem (a late or defective operation) costs: half a day of lateness,
        # weighed against each plant's risk_per_mille; never part of a price
        "risk_cost": RISK_COST,
        "operations": [_operation(order, op) for op in order.operations],
        # version 1.1: only machines that take the part's largest side are eligible
        **({"part_size_mm": list(order.part_size_mm)} if order.part_size_mm else {}),
        # and only plants holding every certification it requires (verified, unexpired)
        **({"certifications": list(order.required_certifications)}
           if order.required_certifications else {}),
    }


def _operation(order: Order, op: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f"o{order.id}-{op.seq}", "process": op.process_code,
                           "material": op.material_code, "minutes_per_unit": op.minutes_per_unit}
    if op.tolerance_mm is not None:  # only machines holding it are eligible (v1.1)
        out["tolerance_mm"] = op.tolerance_mm
    if op.quantity is not None and op.quantity != order.quantity:  # inspect 5 of 200
        out["quantity"] = op.quantity
    return out


def _name(session: Session, model: type, code: str | None) -> str:
    row = session.get(model, code) if code else None
    return getattr(row, "name_en", None) or (code or "")


# Why there is no (on-time) placement: code -> the English sentence of the API. Pages show
# their own translated sentence for the same code and parameters.
REASONS = {
    "no_process": "No factory currently offers {process}.",
    "no_material": "No factory currently offers {process} for {material}.",
    "no_tolerance": "No factory currently holds ±{tolerance} mm for {process}; the best "
                    "offered is ±{best} mm.",
    "too_large": "No factory currently takes a {size} mm part for {process}; the largest "
                 "offered is {max} mm.",
    "no_certification": "No factory holding {certifications} currently offers {process}.",
    "probation": "The factories that offer {process} are new on the platform and take "
                 "orders worth up to {limit} until they have a record; this order is worth "
                 "more.",
    "no_capacity": "Not enough published capacity to make this order before {until}; try a "
                   "later due date or a smaller quantity.",
    "late": "Not enough capacity before the due date; the earliest possible delivery is "
            "{earliest}.",
}


def missing_capability(
    problem: dict[str, Any], order: Order, matching_order: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]] | None:
    """(reason code, parameters) when some operation has no capable machine at all,
    checked before the engine runs: the most common and most useful answer to "why no
    quote?". With `matching_order`, the plants' certifications count too (the ones the
    order requires, and the probation marker, see planning)."""
    caps = [c for m in problem["machines"] for c in m["capabilities"]]
    found = _capability_reason(caps, order)
    if found is not None or matching_order is None:
        return found
    need = set(matching_order.get("certifications") or [])
    if not need:
        return None
    held = {p["id"]: set(p.get("certifications") or []) for p in problem["plants"]}
    required = need - {planning.RECORD_CERTIFICATION}
    for op in order.operations:
        with_certs = [m for m in problem["machines"] if required <= held.get(m["plant"], set())]
        if _capability_reason([c for m in with_certs for c in m["capabilities"]],
                              order, [op]) is not None:
            names = ", ".join(certification_name(k) for k in sorted(required))
            return "no_certification", {"process": op.process_code, "certifications": names}
        trusted = [m for m in with_certs if need <= held.get(m["plant"], set())]
        if _capability_reason([c for m in trusted for c in m["capabilities"]],
                              order, [op]) is not None:
            return "probation", {"process": op.process_code}
    return None


def _capability_reason(caps: list[dict[str, Any]], order: Order, operations: Any = None
                       ) -> tuple[str, dict[str, Any]] | None:
    for op in operations if operations is not None else order.operations:
        for_process = [c for c in caps if c["process"] == op.process_code]
        if not for_process:
            return "no_process", {"process": op.process_code}
        with_material = [c for c in for_process
                         if not c["materials"] or op.material_code in c["materials"]]
        if not with_material:
            return "no_material", {"process": op.process_code, "material": op.material_code}
        # v1.1 readings: a tolerance or size absent on either side restricts nothing
        holding = [c for c in with_material if op.tolerance_mm is None
                   or c.get("tolerance_mm") is None or c["tolerance_mm"] <= op.tolerance_mm]
        if not holding:
            best = min(c["tolerance_mm"] for c in with_material)
            return "no_tolerance", {"process": op.process_code, "tolerance": op.tolerance_mm,
                                    "best": best}
        largest = max(order.part_size_mm) if order.part_size_mm else None
        if largest is not None and not any(c.get("max_part_mm") is None
                                           or c["max_part_mm"] >= largest for c in holding):
            return "too_large", {"process": op.process_code, "size": largest,
                                 "max": max(c["max_part_mm"] for c in holding)}
    return None


def reason_text(session: Session, code: str | None, params: dict[str, Any]) -> str | None:
    if code is None:
        return None
    words = dict(params)
    if "process" in words:
        words["process"] = _name(session, Process, words["process"])
    if "material" in words:
        words["material"] = _name(session, Material, words["material"])
    for key in ("until", "earliest"):
        if isinstance(words.get(key), datetime):
            fmt = "%Y-%m-%d" if key == "until" else "%Y-%m-%d %H:%M UTC"
            words[key] = words[key].strftime(fmt)
    if isinstance(words.get("limit"), int):
        words["limit"] = format_money(words["limit"])
    return REASONS[code].format(**words)


@dataclass
class Placement:
    served: bool
    completion: int = 0
    lateness: int = 0
    cost: int = 0  # without the lateness penalty
    machines: list[str] = field(default_factory=list)
    reason: str = ""


def place(problem: dict[str, Any], order: dict[str, Any], workers: int = 1) -> Placement:
    """Place the order around the problem's fixed bookings with `matching.quote` (the
    existing plan is empty: held and booked time is already in `bookings`), in a child
    process: a crash of the engine answers this quote with a clear error, nothing more.
    `workers`: CP-SAT's search threads (SOLVER_WORKERS)."""
    try:
        result = isolation.call_engine("quote", {**problem, "orders": []}, None, order,
                                       time_limit=ENGINE_SECONDS, workers=max(1, workers),
                                       kind="quotes", processes=2,
                                       timeout=ENGINE_SECONDS + 30)
    except isolation.SolverCrashed:
        raise Unavailable("The quote engine had a problem; nothing was saved. Please try "
                          "again in a moment.") from None
    if not result.ok:
        return Placement(False, reason=str(result.reason or ""))
    return Placement(True, int(result.completion), int(result.lateness), int(result.price),
                     [a.machine for a in result.placements])


def instant_quote(
    session: Session, actor: User, order_id: int, *, fee_bps: int = DEFAULT_FEE_BPS,
    now: datetime | None = None, workers: int = 1,
) -> QuoteResult:
    order = orders.get_order(session, actor, order_id)
    accounts.require_active(session, actor)
    if order.status not in QUOTABLE:
        raise Conflict("Instant quotes are for orders that are not yet accepted; this order "
                       "is %(status)s.", params={"status": order.status})
    now = now or utcnow()
    start, minutes = horizon(order, now)
    matching_order = order_to_matching(order, start, now)
    problem, index = planning.build_problem(
        session, start=start, minutes=minutes, orders=[],
        currency=order.currency, processes={op.process_code for op in order.operations})
    # the order is placed beside the problem, so it is checked against probation here
    planning.apply_probation(problem, index, matching_order)
    valid_until = now + timedelta(minutes=QUOTE_VALID_MINUTES)
    result = QuoteResult(None, order.currency, None, 0, valid_until)
    missing = missing_capability(problem, order, matching_order)
    if missing is not None and missing[0] == "probation":
        missing[1]["limit"] = index.probation_limit
    code, params = missing if missing else (None, {})
    if missing is None:
        placement = place(problem, matching_order, workers)
        if not placement.served:
            code, params = "no_capacity", {"until": index.at(minutes)}
        else:
            plants = {next(m["plant"] for m in problem["machines"] if m["id"] == key)
                      for key in placement.machines}
            fee = platform_fee(placement.cost, fee_bps)
            result.production_cost = placement.cost
            result.platform_fee = fee
            result.price = placement.cost + fee
            result.delivery_date = index.at(placement.completion)
            result.plants = len(plants)
            result.on_time = placement.lateness == 0
            result.machines = [index.machine_ids[k] for k in placement.machines]
            if placement.lateness:
                code, params = "late", {"earliest": result.delivery_date}
    result.reason_code, result.reason_params = code, params
    result.reason = reason = reason_text(session, code, params)
    orders.add_event(session, order, actor, "instant_quote", price=result.price,
                     currency=result.currency,
                     delivery_date=result.delivery_date.isoformat()
                     if result.delivery_date else None,
                     plants=result.plants, reason=reason)
    session.commit()
    return result

