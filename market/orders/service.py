"""Buyers' orders: drafts, validation, the routing, and the lifecycle transitions.

Pages and the API both call these functions; they take a Session, raise ServiceError
subclasses with per-field messages, record an OrderEvent (the buyer's timeline) and an
AuditEvent (the operators' log) and commit together.

The lifecycle (which status may follow which) lives in `orders.lifecycle`; submit and
cancel here move through it like every other domain does.

Unverified buyers may compose and submit orders; such an order is open but not *offered*
(`is_offered`) until an operator verifies the company, so matching must take its orders
from `offered_orders`, never from "status == open" alone.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam
from sqlalchemy.orm import object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from market.accounts.models import Company, CompanyStatus, User
from market.catalog.models import Material, Process, ProcessMaterial
from market.core import audit, events
from market.core.db import read, write_lock
from market.core.errors import N_, Conflict, NotFound, PermissionDenied, ValidationError
from market.core.models import utcnow
from market.orders import lifecycle
from market.orders.models import Order, OrderEvent, OrderOperation, OrderStatus
from market.orders.validation import CleanOrder, OrderInput, input_from_order, validate

S = OrderStatus

# Why a move is refused, in words for the buyer (status -> reason), per action.
_CANCEL_REFUSED = {
    S.cancelled: N_("The order is already cancelled."),
    S.closed: N_("The order is closed; it can no longer be cancelled."),
}


# --- reading and access ------------------------------------------------------------------

def factory_booked_on(user: User, order: Order) -> bool:
    """True when another domain grants the user's company read access: the deals domain does
    for a factory with a live booking (proposed, accepted, in progress or done) on one of the
    order's operations, which needs the drawings to make the part."""
    if user.company_id is None or user.company_id == order.buyer_company_id:
        return False
    session = object_session(order)
    if session is None:
        return False
    return events.granted(events.order_readers, session, order=order, user=user)


def can_read_order(user: Any, order: Order) -> bool:
    """The buyer's company, platform operators, and factories booked on the order."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_operator:
        return True
    if user.company_id is not None and user.company_id == order.buyer_company_id:
        return True
    return factory_booked_on(user, order)


def sees_commercials(user: Any, order: Order) -> bool:
    """The buyer's company and operators see an order's money, delivery place, timeline and
    cancellation; a factory booked on it sees the work and its own bookings (API.md
    "Confidentiality")."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and (
        user.is_operator or (user.company_id is not None
                             and user.company_id == order.buyer_company_id)))


def can_edit_order(user: Any, order: Order) -> bool:
    """Only members of the buyer's company change an order (operators only cancel)."""
    return (
        user is not None and getattr(user, "is_authenticated", False)
        and user.company_id is not None and user.company_id == order.buyer_company_id
    )


def get_order(session: Session, user: Any, order_id: int) -> Order:
    """The order if `user` may read it; otherwise NotFound, so that ids of other companies'
    orders cannot be told apart from ids that do not exist."""
    order = session.get(Order, order_id)
    if order is None or not can_read_order(user, order):
        raise NotFound("Order not found.")
    return order


def _editable(session: Session, user: Any, order_id: int) -> Order:
    order = get_order(session, user, order_id)
    if not can_edit_order(user, order):
        raise PermissionDenied("Only the buyer's company can change this order.")
    return order


def _listed(user: User, status: str | None, *columns: Any) -> Any:
    """The user's company's orders (operators: all) with `status`, as a query of `columns`
    (whole orders by default); None when the user has no company."""
    query = select(*columns) if columns else select(Order)
    if not user.is_operator:
        if user.company_id is None:
            return None
        query = query.where(Order.buyer_company_id == user.company_id)
    if status:
        _check_status(status)
        query = query.where(Order.status == status)
    return query


_STATUSES = frozenset(s.value for s in OrderStatus)


def _check_status(status: str) -> None:
    if status not in _STATUSES:
        raise ValidationError("Unknown status %(value)s.", {"status": N_("Unknown status.")},
                              {"value": repr(status)})


def _page(session: Session, query: Any, page: int, per_page: int,
          total: int | None = None) -> tuple[Any, int]:
    if total is None:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return (query.order_by(col(Order.created_at).desc(), col(Order.id).desc())
            .offset((page - 1) * per_page).limit(per_page)), int(total)  # type: ignore[arg-type]


