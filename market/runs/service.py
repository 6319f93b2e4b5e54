"""Matching runs: read the book into a problem, solve it in the background, validate the
plan, store the proposal; operators approve it (holding capacity and offering firm quotes)
or reject it. Approval re-checks every interval against the current state in one
transaction; what no longer fits is reported and not held."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import bindparam, exists, update
from sqlmodel import Session, col, func, select

from market.accounts.models import User
from market.capacity.models import Machine
from market.core import audit, events
from market.core.errors import (
    N_,
    Conflict,
    FieldMessage,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from market.core.extensions import db
from market.core.models import utcnow
from market.orders.models import Order, OrderStatus
from market.orders.service import offered_orders
from market.runs import isolation, planning, replan
from market.runs.instant_quote import order_to_matching
from market.runs.lines import RunLine
from market.runs.models import MatchingRun, PlannedOperation, PlatformSetting, RunOrder, RunStatus
from market.runs.planning import DEFAULT_TRANSPORT, build_problem

log = logging.getLogger(__name__)

MIN_TIME_LIMIT, MAX_TIME_LIMIT = 1, 600
HEARTBEAT_SECONDS = 5
STALE_SECONDS = 90  # no heartbeat for this long: the worker is gone
MAX_ATTEMPTS = 2
QUOTE_HOURS = 72

def require_operator(actor: User) -> None:
    if not actor.is_operator:
        raise PermissionDenied("Only platform operators run and review matching.")


# --- settings -----------------------------------------------------------------------------

def transport_settings(session: Session) -> dict[str, Any]:
    row = session.get(PlatformSetting, "transport")
    merged = dict(DEFAULT_TRANSPORT)
    if row is not None:
        merged.update(row.value)
    return merged


def set_transport(session: Session, actor: User, values: dict[str, Any]) -> dict[str, Any]:
    require_operator(actor)
    fields: dict[str, str] = {}
    clean: dict[str, Any] = {}
    limits = {"speed_kmh": (1, 200), "handling_minutes": (0, 10_080), "cost_per_km": (0, 10**6),
              "fixed_cost": (0, 10**9)}
    for key, (lo, hi) in limits.items():
        raw = values.get(key, transport_settings(session)[key])
        try:
            number = float(raw) if key == "speed_kmh" else int(str(raw).strip())
        except (TypeError, ValueError):
            fields[key] = (N_("Enter a number.") if key == "speed_kmh"
                          else N_("Enter a whole number."))
            continue
        if not lo <= number <= hi:
            fields[key] = FieldMessage("Must be between %(lo)s and %(hi)s.", lo=lo, hi=hi)
        clean[key] = number
    if fields:
        raise ValidationError("Please correct the transport settings.", fields)
    row = session.get(PlatformSetting, "transport") or PlatformSetting(key="transport", value={})
    before = dict(row.value or {})
    row.value, row.updated_at, row.updated_by_id = clean, utcnow(), actor.id
    session.add(row)
    audit.record(session, actor.id, "settings.transport", row, None, before=before, after=clean)
    session.commit()
    return clean


# --- starting and reading runs ------------------------------------------------------------

def time_limit(value: Any) -> int:
    """A run's time limit in seconds, checked (1 to 600)."""
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = -1
    if not MIN_TIME_LIMIT <= limit <= MAX_TIME_LIMIT:
        raise ValidationError("The time limit must be 1 to 600 seconds.",
                              {"time_limit_seconds": N_("1 to 600 seconds.")})
    return limit


def start_run(session: Session, actor: User | None, time_limit_seconds: Any = 30,
              order_ids: list[int] | None = None) -> MatchingRun:
    """Queue a run. `actor` None is the scheduler (Celery beat or `flask matching run`)."""
    if actor is not None:
        require_operator(actor)
    limit = time_limit(time_limit_seconds)
    ids = sorted({int(i) for i in order_ids or []})
    if ids:
        found = session.exec(select(Order.id, Order.status).where(col(Order.id).in_(ids))).all()
        known = {i for i, _ in found}
        not_open = [i for i, status in found if status != OrderStatus.open]
        missing = [i for i in ids if i not in known]
        if missing or not_open:
            raise ValidationError(
                "Only open orders can be matched (unknown: %(missing)s; not open: %(not_open)s).",
                {"order_ids": N_("Give open orders only.")},
                {"missing": ", ".join(map(str, missing)) or "-",
                 "not_open": ", ".join(map(str, not_open)) or "-"})
    run = MatchingRun(created_by_id=actor.id if actor else None, time_limit_seconds=limit,
                      order_ids=ids)
    session.add(run)
    session.flush()
    audit.record(session, actor.id if actor else None, "matching_run.started", run, None,
                 orders=ids or "all open", time_limit=limit)
    session.commit()
    return run


