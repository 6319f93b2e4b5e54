"""Re-plan runs (DESIGN.md "When the week does not go to plan"): the orders hit by a downtime,
a declined step or an operator's call are planned again against the rest of the book held
fixed. Started and done work is `fixed`; accepted work carries its `previous` place and a
`change_cost`, so the engine moves the fewest; work on a machine reported down or declined
by its factory must move. Where the operations are now comes from the deals domain
(`events.operation_places`): runs sits below the bookings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.capacity.models import Capability, CapacityWindow, Machine, WindowStatus
from market.core import audit, events
from market.core.errors import N_, Conflict, ValidationError
from market.core.models import utcnow
from market.orders.models import Order, OrderStatus
from market.runs.models import MatchingRun, PlannedOperation
from market.runs.planning import ProblemIndex, machine_key

# What moving accepted work costs in the engine's objective (fen): a factory re-arranges
# its week and the buyer's dates move. Against a lateness of 10 CNY a minute, moving one
# operation is worth about 50 minutes of lateness, moving it to another plant 3 hours more.
CHANGE_COST = {"moved": 50_000, "plant_changed": 150_000}
REPLAN_STATES = (OrderStatus.accepted, OrderStatus.scheduled, OrderStatus.in_production)


def queue_replan(session: Session, order_ids: list[int], trigger: str,
                 actor: User | None = None, time_limit_seconds: int = 30) -> MatchingRun:
    """Queue a re-plan of these booked orders in the caller's transaction (no commit); the
    job is dispatched once it commits."""
    ids = sorted({int(i) for i in order_ids})
    found = dict(session.exec(select(Order.id, Order.status).where(col(Order.id).in_(ids))).all())
    booked = [i for i in ids if found.get(i) in [s.value for s in REPLAN_STATES]]
    # open orders ride along only in a rush: they may take the place of accepted work
    wrong = [i for i in ids if i not in booked and not (
        trigger.startswith("rush") and found.get(i) == OrderStatus.open.value)]
    if not booked or wrong:
        raise ValidationError("Only booked orders (accepted, scheduled or in production) can be "
                              "re-planned.", {"order_ids": N_("Give booked orders only.")})
    run = MatchingRun(kind="replan", trigger=trigger[:200], order_ids=ids,
                      time_limit_seconds=time_limit_seconds,
                      created_by_id=actor.id if actor else None)
    session.add(run)
    session.flush()
    audit.record(session, actor.id if actor else None, "matching_run.started", run, None,
                 orders=ids, kind="replan", trigger=trigger)
    events.publish(session, events.run_queued, run_id=run.id)
    return run


def replan_orders(session: Session, run: MatchingRun) -> list[Order]:
    """The run's orders that are still booked (one cancelled meanwhile is left out), and in
    a rush the open orders that may displace accepted work."""
    states = [s.value for s in REPLAN_STATES] + (
        [OrderStatus.open.value] if run.trigger.startswith("rush") else [])
    return list(session.exec(select(Order).where(
        col(Order.id).in_(run.order_ids or [0]),
        col(Order.status).in_(states)).order_by(col(Order.id))))


def displaceable(session: Session, rush: list[Order]) -> list[int]:
    """Booked orders whose not-started work a rush may move: those holding booked time on a
    machine that can do any process of the rush orders, from now on."""
    processes = {op.process_code for o in rush for op in o.operations}
    w = CapacityWindow
    rows = session.exec(
        select(PlannedOperation.order_id).distinct()
        .join(w, col(w.planned_operation_id) == col(PlannedOperation.id))
        .join(Capability, col(Capability.machine_id) == col(w.machine_id))
        .join(Order, col(Order.id) == col(PlannedOperation.order_id))
        .where(w.status == WindowStatus.booked.value, col(w.end) > utcnow(),
               col(Capability.process_code).in_(processes or {""}),
               col(Order.status).in_([s.value for s in REPLAN_STATES]))).all()
    return sorted(int(i) for i in rows)


def displacement(stats: dict[str, Any], rush_ids: list[int],
                 costs: dict[int, int]) -> dict[int, int]:
    """What moving the accepted work costs (the engine's change cost of the displaced
    orders), charged to the rush orders in proportion to their own cost."""
    parts = stats.get("parts") or {}
    total = sum(int(p.get("change", 0)) for oid, p in parts.items() if int(oid) not in rush_ids)
    weight = sum(max(1, costs.get(i, 0)) for i in rush_ids)
    out, left = {}, total
    for n, i in enumerate(sorted(rush_ids)):
        share = left if n == len(rush_ids) - 1 else total * max(1, costs.get(i, 0)) // weight
        out[i], left = share, left - share
    return out


CHANGE_TRIGGER = "change:"  # a re-plan quoting a buyer's change request (deals.changes)


def is_change(run: MatchingRun) -> bool:
    """Whether the run quotes a buyer's change request: the buyer answers it, not the
    operators (its plan applies when the buyer accepts)."""
    return run.kind == "replan" and (run.trigger or "").startswith(CHANGE_TRIGGER)


def refuse_change(run: MatchingRun) -> None:
    """A re-plan quoting a buyer's change request is the buyer's to accept or decline."""
    if is_change(run):
        raise Conflict("This re-plan quotes a buyer's change request: the buyer accepts or "
                       "declines it on the order's page.")


class Changed:
    """An order as a change request would make it: its due date and quantity replaced, the
    rest read through. Planned like the order itself; nothing is written to it."""

    def __init__(self, order: Order, due_date: datetime | None = None,
                 quantity: int | None = None) -> None:
        self._order = order
        self.due_date = due_date or order.due_date
        self.quantity = quantity or order.quantity

    def __getattr__(self, name: str) -> Any:
        return getattr(self._order, name)


def with_changes(session: Session, run: MatchingRun, orders: list[Order]) -> list[Any]:
    """The run's orders with the changes asked for them (deals answers `order_changes`)."""
    if not is_change(run):
        return orders
    wanted = events.collect(events.order_changes, session, run=run)
    return [Changed(o, **wanted[o.id]) if o.id in wanted else o for o in orders]