def _routings(session: Session, page_query: Any, *columns: Any) -> Any:
    """The operations of a page's orders in routing order: one query joined to the page's
    own, not selectinload's IN list of ids (that list is written into the SQL literally, so
    the statement is new to PostgreSQL every time, and building it cost as much as loading
    the orders)."""
    page_ids = page_query.with_only_columns(col(Order.id)).subquery()
    return session.exec(select(*columns)
                        .join(page_ids, page_ids.c.id == col(OrderOperation.order_id))
                        .order_by(col(OrderOperation.order_id), col(OrderOperation.seq)))


def list_orders(
    session: Session, user: User, status: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Order], int]:
    """The user's company's orders (operators: all), newest first, with their routings."""
    query = _listed(user, status)
    if query is None:
        return [], 0
    query, total = _page(session, query, page, per_page)
    rows = list(session.exec(query).all())
    if not rows:
        return rows, total
    routing: dict[int, list[OrderOperation]] = {o.id: [] for o in rows}  # type: ignore[misc]
    for op in _routings(session, query, OrderOperation):
        routing[op.order_id].append(op)
    for order in rows:
        set_committed_value(order, "operations", routing[order.id])  # type: ignore[index]
    return rows, total


class OrderLine(NamedTuple):
    """An order as a list page shows it: its own fields and its routing's process codes (a
    tuple: a row is compared and hashed as one, core.fragments)."""

    id: int
    title: str
    quantity: int
    due_date: datetime
    budget: int | None
    currency: str
    status: str
    processes: tuple[str, ...]


@lru_cache(maxsize=8)
def _lines_query(of_company: bool, by_status: bool) -> Any:
    """The order list's page of rows (bind parameters company_id, status, offset, limit),
    built once per kind of list."""
    query = select(Order.id, Order.title, Order.quantity, Order.due_date, Order.budget,
                   Order.currency, Order.status)
    if of_company:
        query = query.where(Order.buyer_company_id == bindparam("company_id"))
    if by_status:
        query = query.where(Order.status == bindparam("status"))
    return (query.order_by(col(Order.created_at).desc(), col(Order.id).desc())
            .offset(bindparam("offset")).limit(bindparam("limit")))


@lru_cache(maxsize=8)
def _lines_with_routings_query(of_company: bool, by_status: bool) -> Any:
    """That page joined to its orders' operations, in page order and routing order: one row
    an operation (one with none for an order without operations), one round trip."""
    page = _lines_query(of_company, by_status).add_columns(
        col(Order.created_at).label("created_at")).subquery()
    return (select(*(c for c in page.c if c.key != "created_at"), OrderOperation.process_code)
            .select_from(page)
            .outerjoin(OrderOperation, col(OrderOperation.order_id) == page.c.id)
            .order_by(page.c.created_at.desc(), page.c.id.desc(), col(OrderOperation.seq)))


def list_order_lines(
    session: Session, user: User, status: str | None = None, page: int = 1,
    per_page: int = 50, counts: dict[str, int] | None = None,
) -> tuple[list[OrderLine], int]:
    """`list_orders` for reading only, as plain rows of the columns a list shows: loading
    whole orders and operations as ORM objects cost a 50-row page several times as much.
    `counts`: the user's `status_counts`, when the caller has them (the total is then
    theirs, without a query of its own)."""
    if status:
        _check_status(status)
    if not user.is_operator and user.company_id is None:
        return [], 0
    if counts is None:
        counts = status_counts(session, user)
    total = counts.get(status, 0) if status else sum(counts.values())
    kind = (not user.is_operator, bool(status))
    params = {"company_id": user.company_id, "status": status,
              "offset": (page - 1) * per_page, "limit": per_page}
    orders: list[list[Any]] = []  # each order's columns, then its process codes
    for *order, code in read(session, _lines_with_routings_query(*kind), **params):
        if not orders or orders[-1][0] != order[0]:
            orders.append([*order, []])
        if code is not None:
            orders[-1][-1].append(code)
    return [OrderLine(*o[:-1], processes=tuple(o[-1])) for o in orders], total


@lru_cache(maxsize=2)
def _counts_query(of_company: bool) -> Any:
    query = select(Order.status, func.count()).group_by(Order.status)
    if of_company:
        query = query.where(Order.buyer_company_id == bindparam("company_id"))
    return query


def status_counts(session: Session, user: User) -> dict[str, int]:
    return {status: int(n) for status, n in read(
        session, _counts_query(not user.is_operator), company_id=user.company_id)}


