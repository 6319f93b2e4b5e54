"""An order's input checked in one place for pages and the API: every problem at once, keyed
by field name (operations as operations.<index>.<field>), or the clean values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from market.catalog.certifications import CERTIFICATION_KINDS
from market.catalog.models import Material, Process, ProcessMaterial
from market.core.dates import DateError, parse_moment
from market.core.errors import N_, FieldMessage, ValidationError
from market.core.models import utcnow
from market.orders.models import DOCUMENT_KINDS, Order

MAX_OPERATIONS = 30


MAX_QUANTITY = 10_000_000


MAX_MINUTES_PER_UNIT = 100_000.0


MAX_DUE_AHEAD = timedelta(days=2 * 366)  # API.md: more than 2 years ahead is a typo
MAX_BUDGET = 10**13  # minor units: 100 billion yuan, far above any real order


@dataclass
class OperationInput:
    process: Any = None
    material: Any = None
    minutes_per_unit: Any = None  # None: the process's typical value
    tolerance_mm: Any = None
    notes: Any = ""
    quantity: Any = None  # this operation's own quantity (inspect 5 of 200); None: the order's


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
    part_size_mm: Any = None  # [x, y, z] of the finished part, or None
    required_documents: Any = None  # QC document kinds needed before shipping
    required_certifications: Any = None  # certification kinds, or None


@dataclass
class CleanOperation:
    process: str
    material: str | None
    minutes_per_unit: float
    tolerance_mm: float | None
    notes: str
    quantity: int | None = None


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
    part_size_mm: list[float] | None = None
    required_documents: list[str] = field(default_factory=list)
    required_certifications: list[str] = field(default_factory=list)


def clean_text(value: Any, limit: int, name: str, fields: dict[str, str],
               required: str = "") -> str:
    text = "" if value is None else str(value)
    # Control characters have no business in titles and notes (newlines and tabs do).
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()
    if required and not text:
        fields[name] = required
    elif len(text) > limit:
        fields[name] = FieldMessage("At most %(limit)s characters.", limit=limit)
    return text


def clean_number(value: Any, name: str, fields: dict[str, str], *, integer: bool = False,
            required: str = "") -> float | int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            fields[name] = required
        return None
    if isinstance(value, bool):  # JSON true is not a number, whatever Python thinks
        fields[name] = N_("Enter a number.")
        return None
    try:
        number = float(value) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        fields[name] = N_("Enter a whole number.") if integer else N_("Enter a number.")
        return None
    if isinstance(number, float) and not math.isfinite(number):
        fields[name] = N_("Enter a finite number.")
        return None
    if integer:
        if isinstance(number, float) and not number.is_integer():
            fields[name] = N_("Enter a whole number.")
            return None
        return int(number)
    return float(number)


def clean_due_date(value: Any, now: datetime, fields: dict[str, str]) -> datetime | None:
    """A due date as the order form and change requests take it: a plain date is the end of
    that day in the buyer's zone (API.md "Dates"); in the future and within two years. A
    problem goes into `fields["due_date"]` (and None comes back)."""
    try:
        due = parse_moment(value, day="end")
    except DateError as exc:
        fields["due_date"] = exc.message
        return None
    if due <= now:
        fields["due_date"] = N_("The due date must be in the future.")
    elif due > now + MAX_DUE_AHEAD:
        fields["due_date"] = N_("The due date must be within two years.")
    else:
        return due
    return None

def validate(session: Session, data: OrderInput, now: datetime | None = None) -> CleanOrder:
    """Check everything at once and report every problem, keyed by field name
    (operations as operations.<index>.<field>, index from 0)."""
    now = now or utcnow()
    fields: dict[str, str] = {}
    title = clean_text(data.title, 200, "title", fields, N_("Give the order a title."))
    description = clean_text(data.description, 4000, "description", fields)
    address = clean_text(data.delivery_address, 300, "delivery.address", fields)

    quantity = clean_number(data.quantity, "quantity", fields, integer=True,
                       required=N_("Enter the quantity."))
    if quantity is not None and not 0 < quantity <= MAX_QUANTITY:
        fields["quantity"] = FieldMessage("The quantity must be between 1 and %(max)s.",
                                          max=format(MAX_QUANTITY, ","))

    due: datetime | None = None
    if data.due_date in (None, ""):
        fields["due_date"] = N_("Enter the due date.")
    else:
        due = clean_due_date(data.due_date, now, fields)

    lat = clean_number(data.delivery_lat, "delivery.lat", fields,
                  required=N_("Enter the delivery latitude."))
    if lat is not None and not -90 <= lat <= 90:
        fields["delivery.lat"] = N_("The latitude must be between -90 and 90.")
    lon = clean_number(data.delivery_lon, "delivery.lon", fields,
                  required=N_("Enter the delivery longitude."))
    if lon is not None and not -180 <= lon <= 180:
        fields["delivery.lon"] = N_("The longitude must be between -180 and 180.")

    budget = clean_number(data.budget, "budget", fields, integer=True)
    if budget is not None and not 0 <= budget <= MAX_BUDGET:
        fields["budget"] = (N_("The budget cannot be negative.") if budget < 0
                            else N_("The budget is too large."))

    currency = str(data.currency or "CNY").upper()
    if currency != "CNY":
        # One platform currency for now: capacity rates are CNY, so quotes are too.
        fields["currency"] = N_("Orders are priced in CNY.")

    part_size = clean_part_size(data.part_size_mm, fields)
    documents = clean_required_documents(data.required_documents, fields)
    certifications = clean_certifications(data.required_certifications, fields)
    operations = validate_operations(session, data.operations, fields, quantity)  # type: ignore[arg-type]
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    return CleanOrder(title, int(quantity), due, address, float(lat), float(lon),  # type: ignore[arg-type]
                      budget, description, currency, operations, part_size,  # type: ignore[arg-type]
                      required_documents=documents,
                      required_certifications=certifications)


def clean_required_documents(value: Any, fields: dict[str, str]) -> list[str]:
    """The QC document kinds the order requires, known kinds only, each once, in the
    catalogue's order."""
    if value in (None, "", [], ()):
        return []
    if not isinstance(value, (list, tuple)) or any(v not in DOCUMENT_KINDS for v in value):
        fields["required_documents"] = N_("Choose from inspection_report, coc, "
                                          "material_cert, photo, fai and other.")
        return []
    return [k for k in DOCUMENT_KINDS if k in value]


