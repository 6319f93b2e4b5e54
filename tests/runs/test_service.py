"""Matching runs, review and bookings at the service level: the marketplace loop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from market.accounts.models import Company, User
from market.capacity.models import CapacityWindow
from market.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.core.models import utcnow
from market.deals import offers, visibility
from market.deals import service as bookings
from market.deals.models import Booking, Quote
from market.orders import service as orders
from market.orders.models import Order
from market.runs import isolation
from market.runs import service as matching_runs
from market.runs.models import MatchingRun, PlannedOperation, RunOrder
from tests.conftest import api_token
from tests.fakes.orders import order_input, pay, seed_capacity


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1}


@pytest.fixture
def market(session, taxonomy, app, factory, buyer, operator):
    """A verified factory with milling and anodizing capacity; a buyer's open order."""
    seed_capacity(session, factory.company_id)
    b = session.get(User, buyer.user_id)
    order = orders.create_draft(session, b, order_input())
    orders.submit(session, b, order.id)
    return {"factory": session.get(User, factory.user_id), "buyer": b,
            "operator": session.get(User, operator.user_id), "order": order}


def accept_and_pay(session, market, quote_id: int) -> list[Booking]:
    assert bookings.accept_quote(session, market["buyer"], quote_id) == []
    pay(session, market["operator"].id, market["order"].id)
    return visibility.bookings_of_order(session, market["order"].id)


def run_now(app, session, operator_user, **kwargs) -> MatchingRun:
    from market.core.jobs import dispatch

    run = matching_runs.start_run(session, operator_user, kwargs.pop("time_limit", 2), **kwargs)
    with app.app_context():
        dispatch("run_matching", run_id=run.id)
    session.expire_all()
    return session.get(MatchingRun, run.id)


def windows(session, status):
    return session.exec(select(CapacityWindow).where(CapacityWindow.status == status)).all()


def test_run_proposes_a_valid_plan(app, session, market):
    run = run_now(app, session, market["operator"])
    assert run.status == "done", run.error
    assert (run.served, run.unserved) == (1, 0)
    assert run.objective is not None and run.bound is not None and run.bound <= run.objective
    outcome = session.exec(select(RunOrder)).one()
    assert outcome.served and outcome.cost > 0 and outcome.completion is not None
    ops = session.exec(select(PlannedOperation).order_by(PlannedOperation.start)).all()
    assert len(ops) == 2 and ops[0].end <= ops[1].start
    assert run.problem["format"] == "yunzao.problem/1"
    # nothing is held before approval
    assert windows(session, "held") == []


@pytest.mark.parametrize("mode, deterministic", [("anytime", False), ("repeatable", True)])
def test_solver_mode_reaches_the_engine(app, session, market, monkeypatch, mode, deterministic):
    """Production runs use their whole time limit (anytime); tests and audits repeat."""
    seen: dict = {}
    real = isolation.call_engine

    def spy(name, *args, **kwargs):
        seen.update(kwargs)
        return real(name, *args, **{**kwargs, "deterministic": True})

    monkeypatch.setattr(isolation, "call_engine", spy)
    app.config["SOLVER_MODE"] = mode
    app.config["SOLVER_WORKERS"] = 3  # CP-SAT's threads in the child (anytime mode uses them)
    run = run_now(app, session, market["operator"], time_limit=1)
    assert run.status == "done", run.error
    assert seen["deterministic"] is deterministic and seen["time_limit"] == 1.0
    assert seen["workers"] == 3


def test_a_crashing_solver_fails_the_run_not_the_site(app, client, session, market,
                                                     monkeypatch):
    """OR-Tools aborts the process on an internal CHECK now and then; the solve runs in a
    child process, so only that child dies: the run is retried once, then failed with the
    reason, and this process goes on serving."""
    monkeypatch.setenv("YUNZAO_TEST_SOLVER_ABORT", "1")  # the child calls os.abort()
    run = run_now(app, session, market["operator"], time_limit=1)
    assert run.status == "failed" and run.attempts == 2, (run.status, run.attempts)
    assert "crashed" in run.error and session.exec(select(PlannedOperation)).all() == []
    assert client.get("/healthz").status_code == 200
    monkeypatch.delenv("YUNZAO_TEST_SOLVER_ABORT")
    again = run_now(app, session, market["operator"], time_limit=1)  # a fresh child
    assert again.status == "done", again.error


