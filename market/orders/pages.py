"""Buyers' orders: the list, the draft editor with its htmx routing editor, the order page
(timeline, drawings, submit, cancel) and the instant quote.

The routing editor posts the whole form to `routing` on every row action and gets the
re-rendered rows back, so the server is the only place that knows the rules (which
materials a process takes, its typical work content). Without JavaScript the same buttons
submit the form and the editor view applies the action instead of saving."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from market.accounts.models import Company
from market.catalog import places
from market.catalog import service as taxonomy
from market.core import events
from market.core.errors import ServiceError
from market.core.extensions import db
from market.core.labels import LABELS, translated
from market.core.pages import actor, attempt, local_zone, on_service_error
from market.core.templating import reader_filter
from market.orders import attachments, certification_form, validation
from market.orders import service as orders
from market.orders.files import upload_limit
from market.orders.labels import EVENT_LABELS, STATUS_LABELS
from market.orders.models import DOCUMENT_KINDS, Order, OrderStatus

bp = Blueprint("orders", __name__, url_prefix="/orders")

# Translatable names of order states and timeline entries.
# A due date entered as a day means the end of that working day, in the buyer's zone.
DUE_TIME = time(18, 0)


def order_status_label(value: str) -> str:
    text = STATUS_LABELS.get(value)
    return value if text is None else translated(text)


def order_event_label(value: str) -> str:
    text = EVENT_LABELS.get(value)
    return value if text is None else translated(text)


bp.add_app_template_filter(reader_filter(order_status_label), "order_status")
bp.add_app_template_filter(reader_filter(order_event_label), "order_event")


class OrderForm(certification_form.CertificationsForm):
    """The order's own fields; the service checks them (one set of rules for pages and API),
    so only the shapes are declared here."""

    title = StringField(_l("Title"), render_kw={"maxlength": 200, "required": True})
    description = TextAreaField(_l("Description"), validators=[Optional()],
                                render_kw={"maxlength": 4000, "rows": 3})
    quantity = StringField(_l("Quantity"),
                           render_kw={"inputmode": "numeric", "required": True})
    due_date = StringField(_l("Due date"), render_kw={"type": "date", "required": True},
                           description=_l("Delivered by the end of that day (18:00)."))
    address = StringField(_l("Delivery address"), render_kw={"maxlength": 300})
    # not `required`: the city picker fills them, and fills blank ones server-side too
    lat = StringField(_l("Latitude"), render_kw={"inputmode": "decimal"})
    lon = StringField(_l("Longitude"), render_kw={"inputmode": "decimal"})
    budget = StringField(_l("Budget (CNY, optional)"), render_kw={"inputmode": "decimal"},
                         description=_l("What you expect to pay in total, before tax."))
    part_size = StringField(_l("Part size in mm (optional)"),
                            render_kw={"placeholder": "120 x 80 x 30"},
                            description=_l("Length x width x height of the finished part: only "
                                           "machines that take it are matched."))
    # checkboxes, not a Ctrl-click list: what is chosen stays visible
    required_documents = SelectMultipleField(
        _l("QC documents required before shipping"),
        choices=[SelectChoice(k, LABELS[k]) for k in DOCUMENT_KINDS], validate_choice=False,
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


# form field -> service field
FIELD_MAP = {"title": "title", "description": "description", "quantity": "quantity",
             "due_date": "due_date", "address": "delivery.address", "lat": "delivery.lat",
             "lon": "delivery.lon", "budget": "budget", "part_size": "part_size_mm",
             "required_documents": "required_documents"}


@dataclass
class Row:
    """One routing row as the editor shows it (raw text, so bad input survives a round
    trip unchanged)."""

    process: str = ""
    material: str = ""
    minutes: str = ""
    tolerance: str = ""
    notes: str = ""
    suggested: str = ""  # the typical minutes shown when the process was chosen
    quantity: str = ""  # the operation's own quantity; empty: the order's


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def rows_from_form() -> list[Row]:
    form = request.form
    columns = [form.getlist(f"op-{name}") for name in
               ("process", "material", "minutes", "tolerance", "notes", "suggested",
                "quantity")]
    count = max((len(c) for c in columns), default=0)
    return [Row(*[(c[i] if i < len(c) else "").strip() for c in columns])
            for i in range(min(count, validation.MAX_OPERATIONS + 5))]


def rows_from_order(order: Order) -> list[Row]:
    return [Row(op.process_code, op.material_code or "", _fmt(op.minutes_per_unit),
                _fmt(op.tolerance_mm), op.notes, "", str(op.quantity or ""))
            for op in order.operations]


def rows_from_template(code: str) -> list[Row] | None:
    """A routing template's rows; None for an unknown template (not a missing page: the
    editor says so, or starts empty)."""
    template = next((t for t in orders.routing_templates() if t["code"] == code), None)
    if template is None:
        return None
    return [Row(o["process"], o.get("material") or "", _fmt(o["minutes_per_unit"]),
                _fmt(o.get("tolerance_mm")), "", _fmt(o["minutes_per_unit"]))
            for o in template["operations"]]


def apply_action(action: str, rows: list[Row]) -> list[Row]:
    """The editor's row actions: add, remove:i, up:i, down:i, process:i, template."""
    name, _sep, arg = action.partition(":")
    try:
        i = int(arg) if arg else -1
    except ValueError:
        return rows
    if name == "add" and len(rows) < validation.MAX_OPERATIONS:
        rows.append(Row(material=_carried_material(rows, len(rows))))
    elif name == "remove" and 0 <= i < len(rows):
        rows.pop(i)
    elif name == "up" and 0 < i < len(rows):
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif name == "down" and 0 <= i < len(rows) - 1:
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    elif name == "process" and 0 <= i < len(rows):
        row = rows[i]
        allowed = {m.code for m in orders.materials_for(db.session, row.process)}
        if row.material not in allowed:
            row.material = ""
        if not row.material and _carried_material(rows, i) in allowed:
            row.material = _carried_material(rows, i)  # the part is still what it was made of
        typical = orders.suggested_minutes(db.session, row.process)
        # Replace the work content only while it is still the helper's suggestion: a value
        # the buyer typed is theirs to keep.
        if typical is not None and row.minutes in ("", row.suggested):
            row.minutes = _fmt(typical)
        row.suggested = _fmt(typical)
    elif name == "template":
        chosen = rows_from_template(request.form.get("template") or "")
        if chosen is None:
            flash(_("Choose a routing template."), "error")
        else:
            rows = chosen
    return rows


