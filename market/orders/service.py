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

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import object_session, selectinload
from sqlmodel import Session, col, func, select

from market.accounts.models import Company, CompanyStatus, User
from market.catalog.models import Material, Process, ProcessMaterial
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.core.models import utcnow
from market.orders import lifecycle
from market.orders.models import Order, OrderEvent, OrderOperation, OrderStatus

MAX_OPERATIONS = 30
MAX_QUANTITY = 10_000_000
MAX_MINUTES_PER_UNIT = 100_000.0
MAX_BUDGET = 10**13  # minor units: 100 billion yuan, far above any real order

S = OrderStatus

# Why a move is refused, in words for the buyer (status -> reason), per action.
_CANCEL_REFUSED = {
    S.cancelled: "The order is already cancelled.",
    S.closed: "The order is closed; it can no longer be cancelled.",
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


def list_orders(
    session: Session, user: User, status: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Order], int]:
    """The user's company's orders (operators: all), newest first."""
    query = select(Order)
    if not user.is_operator:
        if user.company_id is None:
            return [], 0
        query = query.where(Order.buyer_company_id == user.company_id)
    if status:
        if status not in {s.value for s in OrderStatus}:
            raise ValidationError(f"Unknown status {status!r}.", {"status": "Unknown status."})
        query = query.where(Order.status == status)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.options(selectinload(Order.operations))  # type: ignore[arg-type]
        .order_by(col(Order.created_at).desc(), col(Order.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), int(total)


def status_counts(session: Session, user: User) -> dict[str, int]:
    query = select(Order.status, func.count()).group_by(Order.status)
    if not user.is_operator:
        query = query.where(Order.buyer_company_id == user.company_id)
    return {status: int(n) for status, n in session.exec(query)}


def is_offered(session: Session, order: Order) -> bool:
    """Whether matching may consider the order: submitted and from a verified company."""
    if order.status != OrderStatus.open:
        return False
    company = session.get(Company, order.buyer_company_id)
    return company is not None and company.status == CompanyStatus.verified


def offered_orders(session: Session) -> list[Order]:
    """Open orders of verified buyers: what the matching runs should take."""
    return list(session.exec(
        select(Order).join(Company, col(Company.id) == col(Order.buyer_company_id))
        .where(Order.status == OrderStatus.open, Company.status == CompanyStatus.verified)
        .order_by(col(Order.due_date))
    ))


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

@dataclass
class OperationInput:
    process: Any = None
    material: Any = None
    minutes_per_unit: Any = None  # None: the process's typical value
    tolerance_mm: Any = None
    notes: Any = ""


@dataclass
class OrderInput:
    """Raw values from a form or the API; `validate` turns them into clean ones or messages."""

    title: Any = ""
    quantity: Any = None
    due_date: Any = None  # aware datetime or an ISO 8601 string with offset
    delivery_address: Any = ""
    delivery_lat: Any = None
    delivery_lon: Any = None
    budget: Any = None  # integer minor units, or None
    description: Any = ""
    currency: str = "CNY"
    operations: list[OperationInput] = field(default_factory=list)


@dataclass
class CleanOperation:
    process: str
    material: str | None
    minutes_per_unit: float
    tolerance_mm: float | None
    notes: str


@dataclass
class CleanOrder:
    title: str
    quantity: int
    due_date: datetime
    delivery_address: str
    delivery_lat: float
    delivery_lon: float
    budget: int | None
    description: str
    currency: str
    operations: list[CleanOperation]


def _text(value: Any, limit: int, name: str, fields: dict[str, str], required: str = "") -> str:
    text = "" if value is None else str(value)
    # Control characters have no business in titles and notes (newlines and tabs do).
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()
    if required and not text:
        fields[name] = required
    elif len(text) > limit:
        fields[name] = f"At most {limit} characters."
    return text


def _number(value: Any, name: str, fields: dict[str, str], *, integer: bool = False,
            required: str = "") -> float | int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            fields[name] = required
        return None
    if isinstance(value, bool):  # JSON true is not a number, whatever Python thinks
        fields[name] = "Enter a number."
        return None
    try:
        number = float(value) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        fields[name] = "Enter a whole number." if integer else "Enter a number."
        return None
    if isinstance(number, float) and not math.isfinite(number):
        fields[name] = "Enter a finite number."
        return None
    if integer:
        if isinstance(number, float) and not number.is_integer():
            fields[name] = "Enter a whole number."
            return None
        return int(number)
    return float(number)


def parse_datetime(value: Any) -> datetime | None:
    """An aware datetime from a datetime or an ISO 8601 string; None if it cannot be read.
    Naive values raise ValueError: guessing their zone would move the due date silently."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str) and value.strip():
        try:
            result = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if result.tzinfo is None:
        raise ValueError("naive")
    return result.astimezone(UTC)


def validate(session: Session, data: OrderInput, now: datetime | None = None) -> CleanOrder:
    """Check everything at once and report every problem, keyed by field name
    (operations as operations.<index>.<field>, index from 0)."""
    now = now or utcnow()
    fields: dict[str, str] = {}
    title = _text(data.title, 200, "title", fields, "Give the order a title.")
    description = _text(data.description, 4000, "description", fields)
    address = _text(data.delivery_address, 300, "delivery.address", fields)

    quantity = _number(data.quantity, "quantity", fields, integer=True,
                       required="Enter the quantity.")
    if quantity is not None and not 0 < quantity <= MAX_QUANTITY:
        fields["quantity"] = f"The quantity must be between 1 and {MAX_QUANTITY:,}."

    due: datetime | None = None
    try:
        due = parse_datetime(data.due_date)
        if due is None:
            fields["due_date"] = ("Enter the due date." if data.due_date in (None, "")
                                  else "Use a date and time such as 2026-12-20T17:00:00+08:00.")
        elif due <= now:
            fields["due_date"] = "The due date must be in the future."
    except ValueError:
        fields["due_date"] = "Include a time zone offset, e.g. 2026-12-20T17:00:00+08:00."

    lat = _number(data.delivery_lat, "delivery.lat", fields,
                  required="Enter the delivery latitude.")
    if lat is not None and not -90 <= lat <= 90:
        fields["delivery.lat"] = "The latitude must be between -90 and 90."
    lon = _number(data.delivery_lon, "delivery.lon", fields,
                  required="Enter the delivery longitude.")
    if lon is not None and not -180 <= lon <= 180:
        fields["delivery.lon"] = "The longitude must be between -180 and 180."

    budget = _number(data.budget, "budget", fields, integer=True)
    if budget is not None and not 0 <= budget <= MAX_BUDGET:
        fields["budget"] = ("The budget cannot be negative." if budget < 0
                            else "The budget is too large.")

    currency = str(data.currency or "CNY").upper()
    if currency != "CNY":
        # One platform currency for now: capacity rates are CNY, so quotes are too.
        fields["currency"] = "Orders are priced in CNY."

    operations = _validate_operations(session, data.operations, fields)
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    return CleanOrder(title, int(quantity), due, address, float(lat), float(lon),  # type: ignore[arg-type]
                      budget, description, currency, operations)  # type: ignore[arg-type]


def _validate_operations(
    session: Session, rows: list[OperationInput], fields: dict[str, str]
) -> list[CleanOperation]:
    if not rows:
        fields["operations"] = "Add at least one operation to the routing."
        return []
    if len(rows) > MAX_OPERATIONS:
        fields["operations"] = f"At most {MAX_OPERATIONS} operations."
        return []
    processes = {p.code: p for p in session.exec(select(Process))}
    materials = set(session.exec(select(Material.code)))
    allowed: dict[str, set[str]] = {}
    for link in session.exec(select(ProcessMaterial)):
        allowed.setdefault(link.process_code, set()).add(link.material_code)
    clean: list[CleanOperation] = []
    for i, row in enumerate(rows):
        key = f"operations.{i}"
        process_code = str(row.process or "").strip()
        material = str(row.material or "").strip() or None
        process = processes.get(process_code)
        if not process_code:
            fields[f"{key}.process"] = "Choose a process."
        elif process is None:
            fields[f"{key}.process"] = f"Unknown process {process_code!r}."
        if material is not None and material not in materials:
            fields[f"{key}.material"] = f"Unknown material {material!r}."
        elif process is not None and allowed.get(process_code):
            if material is None:
                fields[f"{key}.material"] = "Choose a material."
            elif material not in allowed[process_code]:
                fields[f"{key}.material"] = (
                    f"{process.name_en} is not offered for {material}; choose one of "
                    f"{', '.join(sorted(allowed[process_code]))}.")
        minutes = _number(row.minutes_per_unit, f"{key}.minutes_per_unit", fields)
        if minutes is None and f"{key}.minutes_per_unit" not in fields and process is not None:
            minutes = process.typical_minutes_per_unit  # the helper's suggestion
        if minutes is not None and not 0 < minutes <= MAX_MINUTES_PER_UNIT:
            fields[f"{key}.minutes_per_unit"] = (
                f"The work content must be more than 0 and at most {MAX_MINUTES_PER_UNIT:,.0f}"
                " minutes per unit.")
        tolerance = _number(row.tolerance_mm, f"{key}.tolerance_mm", fields)
        if tolerance is not None and not 0 < tolerance <= 100:
            fields[f"{key}.tolerance_mm"] = "The tolerance must be more than 0 and at most 100 mm."
        notes = _text(row.notes, 1000, f"{key}.notes", fields)
        clean.append(CleanOperation(process_code, material, float(minutes or 0), tolerance,
                                    notes))
    return clean


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


def _operation_rows(clean: CleanOrder) -> list[OrderOperation]:
    return [
        OrderOperation(seq=i, process_code=op.process, material_code=op.material,
                       minutes_per_unit=op.minutes_per_unit, tolerance_mm=op.tolerance_mm,
                       notes=op.notes)
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
        raise Conflict(f"Only drafts can be edited; this order is {order.status}.")
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
        refused[status] = (f"The order is {status.replace('_', ' ')}; it can no longer be "
                           "cancelled. Open a dispute if something is wrong.")
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


def input_from_order(order: Order) -> OrderInput:
    """The stored order as raw input (to re-validate it, or to fill the edit form)."""
    return OrderInput(
        title=order.title, quantity=order.quantity, due_date=order.due_date,
        delivery_address=order.delivery_address, delivery_lat=order.delivery_lat,
        delivery_lon=order.delivery_lon, budget=order.budget, description=order.description,
        currency=order.currency,
        operations=[OperationInput(op.process_code, op.material_code, op.minutes_per_unit,
                                   op.tolerance_mm, op.notes) for op in order.operations],
    )


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
