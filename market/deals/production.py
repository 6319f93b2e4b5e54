"""The work on booked operations and the delivery: the factories report progress (quantity
done, QC pass or fail), hand the parts on to the next operation's plant, and the factory of
the last operation ships to the buyer with carrier and tracking number. The buyer then
inspects: confirming releases the money; rejecting (quality.inspection) opens a dispute;
without either, the delivery counts as accepted when the inspection window ends
(`INSPECTION_DAYS` after the shipment) and the order closes.

Rules, in words: an operation starts once its own booking is accepted (whatever the other
factories do); it is done only when every part is and its QC has not failed, and only after
the operation before it is done; parts are sent on (or shipped) only from a done operation;
the order ships only when every operation is done and the QC documents it requires exist."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import User
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import N_, Conflict, NotFound, ValidationError
from market.core.models import utcnow
from market.deals.lifecycle import follow, move_booking
from market.deals.models import LIVE_BOOKING_STATES, QC_RESULTS, Booking, BookingStatus
from market.deals.visibility import get_booking
from market.orders import lifecycle
from market.orders.models import Order, OrderOperation, OrderStatus
from market.orders.service import add_event

INSPECTION_DAYS = 7
PROGRESS = ("started", "done")


def _chain(session: Session, booking: Booking) -> tuple[dict[int, int], dict[int, Booking]]:
    """The operations' routing positions ({operation id: seq}) and the live bookings of the
    booking's quote by position."""
    seq = {op.id: op.seq for op in session.exec(select(OrderOperation).where(
        OrderOperation.order_id == booking.order_id))}
    live = session.exec(select(Booking).where(
        Booking.quote_id == booking.quote_id,
        col(Booking.status).in_([s.value for s in LIVE_BOOKING_STATES]))).all()
    return seq, {seq.get(b.operation_id, 0): b for b in live}  # type: ignore[misc]


def operation_quantity(session: Session, booking: Booking) -> int:
    op = session.get(OrderOperation, booking.operation_id)
    order = session.get(Order, booking.order_id)
    return (op.quantity if op and op.quantity else None) or (order.quantity if order else 0)


def _progress_values(quantity_done: object, qc_result: str, quantity: int
                     ) -> tuple[int | None, str]:
    fields: dict[str, str] = {}
    done: int | None = None
    if quantity_done not in (None, ""):
        try:
            done = int(str(quantity_done))
        except ValueError:
            done = -1
        if isinstance(quantity_done, bool) or not 0 <= done <= quantity:
            fields["quantity_done"] = N_("A whole number from 0 to the operation's quantity.")
    qc_result = (qc_result or "").strip()
    if qc_result and qc_result not in QC_RESULTS:
        fields["qc_result"] = N_("pass or fail")
    if fields:
        raise ValidationError("Please correct the progress report (at most %(quantity)s "
                              "parts).", fields, {"quantity": quantity})
    return done, qc_result


def report_progress(session: Session, actor: User, booking_id: int, status: str,
                    note: str = "", qc: str = "", quantity_done: object = None,
                    qc_result: str = "") -> Booking:
    """`started` starts an accepted booking (or, on one in progress, updates its report);
    `done` finishes it. Both may carry the quantity done so far and a QC result."""
    if status not in PROGRESS:
        raise ValidationError("Progress is 'started' or 'done'.", {"status": N_("started or done")})
    with write_lock(session):
        booking = get_booking(session, actor, booking_id, lock=True)
        accounts.require_active(session, actor)
        quantity = operation_quantity(session, booking)
        done, result = _progress_values(quantity_done, qc_result, quantity)
        now = utcnow()
        order = session.get(Order, booking.order_id)
        kind = f"operation_{status}"
        if status == "started":
            if booking.status == BookingStatus.in_progress:
                kind = "operation_progress"  # a report on work under way, no move
            elif booking.status != BookingStatus.accepted:
                raise Conflict("Only an accepted booking can start; this one is %(status)s.",
                               params={"status": booking.status})
            else:
                move_booking(booking, BookingStatus.in_progress)
                booking.started_at = now
        else:
            if booking.status not in (BookingStatus.accepted, BookingStatus.in_progress):
                raise Conflict("Only a started booking can be done; this one is %(status)s.",
                               params={"status": booking.status})
            if (result or booking.qc_result) == "fail":
                raise Conflict("An operation whose QC failed cannot be done: rework the parts "
                               "and report QC passed, or tell the buyer in the messages.")
            if done is not None and done < quantity:
                raise Conflict("The operation is done when all %(quantity)s parts are; report "
                               "the quantity done so far with 'started'.",
                               params={"quantity": quantity})
            seq, by_seq = _chain(session, booking)
            before = by_seq.get(seq.get(booking.operation_id, 0) - 1)
            if before is not None and before.status != BookingStatus.done:
                raise Conflict("Operation %(seq)s must be done first: its parts come to this "
                               "one.", params={"seq": seq.get(before.operation_id)})
            done = quantity
            if booking.started_at is None:
                booking.started_at = now
            move_booking(booking, BookingStatus.done)
            booking.done_at = now
        if done is not None:
            booking.quantity_done = done
        if result:
            booking.qc_result = result
            if result == "fail" and booking.qc_failed_at is None:
                booking.qc_failed_at = now  # counts as a defect on the factory's record
        if note.strip():
            booking.note = (booking.note + "\n" if booking.note else "") + note.strip()[:1000]
        if qc.strip():
            booking.qc = qc.strip()[:2000]
        session.add(booking)
        session.flush()
        follow(session, order, actor)  # type: ignore[arg-type]
        add_event(session, order, actor, kind, booking_id=booking.id,  # type: ignore[arg-type]
                  note=note.strip()[:500], quantity_done=booking.quantity_done,
                  quantity=quantity, qc_result=result)
        audit.record(session, actor.id, f"booking.{status}", booking,
                     booking.factory_company_id)
        session.commit()
    return booking