def is_offered(session: Session, order: Order) -> bool:
    """Whether matching may consider the order: submitted and from a verified company."""
    if order.status != OrderStatus.open:
        return False
    company = session.get(Company, order.buyer_company_id)
    return company is not None and company.status == CompanyStatus.verified


def _offered(*columns: Any) -> Any:
    return (select(*columns).join(Company, col(Company.id) == col(Order.buyer_company_id))
            .where(Order.status == OrderStatus.open, Company.status == CompanyStatus.verified)
            .order_by(col(Order.due_date)))


def offered_orders(session: Session) -> list[Order]:
    """Open orders of verified buyers: what the matching runs should take."""
    return list(session.exec(_offered(Order)))


_OFFERED_ROWS = _offered(Order.id, Order.title, Order.quantity, Order.due_date)
_OFFERED_COUNT = select(func.count()).select_from(_offered(Order.id).subquery())


def offered_order_rows(session: Session) -> list[Any]:
    """`offered_orders` as rows of id, title, quantity and due date, for a page that lists
    them (a hundred ORM orders cost six times as much to load)."""
    return list(read(session, _OFFERED_ROWS))


def offered_order_count(session: Session) -> int:
    """How many `offered_orders` there are."""
    return int(read(session, _OFFERED_COUNT)[0][0])


def timeline(session: Session, order: Order) -> list[OrderEvent]:
    return list(session.exec(
        select(OrderEvent).where(OrderEvent.order_id == order.id)
        .order_by(col(OrderEvent.at), col(OrderEvent.id))
    ))


def add_event(
    session: Session, order: Order, actor: User | None, kind: str, **details: Any
) -> OrderEvent:
    """Append to the timeline (the caller commits)."""
    event = OrderEvent(order_id=order.id, actor_user_id=actor.id if actor else None, kind=kind,
                       details=details)
    session.add(event)
    return event


# --- input and validation ----------------------------------------------------------------


# --- writing ------------------------------------------------------------------------------

def _apply(order: Order, clean: CleanOrder) -> None:
    order.title = clean.title
    order.description = clean.description
    order.quantity = clean.quantity
    order.due_date = clean.due_date
    order.delivery_address = clean.delivery_address
    order.delivery_lat = clean.delivery_lat
    order.delivery_lon = clean.delivery_lon
    order.budget = clean.budget
    order.currency = clean.currency
    order.part_size_mm = clean.part_size_mm
    order.required_documents = clean.required_documents
    order.required_certifications = clean.required_certifications


def _operation_rows(clean: CleanOrder) -> list[OrderOperation]:
    return [
        OrderOperation(seq=i, process_code=op.process, material_code=op.material,
                       minutes_per_unit=op.minutes_per_unit, tolerance_mm=op.tolerance_mm,
                       notes=op.notes, quantity=op.quantity)
        for i, op in enumerate(clean.operations, start=1)
    ]


def create_draft(session: Session, actor: User, data: OrderInput) -> Order:
    """A new draft for the actor's company, which must buy (kind buyer or both)."""
    company = session.get(Company, actor.company_id) if actor.company_id else None
    if company is None or not company.is_buyer:
        raise PermissionDenied("Only buyer companies can post orders.")
    if company.status == CompanyStatus.suspended:
        raise PermissionDenied("Your company is suspended and cannot post orders.")
    clean = validate(session, data)
    order = Order(buyer_company_id=company.id, created_by_id=actor.id,  # type: ignore[arg-type]
                  title=clean.title, quantity=clean.quantity, due_date=clean.due_date,
                  delivery_lat=clean.delivery_lat, delivery_lon=clean.delivery_lon)
    _apply(order, clean)
    order.operations = _operation_rows(clean)
    session.add(order)
    session.flush()
    add_event(session, order, actor, "created", operations=len(clean.operations))
    audit.record(session, actor.id, "order.created", order, company.id)
    session.commit()
    return order


def update_draft(session: Session, actor: User, order_id: int, data: OrderInput) -> Order:
    """Replace a draft's fields and routing. Only drafts change: once submitted, factories
    may already be planning against the routing."""
    order = _editable(session, actor, order_id)
    if order.status != OrderStatus.draft:
        raise Conflict("Only drafts can be edited; this order is %(status)s.",
                       params={"status": order.status})
    clean = validate(session, data)
    _apply(order, clean)
    # Replace the routing wholesale: delete, flush (frees the (order, seq) keys), insert.
    for op in list(order.operations):
        session.delete(op)
    order.operations = []
    session.flush()
    order.operations = _operation_rows(clean)
    order.updated_at = utcnow()
    session.add(order)
    add_event(session, order, actor, "updated", operations=len(clean.operations))
    audit.record(session, actor.id, "order.updated", order, order.buyer_company_id)
    session.commit()
    session.refresh(order)
    return order


