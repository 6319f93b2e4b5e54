"""Buyers' change requests (API.md "Disruption and change"): after acceptance the buyer asks
for another due date or quantity; a re-plan run of the order quotes it (the rest of the book
held fixed, started work fixed, accepted work keeping its place unless moving pays); the
buyer accepts or declines the quote.

The rule on review: a change request's re-plan needs no operator approval. Its plan is
checked by the independent validator like every run's, the buyer sees the price difference
and the new date as soon as the run finishes, and the buyer's acceptance approves it (the
operators see the request and its run, and cannot approve or reject that run for the buyer).
Accepting applies the plan as an approved re-plan does (deals.disruption): moved bookings
go to their factories again, unchanged ones stay accepted, all or nothing. The new quote
becomes the order's firm quote and the old one is superseded; money follows through
`events.change_accepting` (payments): a higher price is a second payment into escrow, a
lower one a partial refund. Declining changes nothing; the run's plan is discarded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import User
from market.core import audit, events
from market.core.dates import DEFAULT_ZONE
from market.core.db import write_lock
from market.core.errors import (
    N_,
    Conflict,
    FieldMessage,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from market.core.models import utcnow
from market.core.money import DEFAULT_FEE_BPS, platform_fee
from market.deals.disruption import STARTED, ReplanReport, _approve_order, current_quote
from market.deals.disruption import live_bookings as current_bookings
from market.deals.lifecycle import move_quote
from market.deals.models import Booking, ChangeRequest, ChangeRequestStatus, Quote, QuoteStatus
from market.orders.models import Order
from market.orders.service import add_event
from market.orders.validation import MAX_QUANTITY, clean_due_date
from market.runs.models import MatchingRun, PlannedOperation, RunOrder, RunStatus
from market.runs.replan import CHANGE_TRIGGER, REPLAN_STATES, queue_replan

CR = ChangeRequestStatus
OPEN = (CR.pending.value, CR.quoted.value)


def _order_of_buyer(session: Session, actor: User, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None or not (actor.is_operator or actor.company_id == order.buyer_company_id):
        raise NotFound(N_("Order not found."))
    return order


def get_change(session: Session, actor: User, change_id: int) -> ChangeRequest:
    """A change request, for the order's buyer and operators (anyone else: not found)."""
    change = session.get(ChangeRequest, change_id)
    order = session.get(Order, change.order_id) if change else None
    if change is None or order is None or not (
            actor.is_operator or actor.company_id == order.buyer_company_id):
        raise NotFound(N_("Change request not found."))
    if change.status == CR.pending and settle_failed(session, order.id):  # type: ignore[arg-type]
        session.refresh(change)
    return change


def list_changes(session: Session, actor: User, order_id: int) -> list[ChangeRequest]:
    """An order's change requests for its buyer and operators (anyone else: not found)."""
    return changes_of(session, _order_of_buyer(session, actor, order_id).id)  # type: ignore[arg-type]


def settle_failed(session: Session, order_id: int) -> int:
    """Pending requests whose re-plan run failed (the engine crashed twice, say) become
    impossible, so the buyer may ask again; commits when it changed any. Returns how many."""
    rows = session.exec(select(ChangeRequest).join(
        MatchingRun, col(MatchingRun.id) == ChangeRequest.run_id).where(
        ChangeRequest.order_id == order_id, ChangeRequest.status == CR.pending.value,
        MatchingRun.status == RunStatus.failed.value)).all()
    if not rows:
        return 0
    with write_lock(session):
        for change in rows:
            change.status, change.answered_at = CR.impossible.value, utcnow()
            change.note = "The re-plan failed; request the change again."
            session.add(change)
        session.commit()
    return len(rows)


def changes_of(session: Session, order_id: int) -> list[ChangeRequest]:
    settle_failed(session, order_id)
    return list(session.exec(select(ChangeRequest).where(ChangeRequest.order_id == order_id)
                             .order_by(col(ChangeRequest.id).desc())))