def start_replan(session: Session, actor: User, order_ids: list[int],
                 time_limit_seconds: Any = 30) -> MatchingRun:
    """An operator re-plans booked orders (a rush, a factory's call): queued and dispatched
    after the commit."""
    require_operator(actor)
    run = replan.queue_replan(session, order_ids, "operator", actor,
                              time_limit(time_limit_seconds))
    session.commit()
    return run


def start_rush(session: Session, actor: User, order_ids: list[int],
               time_limit_seconds: Any = 30) -> MatchingRun:
    """A rush: these open orders may displace accepted work that has not started, at its
    change cost (charged to them), against the rest of the book held fixed. The operator
    sees what would move and the price before approving anything."""
    require_operator(actor)
    limit = time_limit(time_limit_seconds)
    if not order_ids:  # the button pressed with nothing ticked
        raise ValidationError("Tick the orders to rush first.",
                              {"order_ids": N_("Tick at least one open order.")})
    rush = list(session.exec(select(Order).where(col(Order.id).in_(order_ids))))
    if not rush or len(rush) != len(set(order_ids)) or any(
            o.status != OrderStatus.open for o in rush):
        raise ValidationError("A rush re-plan takes open orders.",
                              {"order_ids": N_("Give open orders only.")})
    booked = replan.displaceable(session, rush)
    if not booked:
        raise Conflict("No accepted work could make room: match the order as usual.")
    run = replan.queue_replan(session, booked + [o.id for o in rush],  # type: ignore[misc]
                              "rush:" + ",".join(str(o.id) for o in rush), actor,
                              limit)
    session.commit()
    return run


def scheduled_run(session: Session, time_limit_seconds: int) -> MatchingRun | None:
    """The periodic run: only when orders wait and no other run is queued or running."""
    busy = session.exec(select(MatchingRun.id).where(col(MatchingRun.status).in_(
        [RunStatus.queued.value, RunStatus.running.value]))).first()
    if busy is not None or not matched_orders(session, MatchingRun()):
        return None
    return start_run(session, None, time_limit_seconds)


def get_run(session: Session, actor: User, run_id: int) -> MatchingRun:
    require_operator(actor)
    run = session.get(MatchingRun, run_id)
    if run is None:
        raise NotFound("Matching run not found.")
    return run


def list_runs(session: Session, actor: User, page: int = 1,
              per_page: int = 20) -> tuple[list[MatchingRun], int]:
    require_operator(actor)
    total = session.exec(select(func.count()).select_from(MatchingRun)).one()
    rows = session.exec(select(MatchingRun).order_by(col(MatchingRun.id).desc())
                        .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), int(total)


def progress(run: MatchingRun | RunLine, now: datetime | None = None) -> int:
    """Percent of the time limit spent, a fair guide since the engine uses all of it."""
    if run.status != RunStatus.running or run.started_at is None:
        return 100 if run.status in (RunStatus.done, RunStatus.approved, RunStatus.rejected,
                                     RunStatus.failed) else 0
    elapsed = ((now or utcnow()) - run.started_at).total_seconds()
    return max(1, min(99, int(100 * elapsed / max(1, run.time_limit_seconds + 5))))


def run_orders(session: Session, run_id: int) -> list[tuple[RunOrder, Order]]:
    return list(session.exec(
        select(RunOrder, Order).join(Order, col(Order.id) == RunOrder.order_id)
        .where(RunOrder.run_id == run_id).order_by(col(RunOrder.served).desc(),
                                                    col(Order.due_date))).all())


def planned_operations(session: Session, run_id: int) -> list[PlannedOperation]:
    return list(session.exec(select(PlannedOperation).where(PlannedOperation.run_id == run_id)
                             .order_by(col(PlannedOperation.order_id),
                                       col(PlannedOperation.start))))


# --- executing a run (the background task) ------------------------------------------------

