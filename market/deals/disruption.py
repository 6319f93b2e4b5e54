"""When the week does not go to plan (DESIGN.md, API.md "Disruption and change"): a machine
reported down puts the bookings in its range at risk and queues a re-plan of their orders; a
factory declining one step of an order whose other steps are booked re-plans that step only;
an approved re-plan moves the bookings that moved (their factories accept again) and keeps
the others as they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from market.accounts.models import Company, User
from market.capacity.downtime import keep_down
from market.capacity.models import Machine, MachineDowntime, Plant, WindowStatus
from market.capacity.publishing import occupy
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import Conflict, NotFound
from market.core.models import utcnow
from market.deals.lifecycle import move_booking
from market.deals.models import LIVE_BOOKING_STATES, Booking, BookingStatus, Quote, QuoteStatus
from market.deals.timing import answer_by, release
from market.orders import lifecycle
from market.orders.models import Order, OrderStatus
from market.orders.service import add_event
from market.runs.models import MatchingRun, PlannedOperation, RunOrder, RunStatus
from market.runs.replan import (
    CHANGE_TRIGGER,
    REPLAN_STATES,
    displacement,
    queue_replan,
    refuse_change,
)
from market.runs.service import require_operator

LIVE = [s.value for s in LIVE_BOOKING_STATES]
STARTED = (BookingStatus.in_progress, BookingStatus.done)


def current_quote(session: Session, order_id: int) -> Quote | None:
    return session.exec(select(Quote).where(
        Quote.order_id == order_id, Quote.status == QuoteStatus.accepted.value)
        .order_by(col(Quote.id).desc())).first()


def live_bookings(session: Session, order_id: int) -> list[Booking]:
    quote = current_quote(session, order_id)
    if quote is None:
        return []
    return list(session.exec(select(Booking).where(
        Booking.quote_id == quote.id, col(Booking.status).in_(LIVE))
        .order_by(col(Booking.start))))


# --- downtime -----------------------------------------------------------------------------

def on_machine_down(session: Session, downtime: MachineDowntime, machine: Machine,
                    actor: User) -> dict[str, Any]:
    """Receiver of events.machine_down: the live bookings in the range are at risk; the
    orders with work that can still move are re-planned; buyers and operators are told."""
    hit = session.exec(select(Booking).where(
        Booking.machine_id == machine.id,
        col(Booking.status).in_([BookingStatus.proposed.value, BookingStatus.accepted.value,
                                 BookingStatus.in_progress.value]),
        col(Booking.start) < downtime.end, col(Booking.end) > downtime.start)
        .order_by(col(Booking.start))).all()
    orders: dict[int, list[Booking]] = {}
    for booking in hit:
        booking.at_risk = True
        session.add(booking)
        orders.setdefault(booking.order_id, []).append(booking)
    movable = [oid for oid, bs in orders.items()
               if any(b.status not in STARTED for b in bs)
               and session.get(Order, oid).status in REPLAN_STATES]  # type: ignore[union-attr]
    run = queue_replan(session, movable, f"downtime:{downtime.id}", actor) if movable else None
    for order_id, bookings in orders.items():
        order = session.get(Order, order_id)
        add_event(session, order, actor, "at_risk", machine=machine.name,  # type: ignore[arg-type]
                  start=downtime.start.isoformat(), end=downtime.end.isoformat(),
                  bookings=[b.id for b in bookings], replan_run_id=run.id if run else None)
        events.occurred(session, "downtime_reported", order=order, booking=bookings[0],
                        actor=actor, machine_name=machine.name, start=downtime.start,
                        end=downtime.end, reason=downtime.reason)
    return {"affected_bookings": [b.id for b in hit], "replan_run_id": run.id if run else None}


# --- where the operations are now (asked by a re-plan run) ----------------------------------

def operation_places(session: Session, orders: list[Order]) -> dict[int, dict[str, Any]]:
    """Receiver of events.operation_places: each operation's current booking, or the slot
    its factory declined, and what the re-plan may do with it."""
    places: dict[int, dict[str, Any]] = {}
    for order in orders:
        quote = current_quote(session, order.id)  # type: ignore[arg-type]
        if quote is None:
            continue
        rows = session.exec(select(Booking).where(Booking.quote_id == quote.id)
                            .order_by(col(Booking.id))).all()
        for b in rows:  # later bookings of an operation override earlier (declined) ones
            if b.status in LIVE:
                state = ("fixed" if b.status in STARTED else
                         "at_risk" if b.at_risk else "previous")
            elif b.status == BookingStatus.declined:
                if places.get(b.operation_id, {}).get("state") not in (None, "declined"):
                    continue
                state = "declined"
            else:
                continue
            places[b.operation_id] = {
                "state": state, "machine_id": b.machine_id, "start": b.start, "end": b.end,
                "planned_operation_id": b.planned_operation_id, "booking_id": b.id,
                "order_id": b.order_id, "amount": int(b.amount)}
    return places


# --- a factory declines one step --------------------------------------------------------------

def keeps_others(session: Session, booking: Booking) -> bool:
    """Whether declining this booking re-plans its step only: the order's other steps are
    accepted (or further), so the order keeps its bookings, its money and its dates."""
    others = [b for b in live_bookings(session, booking.order_id) if b.id != booking.id]
    order = session.get(Order, booking.order_id)
    return bool(others) and order is not None and order.status in REPLAN_STATES and any(
        b.status != BookingStatus.proposed for b in others)


def decline_step(session: Session, actor: User | None, booking: Booking, reason: str,
                 now: datetime) -> MatchingRun:
    """Decline this booking alone: its time goes back, the order stays booked and a re-plan
    of the declined step (and what must follow it) is queued. The caller commits."""
    move_booking(booking, BookingStatus.declined)
    booking.decline_reason = reason[:1000]
    booking.responded_at = now
    session.add(booking)
    release(session, [booking.planned_operation_id])
    order = session.get(Order, booking.order_id)
    assert order is not None
    if order.status == OrderStatus.scheduled:
        lifecycle.move(order, OrderStatus.accepted)  # a step waits for its new factory
        session.add(order)
    run = queue_replan(session, [order.id], f"decline:{booking.id}", None)  # type: ignore[list-item]
    add_event(session, order, actor, "booking_declined", booking_id=booking.id,
              reason=reason[:500], note="The step is re-planned; the other bookings stay.",
              replan_run_id=run.id)
    audit.record(session, actor.id if actor else None, "booking.declined", booking,
                 booking.factory_company_id, reason=reason[:500], order_id=booking.order_id,
                 replan_run_id=run.id)
    events.occurred(session, "booking_declined", order=order, booking=booking, actor=actor)
    return run


# --- a re-plan that finds no place in time -------------------------------------------------

REPLAN_SLACK_DAYS = 3


def fits(outcome: RunOrder, order: Order, slack_days: int = REPLAN_SLACK_DAYS) -> bool:
    """Whether a re-plan delivers the order by its due date plus the slack (API.md)."""
    return bool(outcome.served and outcome.completion is not None
                and outcome.completion <= order.due_date + timedelta(days=slack_days))


def on_run_finished(session: Session, run_id: int, kind: str,
                    slack_days: int = REPLAN_SLACK_DAYS) -> list[int]:
    """Receiver of events.run_finished: the buyers of orders a re-plan cannot deliver in time
    are told, and offered cancellation with a full refund (API.md "Disruption and change").
    Returns those orders' ids."""
    if kind != "replan":
        return []
    run = session.get(MatchingRun, run_id)
    if run is None or run.trigger.startswith(CHANGE_TRIGGER):
        return []  # a change request's quote: deals.changes answers the buyer
    late = []
    for outcome in session.exec(select(RunOrder).where(RunOrder.run_id == run_id)).all():
        order = session.get(Order, outcome.order_id)
        if order is None or fits(outcome, order, slack_days):
            continue
        late.append(order.id)
        add_event(session, order, None, "replan_no_fit", run_id=run_id,  # type: ignore[arg-type]
                  until=(order.due_date + timedelta(days=slack_days)).isoformat())
        events.occurred(session, "order_replanned", order=order, actor=None, run_id=run_id,
                        fits=False)
    if late:
        session.commit()
    return late  # type: ignore[return-value]