def why_not(session: Session, order: Order) -> str | None:
    """Why the buyer cannot ask for a change of this order now (a msgid naming `status`),
    or None."""
    if order.status not in REPLAN_STATES:
        return N_("The order is %(status)s; a change can be requested after its quote is "
                  "accepted and paid, until it ships.")
    if not current_bookings(session, order.id):  # type: ignore[arg-type]
        return N_("The order is %(status)s but not paid into escrow yet; a change can be "
                  "requested once the factories are booked.")
    settle_failed(session, order.id)  # type: ignore[arg-type]
    if session.exec(select(ChangeRequest.id).where(
            ChangeRequest.order_id == order.id,
            col(ChangeRequest.status).in_(OPEN))).first() is not None:
        return N_("A change request of this order is still open; accept or decline it first.")
    if events.granted(events.money_due, session, order=order):
        return N_("Pay the difference of the last change into escrow first.")
    return None


def close_open(session: Session, order: Order) -> None:
    """The order is being cancelled: its open change requests end declined (the caller
    commits); their runs' plans are never applied."""
    now = utcnow()
    for change in session.exec(select(ChangeRequest).where(
            ChangeRequest.order_id == order.id, col(ChangeRequest.status).in_(OPEN))).all():
        change.status, change.decided_at = CR.declined.value, now
        change.note = "The order was cancelled."
        session.add(change)


def _clean(order: Order, due_date: Any, quantity: Any, reason: str, now: datetime
           ) -> tuple[datetime | None, int | None, str]:
    fields: dict[str, str] = {}
    due: datetime | None = None
    if isinstance(due_date, str) and due_date.strip() == order.due_date.astimezone(
            DEFAULT_ZONE).date().isoformat():
        due_date = None  # the form's day of the current due date: unchanged
    if due_date not in (None, ""):
        due = clean_due_date(due_date, now, fields)  # like the order form's
    qty: int | None = None
    if quantity not in (None, ""):
        try:
            qty = int(str(quantity).strip()) if not isinstance(quantity, bool) else -1
        except ValueError:
            qty = -1
        if not 0 < qty <= MAX_QUANTITY:
            fields["quantity"] = FieldMessage("The quantity must be between 1 and %(max)s.",
                                              max=format(MAX_QUANTITY, ","))
    reason = (reason or "").strip()
    if not reason:
        fields["reason"] = N_("Say why the order should change.")
    elif len(reason) > 1000:
        fields["reason"] = N_("At most 1000 characters.")
    if not fields and (due is None or due == order.due_date) and (
            qty is None or qty == order.quantity):
        fields["due_date"] = N_("Give a new due date, a new quantity, or both.")
    if fields:
        raise ValidationError(N_("Please correct the change request."), fields)
    return (due if due != order.due_date else None,
            qty if qty != order.quantity else None, reason)


def request_change(session: Session, actor: User, order_id: int, due_date: Any = None,
                   quantity: Any = None, reason: str = "",
                   now: datetime | None = None) -> ChangeRequest:
    """The buyer asks for a new due date and/or quantity: the request is pending and a
    re-plan of the order is queued (dispatched after the commit)."""
    now = now or utcnow()
    with write_lock(session):
        order = _order_of_buyer(session, actor, order_id)
        if actor.is_operator:
            raise PermissionDenied(N_("Only the buyer requests a change of an order."))
        accounts.require_active(session, actor)
        refused = why_not(session, order)
        if refused:
            raise Conflict(refused, params={"status": order.status})
        due, qty, reason = _clean(order, due_date, quantity, reason, now)
        if qty is not None and any(b.status in STARTED
                                   for b in current_bookings(session, order.id)):  # type: ignore[arg-type]
            raise ValidationError(
                N_("Work on this order has started: its quantity can no longer change (its "
                   "due date can)."), {"quantity": N_("Work has started.")})
        change = ChangeRequest(order_id=order.id, requested_by_id=actor.id, due_date=due,  # type: ignore[arg-type]
                               quantity=qty, reason=reason, currency=order.currency,
                               created_at=now)
        session.add(change)
        session.flush()
        run = queue_replan(session, [order.id], f"{CHANGE_TRIGGER}{change.id}", actor)  # type: ignore[list-item]
        change.run_id = run.id
        session.add(change)
        add_event(session, order, actor, "change_requested", change_request_id=change.id,
                  due_date=due.isoformat() if due else None, quantity=qty, reason=reason[:500],
                  replan_run_id=run.id)
        audit.record(session, actor.id, "change_request.created", change,
                     order.buyer_company_id, order_id=order.id, run_id=run.id,
                     due_date=due.isoformat() if due else None, quantity=qty)
        session.commit()
    return change


# --- the re-plan run answers ------------------------------------------------------------------