def _shipment(carrier: str, tracking_number: str) -> tuple[str, str]:
    # both optional: a plant's own truck has no tracking number, and integrators that sent
    # only a note keep working; the pages ask for the carrier
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    fields: dict[str, str] = {}
    if len(carrier) > 80:
        fields["carrier"] = N_("At most 80 characters.")
    if len(tracking_number) > 80:
        fields["tracking_number"] = N_("At most 80 characters.")
    if fields:
        raise ValidationError("Please correct the shipment.", fields)
    return carrier, tracking_number


def ship(session: Session, actor: User, booking_id: int, note: str = "", carrier: str = "",
         tracking_number: str = "") -> Order:
    """From a done operation: the factory of the last operation ships the order to the buyer
    (carrier required, tracking number if there is one); any other hands the parts on to
    the next operation's plant (both factories see who sends to whom, and when)."""
    with write_lock(session):
        booking = get_booking(session, actor, booking_id, lock=True)
        accounts.require_active(session, actor)
        order = session.get(Order, booking.order_id, with_for_update=True)
        assert order is not None
        seq, by_seq = _chain(session, booking)
        k = seq.get(booking.operation_id, 0)
        last = k == max(by_seq, default=0)
        carrier, tracking_number = _shipment(carrier, tracking_number)
        now = utcnow()
        if not last:
            if booking.status != BookingStatus.done:
                raise Conflict("Mark the operation done before sending its parts on.")
            if booking.shipped_at is not None:
                raise Conflict("The parts of this operation were sent on already.")
            booking.shipped_at, booking.carrier = now, carrier
            booking.tracking_number = tracking_number
            session.add(booking)
            receiver = by_seq.get(k + 1)
            add_event(session, order, actor, "handed_off", booking_id=booking.id,
                      to_booking_id=receiver.id if receiver else None, carrier=carrier,
                      tracking_number=tracking_number, note=note.strip()[:500])
            if receiver is not None:
                events.occurred(session, "parts_sent", order=order, booking=receiver,
                                actor=actor, carrier=carrier or "-",
                                tracking_number=tracking_number or "-")
            audit.record(session, actor.id, "booking.handed_off", booking,
                         booking.factory_company_id)
            session.commit()
            return order
        if any(b.status != BookingStatus.done for b in by_seq.values()):
            raise Conflict("Every operation must be done before the order ships.")
        if order.status != OrderStatus.in_production:
            raise Conflict("The order is %(status)s; it cannot ship now.",
                           params={"status": order.status})
        events.shipping.send(session, order=order, booking=booking)  # may refuse
        lifecycle.move(order, OrderStatus.shipped)
        order.shipped_at = now
        booking.shipped_at, booking.carrier = now, carrier
        booking.tracking_number = tracking_number
        session.add_all([order, booking])
        add_event(session, order, actor, "shipped", booking_id=booking.id,
                  note=note.strip()[:500], carrier=carrier, tracking_number=tracking_number)
        events.occurred(session, "shipment_recorded", order=order, actor=actor,
                        note=" ".join(x for x in (carrier, tracking_number, note.strip()) if x))
        audit.record(session, actor.id, "order.shipped", order, booking.factory_company_id)
        session.commit()
    return order