def latest_replan_misses(session: Session, order: Order,
                         slack_days: int = REPLAN_SLACK_DAYS) -> bool:
    """Whether the newest re-plan of this booked order found no place in time and nothing
    was approved since: the buyer may cancel with a full refund."""
    if order.status not in REPLAN_STATES:
        return False
    row = session.exec(select(RunOrder).join(MatchingRun, col(MatchingRun.id) == RunOrder.run_id)
                       .where(RunOrder.order_id == order.id, MatchingRun.kind == "replan",
                              col(MatchingRun.trigger).not_like(CHANGE_TRIGGER + "%"),
                              col(MatchingRun.status).in_([RunStatus.done.value,
                                                           RunStatus.approved.value]))
                       .order_by(col(MatchingRun.id).desc())).first()
    return row is not None and not row.decision and not fits(row, order, slack_days)


# --- approving a re-plan --------------------------------------------------------------------

@dataclass
class ReplanReport:
    approved: list[int] = field(default_factory=list)
    conflicts: dict[int, str] = field(default_factory=dict)
    moved: dict[int, list[int]] = field(default_factory=dict)  # order -> new booking ids
    kept: dict[int, list[int]] = field(default_factory=dict)  # order -> unchanged booking ids
    quotes: list[Quote] = field(default_factory=list)  # a rush order's firm quote