def places_of(session: Session, orders: list[Order]) -> dict[int, dict[str, Any]]:
    return events.collect(events.operation_places, session, orders=orders)


def build_options(places: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The keyword arguments of `build_problem` that a re-plan needs."""
    own = {p["planned_operation_id"] for p in places.values() if p.get("planned_operation_id")}
    dropped = {p["planned_operation_id"] for p in places.values()
               if p["state"] == "at_risk" and p.get("planned_operation_id")}
    busy = [(p["machine_id"], p["start"], p["end"]) for p in places.values()
            if p["state"] == "declined"]
    keep = {p["machine_id"] for p in places.values() if p["state"] == "fixed"}
    return {"own": own - dropped, "dropped": dropped, "busy": busy, "keep_machines": keep}


def annotate(engine_order: dict[str, Any], order: Order, places: dict[int, dict[str, Any]],
             index: ProblemIndex) -> dict[str, Any]:
    """Mark the engine order's operations fixed or previous from their current places."""
    by_seq = {op.seq: op.id for op in order.operations}
    for op in engine_order["operations"]:
        place = places.get(by_seq[int(op["id"].rsplit("-", 1)[1])])
        if place is None or place["state"] not in ("fixed", "previous"):
            continue
        where = {"machine": machine_key(place["machine_id"]),
                 "start": index.minute(place["start"])}
        op[place["state"]] = where
    return engine_order


def changes(plan: dict[str, Any], orders: list[Order], places: dict[int, dict[str, Any]],
            index: ProblemIndex) -> list[dict[str, Any]]:
    """Every operation whose place differs from where it is now (API.md: `changes`), with
    machine ids and times, for the review and the API."""
    op_ids = {f"o{o.id}-{op.seq}": op.id for o in orders for op in o.operations}
    out = []
    for a in plan["assignments"]:
        operation_id = op_ids.get(a["operation"])
        place = places.get(operation_id) if operation_id is not None else None
        to = {"machine_id": index.machine_ids[a["machine"]], "start": iso(index.at(a["start"])),
              "end": iso(index.at(a["end"]))}
        before = None if place is None else {
            "machine_id": place["machine_id"], "start": iso(place["start"]),
            "end": iso(place["end"])}
        if before is not None and (before["machine_id"], before["start"]) == (
                to["machine_id"], to["start"]):
            continue
        out.append({"operation_id": operation_id, "order_id": int(a["operation"][1:].split("-")[0]),
                    "reason": place["state"] if place else "new", "from": before, "to": to})
    return out


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def paid_before(places: dict[int, dict[str, Any]]) -> dict[str, int]:
    """What the factories were to be paid per order before the re-plan (order id as text:
    the run's stats are JSON)."""
    out: dict[str, int] = {}
    for place in places.values():
        key = str(place.get("order_id"))
        out[key] = out.get(key, 0) + int(place.get("amount") or 0)
    return out


def before(session: Session, places: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Where each operation is now, for the review's "before" Gantt (JSON for the stats)."""
    plant_of = dict(session.exec(select(Machine.id, Machine.plant_id).where(
        col(Machine.id).in_({p["machine_id"] for p in places.values()} or {0}))).all())
    return [{"operation_id": op_id, "order_id": p.get("order_id"), "machine_id": p["machine_id"],
             "plant_id": plant_of.get(p["machine_id"]), "start": iso(p["start"]),
             "end": iso(p["end"]), "state": p["state"]}
            for op_id, p in sorted(places.items())]
