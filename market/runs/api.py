"""Matching runs and review (operators), quotes (buyers), bookings (factories)."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request

from market.core.api import current_api_user, page_body, pagination, route
from market.core.extensions import db
from market.core.jobs import dispatch
from market.deals import service as bookings
from market.deals.models import Booking, Quote
from market.runs import service as matching_runs
from market.runs.models import MatchingRun
from market.runs.schemas import (
    ApproveIn,
    ApproveOut,
    BookingOut,
    NoteIn,
    ProgressIn,
    QuoteOut,
    ReasonIn,
    RunAccepted,
    RunIn,
    RunOut,
    TransportIn,
    TransportOut,
)


def quote_out(quote: Quote) -> dict[str, Any]:
    return QuoteOut.model_validate(quote, from_attributes=True).model_dump(mode="json")


def booking_out(booking: Booking) -> dict[str, Any]:
    return BookingOut.model_validate(booking, from_attributes=True).model_dump(mode="json")


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
        error=run.error, stats=run.stats, orders=orders,  # type: ignore[arg-type]
    ).model_dump(mode="json")


@route("POST", "/matching-runs", summary="Start a matching run (operators)", body=RunIn,
       response=RunAccepted, status=202, auth="operator", tag="matching")
def start_run(data: RunIn) -> dict[str, Any]:
    run = matching_runs.start_run(db.session, current_api_user(), data.time_limit_seconds,
                                  data.order_ids)
    dispatch("run_matching", run_id=run.id)
    return {"id": run.id, "status": run.status}


@route("GET", "/matching-runs", summary="Matching runs, newest first", response=RunOut,
       auth="operator", tag="matching", query={"page": "page number", "per_page": "1-200"})
def list_runs() -> dict[str, Any]:
    page, per_page = pagination()
    matching_runs.reap(db.session)
    rows, total = matching_runs.list_runs(db.session, current_api_user(), page, per_page)
    return page_body([run_out(r, with_orders=False) for r in rows], page, per_page, total)


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
        from market.core.api import ApiError

        raise ApiError(409, "conflict", "This run has no problem file (it did not get that far).")
    return Response(json.dumps(run.problem), mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=yunzao-run-{run.id}-problem.json"})


@route("POST", "/matching-runs/<int:run_id>/approve",
       summary="Approve all or some served orders: capacity is held, buyers get firm quotes",
       body=ApproveIn, response=ApproveOut, auth="operator", tag="matching")
def approve_run(run_id: int, data: ApproveIn) -> dict[str, Any]:
    report = matching_runs.approve(
        db.session, current_api_user(), run_id, data.order_ids,
        fee_bps=_config("PLATFORM_FEE_BPS"), quote_hours=_config("QUOTE_VALID_HOURS"))
    return {"approved": report.approved,
            "conflicts": {str(k): v for k, v in report.conflicts.items()},
            "quotes": [quote_out(q) for q in report.quotes]}


def _config(key: str) -> int:
    from flask import current_app

    return int(current_app.config[key])


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


@route("GET", "/orders/<int:order_id>/quotes", summary="An order's firm quotes",
       response=QuoteOut, tag="orders")
def order_quotes(order_id: int) -> list[dict[str, Any]]:
    return [quote_out(q) for q in bookings.list_quotes(db.session, current_api_user(), order_id)]


@route("POST", "/quotes/<int:quote_id>/accept",
       summary="Accept a firm quote: its capacity is booked for you and an escrow payment "
               "opens (POST /orders/{id}/payment); the factories are booked once it is paid",
       response=QuoteOut, tag="orders")
def accept_quote(quote_id: int) -> dict[str, Any]:
    bookings.accept_quote(db.session, current_api_user(), quote_id)
    return quote_out(db.session.get(Quote, quote_id))  # type: ignore[arg-type]


@route("POST", "/quotes/<int:quote_id>/decline", summary="Decline a firm quote",
       body=ReasonIn, response=QuoteOut, tag="orders")
def decline_quote(quote_id: int, data: ReasonIn) -> dict[str, Any]:
    return quote_out(bookings.decline_quote(db.session, current_api_user(), quote_id,
                                            data.reason))


@route("POST", "/orders/<int:order_id>/confirm-delivery", summary="The buyer confirms delivery",
       tag="orders")
def confirm_delivery(order_id: int) -> dict[str, Any]:
    order = bookings.confirm_delivery(db.session, current_api_user(), order_id)
    return {"id": order.id, "status": order.status}


@route("GET", "/bookings", summary="My factory's bookings", response=BookingOut,
       tag="bookings", query={"status": "proposed|accepted|declined|in_progress|done|cancelled"})
def list_bookings() -> list[dict[str, Any]]:
    bookings.expire_overdue(db.session)
    return [booking_out(b) for b in bookings.list_bookings(db.session, current_api_user(),
                                                           request.args.get("status"))]


@route("POST", "/bookings/<int:booking_id>/accept", summary="Accept a proposed booking",
       response=BookingOut, tag="bookings")
def accept_booking(booking_id: int) -> dict[str, Any]:
    return booking_out(bookings.accept_booking(db.session, current_api_user(), booking_id))


@route("POST", "/bookings/<int:booking_id>/decline",
       summary="Decline a booking (the order goes back to matching)", body=ReasonIn,
       response=BookingOut, tag="bookings")
def decline_booking(booking_id: int, data: ReasonIn) -> dict[str, Any]:
    return booking_out(bookings.decline_booking(db.session, current_api_user(), booking_id,
                                                data.reason))


@route("POST", "/bookings/<int:booking_id>/progress",
       summary="Report an operation started or done, with a note and QC", body=ProgressIn,
       response=BookingOut, tag="bookings")
def booking_progress(booking_id: int, data: ProgressIn) -> dict[str, Any]:
    return booking_out(bookings.report_progress(db.session, current_api_user(), booking_id,
                                                data.status, data.note, data.qc))


@route("POST", "/bookings/<int:booking_id>/ship",
       summary="Record the shipment (factory of the last operation)", body=NoteIn,
       tag="bookings")
def ship(booking_id: int, data: NoteIn) -> dict[str, Any]:
    order = bookings.ship(db.session, current_api_user(), booking_id, data.note)
    return {"id": order.id, "status": order.status}