def test_solver_workers_are_honoured_and_a_retry_is_careful(app, session, market,
                                                           monkeypatch):
    """SOLVER_WORKERS CP-SAT threads; on shift-calendar models only if
    SOLVER_CALENDAR_THREADS says so, and then at the first attempt only: after a crash the
    retry keeps one there, the setting under which OR-Tools never aborted."""
    from market.runs import isolation as iso

    real, calls = iso.call_engine, []

    def crash_once(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise iso.SolverCrashed("the engine's process died (signal 6)")
        return real(*args, **kwargs)

    app.config["SOLVER_WORKERS"] = 3
    monkeypatch.setattr(matching_runs.isolation, "call_engine", crash_once)
    run = run_now(app, session, market["operator"], time_limit=1)
    assert run.status == "done" and run.attempts == 2, (run.status, run.error)
    assert [(c["workers"], c["calendar_threads"]) for c in calls] == [(3, False), (3, False)]
    calls.clear()
    app.config["SOLVER_CALENDAR_THREADS"] = True
    run = run_now(app, session, market["operator"], time_limit=1)
    assert run.status == "done" and run.attempts == 2, (run.status, run.error)
    assert [(c["workers"], c["calendar_threads"]) for c in calls] == [(3, True), (3, False)]


def test_a_crashing_quote_is_a_clear_error(app, client, session, market, buyer,
                                          monkeypatch):
    headers = api_token(client, buyer)
    url = f"/api/v1/orders/{market['order'].id}/instant-quote"
    monkeypatch.setenv("YUNZAO_TEST_SOLVER_ABORT", "1")
    crashed = client.post(url, headers=headers)
    assert crashed.status_code == 503 and crashed.json["error"]["code"] == "unavailable"
    monkeypatch.delenv("YUNZAO_TEST_SOLVER_ABORT")
    assert client.post(url, headers=headers).status_code == 200


def test_unserved_order_has_a_reason(app, session, market):
    b = market["buyer"]
    from market.orders.validation import OperationInput

    odd = orders.create_draft(session, b, order_input(
        title="Sewn bag", operations=[OperationInput("sewing", "cotton", 5.0, None, "")]))
    orders.submit(session, b, odd.id)
    run = run_now(app, session, market["operator"])
    assert (run.served, run.unserved) == (1, 1)
    outcome = session.exec(select(RunOrder).where(RunOrder.order_id == odd.id)).one()
    assert not outcome.served and "sewing" in outcome.reason


def test_an_order_the_engine_cannot_use_is_named_not_fatal(app, session, market):
    """A due date of 9999-12-31 stored before the edge checked dates once failed every run
    (OverflowError); now the run serves the others and names that order with its reason."""
    from datetime import UTC, datetime

    b = market["buyer"]
    typo = orders.create_draft(session, b, order_input(title="Typo in the due date"))
    orders.submit(session, b, typo.id)
    typo.due_date = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)  # data from before the check
    session.add(typo)
    session.commit()
    run = run_now(app, session, market["operator"])
    assert run.status == "done", run.error
    assert (run.served, run.unserved) == (1, 1)
    outcome = session.exec(select(RunOrder).where(RunOrder.order_id == typo.id)).one()
    assert not outcome.served and "due date is outside 2000-2100" in outcome.reason
    assert f"o{typo.id}" not in {o["id"] for o in run.problem["orders"]}


def test_only_operators_run_and_bad_parameters(session, market):
    with pytest.raises(PermissionDenied):
        matching_runs.start_run(session, market["buyer"], 5)
    with pytest.raises(ValidationError):
        matching_runs.start_run(session, market["operator"], 0)
    with pytest.raises(ValidationError):
        matching_runs.start_run(session, market["operator"], 5, order_ids=[999])