def approve_replan(session: Session, actor: User, run_id: int,
                   order_ids: list[int] | None = None, offer: Any = None) -> ReplanReport:
    """Move what the re-plan moved: each moved booking is replaced by a new one proposed to
    its factory (accepted at once where it accepts automatically), unchanged bookings stay
    as they are. Each order is all or nothing; the buyer's price stays (a disruption is not
    the buyer's to pay), and a plan that costs more than the escrow holds is refused."""
    require_operator(actor)
    report = ReplanReport()
    with write_lock(session):
        run = session.get(MatchingRun, run_id, with_for_update=True, populate_existing=True)
        if run is None or run.kind != "replan":
            raise NotFound("Re-plan run not found.")
        refuse_change(run)
        if run.status not in (RunStatus.done, RunStatus.approved):
            raise Conflict("A run that is %(status)s cannot be approved.",
                           params={"status": run.status})
        wanted = set(order_ids) if order_ids else None
        now = utcnow()
        outcomes = session.exec(select(RunOrder).where(RunOrder.run_id == run_id)).all()
        statuses = dict(session.exec(select(Order.id, Order.status).where(
            col(Order.id).in_([o.order_id for o in outcomes] or [0]))).all())
        # in a rush the booked orders move first: that frees the time the open ones take
        rush = [o.order_id for o in outcomes if statuses.get(o.order_id) == OrderStatus.open]
        extra = displacement(run.stats, rush, {o.order_id: int(o.cost or 0) for o in outcomes})
        for outcome in sorted(outcomes, key=lambda o: o.order_id in rush):
            if outcome.decision or (wanted is not None and outcome.order_id not in wanted):
                continue
            if outcome.order_id in rush:
                order = session.get(Order, outcome.order_id, with_for_update=True)
                if not outcome.served or offer is None:
                    note: str | None = "The re-plan found no place for this order."
                else:
                    quote = offer(session, actor, run.id, outcome, order, now,
                                  extra_cost=extra.get(outcome.order_id, 0))
                    note = quote if isinstance(quote, str) else None
                    if not isinstance(quote, str):
                        report.quotes.append(quote)
            else:
                note = _approve_order(session, actor, run, outcome, now, report)
            if note:
                outcome.decision, outcome.decision_note = "conflict", note[:1000]
                report.conflicts[outcome.order_id] = note
            else:
                outcome.decision = "approved"
                report.approved.append(outcome.order_id)
            session.add(outcome)
        run.status = RunStatus.approved.value
        run.reviewed_by_id, run.reviewed_at = actor.id, now
        session.add(run)
        audit.record(session, actor.id, "matching_run.approved", run, None,
                     approved=report.approved, conflicts=report.conflicts,
                     moved={str(k): v for k, v in report.moved.items()})
        try:
            session.commit()
        except (IntegrityError, OperationalError):
            session.rollback()
            raise Conflict("Capacity changed while approving; nothing moved. Try again.") from None
    return report