def _carried_material(rows: list[Row], i: int) -> str:
    """The material the nearest step before row i names: a new step starts with it."""
    return next((r.material for r in reversed(rows[:i]) if r.material), "")


def editor_context(rows: list[Row], errors: dict[str, str] | None = None) -> dict[str, Any]:
    infos = taxonomy.processes(db.session)
    materials = {m.code: m for m in taxonomy.materials(db.session)}
    all_codes = list(materials)
    return {
        "rows": rows,
        "row_errors": errors or {},
        "processes": infos,
        "families": {f.code: f for f in taxonomy.families(db.session)},
        "materials": materials,
        "materials_of": {info.process.code: info.materials or all_codes for info in infos},
        # processes that depend on the material: an empty pick there means "as before"
        "material_bound": {info.process.code for info in infos if info.materials},
        "templates": orders.routing_templates(),
        "max_operations": validation.MAX_OPERATIONS,
    }


def _form_input(form: OrderForm, rows: list[Row]) -> validation.OrderInput:
    """Form text to service input. Only the form-specific parts are read here (a day
    instead of a timestamp, yuan instead of fen); the rules stay in the service."""
    due: Any = (form.due_date.data or "").strip()
    with contextlib.suppress(ValueError):  # unreadable: the service reports it
        due = datetime.combine(date.fromisoformat(due), DUE_TIME, local_zone())
    budget: Any = (form.budget.data or "").replace(",", "").strip()
    if budget:
        try:
            yuan = Decimal(budget)
            budget = int(yuan * 100) if (yuan * 100) == (yuan * 100).to_integral() else "x"
        except InvalidOperation:
            budget = "x"
    where = places.fill({"lat": form.lat.data or "", "lon": form.lon.data or "",
                         "address": form.address.data or ""},
                        places.chosen(request.form.get("delivery-place"),
                                      request.form.get("delivery-place_district")),
                        str(get_locale()))
    return validation.OrderInput(
        title=form.title.data, description=form.description.data or "",
        quantity=form.quantity.data, due_date=due, delivery_address=where["address"],
        delivery_lat=where["lat"], delivery_lon=where["lon"], budget=budget or None,
        operations=[validation.OperationInput(r.process, r.material or None, r.minutes or None,
                                          r.tolerance or None, r.notes, r.quantity or None)
                    for r in rows],
        part_size_mm=_part_size(form.part_size.data),
        required_documents=list(form.required_documents.data or []),
        **form.certification_input(),
    )