def test_approve_accept_book_run_ship_deliver(app, session, market):
    run = run_now(app, session, market["operator"])
    report = offers.approve(session, market["operator"], run.id)
    assert report.approved == [market["order"].id] and not report.conflicts
    quote = report.quotes[0]
    assert quote.price == quote.production_cost + quote.platform_fee
    assert quote.platform_fee == (quote.production_cost * 800 + 5000) // 10000
    assert quote.expires_at - utcnow() > timedelta(hours=71)
    session.expire_all()
    assert session.get(Order, market["order"].id).status == "quoted"
    held = windows(session, "held")
    assert held and all(w.planned_operation_id for w in held)

    assert bookings.accept_quote(session, market["buyer"], quote.id) == []
    # the capacity is the buyer's now, but the factories see nothing until the money arrives
    assert windows(session, "held") == [] and len(windows(session, "booked")) == len(held)
    assert session.get(Order, market["order"].id).status == "accepted"
    assert visibility.bookings_of_order(session, market["order"].id) == []
    pay(session, market["operator"].id, market["order"].id)
    made = visibility.bookings_of_order(session, market["order"].id)
    assert len(made) == 2 and {b.status for b in made} == {"proposed"}

    factory = market["factory"]
    assert {b.id for b in visibility.list_bookings(session, factory)} == {b.id for b in made}
    for b in made:
        bookings.accept_booking(session, factory, b.id)
    session.expire_all()
    assert session.get(Order, market["order"].id).status == "scheduled"
    first, last = sorted(made, key=lambda b: b.start)
    with pytest.raises(Conflict):
        bookings.ship(session, factory, last.id)
    bookings.report_progress(session, factory, first.id, "started", note="Fixtures ready")
    assert session.get(Order, market["order"].id).status == "in_production"
    bookings.report_progress(session, factory, first.id, "done", qc="CMM report OK")
    bookings.report_progress(session, factory, last.id, "done")
    # from the first operation "ship" hands the parts on to the next plant, once; the order
    # ships from the last
    assert bookings.ship(session, factory, first.id, carrier="own truck").status == "in_production"
    with pytest.raises(Conflict):
        bookings.ship(session, factory, first.id)
    bookings.ship(session, factory, last.id)
    bookings.confirm_delivery(session, market["buyer"], market["order"].id)
    session.expire_all()
    assert session.get(Order, market["order"].id).status == "delivered"
    from market.payments import ledger
    from market.payments.models import Payout

    payouts = session.exec(select(Payout)).all()
    assert [p.factory_company_id for p in payouts] == [factory.company_id]
    # the factory is paid for its machine time; the platform keeps its fee and the freight it
    # arranges (transport between plants and delivery), so the price splits to the cent
    outcome = session.exec(select(RunOrder)).one()
    assert payouts[0].amount == sum(b.amount for b in made)
    assert quote.price == payouts[0].amount + outcome.transport_cost + quote.platform_fee
    assert ledger.is_balanced(session, market["order"].id)
    from market.overview import service as market_health

    h = market_health.health(session)
    assert (h.submitted_30d, h.quoted_30d, h.fill_rate) == (1, 1, 1.0)
    assert h.delivered == 1 and h.on_time_rate == 1.0  # delivered well before the due date
    assert h.orders == {"delivered": 1} and h.utilisation is not None
    assert h.money["CNY"]["platform_fee"] == quote.platform_fee
    assert h.money["CNY"]["freight_payable"] == outcome.transport_cost
    kinds = [e.kind for e in orders.timeline(session, session.get(Order, market["order"].id))]
    for kind in ("quoted", "quote_accepted", "scheduled", "shipped", "delivered"):
        assert kind in kinds


def test_factory_decline_releases_everything(app, session, market):
    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    made = accept_and_pay(session, market, quote.id)
    published_before = sum(w.minutes for w in windows(session, "published"))
    with pytest.raises(ValidationError):
        bookings.decline_booking(session, market["factory"], made[0].id, "  ")
    bookings.decline_booking(session, market["factory"], made[0].id, "Spindle broken")
    session.expire_all()
    assert windows(session, "booked") == [] and windows(session, "held") == []
    published_after = sum(w.minutes for w in windows(session, "published"))
    assert published_after > published_before
    assert session.get(Order, market["order"].id).status == "open"
    assert session.get(Quote, quote.id).status == "withdrawn"
    statuses = sorted(b.status for b in session.exec(select(Booking)))
    assert statuses == ["cancelled", "declined"]
    # the released time merged back: one window a day again
    per_machine_day = session.exec(select(func.count()).select_from(CapacityWindow).where(
        CapacityWindow.status == "published")).one()
    assert per_machine_day == 2 * 20


