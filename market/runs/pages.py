"""Platform operators: company vetting."""

from __future__ import annotations

import json
import re
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlmodel import col, select

from market.accounts import service as accounts
from market.accounts.forms import StatusForm
from market.accounts.models import Company, CompanyStatus
from market.capacity.models import Machine, Plant
from market.catalog.certifications import certification_name
from market.catalog.templating import process_name
from market.core import audit
from market.core import events as core_events
from market.core.errors import ServiceError
from market.core.extensions import db
from market.core.jobs import catch_up, dispatch
from market.core.labels import label
from market.core.models import utcnow
from market.core.pages import actor, attempt, on_service_error, operator_required
from market.orders import service as orders_service
from market.orders.models import OrderOperation
from market.runs import gantt, planning, replan
from market.runs import service as matching_runs
from market.runs.lines import list_run_lines
from market.runs.models import RunOrder

bp = Blueprint("operator", __name__, url_prefix="/operator")


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
    found = attempt(accounts.get_company, db.session, company_id)
    if not found.ok:
        abort(404)
    row = found.value
    events = audit.recent(db.session, company_id=company_id, limit=30)
    # other domains' sections (quality: the certifications to verify)
    parts = core_events.collect(core_events.company_page, db.session, company=row,
                                viewer=actor())
    return render_template("operator/company.html", company=row, events=events, form=StatusForm(),
                           **parts)


def _to_company(_exc: ServiceError | None = None):
    return redirect(url_for("operator.company",
                            company_id=(request.view_args or {})["company_id"]))


@bp.post("/companies/<int:company_id>/status/<status>")
@operator_required
@on_service_error(_to_company)
def set_status(company_id: int, status: str):
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    row = accounts.set_company_status(db.session, actor(), company_id, status,
                                      form.reason.data or "")
    if request.headers.get("HX-Request"):
        return render_template("operator/_company_row.html", c=row, form=StatusForm())
    flash(_("%(name)s is now %(status)s.", name=row.name, status=label(row.status)), "success")
    return _to_company()


# --- matching runs ------------------------------------------------------------------------

def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _run_or_404(run_id: int):
    found = attempt(matching_runs.get_run, db.session, actor(), run_id)
    if not found.ok:
        abort(404)
    return found.value


@bp.get("/runs")
@operator_required
def runs():
    # runs whose worker died, quotes expired meanwhile (their orders are open again)
    catch_up(db.session)
    page = request.args.get("page", 1, type=int)
    page = max(1, page) if page else 1
    rows, more = list_run_lines(db.session, actor(), page)
    rows = [r._replace(progress=matching_runs.progress(r)) for r in rows]
    # the open orders themselves only when asked (?choose=1, the link without JavaScript);
    # the page loads them into the form when the operator opens the list (open_order_picks)
    open_orders = (orders_service.offered_order_rows(db.session)
                   if request.args.get("choose") else None)
    open_count = (len(open_orders) if open_orders is not None
                  else orders_service.offered_order_count(db.session))
    # declined or unanswered bookings put orders back: operators see them first
    attention = audit.recent(db.session, limit=10, actions=["booking.declined"])
    return render_template("operator/runs.html", runs=rows, page=page, more=more,
                           open_orders=open_orders, open_count=open_count, attention=attention)


@bp.get("/runs/open-orders")
@operator_required
def open_order_picks():
    """The run form's list of open orders to tick (htmx, when the operator opens it)."""
    return render_template("operator/_order_picks.html",
                           open_orders=orders_service.offered_order_rows(db.session))


@bp.post("/runs")
@operator_required
@on_service_error("operator.runs")
def start_run():
    ids = request.form.getlist("order_ids", type=int)
    if request.form.get("kind") == "rush":  # the ticked orders, dispatched after the commit
        run = matching_runs.start_rush(db.session, actor(), ids,
                                       request.form.get("time_limit_seconds", 30))
        flash(_("Rush re-plan #%(id)s started.", id=run.id), "success")
        return redirect(url_for("operator.run", run_id=run.id))
    scope = request.form.get("scope", "all")
    run = matching_runs.start_run(db.session, actor(),
                                  request.form.get("time_limit_seconds", 30),
                                  ids if scope == "selected" else None)
    dispatch("run_matching", run_id=run.id)
    flash(_("Matching run #%(id)s started.", id=run.id), "success")
    return redirect(url_for("operator.run", run_id=run.id))


_NO_PLANT = re.compile(r"^no plant has certification (\S+)$")
_NONE_WITH = re.compile(r"^no plant with certification (.+) has a machine for (.+)$")


