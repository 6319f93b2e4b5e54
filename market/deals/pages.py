"""Buyers decide on firm quotes and confirm delivery."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import login_required
from sqlmodel import col, select

from market.capacity.models import Plant
from market.catalog import service as taxonomy
from market.catalog.templating import material_name, process_name
from market.core import events, pdf
from market.core.errors import NotFound
from market.core.extensions import db
from market.core.labels import label
from market.core.models import utcnow
from market.core.money import format_money
from market.core.pages import actor, local_zone, on_service_error, operator_required
from market.core.templating import localized
from market.deals import disruption, offers, quote_lines, visibility
from market.deals import service as bookings
from market.deals.models import LIVE_BOOKING_STATES, Quote
from market.orders import service as orders
from market.orders.models import Order
from market.runs import gantt
from market.runs.models import PlannedOperation

bp = Blueprint("deals", __name__)


def _order_page(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_page: firm quotes, bookings and the production schedule, for
    the buyer's company and operators (a booked factory follows its own bookings pages)."""
    user = viewer
    if not user.is_authenticated:
        return {}
    if not orders.sees_commercials(user, order):
        # a factory booked on it: where its parts come from and go to, and the delivery
        # place only if it ships to the buyer
        view = visibility.factory_view(session, order, user.company_id)
        return {"handoffs": view.handoffs, "ships_last": view.ships_last}
    deal_quotes = bookings.list_quotes(session, user._get_current_object(), order.id)
    deal_bookings = visibility.bookings_of_order(session, order.id)
    live = [b for b in deal_bookings if b.status in LIVE_BOOKING_STATES]
    chart = None
    if live:
        ops = list(session.exec(select(PlannedOperation).where(
            col(PlannedOperation.id).in_([b.planned_operation_id for b in live]))))
        names = {i.process.code: localized(i.process) for i in taxonomy.processes(session)}
        labels = {op.id: f"{op.seq}. {names.get(op.process_code, op.process_code)}"
                  for op in order.operations}
        plant_names = {p.id: p.name for p in session.exec(
            select(Plant).where(col(Plant.id).in_({op.plant_id for op in ops} or {0})))}
        quote = session.get(Quote, live[0].quote_id)
        chart = gantt.order_chart(ops, labels, plant_names,  # type: ignore[arg-type]
                                  quote.delivery_date if quote else None, local_zone())
    slack = int(current_app.config.get("REPLAN_SLACK_DAYS", disruption.REPLAN_SLACK_DAYS))
    return {"deal_quotes": deal_quotes, "deal_bookings": deal_bookings, "chart": chart,
            "replan_misses": disruption.latest_replan_misses(session, order, slack),
            "replan_slack_days": slack}


events.order_page.connect(_order_page)


def _quote_or_404(quote_id: int):
    try:
        return bookings._buyer_quote(db.session, actor(), quote_id)
    except NotFound:
        abort(404)


@bp.get("/quotes/<int:quote_id>")
@login_required
def quote(quote_id: int):
    bookings.expire_overdue(db.session)
    row, order = _quote_or_404(quote_id)
    db.session.rollback()  # _buyer_quote locked the row; this page only reads
    lines = quote_lines.lines_of(db.session, row, order)
    return render_template("deals/quote.html", quote=row, order=order, lines=lines,
                           cities=lines.cities, steps=len(lines.operations),
                           payout_days=int(current_app.config.get(
                               "INSPECTION_DAYS", 7)))