def _part_size(text: str | None) -> Any:
    """"120 x 80 x 30" (x, ×, * or commas) as three numbers; what cannot be read goes to the
    service as it is, which says what it wants."""
    raw = (text or "").strip()
    if not raw:
        return None
    parts = [p for p in re.split(r"[x×X*,\s]+", raw) if p]
    return parts if len(parts) == 3 else raw


def _fill_form(form: OrderForm, order: Order) -> None:
    local_due = order.due_date.astimezone(local_zone())
    form.title.data = order.title
    form.description.data = order.description
    form.quantity.data = str(order.quantity)
    form.due_date.data = local_due.date().isoformat()
    form.address.data = order.delivery_address
    form.lat.data = _fmt(order.delivery_lat)
    form.lon.data = _fmt(order.delivery_lon)
    form.budget.data = "" if order.budget is None else f"{Decimal(order.budget) / 100:.2f}"
    form.part_size.data = " x ".join(_fmt(v) for v in order.part_size_mm or [])
    form.required_documents.data = list(order.required_documents or [])
    form.fill_certifications(order)


def _form_errors(form: OrderForm, exc: ServiceError) -> dict[str, str]:
    """Put the service's messages on the form's fields; return the routing's ones."""
    reverse = {v: k for k, v in FIELD_MAP.items()}
    rest: dict[str, str] = {}
    for key, message in exc.fields.items():
        if key == "budget" and message == "Enter a whole number.":
            message = _("Enter an amount in yuan, e.g. 15000 or 15000.50.")
        name = reverse.get(key)
        if name:
            form[name].errors = [*form[name].errors, message]
        else:
            rest[key] = message
    return rest


def _buyer_required() -> None:
    company = current_user.company
    if company is None or not company.is_buyer:
        abort(403)


# --- the list --------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in OrderStatus]):
        status = None
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    user = current_user._get_current_object()
    counts = orders.status_counts(db.session, user)
    rows, total = orders.list_order_lines(db.session, user, status=status, page=page,
                                          per_page=50, counts=counts)
    template = "orders/_list.html" if request.headers.get("HX-Request") else "orders/index.html"
    return render_template(template, orders=rows, total=total, status=status, counts=counts,
                           page=page, per_page=50, statuses=list(STATUS_LABELS),
                           can_post=bool(user.company and user.company.is_buyer),
                           templates=orders.routing_templates())


# --- the editor ------------------------------------------------------------------------

def _render_editor(form: OrderForm, order: Order | None, rows: list[Row],
                   errors: dict[str, str] | None = None, status: int = 200):
    return render_template("orders/edit.html", form=form, order=order, **editor_context(
        rows, errors)), status


def _editor_again(exc: ServiceError):
    """The editor again after a refused save: the service's messages on the form's fields,
    the routing's own under its rows."""
    order_id = (request.view_args or {}).get("order_id")
    form = OrderForm()
    errors = _form_errors(form, exc)
    return _render_editor(form, None if order_id is None else _readable_or_404(order_id),
                          rows_from_form(), errors, exc.status)


