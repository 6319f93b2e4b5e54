"""Matching runs and review (operators), quotes (buyers), bookings (factories)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json

from market.core.api import ApiError, Page, current_api_user, pagination, route
from market.core.extensions import check_rate, db
from market.core.jobs import dispatch
from market.core.money import fee_bps
from market.core.schemas import ReasonIn
from market.runs import instant_quote as quotes
from market.runs import service as matching_runs
from market.runs.models import MatchingRun
from market.runs.schemas import (
    InstantQuoteOut,
    RunAccepted,
    RunIn,
    RunOut,
    TransportIn,
    TransportOut,
)


@route("POST", "/orders/<int:order_id>/instant-quote",
       summary="An indicative price and delivery date against the current book",
       response=InstantQuoteOut, tag="orders")
def instant_quote(order_id: int) -> dict[str, Any]:
    user = current_api_user()
    check_rate("instant-quote", "QUOTE_RATE_LIMIT", user.company_id or f"user-{user.id}")
    result = quotes.instant_quote(db.session, user, order_id, fee_bps=fee_bps(),
                                  workers=current_app.config["SOLVER_WORKERS"])
    return InstantQuoteOut.model_validate(result.as_dict()).model_dump(mode="json")


# a re-plan's review data in the stats: `changes` is its own field, the rest is for pages
REVIEW_KEYS = ("changes", "paid_before", "before", "parts")


def run_out(run: MatchingRun, with_orders: bool = True) -> dict[str, Any]:
    orders = None
    if with_orders and run.status not in ("queued", "running", "failed"):
        placements: dict[int, list[dict[str, Any]]] = {}
        for po in matching_runs.planned_operations(db.session, run.id):  # type: ignore[arg-type]
            placements.setdefault(po.order_id, []).append({
                "operation_id": po.operation_id, "machine_id": po.machine_id,
                "plant_id": po.plant_id, "start": po.start, "end": po.end, "cost": po.cost})
        orders = [{"order_id": ro.order_id, "served": ro.served, "reason": ro.reason,
                   "cost": ro.cost, "transport_cost": ro.transport_cost,
                   "completion": ro.completion, "lateness_minutes": ro.lateness_minutes,
                   "decision": ro.decision, "decision_note": ro.decision_note,
                   "placements": placements.get(ro.order_id, [])}
                  for ro, _order in matching_runs.run_orders(db.session, run.id)]  # type: ignore[arg-type]
    return RunOut(
        id=run.id, status=run.status, progress=matching_runs.progress(run),  # type: ignore[arg-type]
        created_at=run.created_at, started_at=run.started_at, finished_at=run.finished_at,
        time_limit_seconds=run.time_limit_seconds, plan_status=run.plan_status,
        objective=run.objective, bound=run.bound, gap=run.gap, served=run.served,
        unserved=run.unserved,
        utilisation=None if run.utilisation_bp is None else run.utilisation_bp / 10_000,
        error=run.error,
        stats={k: v for k, v in run.stats.items() if k not in REVIEW_KEYS},
        kind=run.kind, trigger=run.trigger,
        changes=run.stats.get("changes") if run.kind == "replan" else None,
        orders=orders,  # type: ignore[arg-type]
    ).model_dump(mode="json")


@route("POST", "/matching-runs", summary="Start a matching run (operators)", body=RunIn,
       response=RunAccepted, status=202, auth="operator", tag="matching")
def start_run(data: RunIn) -> dict[str, Any]:
    if data.kind in ("replan", "rush"):  # dispatched once queued and committed
        start = matching_runs.start_rush if data.kind == "rush" else matching_runs.start_replan
        run = start(db.session, current_api_user(), data.order_ids or [],
                    data.time_limit_seconds)
        return {"id": run.id, "status": run.status}
    run = matching_runs.start_run(db.session, current_api_user(), data.time_limit_seconds,
                                  data.order_ids)
    dispatch("run_matching", run_id=run.id)
    return {"id": run.id, "status": run.status}


@route("GET", "/matching-runs", summary="Matching runs, newest first", response=RunOut,
       auth="operator", tag="matching", paginated=True)
def list_runs() -> Page:
    page, per_page = pagination()
    matching_runs.reap(db.session)
    rows, total = matching_runs.list_runs(db.session, current_api_user(), page, per_page)
    return Page([run_out(r, with_orders=False) for r in rows], page, per_page, total)


@route("GET", "/matching-runs/<int:run_id>",
       summary="A run: status, progress, objective, bound and each order's outcome",
       response=RunOut, auth="operator", tag="matching")
def get_run(run_id: int) -> dict[str, Any]:
    matching_runs.reap(db.session)
    return run_out(matching_runs.get_run(db.session, current_api_user(), run_id))


@route("GET", "/matching-runs/<int:run_id>/problem",
       summary="The run's yunzao.problem/1 file (support and benchmarks)", auth="operator",
       tag="matching")
def run_problem(run_id: int) -> Response:
    run = matching_runs.get_run(db.session, current_api_user(), run_id)
    if run.problem is None:
        raise ApiError(409, "conflict", "This run has no problem file (it did not get that far).")
    return Response(json.dumps(run.problem), mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=yunzao-run-{run.id}-problem.json"})


@route("POST", "/matching-runs/<int:run_id>/reject", summary="Reject a proposal",
       body=ReasonIn, response=RunOut, auth="operator", tag="matching")
def reject_run(run_id: int, data: ReasonIn) -> dict[str, Any]:
    return run_out(matching_runs.reject(db.session, current_api_user(), run_id, data.reason))


@route("GET", "/settings/transport", summary="Transport rates used by matching",
       response=TransportOut, auth="operator", tag="matching")
def get_transport() -> dict[str, Any]:
    return matching_runs.transport_settings(db.session)


@route("PUT", "/settings/transport", summary="Edit the transport rates used by matching",
       body=TransportIn, response=TransportOut, auth="operator", tag="matching")
def put_transport(data: TransportIn) -> dict[str, Any]:
    values = {k: v for k, v in data.model_dump().items() if v is not None}
    return matching_runs.set_transport(db.session, current_api_user(), values)