@bp.app_template_filter("unserved_reason")
def unserved_reason(reason: str | None) -> str:
    """The engine's reason for an unserved order, in the reader's words where it is about
    certifications or probation (planning.RECORD_CERTIFICATION); other reasons as given."""
    text = reason or ""
    found = _NO_PLANT.match(text)
    if found:
        if found[1] == planning.RECORD_CERTIFICATION:
            return _("Only factories on probation could make it, and the order is worth more "
                     "than new factories may take.")
        return _("No factory holds a verified %(certification)s certification.",
                 certification=certification_name(found[1]))
    found = _NONE_WITH.match(text)
    if found:
        kinds = [k.strip() for k in found[1].split(",")]
        what = found[2]
        what = what if what.startswith("operation ") else process_name(what)
        real = ", ".join(certification_name(k) for k in kinds
                         if k != planning.RECORD_CERTIFICATION)
        if planning.RECORD_CERTIFICATION in kinds:
            return _("No factory off probation%(holding)s has a machine for %(process)s; the "
                     "order is worth more than factories on probation may take.",
                     holding=_(" holding %(certifications)s", certifications=real) if real
                     else "", process=what)
        return _("No factory holding %(certifications)s has a machine for %(process)s.",
                 certifications=real, process=what)
    return text


@bp.get("/runs/<int:run_id>")
@operator_required
def run(run_id: int):
    matching_runs.reap(db.session)
    row = _run_or_404(run_id)
    if request.headers.get("HX-Request") and request.args.get("part") == "status":
        if row.status in ("queued", "running"):
            return render_template("operator/_run_status.html", run=row,
                                   progress=matching_runs.progress(row))
        # finished: reload the whole page to show the results
        response = make_response("", 200)
        response.headers["HX-Refresh"] = "true"
        return response
    outcomes = matching_runs.run_orders(db.session, run_id)
    planned = matching_runs.planned_operations(db.session, run_id)
    plants: dict[int, int] = {}
    for po in planned:
        plants[po.plant_id] = plants.get(po.plant_id, 0) + 1
    plant_rows = {p.id: p for p in db.session.exec(
        select(Plant).where(col(Plant.id).in_(list(plants) or [0])))}
    # plants of factories on probation today (the quality domain answers), for the operator
    probation = core_events.collect(
        core_events.plant_probation, db.session,
        plant_companies={pid: p.company_id for pid, p in plant_rows.items()}, now=utcnow(),
        own=())
    # each factory's record beside its plants (quality answers; runs does not import it)
    records = core_events.collect(
        core_events.company_records, db.session,
        company_ids=sorted({p.company_id for p in plant_rows.values()}), now=utcnow())
    return render_template("operator/run.html", run=row, outcomes=outcomes, records=records,
                           progress=matching_runs.progress(row), plants=plants,
                           plant_rows=plant_rows, tz=_tz(), probation=probation,
                           first_plant=max(plants, key=plants.get) if plants else None,
                           review=_replan_review(row, planned) if row.kind == "replan" else None)


def _replan_review(row, planned) -> dict:  # type: ignore[no-untyped-def]
    """What a re-plan moves, in words an operator reviews: each change with machine names
    and operation names, and per order the factories' pay before and after."""
    changes = row.stats.get("changes") or []
    machine_ids = {c["to"]["machine_id"] for c in changes} | {
        c["from"]["machine_id"] for c in changes if c.get("from")}
    # machine names repeat across factories ("M1"): the operator reads them with the company
    machine_names = {mid: f"{name} · {company}" for mid, name, company in db.session.exec(
        select(Machine.id, Machine.name, Company.name)
        .join(Plant, col(Plant.id) == col(Machine.plant_id))
        .join(Company, col(Company.id) == col(Plant.company_id))
        .where(col(Machine.id).in_(machine_ids or {0}))).all()}
    op_ids = {c["operation_id"] for c in changes if c.get("operation_id")}
    operations = {op.id: op for op in db.session.exec(select(OrderOperation).where(
        col(OrderOperation.id).in_(op_ids or {0})))}
    paid_after: dict[int, int] = {}
    for po in planned:
        paid_after[po.order_id] = paid_after.get(po.order_id, 0) + int(po.cost)
    before = {int(k): v for k, v in (row.stats.get("paid_before") or {}).items()}
    rush = [int(i) for i in row.trigger.partition(":")[2].split(",") if i.isdigit()] if (
        row.trigger.startswith("rush")) else []
    costs = {ro.order_id: int(ro.cost or 0) for ro in db.session.exec(
        select(RunOrder).where(RunOrder.run_id == row.id))}
    return {"changes": [{**c, "from_at": c.get("from") and _moment(c["from"]),
                         "to_at": _moment(c["to"])} for c in changes],
            "machine_names": machine_names, "operations": operations,
            "paid_before": before, "paid_after": paid_after, "rush": rush,
            "displacement": replan.displacement(row.stats, rush, costs) if rush else {}}