def clean_certifications(value: Any, fields: dict[str, str]) -> list[str]:
    """The certification kinds the order requires, known and without repeats, in a fixed
    order; for an unknown kind the message lists the known ones."""
    if value in (None, "", [], ()):
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        fields["required_certifications"] = N_("Give a list of certification kinds.")
        return []
    unknown = sorted({v for v in value if v not in CERTIFICATION_KINDS})
    if unknown:
        fields["required_certifications"] = N_(
            "Unknown certification; choose from iso9001, iatf16949, iso13485, as9100, "
            "iso14001.")
        return []
    return [k for k in CERTIFICATION_KINDS if k in set(value)]


MAX_PART_MM = 10_000


def clean_part_size(value: Any, fields: dict[str, str]) -> list[float] | None:
    """The finished part's size [x, y, z] in mm (the matching uses its largest side against
    each machine's largest part), or None when not given."""
    if value in (None, "", [], ()):
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        fields["part_size_mm"] = N_("Give the part's three sizes in mm (length, width, height).")
        return None
    sizes: list[float] = []
    for v in value:
        got = clean_number(v, "part_size_mm", fields)
        if got is None or "part_size_mm" in fields:
            fields["part_size_mm"] = N_("Give the part's three sizes in mm (length, width, "
                                        "height).")
            return None
        if not 0 < got <= MAX_PART_MM:
            fields["part_size_mm"] = N_("Each size must be more than 0 and at most 10,000 mm.")
            return None
        sizes.append(float(got))
    return sizes


