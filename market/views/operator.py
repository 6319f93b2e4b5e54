"""Platform operators: company vetting."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from market.extensions import db
from market.forms import StatusForm
from market.labels import label
from market.models import CompanyStatus
from market.services import accounts, audit
from market.services.errors import ServiceError

bp = Blueprint("operator", __name__, url_prefix="/operator")


def operator_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_operator:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/companies")
@operator_required
def companies():
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in CompanyStatus]):
        status = None
    q = (request.args.get("q") or "").strip() or None
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    rows, total = accounts.list_companies(db.session, status=status, q=q, page=page, per_page=50)
    template = "operator/_company_rows.html" if request.headers.get("HX-Request") else (
        "operator/companies.html")
    return render_template(template, companies=rows, total=total, status=status, q=q or "",
                           page=page, form=StatusForm())


@bp.get("/companies/<int:company_id>")
@operator_required
def company(company_id: int):
    try:
        row = accounts.get_company(db.session, company_id)
    except ServiceError:
        abort(404)
    events = audit.recent(db.session, company_id=company_id, limit=30)
    return render_template("operator/company.html", company=row, events=events, form=StatusForm())


@bp.post("/companies/<int:company_id>/status/<status>")
@operator_required
def set_status(company_id: int, status: str):
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        row = accounts.set_company_status(
            db.session, current_user._get_current_object(), company_id, status,
            form.reason.data or "",
        )
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("operator.company", company_id=company_id))
    if request.headers.get("HX-Request"):
        return render_template("operator/_company_row.html", c=row, form=StatusForm())
    flash(_("%(name)s is now %(status)s.", name=row.name, status=label(row.status)), "success")
    return redirect(url_for("operator.company", company_id=company_id))
