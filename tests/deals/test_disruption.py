"""When the week does not go to plan, through the real engine: a machine reported down, a
factory declining one step, a re-plan reviewed and approved, bookings moved and kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.capacity import downtime
from market.capacity.models import CapacityWindow, WindowStatus
from market.core.errors import NotFound, ValidationError
from market.core.models import utcnow
from market.deals import offers, visibility
from market.deals import service as bookings
from market.deals.models import Booking
from market.orders import service as orders
from market.orders.models import Order
from market.payments.models import Payment
from market.runs import service as matching_runs
from market.runs.models import MatchingRun, RunOrder
from tests.conftest import make_account
from tests.fakes.orders import order_input, pay, seed_capacity


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1}


@pytest.fixture
def in_app(app):
    """Re-plans are dispatched after the commit, as jobs of the app (sync here): service
    calls outside a request need the app's context. Page and API tests must not use it (a
    shared context would share `g`, and so the signed-in user, between requests)."""
    with app.app_context():
        yield


pytestmark = pytest.mark.usefixtures("in_app")


@pytest.fixture
def world(app, session, taxonomy, buyer, operator):
    """Two milling factories and an anodizer near Suzhou; a buyer's order booked through a
    real matching run, paid, every booking accepted."""
    mills = [make_account(app, "factory", f"mill{i}@example.com") for i in (1, 2)]
    anod = make_account(app, "factory", "anod@example.com")
    machines = {}
    for i, mill in enumerate(mills):
        machines[f"mill{i + 1}"] = seed_capacity(
            session, mill.company_id, processes=(("cnc_milling", ["al6061"]),), days=20,
            rate=15000 + 2000 * i)[0]
    machines["anod"] = seed_capacity(session, anod.company_id,
                                     processes=(("anodizing", []),), days=20)[0]
    users = {"buyer": session.get(User, buyer.user_id),
             "operator": session.get(User, operator.user_id),
             "mill1": session.get(User, mills[0].user_id),
             "mill2": session.get(User, mills[1].user_id),
             "anod": session.get(User, anod.user_id)}
    order = orders.create_draft(session, users["buyer"], order_input(quantity=50))
    orders.submit(session, users["buyer"], order.id)
    run = run_now(app, session, users["operator"])
    report = offers.approve(session, users["operator"], run.id)
    assert report.approved == [order.id]
    bookings.accept_quote(session, users["buyer"], report.quotes[0].id)
    with app.app_context():
        pay(session, users["operator"].id, order.id)
    made = visibility.bookings_of_order(session, order.id)
    for b in made:
        bookings.accept_booking(session, owner(users, machines, b), b.id)
    session.expire_all()
    assert session.get(Order, order.id).status == "scheduled"
    return {"users": users, "machines": machines, "order": order}


def run_now(app, session, operator_user) -> MatchingRun:
    from market.core.jobs import dispatch

    run = matching_runs.start_run(session, operator_user, 2)
    with app.app_context():
        dispatch("run_matching", run_id=run.id)
    session.expire_all()
    return session.get(MatchingRun, run.id)


def owner(users, machines, booking):
    for name, machine in machines.items():
        if machine.id == booking.machine_id:
            return users[name]
    raise AssertionError(booking)


def live(session, order_id):
    session.expire_all()
    return [b for b in visibility.bookings_of_order(session, order_id)
            if b.status in ("proposed", "accepted", "in_progress", "done")]


def test_a_breakdown_withdraws_idle_time_puts_work_at_risk_and_replans(app, session, world):
    users, machines, order = world["users"], world["machines"], world["order"]
    milling = next(b for b in live(session, order.id) if b.machine_id != machines["anod"].id)
    broken_name = "mill1" if milling.machine_id == machines["mill1"].id else "mill2"
    other_name = "mill2" if broken_name == "mill1" else "mill1"
    anodizing = next(b for b in live(session, order.id) if b.machine_id == machines["anod"].id)
    start, end = milling.start - timedelta(hours=1), milling.end + timedelta(days=2)

    down = downtime.report_downtime(session, users[broken_name], milling.machine_id, start, end,
                                    "Spindle bearing failed")
    assert down.affected_bookings == [milling.id]
    assert down.withdrawn_minutes > 0
    session.expire_all()
    assert session.get(Booking, milling.id).at_risk
    # no idle time of the broken machine is offered inside the downtime any more
    idle = session.exec(select(CapacityWindow).where(
        CapacityWindow.machine_id == milling.machine_id,
        CapacityWindow.status == WindowStatus.published.value,
        CapacityWindow.start < end, CapacityWindow.end > start)).all()
    assert idle == []

    run = session.get(MatchingRun, down.replan_run_id)
    assert (run.kind, run.status, run.order_ids) == ("replan", "done", [order.id])
    changes = run.stats["changes"]
    moved = next(c for c in changes if c["operation_id"] == milling.operation_id)
    assert moved["reason"] == "at_risk"
    assert moved["to"]["machine_id"] == machines[other_name].id
    assert moved["from"]["machine_id"] == milling.machine_id

    report = offers.approve(session, users["operator"], run.id)
    assert report.approved == [order.id]
    session.expire_all()
    assert session.get(Booking, milling.id).status == "replaced"
    now_live = live(session, order.id)
    new_milling = next(b for b in now_live if b.operation_id == milling.operation_id)
    assert new_milling.machine_id == machines[other_name].id
    assert new_milling.status == "proposed"  # its new factory answers first
    assert new_milling.replaces_id == milling.id
    assert new_milling.respond_by <= new_milling.start
    kept_anod = next(b for b in now_live if b.operation_id == anodizing.operation_id)
    if kept_anod.id == anodizing.id:  # kept: still accepted, same place
        assert (kept_anod.status, kept_anod.start) == ("accepted", anodizing.start)
    # the money stays in escrow, the order waits for the moved step's factory
    assert session.get(Order, order.id).status == "accepted"
    assert session.exec(select(Payment).where(Payment.order_id == order.id)).one().status == (
        "succeeded")
    # the broken machine's released time stays withdrawn inside the downtime
    idle = session.exec(select(CapacityWindow).where(
        CapacityWindow.machine_id == milling.machine_id,
        CapacityWindow.status == WindowStatus.published.value,
        CapacityWindow.start < end, CapacityWindow.end > start)).all()
    assert idle == []
    # the new factory accepts, the order is scheduled again and runs to delivery
    for b in now_live:
        bookings.accept_booking(session, owner(users, machines, b), b.id)
    session.expire_all()
    assert session.get(Order, order.id).status == "scheduled"


def test_a_declined_step_replans_that_step_only(app, session, world):
    users, machines, order = world["users"], world["machines"], world["order"]
    anodizing = next(b for b in live(session, order.id) if b.machine_id == machines["anod"].id)
    milling = next(b for b in live(session, order.id) if b.id != anodizing.id)
    bookings.decline_booking(session, users["anod"], anodizing.id, "Tank being cleaned")
    session.expire_all()
    # the other factory's booking stays accepted, the money stays, the order stays booked
    assert session.get(Booking, milling.id).status == "accepted"
    assert session.get(Order, order.id).status == "accepted"
    assert session.exec(select(Payment).where(Payment.order_id == order.id)).one().status == (
        "succeeded")
    run = session.exec(select(MatchingRun).where(MatchingRun.kind == "replan")).one()
    assert run.trigger == f"decline:{anodizing.id}" and run.status == "done"
    change = next(c for c in run.stats["changes"] if c["operation_id"] == anodizing.operation_id)
    assert change["reason"] == "declined"
    # never back into the slot its factory declined
    assert not (change["to"]["start"] < change["from"]["end"]
                and change["to"]["end"] > change["from"]["start"]
                and change["to"]["machine_id"] == anodizing.machine_id)
    assert all(c["operation_id"] != milling.operation_id for c in run.stats["changes"])
    report = offers.approve(session, users["operator"], run.id)
    assert report.approved == [order.id] and not report.conflicts
    now_live = live(session, order.id)
    assert {b.id for b in now_live} >= {milling.id}
    new = next(b for b in now_live if b.operation_id == anodizing.operation_id)
    assert new.status == "proposed" and new.id != anodizing.id
    bookings.accept_booking(session, users["anod"], new.id)
    session.expire_all()
    assert session.get(Order, order.id).status == "scheduled"


def test_started_work_stays_fixed_in_a_replan(app, session, world):
    users, machines, order = world["users"], world["machines"], world["order"]
    milling = next(b for b in live(session, order.id) if b.machine_id != machines["anod"].id)
    anodizing = next(b for b in live(session, order.id) if b.id != milling.id)
    bookings.report_progress(session, owner(users, machines, milling), milling.id, "started")
    run = matching_runs.start_replan(session, users["operator"], [order.id], 2)
    session.expire_all()
    run = session.get(MatchingRun, run.id)
    assert run.status == "done", run.error
    # nothing moved: the started step is fixed, the accepted one had no reason to move
    assert run.stats["changes"] == []
    report = offers.approve(session, users["operator"], run.id)
    assert report.approved == [order.id]
    session.expire_all()
    assert {b.id for b in live(session, order.id)} == {milling.id, anodizing.id}


def test_downtime_input_is_checked_and_foreign_machines_are_404(app, session, world):
    users, machines = world["users"], world["machines"]
    m = machines["mill1"].id
    now = utcnow()
    with pytest.raises(ValidationError) as exc:
        downtime.report_downtime(session, users["mill1"], m, now + timedelta(hours=2), now,
                                 "x")
    assert "end" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        downtime.report_downtime(session, users["mill1"], m, now, now + timedelta(hours=1), " ")
    assert "reason" in exc.value.fields
    with pytest.raises(ValidationError):
        downtime.report_downtime(session, users["mill1"], m, now - timedelta(days=2),
                                 now - timedelta(days=1), "late report")
    with pytest.raises(NotFound):
        downtime.report_downtime(session, users["mill2"], m, now, now + timedelta(hours=1),
                                 "not mine")
    with pytest.raises(ValidationError):  # a re-plan is of booked orders only
        matching_runs.start_replan(session, users["operator"], [], 2)


def test_when_no_replan_fits_the_buyer_may_cancel_with_a_full_refund(app, session, world):
    from market.deals import disruption
    from market.orders.models import OrderEvent

    users, machines, order = world["users"], world["machines"], world["order"]
    anodizing = next(b for b in live(session, order.id) if b.machine_id == machines["anod"].id)
    # the only anodizing line is down for the whole horizon: nowhere to put the step
    down = downtime.report_downtime(session, users["anod"], anodizing.machine_id,
                                    utcnow(), utcnow() + timedelta(days=60), "Tank cracked")
    run = session.get(MatchingRun, down.replan_run_id)
    assert run.status == "done"
    session.expire_all()
    o = session.get(Order, order.id)
    assert disruption.latest_replan_misses(session, o)
    kinds = [e.kind for e in session.exec(select(OrderEvent).where(
        OrderEvent.order_id == order.id))]
    assert "replan_no_fit" in kinds
    report = offers.approve(session, users["operator"], run.id)
    assert order.id in report.conflicts  # nothing to approve for it
    orders.cancel(session, users["buyer"], order.id, "No anodizing in time")
    session.expire_all()
    assert session.get(Order, order.id).status == "cancelled"
    payment = session.exec(select(Payment).where(Payment.order_id == order.id)).one()
    assert payment.status == "refunded"


def test_a_rush_order_displaces_accepted_work_at_its_change_cost(app, session, world):
    from market.capacity import publishing
    from market.runs.replan import CHANGE_COST

    users, machines, order = world["users"], world["machines"], world["order"]
    milling = next(b for b in live(session, order.id) if b.machine_id != machines["anod"].id)
    name = "mill1" if milling.machine_id == machines["mill1"].id else "mill2"
    other = "mill2" if name == "mill1" else "mill1"
    # the other mill has no time left: the rush can only have the booked slot sooner
    publishing.withdraw(session, users[other], machines[other].id, utcnow(),
                        utcnow() + timedelta(days=25))
    rush = orders.create_draft(session, users["buyer"], order_input(
        title="Rush", quantity=50, due_date=utcnow() + timedelta(days=1)))
    orders.submit(session, users["buyer"], rush.id)
    with pytest.raises(ValidationError):  # a rush is for open orders
        matching_runs.start_rush(session, users["operator"], [order.id], 2)
    run = matching_runs.start_rush(session, users["operator"], [rush.id], 3)
    session.expire_all()
    run = session.get(MatchingRun, run.id)
    assert run.status == "done", run.error
    assert set(run.order_ids) == {order.id, rush.id}
    moved = [c for c in run.stats["changes"] if c["order_id"] == order.id]
    assert any(c["operation_id"] == milling.operation_id for c in moved), run.stats["changes"]
    report = offers.approve(session, users["operator"], run.id)
    assert set(report.approved) == {order.id, rush.id}, report.conflicts
    quote = report.quotes[0]
    session.expire_all()
    rush_cost = session.exec(select(RunOrder.cost).where(
        RunOrder.run_id == run.id, RunOrder.order_id == rush.id)).one()
    # the rush pays for the work it moved: at least one moved operation's change cost
    assert quote.production_cost >= rush_cost + CHANGE_COST["moved"]
    assert session.get(Order, rush.id).status == "quoted"
    assert session.get(Booking, milling.id).status == "replaced"