def order_changes(session: Session, run: MatchingRun) -> dict[int, dict[str, Any]]:
    """Receiver of events.order_changes: what the change request of this run asks."""
    change = session.exec(select(ChangeRequest).where(ChangeRequest.run_id == run.id)).first()
    if change is None:
        return {}
    return {change.order_id: {"due_date": change.due_date, "quantity": change.quantity}}


def _new_price(outcome: RunOrder, fee_bps: int) -> tuple[int, int]:
    cost = int(outcome.cost or 0)
    return cost, platform_fee(cost, fee_bps)


def on_run_finished(session: Session, run_id: int, kind: str,
                    fee_bps: int = DEFAULT_FEE_BPS) -> ChangeRequest | None:
    """Receiver of events.run_finished: a change request's run makes it quoted (the price
    difference and the new delivery date) or impossible (why), and the buyer is told."""
    if kind != "replan":
        return None
    change = session.exec(select(ChangeRequest).where(ChangeRequest.run_id == run_id)).first()
    if change is None or change.status != CR.pending:
        return None
    order = session.get(Order, change.order_id)
    outcome = session.exec(select(RunOrder).where(RunOrder.run_id == run_id,
                                                  RunOrder.order_id == change.order_id)).first()
    quote = current_quote(session, change.order_id)
    due = change.due_date or order.due_date  # type: ignore[union-attr]
    now = utcnow()
    if outcome is None or not outcome.served or quote is None:
        change.status = CR.impossible.value
        change.note = ("No plan fits: " + (outcome.reason if outcome and outcome.reason
                                           else "the order is no longer booked."))[:1000]
    elif outcome.completion is None or outcome.completion > due:
        change.status = CR.impossible.value
        change.delivery_date = outcome.completion
        change.note = "The earliest plan delivers after the due date asked for."
    else:
        cost, fee = _new_price(outcome, fee_bps)
        change.status = CR.quoted.value
        change.price_difference = cost + fee - int(quote.price)
        change.delivery_date = outcome.completion
    change.answered_at = now
    session.add(change)
    add_event(session, order, None, "change_answered", change_request_id=change.id,  # type: ignore[arg-type]
              status=change.status, price_difference=change.price_difference,
              delivery_date=change.delivery_date.isoformat() if change.delivery_date else None,
              note=change.note)
    events.occurred(session, "change_request_answered", order=order, actor=None,
                    change_request_id=change.id, status=change.status,
                    price_difference_minor=change.price_difference,
                    delivery_date=change.delivery_date)
    session.commit()
    return change


# --- the buyer decides ------------------------------------------------------------------------

def _decidable(session: Session, actor: User, change_id: int) -> tuple[ChangeRequest, Order]:
    change = get_change(session, actor, change_id)
    if actor.is_operator:
        raise PermissionDenied(N_("Only the buyer accepts or declines a change request."))
    accounts.require_active(session, actor)
    change = session.get(ChangeRequest, change_id, with_for_update=True,  # type: ignore[assignment]
                         populate_existing=True)
    if change.status != CR.quoted:
        raise Conflict(N_("This change request is %(status)s; only a quoted one can be "
                          "accepted or declined."), params={"status": change.status})
    order = session.get(Order, change.order_id, with_for_update=True, populate_existing=True)
    return change, order  # type: ignore[return-value]


def _close_run(session: Session, change: ChangeRequest, actor: User, decision: str,
               now: datetime) -> None:
    run = session.get(MatchingRun, change.run_id)
    if run is None:
        return
    for outcome in session.exec(select(RunOrder).where(RunOrder.run_id == run.id)).all():
        outcome.decision = decision
        session.add(outcome)
    if run.status == RunStatus.done:
        run.status = (RunStatus.approved if decision == "approved" else RunStatus.rejected).value
    run.reviewed_by_id, run.reviewed_at = actor.id, now
    session.add(run)


def decline_change(session: Session, actor: User, change_id: int) -> ChangeRequest:
    """The buyer keeps the order as it is: nothing moves, the run's plan is discarded."""
    now = utcnow()
    with write_lock(session):
        change, order = _decidable(session, actor, change_id)
        change.status, change.decided_at = CR.declined.value, now
        session.add(change)
        _close_run(session, change, actor, "rejected", now)
        add_event(session, order, actor, "change_declined", change_request_id=change.id)
        audit.record(session, actor.id, "change_request.declined", change,
                     order.buyer_company_id, order_id=order.id)
        session.commit()
    return change