def reopen_for_remake(session: Session, actor: User, order: Order, from_seq: int) -> int:
    """A disputed delivery is made again from operation `from_seq` on: those bookings are in
    progress again (same factories, same amounts: the remake is at their cost) and the
    order is back in production. Returns the bookings reopened; the caller commits."""
    done = [b for b in session.exec(select(Booking).where(
        Booking.order_id == order.id, Booking.status == BookingStatus.done.value)).all()]
    seq = {op.id: op.seq for op in order.operations}
    again = [b for b in done if seq.get(b.operation_id, 0) >= from_seq]
    if not again:
        raise ValidationError("No done operation from step %(seq)s on to make again.",
                              {"from_seq": N_("A step of the order's routing.")},
                              {"seq": from_seq})
    for booking in again:
        move_booking(booking, BookingStatus.in_progress)
        booking.done_at = booking.shipped_at = None
        booking.carrier = booking.tracking_number = booking.qc_result = ""
        booking.quantity_done = 0
        session.add(booking)
    lifecycle.move(order, OrderStatus.in_production)
    order.shipped_at = None
    session.add(order)
    add_event(session, order, actor, "remake", from_seq=from_seq, operations=len(again))
    events.occurred(session, "remake_ordered", order=order, actor=actor, from_seq=from_seq)
    return len(again)


def inspection_ends(order: Order, days: int = INSPECTION_DAYS) -> datetime | None:
    """When the buyer's window to reject the delivery closes (None: not shipped)."""
    start = order.shipped_at or order.delivered_at
    return start + timedelta(days=days) if start else None


def _deliver(session: Session, order: Order, actor: User | None, now: datetime,
             payments_config: object | None) -> None:
    lifecycle.move(order, OrderStatus.delivered)
    order.delivered_at = now
    session.add(order)
    # each factory is paid for its legs after the commit; a provider outage leaves pending
    # payouts that housekeeping retries
    events.publish(session, events.delivery_confirmed, order=order,
                   payments_config=payments_config)


def confirm_delivery(session: Session, actor: User, order_id: int,
                     payments_config: object | None = None) -> Order:
    """The buyer accepts the delivery: the money is released to the factories."""
    with write_lock(session):
        order = session.get(Order, order_id, with_for_update=True)
        if order is None or actor.company_id != order.buyer_company_id:
            raise NotFound("Order not found.")
        if order.status != OrderStatus.shipped:
            raise Conflict("The order is %(status)s; only a shipped order can be confirmed.",
                           params={"status": order.status})
        _deliver(session, order, actor, utcnow(), payments_config)
        add_event(session, order, actor, "delivered")
        events.occurred(session, "delivery_confirmed", order=order, actor=actor)
        audit.record(session, actor.id, "order.delivered", order, order.buyer_company_id)
        session.commit()
    return order


def close_delivered(session: Session, now: datetime | None = None,
                    inspection_days: int = INSPECTION_DAYS) -> dict[str, int]:
    """Housekeeping at the end of each inspection window: a shipped order neither confirmed
    nor rejected counts as accepted (its money is released) and closes; a confirmed one
    closes."""
    now = now or utcnow()
    cutoff = now - timedelta(days=inspection_days)
    counts = {"accepted": 0, "closed": 0}
    due = session.exec(select(Order.id).where(
        col(Order.status).in_([OrderStatus.shipped.value, OrderStatus.delivered.value]),
        ((col(Order.shipped_at) <= cutoff)
         | (col(Order.shipped_at).is_(None) & (col(Order.delivered_at) <= cutoff))))).all()
    if not due:
        return counts
    with write_lock(session):
        for order_id in due:
            order = session.get(Order, order_id, with_for_update=True)
            if order is None:
                continue
            if order.status == OrderStatus.shipped:
                _deliver(session, order, None, now, None)
                add_event(session, order, None, "delivery_accepted",
                          inspection_days=inspection_days)
                events.occurred(session, "delivery_accepted", order=order, actor=None,
                                inspection_days=inspection_days)
                counts["accepted"] += 1
            if order.status == OrderStatus.delivered:
                lifecycle.move(order, OrderStatus.closed)
                session.add(order)
                add_event(session, order, None, "closed", inspection_days=inspection_days)
                counts["closed"] += 1
        session.commit()
    return counts