def _claim(session: Session, run_id: int, worker: str) -> bool:
    """Atomically move a queued run to running for this worker."""
    now = utcnow()
    result = session.execute(
        update(MatchingRun)
        .where(col(MatchingRun.id) == run_id, col(MatchingRun.status) == RunStatus.queued.value)
        .values(status=RunStatus.running.value, worker=worker, started_at=now,
                heartbeat_at=now, attempts=MatchingRun.attempts + 1)  # type: ignore[operator]
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def _still_mine(session: Session, run_id: int, worker: str) -> bool:
    run = session.get(MatchingRun, run_id, populate_existing=True)
    return run is not None and run.status == RunStatus.running and run.worker == worker


class _Heartbeat(threading.Thread):
    def __init__(self, app: Flask, run_id: int, worker: str) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{run_id}")
        self.app, self.run_id, self.worker = app, run_id, worker
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                with self.app.app_context(), db.new_session() as s:
                    s.execute(update(MatchingRun).where(
                        col(MatchingRun.id) == self.run_id,
                        col(MatchingRun.worker) == self.worker,
                        col(MatchingRun.status) == RunStatus.running.value,
                    ).values(heartbeat_at=utcnow()))
                    s.commit()
            except Exception:  # a missed beat is not fatal; the next one may work
                log.exception("heartbeat of run %s failed", self.run_id)


def horizon_for(orders: list[Order], now: datetime) -> tuple[datetime, int]:
    return planning.horizon((o.due_date for o in orders), now, at_least_minutes=7 * 24 * 60)


def usable(orders: list[Order], start: datetime, now: datetime
           ) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The orders in the engine's format, and the ones it cannot use with the reason: one
    buyer's bad data is named in the run, never the reason the run fails for everyone."""
    good: list[dict[str, Any]] = []
    skipped: dict[int, str] = {}
    for order in orders:
        try:
            reason = planning.unusable_reason(order)
            if reason is None:
                good.append(order_to_matching(order, start, now))
        except (ArithmeticError, ValueError, TypeError) as exc:
            reason = f"its data cannot be planned ({type(exc).__name__})"
        if reason is not None:
            skipped[order.id] = reason  # type: ignore[index]
    return good, skipped


def matched_orders(session: Session, run: MatchingRun) -> list[Order]:
    orders = offered_orders(session)
    if run.order_ids:
        wanted = set(run.order_ids)
        orders = [o for o in orders if o.id in wanted]
    return orders


def execute(app: Flask, run_id: int, worker: str) -> None:
    """The body of a matching run. Nothing of a failed run is stored but the failure."""
    from matching.validate import validate

    with db.new_session() as session:
        if not _claim(session, run_id, worker):
            return
        heartbeat = _Heartbeat(app, run_id, worker)
        heartbeat.start()
        try:
            run = session.get(MatchingRun, run_id)
            now = utcnow()
            is_replan = run.kind == "replan"  # type: ignore[union-attr]
            if is_replan:
                orders = replan.with_changes(session, run,  # type: ignore[arg-type]
                                             replan.replan_orders(session, run))  # type: ignore[arg-type]
                places = replan.places_of(session, orders)
                options: dict[str, Any] = replan.build_options(places)
            else:
                orders, places, options = matched_orders(session, run), {}, {}  # type: ignore[arg-type]
            start, minutes = horizon_for(orders, now)
            engine_orders, skipped = usable(orders, start, now)
            problem, index = build_problem(
                session, start=start, minutes=minutes, orders=engine_orders,
                transport=transport_settings(session), **options)
            if is_replan:
                by_key = {f"o{o.id}": o for o in orders}
                for engine_order in engine_orders:
                    replan.annotate(engine_order, by_key[engine_order["id"]], places, index)
                problem["change_cost"] = dict(replan.CHANGE_COST)
            session.rollback()  # release read locks while the engine works
            limit = float(run.time_limit_seconds)  # type: ignore[union-attr]
            # a child process: an OR-Tools abort ends it only (calendar threads: config.py)
            plan = isolation.call_engine(
                "solve", problem, time_limit=limit, seed=0,
                workers=int(app.config.get("SOLVER_WORKERS", 2)),
                calendar_threads=bool(app.config.get("SOLVER_CALENDAR_THREADS"))
                and run.attempts <= 1,  # type: ignore[union-attr]
                deterministic=app.config.get("SOLVER_MODE") == "repeatable",
                kind="runs", processes=int(app.config.get("JOBS_THREADS", 2)),
                timeout=limit * 2 + 60)
            # Fault-injection hook for the tests that kill a worker mid-solve: tiny problems
            # solve in milliseconds, too fast to kill. Zero (off) unless a test sets it.
            delay = float(app.config.get("TEST_SOLVE_DELAY_SECONDS", 0) or 0)
            if delay:
                time.sleep(delay)
            errors = validate(problem, plan)
            if errors:
                raise RuntimeError("the engine's plan failed validation: " + "; ".join(errors[:5]))
            if not _still_mine(session, run_id, worker):
                return  # the reaper gave up on us meanwhile: store nothing
            moved = replan.changes(plan, orders, places, index) if is_replan else None
            _store(session, run_id, problem, plan, index, orders, skipped, moved, places)
        except isolation.SolverCrashed as exc:
            session.rollback()
            _after_crash(session, run_id, worker, str(exc))
        except Exception as exc:  # recorded on the run; the operator sees it
            session.rollback()
            log.exception("matching run %s failed", run_id)
            session.execute(update(MatchingRun).where(
                col(MatchingRun.id) == run_id, col(MatchingRun.worker) == worker,
            ).values(status=RunStatus.failed.value, finished_at=utcnow(),
                     error=f"{type(exc).__name__}: {exc}"[:4000]))
            session.commit()
        finally:
            heartbeat.stopped.set()


def _after_crash(session: Session, run_id: int, worker: str, reason: str) -> None:
    """The solver's process died: retried once (queued again), then failed with the reason."""
    run = session.get(MatchingRun, run_id, populate_existing=True)
    if run is None or run.status != RunStatus.running or run.worker != worker:
        return
    if run.attempts < MAX_ATTEMPTS:
        run.status, run.worker = RunStatus.queued.value, ""
        events.publish(session, events.run_requeued, run_id=run_id)
    else:
        run.status, run.finished_at = RunStatus.failed.value, utcnow()
        run.error = (f"{reason} (attempt {run.attempts} of {MAX_ATTEMPTS}); "
                     "nothing of the run was stored.")[:4000]
    session.add(run)
    session.commit()


def _store(session: Session, run_id: int, problem: dict[str, Any], plan: dict[str, Any],
           index: Any, orders: list[Order], skipped: dict[int, str] | None = None,
           moved: list[dict[str, Any]] | None = None,
           places: dict[int, dict[str, Any]] | None = None) -> None:
    """Write the whole proposal in one transaction; a re-plan's `moved` operations (their
    place now and in the plan) go into the run's stats as `changes`."""
    from matching.problem import as_problem

    run = session.get(MatchingRun, run_id, populate_existing=True)
    p = as_problem(problem)
    by_key = {f"o{o.id}": o for o in orders}
    ops = {(op.order_id, op.seq): op for o in orders for op in o.operations}
    plant_of = {m_id: pid for m_id, pid in session.exec(
        select(Machine.id, Machine.plant_id).where(
            col(Machine.id).in_(list(index.machine_ids.values()) or [0])))}
    planned_minutes = 0
    op_cost: dict[str, int] = {}  # machine cost per order key
    for a in plan["assignments"]:
        order_key, seq = a["operation"].rsplit("-", 1)
        order = by_key[order_key]
        j = p.order_index[order_key]
        k = next(i for i, op in enumerate(p.orders[j].operations) if op.id == a["operation"])
        mi = p.machine_index[a["machine"]]
        option = next(o for o in p.options(j, k) if o.m == mi)
        machine_id = index.machine_ids[a["machine"]]
        planned_minutes += option.duration
        op_cost[order_key] = op_cost.get(order_key, 0) + option.cost
        session.add(PlannedOperation(
            run_id=run_id, order_id=order.id, operation_id=ops[(order.id, int(seq))].id,  # type: ignore[arg-type]
            machine_id=machine_id, plant_id=plant_of[machine_id], start=index.at(a["start"]),
            end=index.at(a["end"]), cost=option.cost))
    served = {o["order"]: o for o in plan["orders"]}
    unserved = {u["order"]: u["reason"] for u in plan["unserved"]}
    for key, order in by_key.items():
        if key in served:
            outcome = served[key]
            parts = outcome.get("parts")
            if parts:  # what the parties are paid; lateness, risk and change cost are not
                transport = int(parts["transport"]) + int(parts["delivery"])
            else:
                late_penalty = int(p.orders[p.order_index[key]].late_penalty_per_minute) * int(
                    outcome["lateness"])
                # cost in the plan = machines + transport + delivery + lateness penalty
                transport = int(outcome["cost"]) - op_cost.get(key, 0) - late_penalty
            session.add(RunOrder(
                run_id=run_id, order_id=order.id, served=True,  # type: ignore[arg-type]
                cost=op_cost.get(key, 0) + transport, transport_cost=transport,
                completion=index.at(int(outcome["completion"])),
                lateness_minutes=int(outcome["lateness"])))
        else:
            reason = unserved.get(key, "not placed")
            if skipped and order.id in skipped:
                reason = "not planned: " + skipped[order.id]  # type: ignore[index]
            session.add(RunOrder(run_id=run_id, order_id=order.id, served=False,  # type: ignore[arg-type]
                                 reason=reason[:500]))
    offered = sum(b - a for m in problem["machines"] for a, b in m["windows"]) - sum(
        b["end"] - b["start"] for b in problem["bookings"])
    run.problem = problem  # type: ignore[union-attr]
    run.horizon_start, run.horizon_minutes = index.start, problem["horizon"]["minutes"]  # type: ignore[union-attr]
    run.plan_status = plan["status"]  # type: ignore[union-attr]
    run.objective, run.bound = plan["objective"], plan.get("bound")  # type: ignore[union-attr]
    run.served, run.unserved = len(served), len(by_key) - len(served)  # type: ignore[union-attr]
    run.utilisation_bp = int(10_000 * planned_minutes / offered) if offered > 0 else None  # type: ignore[union-attr]
    run.stats = {**plan.get("stats", {}), "machines": len(problem["machines"]),  # type: ignore[union-attr]
                 "plants": len(problem["plants"]), "orders": len(by_key),
                 "operations": len(plan["assignments"]),
                 # each served order's cost parts (machines, transport, delivery, lateness,
                 # risk, change): the review shows what the record and the moves cost
                 "parts": {o["order"][1:]: o.get("parts", {}) for o in plan["orders"]}}
    if moved is not None:
        run.stats = {**run.stats, "changes": moved,  # type: ignore[union-attr]
                     "paid_before": replan.paid_before(places or {}),
                     "before": replan.before(session, places or {})}
    run.status, run.finished_at = RunStatus.done.value, utcnow()  # type: ignore[union-attr]
    session.add(run)
    events.publish(session, events.run_finished, run_id=run_id, kind=run.kind)  # type: ignore[union-attr]
    session.commit()


# a run left `running` by a worker that stopped beating (asked by core.jobs.catch_up)
STALE = exists().where(MatchingRun.status == RunStatus.running.value,
                       col(MatchingRun.heartbeat_at) < bindparam("runs_stale_before"))


def stale_params(now: datetime) -> dict[str, Any]:
    return {"runs_stale_before": now - timedelta(seconds=STALE_SECONDS)}


def reap(session: Session, now: datetime | None = None,
         stale_seconds: int | None = None) -> dict[str, list[int]]:
    """Runs left `running` by a worker that stopped beating: retried once, then failed."""
    now = now or utcnow()
    limit = now - timedelta(seconds=stale_seconds if stale_seconds is not None else STALE_SECONDS)
    stale = session.exec(select(MatchingRun).where(
        MatchingRun.status == RunStatus.running.value,
        col(MatchingRun.heartbeat_at) < limit)).all()
    result: dict[str, list[int]] = {"retried": [], "failed": []}
    for run in stale:
        if run.attempts < MAX_ATTEMPTS:
            run.status, run.worker = RunStatus.queued.value, ""
            result["retried"].append(run.id)  # type: ignore[arg-type]
        else:
            run.status, run.finished_at = RunStatus.failed.value, now
            run.error = (f"The worker {run.worker} stopped answering during the solve "
                         f"(attempt {run.attempts}); nothing of the run was stored.")
            result["failed"].append(run.id)  # type: ignore[arg-type]
        session.add(run)
    for run_id in result["retried"]:
        events.publish(session, events.run_requeued, run_id=run_id)
    if stale:  # pages call this on every view: no commit round trip when nothing was due
        session.commit()
    return result


# --- review -------------------------------------------------------------------------------


def reject(session: Session, actor: User, run_id: int, reason: str = "") -> MatchingRun:
    require_operator(actor)
    run = get_run(session, actor, run_id)
    replan.refuse_change(run)
    if run.status != RunStatus.done:
        raise Conflict("A run that is %(status)s cannot be rejected.",
                       params={"status": run.status})
    run.status = RunStatus.rejected.value
    run.reviewed_by_id, run.reviewed_at = actor.id, utcnow()
    run.error = reason.strip()[:4000]
    session.add(run)
    audit.record(session, actor.id, "matching_run.rejected", run, None, reason=run.error)
    session.commit()
    return run