def _editor(order: Order | None):
    """New and edit share this: GET shows, POST with an action edits the rows, POST without
    saves (a refused save is `_editor_again`'s)."""
    form = OrderForm()
    status = 200
    if request.method == "GET":
        if order is not None:
            _fill_form(form, order)
            rows = rows_from_order(order)
        else:
            company = current_user.company
            form.lat.data = _fmt(company.lat)
            form.lon.data = _fmt(company.lon)
            form.address.data = company.address
            code = request.args.get("template")
            chosen = rows_from_template(code) if code else None
            rows = [Row()] if chosen is None else chosen
    else:
        rows = rows_from_form()
        action = request.form.get("action")
        if action:
            rows = apply_action(action, rows)
        elif form.validate_on_submit():
            data = _form_input(form, rows)
            if order is None:
                saved = orders.create_draft(db.session, actor(), data)
                flash(_("Draft saved. Attach drawings, then submit it."), "success")
            else:
                saved = orders.update_draft(db.session, actor(), order.id, data)  # type: ignore[arg-type]
                flash(_("Draft saved."), "success")
            return redirect(url_for("orders.show", order_id=saved.id))
        else:
            status = 400
    return _render_editor(form, order, rows, status=status)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@on_service_error(_editor_again)
def new():
    _buyer_required()
    return _editor(None)


@bp.route("/<int:order_id>/edit", methods=["GET", "POST"])
@login_required
@on_service_error(_editor_again)
def edit(order_id: int):
    order = _readable_or_404(order_id)
    if not orders.can_edit_order(current_user, order):
        abort(403)
    if order.status != OrderStatus.draft:
        flash(_("Only drafts can be edited."), "error")
        return redirect(url_for("orders.show", order_id=order.id))
    return _editor(order)


@bp.post("/routing")
@login_required
def routing():
    """htmx: apply one row action and send the editor's rows back."""
    rows = apply_action(request.form.get("action") or "", rows_from_form())
    return render_template("orders/_routing.html", **editor_context(rows))


@bp.get("/materials")
@login_required
def materials():
    """The material options a process accepts (for scripts and the API-minded)."""
    process = request.args.get("process") or ""
    return {"process": process,
            "materials": [m.code for m in orders.materials_for(db.session, process)],
            "minutes_per_unit": orders.suggested_minutes(db.session, process)}


# --- the order page --------------------------------------------------------------------

def _readable_or_404(order_id: int) -> Order:
    """Anonymous visitors, other buyers and unbooked factories all see the same 404."""
    found = attempt(orders.get_order, db.session, current_user, order_id)
    if not found.ok:
        abort(404)
    return found.value


def _render_show(order: Order, status: int = 200):
    return render_template(
        "orders/show.html", order=order, events=orders.timeline(db.session, order),
        # quotes, bookings, the schedule and the payment link come from their domains
        buyer_side=orders.sees_commercials(current_user, order),
        **{"deal_quotes": [], "deal_bookings": [], "chart": None, "payment_url": None,
           "handoffs": {}, "ships_last": False,
           **events.collect(events.order_page, db.session, order=order, viewer=current_user)},
        files=attachments.list_for(db.session, order),
        offered=orders.is_offered(db.session, order),
        company=db.session.get(Company, order.buyer_company_id),
        can_edit=orders.can_edit_order(current_user, order),
        processes={i.process.code: i.process for i in taxonomy.processes(db.session)},
        materials={m.code: m for m in taxonomy.materials(db.session)},
        upload_mb=upload_limit() // (1024 * 1024), accepted=attachments.ACCEPTED,
        files_removable=(orders.can_edit_order(current_user, order)
                         and not attachments.shared_with_factories(db.session, order)),
    ), status


@bp.get("/<int:order_id>")
def show(order_id: int):
    return _render_show(_readable_or_404(order_id))


@bp.post("/<int:order_id>/submit")
@login_required
@on_service_error("orders.show")
def submit(order_id: int):
    orders.submit(db.session, actor(), order_id)
    flash(_("Order submitted."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@bp.post("/<int:order_id>/cancel")
@login_required
@on_service_error("orders.show")
def cancel(order_id: int):
    orders.cancel(db.session, actor(), order_id, (request.form.get("reason") or "")[:500])
    flash(_("Order cancelled."), "success")
    return redirect(url_for("orders.show", order_id=order_id))
