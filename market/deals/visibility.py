"""Which bookings each party sees: a factory its own (and, of an order it works on, where the
parts come from and go to), operators all; the buyer reads them through its order."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case
from sqlmodel import Session, col, select

from market.accounts.models import User
from market.capacity.models import Machine, Plant
from market.core.db import read
from market.core.errors import N_, NotFound, ValidationError
from market.deals.models import LIVE_BOOKING_STATES, Booking, BookingStatus
from market.orders.models import Order, OrderOperation


def company_has_booking(session: Session, company_id: int | None, order_id: int) -> bool:
    """Whether a factory has live work on an order (and so may see its drawings)."""
    if company_id is None:
        return False
    return session.exec(select(Booking.id).where(
        Booking.factory_company_id == company_id, Booking.order_id == order_id,
        col(Booking.status).in_([s.value for s in LIVE_BOOKING_STATES]))).first() is not None


def _listed(actor: User, status: str | None, *columns: Any) -> Any:
    """The bookings `actor` sees with `status`, earliest first, as a query of `columns`
    (whole bookings by default); None when it sees none."""
    query = select(*columns) if columns else select(Booking)
    if not actor.is_operator:
        if actor.company is None or not actor.company.is_factory:
            return None
        query = query.where(Booking.factory_company_id == actor.company_id)
    if status:
        _check_status(status)
        query = query.where(Booking.status == status)
    return query.order_by(col(Booking.start))


_STATUSES = frozenset(s.value for s in BookingStatus)


def _check_status(status: str) -> None:
    if status not in _STATUSES:
        raise ValidationError("Unknown status %(value)s.", {"status": N_("Unknown status.")},
                              {"value": repr(status)})


def list_bookings(session: Session, actor: User, status: str | None = None) -> list[Booking]:
    query = _listed(actor, status)
    return [] if query is None else list(session.exec(query))


# what a list of bookings shows
ROW_COLUMNS = (Booking.id, Booking.order_id, Booking.operation_id, Booking.machine_id,
               Booking.start, Booking.end, Booking.amount, Booking.currency, Booking.status,
               Booking.respond_by, Booking.at_risk)


@lru_cache(maxsize=8)
def _booking_page_query(of_company: bool, by_status: bool) -> Any:
    """The factory's list page (bind parameters company_id, status, offset, limit), with
    each order's title, the operation's step and process and the machine's name (None where
    the machine is not the booking factory's), built once per kind of list."""
    machine_name = case((col(Plant.id).is_not(None), Machine.name)).label("machine_name")
    query = select(*ROW_COLUMNS, Order.title, OrderOperation.seq, OrderOperation.process_code,
                   machine_name)
    if of_company:
        query = query.where(Booking.factory_company_id == bindparam("company_id"))
    if by_status:
        query = query.where(Booking.status == bindparam("status"))
    return (query.outerjoin(Order, col(Order.id) == Booking.order_id)
            .outerjoin(OrderOperation, and_(col(OrderOperation.id) == Booking.operation_id,
                                            col(OrderOperation.order_id) == Booking.order_id))
            .outerjoin(Machine, col(Machine.id) == Booking.machine_id)
            .outerjoin(Plant, and_(col(Plant.id) == Machine.plant_id,
                                   col(Plant.company_id) == Booking.factory_company_id))
            .order_by(col(Booking.start), col(Booking.id))
            .offset(bindparam("offset")).limit(bindparam("limit")))


def booking_list_page(session: Session, actor: User, status: str | None = None,
                      page: int = 1, per_page: int = 50) -> tuple[list[Any], bool]:
    """A page of `list_booking_rows` as the factory's list shows it, with each order's title,
    the operation's step and process and the machine's name, in one query (three more with
    the page's ids written into them cost the page more than its rows), and whether another
    page follows."""
    if status:
        _check_status(status)
    if not actor.is_operator and (actor.company is None or not actor.company.is_factory):
        return [], False
    rows = read(session, _booking_page_query(not actor.is_operator, bool(status)),
                company_id=actor.company_id, status=status, offset=(page - 1) * per_page,
                limit=per_page + 1)
    return list(rows[:per_page]), len(rows) > per_page


def list_booking_rows(session: Session, actor: User, status: str | None = None) -> list[Any]:
    """`list_bookings` for a page, as rows of `ROW_COLUMNS`: whole ORM bookings cost a list
    of sixty about four times as much to load."""
    query = _listed(actor, status, *ROW_COLUMNS)
    return [] if query is None else list(session.exec(query))


def get_booking(session: Session, actor: User, booking_id: int,
                lock: bool = False) -> Booking:
    booking = session.get(Booking, booking_id, with_for_update=lock)
    if booking is None or not (actor.is_operator or booking.factory_company_id == actor.company_id):
        raise NotFound("Booking not found.")
    return booking


@dataclass
class FactoryView:
    """What a factory sees of an order it works on: its own live bookings, where the parts
    come from and go to (cities only), and whether it ships to the buyer."""

    bookings: list[Booking] = field(default_factory=list)
    handoffs: dict[int, dict[str, Any]] = field(default_factory=dict)
    ships_last: bool = False


def factory_view(session: Session, order: Order, company_id: int) -> FactoryView:
    live = [b for b in bookings_of_order(session, order.id)  # type: ignore[arg-type]
            if b.status in LIVE_BOOKING_STATES]
    view = FactoryView(bookings=[b for b in live if b.factory_company_id == company_id])
    if not view.bookings:
        return view
    seq = {op.id: op.seq for op in order.operations}
    by_seq = {seq.get(b.operation_id, 0): b for b in live}
    cities = dict(session.exec(
        select(Machine.id, Plant.city).join(Plant, col(Plant.id) == col(Machine.plant_id))
        .where(col(Machine.id).in_({b.machine_id for b in live}))).all())
    last = max(seq.values(), default=0)
    for booking in view.bookings:
        k = seq.get(booking.operation_id, 0)
        before, after = by_seq.get(k - 1), by_seq.get(k + 1)
        # who sends to whom, and when: the sender's planned end and actual dispatch, the
        # receiver's planned start
        view.handoffs[booking.operation_id] = {
            "from_city": cities.get(before.machine_id) if before else None,
            "from_end": before.end if before else None,
            "from_shipped_at": before.shipped_at if before else None,
            "from_carrier": before.carrier if before else "",
            "from_tracking_number": before.tracking_number if before else "",
            "to_city": cities.get(after.machine_id) if after else None,
            "to_start": after.start if after else None}
        view.ships_last = view.ships_last or k == last
    return view


def bookings_of_order(session: Session, order_id: int) -> list[Booking]:
    return list(session.exec(select(Booking).where(Booking.order_id == order_id)
                             .order_by(col(Booking.start))))