def test_auto_accepting_factory_schedules_at_once(app, session, market):
    company = session.get(Company, market["factory"].company_id)
    company.auto_accept_bookings = True
    session.add(company)
    session.commit()
    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    accept_and_pay(session, market, quote.id)
    session.expire_all()
    assert session.get(Order, market["order"].id).status == "scheduled"


def test_quote_expiry_releases_holds(app, session, market):
    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    later = utcnow() + timedelta(hours=73)
    assert bookings.expire_overdue(session, later) == {"quotes": 1, "bookings": 0}
    session.expire_all()
    assert windows(session, "held") == []
    assert session.get(Order, market["order"].id).status == "open"
    with pytest.raises(Conflict):
        bookings.accept_quote(session, market["buyer"], quote.id)


def test_missed_booking_deadline_releases(app, session, market):
    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    accept_and_pay(session, market, quote.id)
    counts = bookings.expire_overdue(session, utcnow() + timedelta(hours=49))
    assert counts["bookings"] == 1  # the first declines; its sibling is cancelled with it
    session.expire_all()
    assert session.get(Order, market["order"].id).status == "open"
    assert windows(session, "booked") == []


def test_approval_reports_what_no_longer_fits(app, session, market):
    run = run_now(app, session, market["operator"])
    planned = session.exec(select(PlannedOperation)).first()
    # the factory withdraws the time the plan wanted
    from market.capacity import publishing

    publishing.withdraw(session, market["factory"], planned.machine_id, planned.start,
                      planned.end)
    report = offers.approve(session, market["operator"], run.id)
    assert report.approved == [] and market["order"].id in report.conflicts
    session.expire_all()
    assert windows(session, "held") == []
    assert session.get(Order, market["order"].id).status == "open"
    assert session.exec(select(Quote)).all() == []


def test_two_runs_cannot_hold_the_same_time(app, session, market):
    first = run_now(app, session, market["operator"])
    second = run_now(app, session, market["operator"])
    assert offers.approve(session, market["operator"], first.id).approved
    report = offers.approve(session, market["operator"], second.id)
    assert report.approved == [] and report.conflicts  # the order is quoted now


def test_reject_and_states(app, session, market):
    run = run_now(app, session, market["operator"])
    matching_runs.reject(session, market["operator"], run.id, "Too late for the buyer")
    with pytest.raises(Conflict):
        offers.approve(session, market["operator"], run.id)
    with pytest.raises(Conflict):
        matching_runs.reject(session, market["operator"], run.id)


def test_bookings_are_private(app, session, market):
    from tests.conftest import make_account

    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    made = accept_and_pay(session, market, quote.id)
    rival = session.get(User, make_account(app, "factory").user_id)
    assert visibility.list_bookings(session, rival) == []
    with pytest.raises(NotFound):
        bookings.accept_booking(session, rival, made[0].id)
    with pytest.raises(NotFound):
        bookings.accept_quote(session, rival, quote.id)
    assert visibility.company_has_booking(session, market["factory"].company_id,
                                        market["order"].id)
    assert not visibility.company_has_booking(session, rival.company_id, market["order"].id)


def test_reaper_fails_a_dead_run_and_stores_nothing(session, market):
    run = matching_runs.start_run(session, market["operator"], 5)
    run.status, run.worker, run.attempts = "running", "ghost:1", 2
    run.heartbeat_at = utcnow() - timedelta(minutes=10)
    session.add(run)
    session.commit()
    result = matching_runs.reap(session)
    assert result == {"retried": [], "failed": [run.id]}
    session.expire_all()
    assert session.get(MatchingRun, run.id).status == "failed"
    assert session.exec(select(PlannedOperation)).all() == []


