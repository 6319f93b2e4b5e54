"""Offering firm quotes from a reviewed run: approval holds the planned intervals of the chosen
served orders and gives each buyer a firm quote (price = production cost + platform fee).
Each order is all or nothing; what no longer fits is reported and not held."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from market.accounts.models import User
from market.capacity.models import Machine, Plant, WindowStatus
from market.capacity.publishing import occupy
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import N_, Conflict, NotFound, ValidationError
from market.core.models import utcnow
from market.core.money import DEFAULT_FEE_BPS, platform_fee
from market.deals import disruption
from market.deals.models import Quote
from market.orders import lifecycle
from market.orders.models import Order, OrderStatus
from market.orders.service import add_event
from market.runs.models import MatchingRun, PlannedOperation, RunOrder, RunStatus
from market.runs.service import QUOTE_HOURS, require_operator


def _probation_busy(session: Session, planned: list[PlannedOperation], now: datetime
                    ) -> str | None:
    """Why a factory on probation cannot take this order now, or None. It takes one job at a
    time (the work of one order, however many of its steps): the planner leaves a factory
    holding live work out of new runs, but one run may still give a new factory several
    orders; this check at approval makes the rule hold: the first approved order takes it,
    the others conflict and go to the next run."""
    plants = dict(session.exec(select(Plant.id, Plant.company_id).where(
        col(Plant.id).in_({p.plant_id for p in planned} or {0}))).all())
    probation = events.collect(events.plant_probation, session, plant_companies=plants,
                               now=now, own=[])
    if not probation:
        return None
    for plant_id, state in probation.items():
        if plant_id in plants and state.get("live"):
            return ("A factory of this plan is on probation and takes one job at a time; "
                    "it has one already. Run the matching again for this order.")
    return None


def offer_quote(session: Session, actor: User, run_id: int, outcome: RunOrder, order: Order,
                now: datetime, fee_bps: int, quote_hours: int, extra_cost: int = 0
                ) -> Quote | str:
    """Hold one served order's planned intervals and offer its buyer a firm quote (price =
    production cost + `extra_cost` + platform fee); the order becomes quoted. All or nothing:
    when an interval no longer fits, nothing is held and the reason is returned (and noted on
    the outcome). The caller commits."""
    planned = session.exec(select(PlannedOperation).where(
        PlannedOperation.run_id == run_id,
        PlannedOperation.order_id == outcome.order_id)).all()
    busy = _probation_busy(session, planned, now)
    if busy:
        outcome.decision, outcome.decision_note = "conflict", busy
        session.add(outcome)
        return busy
    nested = session.begin_nested()
    try:
        for po in planned:
            if session.get(Machine, po.machine_id).status != "active":  # type: ignore[union-attr]
                raise Conflict("Machine %(machine)s has been retired.",
                               params={"machine": po.machine_id})
            for segment in occupy(session, po.machine_id, po.start, po.end, WindowStatus.held):
                segment.planned_operation_id = po.id
                session.add(segment)
        session.flush()
        nested.commit()
    except (Conflict, IntegrityError, OperationalError) as exc:
        nested.rollback()
        note = exc.message if isinstance(exc, Conflict) else (
            "Another approval took this capacity first.")
        outcome.decision, outcome.decision_note = "conflict", note
        session.add(outcome)
        return note
    cost = int(outcome.cost or 0) + int(extra_cost)
    fee = platform_fee(cost, fee_bps)
    quote = Quote(order_id=order.id, run_id=run_id, currency=order.currency,  # type: ignore[arg-type]
                  production_cost=cost, platform_fee=fee, price=cost + fee,
                  delivery_date=outcome.completion,  # type: ignore[arg-type]
                  plants=len({po.plant_id for po in planned}),
                  expires_at=now + timedelta(hours=quote_hours))
    session.add(quote)
    lifecycle.move(order, OrderStatus.quoted)
    session.add(order)
    outcome.decision = "approved"
    session.add(outcome)
    session.flush()
    add_event(session, order, actor, "quoted", quote_id=quote.id, price=quote.price,
              delivery_date=quote.delivery_date.isoformat(),
              expires_at=quote.expires_at.isoformat())
    events.occurred(session, "quote_offered", order=order, quote=quote, actor=actor)
    return quote


@dataclass
class ApprovalReport:
    approved: list[int] = field(default_factory=list)
    conflicts: dict[int, str] = field(default_factory=dict)
    quotes: list[Quote] = field(default_factory=list)


def approve(session: Session, actor: User, run_id: int, order_ids: list[int] | None = None,
            fee_bps: int = DEFAULT_FEE_BPS, quote_hours: int = QUOTE_HOURS) -> ApprovalReport:
    """Hold the planned intervals of the chosen served orders and offer firm quotes. Each
    order is all or nothing: if any of its intervals no longer fits, it is reported."""
    require_operator(actor)
    kind = session.exec(select(MatchingRun.kind).where(MatchingRun.id == run_id)).first()
    # end that read before the write lock: on SQLite a snapshot older than the lock's holder
    # cannot write (SQLITE_BUSY_SNAPSHOT)
    session.rollback()
    if kind == "replan":  # moves bookings instead of offering quotes
        replanned = disruption.approve_replan(
            session, actor, run_id, order_ids,
            offer=partial(offer_quote, fee_bps=fee_bps, quote_hours=quote_hours))
        return ApprovalReport(approved=replanned.approved, conflicts=replanned.conflicts,
                              quotes=replanned.quotes)
    try:
        return _approve_run(session, actor, run_id, order_ids, fee_bps, quote_hours)
    except OperationalError:
        # SQLite: a writer outside the lock (a background job's outbox) held the database
        # while this approval wrote; nothing was held, the operator tries again
        session.rollback()
        raise Conflict("Capacity changed while approving; nothing was held. Try again.") from None


def _approve_run(session: Session, actor: User, run_id: int, order_ids: list[int] | None,
                 fee_bps: int, quote_hours: int) -> ApprovalReport:
    with write_lock(session):
        run = session.get(MatchingRun, run_id, with_for_update=True, populate_existing=True)
        if run is None:
            raise NotFound("Matching run not found.")
        if run.status not in (RunStatus.done, RunStatus.approved):
            raise Conflict("A run that is %(status)s cannot be approved.",
                           params={"status": run.status})
        outcomes = session.exec(select(RunOrder).where(RunOrder.run_id == run_id,
                                                       col(RunOrder.served).is_(True))).all()
        wanted = set(order_ids) if order_ids else None
        if wanted is not None:
            unknown = wanted - {o.order_id for o in outcomes}
            if unknown:
                raise ValidationError(
                    "Only orders the run served can be approved; not served: %(ids)s.",
                    {"order_ids": N_("Give orders this run served.")},
                    {"ids": ", ".join(str(i) for i in sorted(unknown))})
        report = ApprovalReport()
        now = utcnow()
        for outcome in outcomes:
            if outcome.decision or (wanted is not None and outcome.order_id not in wanted):
                continue
            order = session.get(Order, outcome.order_id, with_for_update=True)
            if order is None or order.status != OrderStatus.open:
                outcome.decision = "conflict"
                outcome.decision_note = (f"The order is {order.status if order else 'gone'} "
                                         "now, no longer open.")
                report.conflicts[outcome.order_id] = outcome.decision_note
                session.add(outcome)
                continue
            quote = offer_quote(session, actor, run_id, outcome, order, now, fee_bps,
                                quote_hours)
            if isinstance(quote, str):
                report.conflicts[outcome.order_id] = quote
                continue
            report.approved.append(order.id)  # type: ignore[arg-type]
            report.quotes.append(quote)
        run.status = RunStatus.approved.value
        run.reviewed_by_id, run.reviewed_at = actor.id, now
        session.add(run)
        audit.record(session, actor.id, "matching_run.approved", run, None,
                     approved=report.approved, conflicts=report.conflicts)
        try:
            session.commit()
        except (IntegrityError, OperationalError):
            session.rollback()
            raise Conflict(
                "Capacity changed while approving; nothing was held. Try again.") from None
    return report
