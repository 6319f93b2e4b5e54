"""Home, dashboard, company profile, language, API tokens."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import text

from market.accounts import service as accounts
from market.accounts.forms import CompanyForm
from market.capacity import availability
from market.catalog import places
from market.catalog import service as taxonomy
from market.catalog.certifications import CERTIFICATION_KINDS
from market.core import audit
from market.core.errors import ServiceError
from market.core.extensions import db
from market.core.models import utcnow
from market.core.pages import actor, attempt, on_service_error
from market.quality import scorecards

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    families = taxonomy.families(db.session)
    return render_template("main/index.html", families=families)


@bp.get("/healthz")
def healthz():
    db.session.execute(text("select 1"))
    return {"status": "ok"}


@bp.get("/dashboard")
@login_required
def dashboard():
    user = current_user
    if user.is_operator:
        return redirect(url_for("overview.overview"))
    company = user.company
    events = audit.recent(db.session, company_id=company.id, limit=10)
    return render_template("main/dashboard.html", company=company, events=events)


def _company_again(exc: ServiceError):
    """The profile form again, the service's messages on its fields."""
    company = current_user.company
    form = CompanyForm(obj=company)
    for name, message in exc.localized_fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    return render_template("main/company.html", form=form, company=company), exc.status


@bp.route("/company", methods=["GET", "POST"])
@login_required
@on_service_error(_company_again)
def company_profile():
    user = current_user
    if user.company is None:
        abort(404)
    company = user.company
    form = CompanyForm(obj=company)
    status = 200
    if form.validate_on_submit():
        changes = {name: form[name].data for name in accounts.PROFILE_FIELDS + ("lat", "lon")}
        # blank coordinates (city, address) come from the city picker, as its script does
        picked = places.chosen(request.form.get("company-place"),
                               request.form.get("company-place_district"))
        accounts.update_company_profile(db.session, actor(), company.id,
                                        places.fill(changes, picked, str(get_locale())))
        flash(_("Company profile saved."), "success")
        return redirect(url_for("main.company_profile"))
    elif request.method == "POST":
        status = 422
    return render_template("main/company.html", form=form, company=company), status


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    user = actor()
    new_token = None
    if request.method == "POST":
        name = (request.form.get("name") or "").strip()[:120]
        _row, new_token = accounts.issue_token(
            db.session, user, name, current_app.config["API_TOKEN_DAYS"]
        )
    rows = accounts.list_tokens(db.session, user)
    return render_template("main/tokens.html", tokens=rows, new_token=new_token)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    if not attempt(accounts.revoke_token, db.session, actor(), token_id).ok:
        abort(404)  # another's token, or none: the same answer
    flash(_("Token revoked."), "success")
    return redirect(url_for("main.tokens"))


@bp.get("/capacity")
@login_required
def capacity_search():
    """Anyone signed in looks for free capacity; competitors' prices stay hidden."""
    args = request.args
    hits, errors = None, {}
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    today = datetime.now(tz).date()
    values = {
        "process": args.get("process", ""), "material": args.get("material", ""),
        "from": args.get("from") or today.isoformat(),
        "to": args.get("to") or (today + timedelta(days=14)).isoformat(),
        "min_hours": args.get("min_hours", "0"),
        "certification": args.get("certification", ""),
    }
    if values["process"]:
        try:
            start = datetime.combine(date.fromisoformat(values["from"]), time(0), tz)
            end = datetime.combine(date.fromisoformat(values["to"]) + timedelta(days=1),
                                   time(0), tz)
            min_hours = float(values["min_hours"] or 0)
        except ValueError:
            errors = {"from": _("Use dates like 2026-12-01 and a number of hours.")}
        else:
            found = attempt(availability.search_capacity, db.session, actor(), values["process"],
                            values["material"] or None, start, end, min_hours,
                            certifications=[values["certification"]]
                            if values["certification"] else None)
            hits = found.value
            errors = found.error.localized_fields if found.error else {}
    # each factory's record beside its machines (null figures until it has 3 jobs)
    now = utcnow()
    records = scorecards.for_companies(db.session, {h.company.id for h in hits or []}, now)
    template = ("main/_capacity_results.html" if request.headers.get("HX-Request")
                else "main/capacity.html")
    return render_template(template, hits=hits, errors=errors, values=values, records=records,
                           processes=taxonomy.processes(db.session),
                           certification_kinds=CERTIFICATION_KINDS)


@bp.post("/lang/<code>")
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        accounts.set_locale(db.session, actor(), code)
    target = request.form.get("next") or url_for("main.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.index")
    return redirect(target)