def submit(session: Session, actor: User, order_id: int, now: datetime | None = None) -> Order:
    """draft -> open. The routing is re-checked: the taxonomy or the clock may have moved
    since the draft was saved."""
    order = _editable(session, actor, order_id)
    if order.status != OrderStatus.draft:
        raise Conflict(
            "The order is already submitted." if order.status == OrderStatus.open
            else f"Only drafts can be submitted; this order is {order.status}.",
            {"status": order.status})
    company = session.get(Company, order.buyer_company_id)
    if company is not None and company.status == CompanyStatus.suspended:
        raise PermissionDenied("Your company is suspended and cannot submit orders.")
    validate(session, input_from_order(order), now=now)
    previous = lifecycle.move(order, OrderStatus.open)
    order.submitted_at = utcnow()
    session.add(order)
    verified = company is not None and company.status == CompanyStatus.verified
    add_event(session, order, actor, "submitted", offered=verified)
    audit.record(session, actor.id, "order.submitted", order, order.buyer_company_id,
                 previous=previous, offered=verified)
    session.commit()
    return order


def cancel(session: Session, actor: User, order_id: int, reason: str = "") -> Order:
    """Cancel an order before production starts: a quote on offer is declined, an accepted
    one's bookings are cancelled and all held or booked time released, and money in escrow
    is refunded in full (after the commit: a refund may call the payment provider)."""
    order = get_order(session, actor, order_id)
    if not (can_edit_order(actor, order) or actor.is_operator):
        raise PermissionDenied("Only the buyer's company can cancel this order.")
    reason = "".join(ch for ch in (reason or "") if ch.isprintable()).strip()[:500]
    refused = dict(_CANCEL_REFUSED)
    for status in (S.in_production, S.shipped, S.delivered, S.disputed):
        refused[status] = N_("The order is %(status)s; it can no longer be cancelled. Open a "
                             "dispute if something is wrong.")
    with write_lock(session):
        previous = lifecycle.move(order, OrderStatus.cancelled, refused)
        # the deals domain gives back what the order holds (quotes, bookings, capacity)
        released = sum(int(minutes or 0) for _receiver, minutes in
                       events.order_cancelling.send(session, order=order, previous=previous))
        order.cancelled_at = utcnow()
        order.cancel_reason = reason
        session.add(order)
        add_event(session, order, actor, "cancelled", reason=reason, previous=previous)
        audit.record(session, actor.id, "order.cancelled", order, order.buyer_company_id,
                     previous=previous, reason=reason, released_minutes=released)
        # money in escrow goes back after the commit (a refund may call the provider)
        events.publish(session, events.order_cancelled, order=order)
        session.commit()
    return order


# --- routing templates and the work-content helper ----------------------------------------

def routing_templates() -> list[dict[str, Any]]:
    """The common routings of seed/taxonomy.py (pure data, so read it directly)."""
    from seed.taxonomy import ROUTING_TEMPLATES

    return ROUTING_TEMPLATES


def routing_template(code: str) -> dict[str, Any]:
    for template in routing_templates():
        if template["code"] == code:
            return template
    raise NotFound("Unknown routing template.")


def suggested_minutes(session: Session, process_code: str) -> float | None:
    """The typical work content of a process, which the buyer can override."""
    process = session.get(Process, process_code) if process_code else None
    return process.typical_minutes_per_unit if process else None


def materials_for(session: Session, process_code: str) -> list[Material]:
    """Materials a process accepts: its ProcessMaterial links, or every material when it has
    none (inspection, assembly, packaging)."""
    query = select(Material).order_by(col(Material.category), col(Material.code))
    if process_code:
        linked = list(session.exec(select(ProcessMaterial.material_code)
                                   .where(ProcessMaterial.process_code == process_code)))
        if linked:
            query = query.where(col(Material.code).in_(linked))
    return list(session.exec(query))


def operations_of(session: Session, order_ids: list[int]) -> dict[int, OrderOperation]:
    if not order_ids:
        return {}
    return {op.id: op for op in session.exec(  # type: ignore[misc]
        select(OrderOperation).where(col(OrderOperation.order_id).in_(order_ids)))}