def _approve_order(session: Session, actor: User, run: MatchingRun, outcome: RunOrder,
                   now: datetime, report: ReplanReport) -> str | None:
    """Apply one order's re-plan; the reason it cannot be applied, or None."""
    order = session.get(Order, outcome.order_id, with_for_update=True)
    if order is None or order.status not in REPLAN_STATES:
        return "The order is no longer booked."
    if not outcome.served:
        return "The re-plan found no place for this order: " + (outcome.reason or "")
    quote = current_quote(session, order.id)  # type: ignore[arg-type]
    if quote is None:
        return "The order has no accepted quote."
    planned = {p.operation_id: p for p in session.exec(select(PlannedOperation).where(
        PlannedOperation.run_id == run.id, PlannedOperation.order_id == order.id))}
    current = {b.operation_id: b for b in live_bookings(session, order.id)}  # type: ignore[arg-type]
    kept, to_move = [], []
    for op_id, p in planned.items():
        b = current.get(op_id)
        if b is not None and (b.status in STARTED or (
                b.machine_id, b.start, b.end) == (p.machine_id, p.start, p.end)):
            kept.append(b)
        else:
            to_move.append((b, p))
    total = sum(int(b.amount) for b in kept) + sum(int(p.cost) for _b, p in to_move)
    if total > quote.price:
        return ("The re-plan pays the factories more than the escrow holds; re-plan again "
                "or cancel the order.")
    companies = {p.id: p.company_id for p in session.exec(select(Plant).where(
        col(Plant.id).in_({p.plant_id for _b, p in to_move} or {0})))}
    auto = {c.id for c in session.exec(select(Company).where(
        col(Company.id).in_(set(companies.values()) or {0}),
        col(Company.auto_accept_bookings).is_(True)))}
    nested = session.begin_nested()
    made: list[Booking] = []
    try:
        for old, _p in to_move:
            if old is not None:
                move_booking(old, BookingStatus.replaced)
                session.add(old)
                release(session, [old.planned_operation_id])
                keep_down(session, old.machine_id, old.start, old.end)
        for old, p in to_move:
            for segment in occupy(session, p.machine_id, p.start, p.end, WindowStatus.booked):
                segment.planned_operation_id = p.id
                session.add(segment)
            company_id = companies[p.plant_id]
            booking = Booking(
                quote_id=quote.id, order_id=order.id, operation_id=p.operation_id,  # type: ignore[arg-type]
                planned_operation_id=p.id, factory_company_id=company_id,  # type: ignore[arg-type]
                machine_id=p.machine_id, start=p.start, end=p.end, amount=p.cost,
                currency=quote.currency, respond_by=answer_by(now, p.start),
                status=(BookingStatus.accepted if company_id in auto
                        else BookingStatus.proposed).value,
                responded_at=now if company_id in auto else None,
                replaces_id=old.id if old is not None else None)
            session.add(booking)
            made.append(booking)
        session.flush()
        nested.commit()
    except (Conflict, IntegrityError, OperationalError) as exc:
        nested.rollback()
        return exc.message if isinstance(exc, Conflict) else (
            "Another approval took this capacity first.")
    for b in kept:
        if b.at_risk and b.status in STARTED:
            continue  # started work on a machine now down stays at risk: a fact to watch
        b.at_risk = False
        session.add(b)
    if order.status == OrderStatus.scheduled and any(
            b.status == BookingStatus.proposed for b in made):
        lifecycle.move(order, OrderStatus.accepted)  # moved work waits for its factory
        session.add(order)
    report.moved[order.id] = [b.id for b in made]  # type: ignore[index, misc]
    report.kept[order.id] = [b.id for b in kept]  # type: ignore[index, misc]
    add_event(session, order, actor, "replanned", run_id=run.id,
              moved=len(made), kept=len(kept),
              delivery_date=outcome.completion.isoformat() if outcome.completion else None)
    events.occurred(session, "order_replanned", order=order, actor=actor, run_id=run.id)
    for b in made:
        if b.status == BookingStatus.proposed:
            events.occurred(session, "booking_proposed", order=order, booking=b, actor=actor)
    return None