def accept_change(session: Session, actor: User, change_id: int) -> ChangeRequest:
    """The buyer takes the quoted change: the order takes the new due date and quantity, the
    new quote (the run's price) becomes its firm quote and the old one is superseded, the
    bookings move as an approved re-plan moves them, and the money follows (payments, on
    `change_accepting`). All or nothing: when the capacity is gone meanwhile, nothing moves
    and the request becomes impossible."""
    now = utcnow()
    with write_lock(session):
        change, order = _decidable(session, actor, change_id)
        run = session.get(MatchingRun, change.run_id)
        outcome = session.exec(select(RunOrder).where(
            RunOrder.run_id == change.run_id, RunOrder.order_id == order.id)).first()
        old = current_quote(session, order.id)  # type: ignore[arg-type]
        if order.status not in REPLAN_STATES or old is None or outcome is None or run is None:
            raise Conflict("The order is %(status)s; the change can no longer be applied.",
                           params={"status": order.status})
        # the price quoted to the buyer, whatever the fee setting is now
        cost = int(outcome.cost or 0)
        price = int(old.price) + int(change.price_difference or 0)
        planned = session.exec(select(PlannedOperation.plant_id).where(
            PlannedOperation.run_id == run.id, PlannedOperation.order_id == order.id)).all()
        new = Quote(order_id=order.id, run_id=run.id, currency=old.currency,  # type: ignore[arg-type]
                    production_cost=cost, platform_fee=price - cost, price=price,
                    delivery_date=outcome.completion, plants=len(set(planned)) or 1,  # type: ignore[arg-type]
                    created_at=now, expires_at=now, decided_at=now)
        session.add(new)
        session.flush()
        move_quote(old, QuoteStatus.superseded)
        old.decided_at = now
        # the work in force belongs to the new quote (payouts and the order follow it)
        for b in session.exec(select(Booking).where(Booking.quote_id == old.id)).all():
            b.quote_id = new.id  # type: ignore[assignment]
            session.add(b)
        session.add(old)
        session.flush()
        move_quote(new, QuoteStatus.accepted)
        session.add(new)
        session.flush()
        report = ReplanReport()
        note = _approve_order(session, actor, run, outcome, now, report)
        if note:
            session.rollback()
            return _impossible_now(session, change_id, note)
        if change.due_date is not None:
            order.due_date = change.due_date
        if change.quantity is not None:
            order.quantity = change.quantity
        order.updated_at = now
        session.add(order)
        change.status, change.decided_at, change.quote_id = CR.accepted.value, now, new.id
        session.add(change)
        _close_run(session, change, actor, "approved", now)
        add_event(session, order, actor, "change_accepted", change_request_id=change.id,
                  quote_id=new.id, price=new.price, price_difference=change.price_difference,
                  due_date=order.due_date.isoformat(), quantity=order.quantity,
                  moved=len(report.moved.get(order.id, [])),  # type: ignore[arg-type]
                  kept=len(report.kept.get(order.id, [])))  # type: ignore[arg-type]
        audit.record(session, actor.id, "change_request.accepted", change,
                     order.buyer_company_id, order_id=order.id, quote_id=new.id,
                     price_difference=change.price_difference)
        events.change_accepting.send(session, change_request=change, order=order,
                                     old_quote=old, new_quote=new, actor=actor, now=now)
        events.publish(session, events.change_accepted, change_request_id=change.id)
        session.commit()
    return change


def _impossible_now(session: Session, change_id: int, note: str) -> ChangeRequest:
    """The quoted plan no longer fits the book: say so, keep everything as it was."""
    with write_lock(session):
        change = session.get(ChangeRequest, change_id, populate_existing=True)
        order = session.get(Order, change.order_id)  # type: ignore[union-attr]
        change.status, change.note = CR.impossible.value, note[:1000]  # type: ignore[union-attr]
        change.decided_at = utcnow()  # type: ignore[union-attr]
        session.add(change)
        add_event(session, order, None, "change_answered", change_request_id=change_id,  # type: ignore[arg-type]
                  status=CR.impossible.value, note=note[:500])
        session.commit()
    raise Conflict(N_("The capacity of this quote was taken meanwhile, so nothing changed. "
                      "Request the change again for a new quote."))