@bp.get("/quotes/<int:quote_id>.pdf")
@login_required
def quote_pdf(quote_id: int):
    """The firm quote as a PDF in the reader's language (a download, never rendered)."""
    row, order = _quote_or_404(quote_id)
    db.session.rollback()
    lines = quote_lines.lines_of(db.session, row, order)
    cur = row.currency
    doc = pdf.Document(
        title=_("Firm quote Q-%(id)s", id=row.id),
        subtitle=_("Order #%(id)s: %(title)s", id=order.id, title=order.title),
        facts=[(_("Quantity"), str(order.quantity)),
               (_("Delivery by"), format_datetime(row.delivery_date, "medium")),
               (_("Made in"), ", ".join(lines.cities)),
               (_("Valid until"), format_datetime(row.expires_at, "medium")),
               (_("Status"), label(row.status))],
        headers=[_("Operation"), _("Quantity"), _("Amount")],
        rows=[[f"{op.seq}. {process_name(op.process_code)}"
               + (f" · {material_name(op.material_code)}" if op.material_code else "")
               + f" ({op.city})", str(op.quantity), format_money(op.amount, cur)]
              for op in lines.operations]
        + [[_("Transport between plants and delivery"), "", format_money(lines.transport, cur)]]
        + ([[_("Moving accepted work to make room (rush)"), "", format_money(lines.other, cur)]]
           if lines.other else []),
        totals=[(_("Platform fee"), format_money(lines.platform_fee, cur)),
                (_("Per unit"), format_money(lines.per_unit, cur)),
                (_("Total"), format_money(lines.total, cur))],
        notes=quote_terms(int(current_app.config.get("INSPECTION_DAYS", 7))),
        footer=_("Yunzao · networked collaborative manufacturing. Generated %(when)s.",
                 when=format_datetime(utcnow(), "medium")))
    response = make_response(pdf.render(doc))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"attachment; filename=yunzao-quote-{row.id}.pdf"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def quote_terms(inspection_days: int) -> list[str]:
    """The terms the platform applies to every firm quote, as the code applies them."""
    return [_("Prices are in yuan and exclude VAT; no VAT invoice (fapiao) is issued through "
              "the platform yet."),
            _("You pay the total into escrow; the factories are paid when you confirm delivery, "
              "or when the inspection window of %(days)s days after shipment ends without a "
              "rejection; within it you may reject the delivery and ask for a remake or a "
              "refund.", days=inspection_days),
            _("Before production starts you may cancel for a full refund of what you paid."),
            _("If a factory cannot do its part, the step is re-planned at no extra cost to you; "
              "when no plan delivers in time you may cancel for a full refund."),
            _("The capacity is held for you until the quote expires.")]


@bp.post("/quotes/<int:quote_id>/accept")
@login_required
@on_service_error("deals.quote")
def accept(quote_id: int):
    row, order = _quote_or_404(quote_id)
    bookings.accept_quote(db.session, actor(), quote_id)
    flash(_("Quote accepted. Pay the price into escrow; the factories are booked as soon "
            "as the payment arrives."), "success")
    return redirect(url_for("payments.pay", order_id=order.id))


@bp.post("/quotes/<int:quote_id>/decline")
@login_required
@on_service_error("deals.quote")
def decline(quote_id: int):
    _quote_or_404(quote_id)
    bookings.decline_quote(db.session, actor(), quote_id, request.form.get("reason", ""))
    flash(_("Quote declined. The capacity was released."), "info")
    return redirect(url_for("deals.quote", quote_id=quote_id))


def _to_order(_exc: Exception | None = None):
    order = db.session.get(Order, (request.view_args or {})["order_id"])
    return redirect(url_for("orders.show", order_id=order.id) if order else url_for(
        "main.dashboard"))


@bp.post("/orders/<int:order_id>/confirm-delivery")
@login_required
@on_service_error(_to_order)
def confirm_delivery(order_id: int):
    bookings.confirm_delivery(db.session, actor(), order_id)
    flash(_("Delivery confirmed. Thank you."), "success")
    return _to_order()


@bp.post("/operator/runs/<int:run_id>/approve")
@operator_required
@on_service_error("operator.run")
def approve_run(run_id: int):
    ids = request.form.getlist("order_ids", type=int)
    everything = request.form.get("all") == "1"
    if not everything and not ids:
        flash(_("Choose the orders to approve, or approve all."), "error")
        return redirect(url_for("operator.run", run_id=run_id))
    report = offers.approve(
        db.session, actor(), run_id,
        None if everything else ids, fee_bps=current_app.config["PLATFORM_FEE_BPS"],
        quote_hours=current_app.config["QUOTE_VALID_HOURS"])
    flash(ngettext("%(num)d order approved: the buyer has a firm quote.",
                   "%(num)d orders approved: the buyers have firm quotes.",
                   len(report.approved)), "success")
    if report.conflicts:
        flash(_("Not approved because the capacity or the order changed: %(list)s",
                list="; ".join(f"#{k}: {v}" for k, v in report.conflicts.items())), "error")
    return redirect(url_for("operator.run", run_id=run_id))