def validate_operations(
    session: Session, rows: list[OperationInput], fields: dict[str, str],
    order_quantity: int | None = None,
) -> list[CleanOperation]:
    if not rows:
        fields["operations"] = N_("Add at least one operation to the routing.")
        return []
    if len(rows) > MAX_OPERATIONS:
        fields["operations"] = FieldMessage("At most %(n)s operations.", n=MAX_OPERATIONS)
        return []
    processes = {p.code: p for p in session.exec(select(Process))}
    materials = set(session.exec(select(Material.code)))
    allowed: dict[str, set[str]] = {}
    for link in session.exec(select(ProcessMaterial)):
        allowed.setdefault(link.process_code, set()).add(link.material_code)
    clean: list[CleanOperation] = []
    carried: str | None = None  # the part's material as the steps before named it
    for i, row in enumerate(rows):
        key = f"operations.{i}"
        process_code = str(row.process or "").strip()
        material = str(row.material or "").strip() or None
        process = processes.get(process_code)
        if not process_code:
            fields[f"{key}.process"] = N_("Choose a process.")
        elif process is None:
            fields[f"{key}.process"] = FieldMessage("Unknown process %(code)s.",
                                                     code=repr(process_code))
        if material is None and process is not None and allowed.get(process_code):
            # "Any / not applicable" on a step whose process depends on the material
            # (anodizing): the part is still what an earlier step made it of
            material = carried
        if material is not None and material in materials:
            carried = material
        if material is not None and material not in materials:
            fields[f"{key}.material"] = FieldMessage("Unknown material %(code)s.",
                                                      code=repr(material))
        elif process is not None and allowed.get(process_code):
            if material is None:
                fields[f"{key}.material"] = N_("Choose the material: this process depends on "
                                               "it, and no step before names one.")
            elif material not in allowed[process_code]:
                fields[f"{key}.material"] = FieldMessage(
                    "%(process)s is not offered for %(material)s; choose one of %(choices)s.",
                    process=process.name_en, material=material,
                    choices=", ".join(sorted(allowed[process_code])))
        minutes = clean_number(row.minutes_per_unit, f"{key}.minutes_per_unit", fields)
        if minutes is None and f"{key}.minutes_per_unit" not in fields and process is not None:
            minutes = process.typical_minutes_per_unit  # the helper's suggestion
        if minutes is not None and not 0 < minutes <= MAX_MINUTES_PER_UNIT:
            fields[f"{key}.minutes_per_unit"] = FieldMessage(
                "The work content must be more than 0 and at most %(max)s minutes per unit.",
                max=format(MAX_MINUTES_PER_UNIT, ",.0f"))
        tolerance = clean_number(row.tolerance_mm, f"{key}.tolerance_mm", fields)
        if tolerance is not None and not 0 < tolerance <= 100:
            fields[f"{key}.tolerance_mm"] = N_("The tolerance must be more than 0 and at most "
                                               "100 mm.")
        notes = clean_text(row.notes, 1000, f"{key}.notes", fields)
        own = clean_number(row.quantity, f"{key}.quantity", fields, integer=True)
        if own is not None and not (own > 0 and (order_quantity is None
                                                 or own <= order_quantity)):
            fields[f"{key}.quantity"] = N_("An operation's own quantity is from 1 to the "
                                           "order's quantity.")
        clean.append(CleanOperation(process_code, material, float(minutes or 0), tolerance,
                                    notes, None if own == order_quantity else own))  # type: ignore[arg-type]
    return clean


def input_from_order(order: Order) -> OrderInput:
    """The stored order as raw input (to re-validate it, or to fill the edit form)."""
    return OrderInput(
        title=order.title, quantity=order.quantity, due_date=order.due_date,
        delivery_address=order.delivery_address, delivery_lat=order.delivery_lat,
        delivery_lon=order.delivery_lon, budget=order.budget, description=order.description,
        currency=order.currency,
        operations=[OperationInput(op.process_code, op.material_code, op.minutes_per_unit,
                                   op.tolerance_mm, op.notes, op.quantity)
                    for op in order.operations],
        part_size_mm=order.part_size_mm,
        required_documents=list(order.required_documents or []),
        required_certifications=list(order.required_certifications or []),
    )
