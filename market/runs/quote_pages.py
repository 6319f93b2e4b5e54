"""The buyer's instant, indicative quote on the order page (htmx fragment, or a full page
without JavaScript): POST /orders/<id>/quote."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from market.catalog.models import Material, Process
from market.core.extensions import check_rate, db
from market.core.money import fee_bps, format_money
from market.core.pages import actor, attempt
from market.core.templating import localized
from market.orders import service as orders
from market.runs import instant_quote as quotes

bp = Blueprint("instant_quote", __name__, url_prefix="/orders")


def quote_reason(result: quotes.QuoteResult | None) -> str | None:
    """The quote's reason in the reader's language (the API gives the English sentence)."""
    if result is None or result.reason_code is None:
        return None
    params = result.reason_params
    process = db.session.get(Process, params.get("process") or "")
    material = db.session.get(Material, params.get("material") or "")
    names = {"process": localized(process) if process else params.get("process", ""),
             "material": localized(material) if material else params.get("material", "")}
    code = result.reason_code
    if code == "no_process":
        return _("No factory currently offers %(process)s.", **names)
    if code == "no_material":
        return _("No factory currently offers %(process)s for %(material)s.", **names)
    if code == "no_tolerance":
        return _("No factory currently holds ±%(tolerance)s mm for %(process)s; the best "
                 "offered is ±%(best)s mm.", tolerance=params["tolerance"], best=params["best"],
                 process=names["process"])
    if code == "too_large":
        return _("No factory currently takes a %(size)s mm part for %(process)s; the largest "
                 "offered is %(max)s mm.", size=params["size"], max=params["max"],
                 process=names["process"])
    if code == "no_certification":
        return _("No factory holding %(certifications)s currently offers %(process)s.",
                 certifications=params["certifications"], process=names["process"])
    if code == "probation":
        return _("The factories that offer %(process)s are new on the platform and take orders "
                 "worth up to %(limit)s until they have a record; this order is worth more.",
                 process=names["process"], limit=format_money(params.get("limit")))
    if code == "no_capacity":
        return _("Not enough published capacity to make this order before %(date)s; try a "
                 "later due date or a smaller quantity.",
                 date=format_date(params["until"], "medium"))
    if code == "late":
        return _("Not enough capacity before the due date; the earliest possible delivery is "
                 "%(date)s.", date=format_datetime(params["earliest"], "medium"))
    return result.reason


@bp.post("/<int:order_id>/quote")
@login_required
def quote(order_id: int):
    """htmx: the instant quote as a fragment (a full page without JavaScript)."""
    user = actor()

    def rated_quote() -> quotes.QuoteResult:
        check_rate("instant-quote", "QUOTE_RATE_LIMIT", user.company_id or f"user-{user.id}")
        return quotes.instant_quote(db.session, user, order_id, fee_bps=fee_bps(),
                                    workers=current_app.config["SOLVER_WORKERS"])

    quoted = attempt(rated_quote)
    result, error = quoted.value, quoted.message or None
    if request.headers.get("HX-Request"):
        return render_template("runs/_instant_quote.html", quote=result, error=error,
                               reason=quote_reason(result))
    found = attempt(orders.get_order, db.session, current_user, order_id)
    if not found.ok:
        abort(404)
    return render_template("runs/instant_quote.html", order=found.value, quote=result,
                           error=error, reason=quote_reason(result))