def _moment(place: dict) -> dict:  # type: ignore[type-arg]
    return {"start": datetime.fromisoformat(place["start"].replace("Z", "+00:00")),
            "end": datetime.fromisoformat(place["end"].replace("Z", "+00:00"))}


@bp.get("/runs/<int:run_id>/plants/<int:plant_id>/gantt")
@operator_required
def plant_gantt(run_id: int, plant_id: int):
    _run_or_404(run_id)
    ops = [po for po in matching_runs.planned_operations(db.session, run_id)
           if po.plant_id == plant_id]
    machines = {m.id: m.name for m in db.session.exec(
        select(Machine).where(Machine.plant_id == plant_id).order_by(col(Machine.name)))}
    used = sorted({po.machine_id for po in ops}, key=lambda m: machines.get(m, ""))
    chart = gantt.plant_chart([(m, machines.get(m, str(m))) for m in used], ops, _tz())
    plant = db.session.get(Plant, plant_id)
    return render_template("operator/_gantt.html", chart=chart,
                           title=_("Plant %(name)s", name=plant.name if plant else plant_id))


@bp.get("/runs/<int:run_id>/plant-gantt")
@operator_required
def plant_gantt_pick(run_id: int):
    plant_id = request.args.get("plant_id", type=int)
    if plant_id is None:
        abort(404)
    return plant_gantt(run_id, plant_id)


@bp.get("/runs/<int:run_id>/orders/<int:order_id>/gantt")
@operator_required
def order_gantt(run_id: int, order_id: int):
    row = _run_or_404(run_id)
    ops = [po for po in matching_runs.planned_operations(db.session, run_id)
           if po.order_id == order_id]
    outcome = db.session.exec(select(RunOrder).where(RunOrder.run_id == run_id,
                                                     RunOrder.order_id == order_id)).first()
    if outcome is None:
        abort(404)
    now = row.kind == "replan" and request.args.get("when") == "before"
    if now:  # a re-plan's review: where the operations are before it moves anything
        ops = [SimpleNamespace(**{**b, **_moment(b)}) for b in row.stats.get("before", [])
               if b.get("order_id") == order_id and b.get("plant_id") is not None]
    operations = orders_service.operations_of(db.session, [order_id])
    labels = {op_id: f"{op.seq}. {process_name(op.process_code)}"
              for op_id, op in operations.items()}
    plant_names = {p.id: p.name for p in db.session.exec(
        select(Plant).where(col(Plant.id).in_({po.plant_id for po in ops} or {0})))}
    chart = gantt.order_chart(ops, labels, plant_names, None if now else outcome.completion,  # type: ignore[arg-type]
                              _tz())
    title = (_("Order #%(id)s now, before the re-plan", id=order_id) if now
             else _("Order #%(id)s across plants", id=order_id))
    return render_template("operator/_gantt.html", chart=chart, title=title)


@bp.get("/runs/<int:run_id>/problem.json")
@operator_required
def run_problem(run_id: int):
    row = _run_or_404(run_id)
    if row.problem is None:
        abort(404)
    return Response(json.dumps(row.problem, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition":
                             f"attachment; filename=yunzao-run-{row.id}-problem.json"})


@bp.post("/runs/<int:run_id>/reject")
@operator_required
@on_service_error("operator.run")
def reject_run(run_id: int):
    matching_runs.reject(db.session, actor(), run_id, request.form.get("reason", ""))
    flash(_("Proposal rejected. Nothing was held."), "info")
    return redirect(url_for("operator.run", run_id=run_id))


def _settings_page(errors: dict[str, str], status: int = 200):
    return render_template("operator/settings.html",
                           values=request.form if errors else
                           matching_runs.transport_settings(db.session),
                           errors=errors), status


@bp.route("/settings", methods=["GET", "POST"])
@operator_required
@on_service_error(lambda exc: _settings_page(exc.localized_fields, exc.status))
def settings():
    if request.method == "POST":
        matching_runs.set_transport(db.session, actor(), dict(request.form))
        flash(_("Transport settings saved; the next matching run uses them."), "success")
        return redirect(url_for("operator.settings"))
    return _settings_page({})