def test_pages_catch_up_on_what_is_due_in_one_question(app, session, market):
    """Before a page: one query asks every on-read housekeeping step whether it has work,
    and only the steps that have any run (a dead run reaped, an expired quote released)."""
    from sqlalchemy import event

    from market.core.extensions import db
    from market.core.jobs import ON_READ, catch_up

    assert set(ON_READ) >= {"deals", "runs"}
    engine = app.extensions["yunzao_db"]
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    run = matching_runs.start_run(session, market["operator"], 5)
    with app.app_context():
        event.listen(engine, "before_cursor_execute", before)
        try:
            catch_up(db.session)
        finally:
            event.remove(engine, "before_cursor_execute", before)
    assert len(seen) == 1, seen  # nothing due: the one question
    run.status, run.worker, run.attempts = "running", "ghost:1", 2
    run.heartbeat_at = utcnow() - timedelta(minutes=10)
    session.add(run)
    session.commit()
    with app.app_context():
        catch_up(db.session)
    session.expire_all()
    assert session.get(MatchingRun, run.id).status == "failed"
    run = run_now(app, session, market["operator"])
    offers.approve(session, market["operator"], run.id)
    with app.app_context():
        catch_up(db.session)  # the quote is not due yet
        session.expire_all()
        assert session.get(Order, market["order"].id).status == "quoted"
        catch_up(db.session, utcnow() + timedelta(hours=73))
    session.expire_all()
    assert session.get(Order, market["order"].id).status == "open"


def test_pages_ask_what_is_due_at_most_every_few_seconds(app, session, market):
    """In production a page asks at most every CATCH_UP_SECONDS per process (housekeeping
    runs every minute anyway, and services check deadlines when they act)."""
    from sqlalchemy import event

    from market.core.extensions import db
    from market.core.jobs import catch_up

    app.config["CATCH_UP_SECONDS"] = 60
    engine = app.extensions["yunzao_db"]
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with app.app_context():
        catch_up(db.session)
        catch_up(db.session)  # within the minute: no question
        assert len(seen) == 1, seen
        catch_up(db.session, utcnow())  # a caller's own moment: always asked
        assert len(seen) == 2, seen
    app.config["CATCH_UP_SECONDS"] = 0
    with app.app_context():
        catch_up(db.session)
        assert len(seen) == 3, seen


def test_transport_settings(session, market):
    values = matching_runs.set_transport(session, market["operator"], {"cost_per_km": "250"})
    assert values["cost_per_km"] == 250
    assert matching_runs.transport_settings(session)["cost_per_km"] == 250
    with pytest.raises(ValidationError):
        matching_runs.set_transport(session, market["operator"], {"speed_kmh": "fast"})
    with pytest.raises(PermissionDenied):
        matching_runs.set_transport(session, market["buyer"], {"cost_per_km": 1})


def test_cli_runs_matching_and_housekeeping(app, session, market):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["matching", "run", "--time-limit", "2"])
    assert result.exit_code == 0, result.output
    assert "done, 1 served, 0 unserved" in result.output
    run = session.exec(select(MatchingRun)).one()
    assert run.created_by_id is None  # the scheduler, not a person
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    assert quote.id
    # the only order is quoted now: nothing for a scheduled run to do
    result = runner.invoke(args=["matching", "run", "--if-needed"])
    assert "Nothing to match" in result.output
    result = runner.invoke(args=["matching", "housekeeping"])
    assert result.exit_code == 0 and "Expired 0 quotes" in result.output


def test_cancel_before_production_refunds_and_releases(app, session, market):
    from market.payments.models import Payment

    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    made = accept_and_pay(session, market, quote.id)
    bookings.accept_booking(session, market["factory"], made[0].id)
    orders.cancel(session, market["buyer"], market["order"].id, "Design changed")
    session.expire_all()
    assert session.get(Order, market["order"].id).status == "cancelled"
    assert windows(session, "booked") == [] and windows(session, "held") == []
    assert {b.status for b in visibility.bookings_of_order(session, market["order"].id)} == {
        "cancelled"}
    payment = session.exec(select(Payment)).one()
    assert payment.status == "refunded" and payment.refunded_amount == payment.amount
    from market.payments import ledger

    assert ledger.is_balanced(session, market["order"].id)


def test_no_cancel_once_production_started(app, session, market):
    run = run_now(app, session, market["operator"])
    quote = offers.approve(session, market["operator"], run.id).quotes[0]
    made = accept_and_pay(session, market, quote.id)
    for b in made:
        bookings.accept_booking(session, market["factory"], b.id)
    bookings.report_progress(session, market["factory"], made[0].id, "started")
    with pytest.raises(Conflict, match="in production"):
        orders.cancel(session, market["buyer"], market["order"].id)
