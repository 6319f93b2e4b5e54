"""Reminders from housekeeping, each sent once: a booking's answer due within 12 hours, a
quote expiring within 12 hours, "will it ship on time?" two days before an operation ends."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from market.core.jobs import run_housekeeping
from market.core.models import utcnow
from market.deals import service as bookings
from market.deals import visibility
from market.deals.models import Booking
from market.notify import reminders
from market.notify.models import Notification
from market.orders.models import OrderEvent
from tests.fakes.orders import pay
from tests.payments.conftest import make_quote


def _kinds(session, user):
    session.expire_all()
    return [n.kind for n in session.exec(select(Notification).where(
        Notification.user_id == user.id))]


def test_booking_answer_due_reminds_the_factory_once(app, session, people, inbox):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    made = visibility.bookings_of_order(session, order.id)
    now = utcnow()
    assert reminders.send_reminders(session, now)["booking_deadline_soon"] == 0  # > 12 h left
    # deadlines end before each booking's work, so they differ: within 12 h of both
    later = max(b.respond_by for b in made) - timedelta(hours=11)
    assert later < min(b.respond_by for b in made)
    assert reminders.send_reminders(session, later)["booking_deadline_soon"] == 2
    assert reminders.send_reminders(session, later)["booking_deadline_soon"] == 0
    assert _kinds(session, people["mill"]).count("booking_deadline_soon") == 1
    # needs an answer: mailed by default
    assert any("Answer due soon" in str(m["Subject"]) or "即将截止" in str(m["Subject"])
               for m in inbox.to(people["mill"].email))


def test_quote_expiring_reminds_the_buyer_once(app, session, people):
    _order, quote = make_quote(session, people)
    when = quote.expires_at - timedelta(hours=6)
    assert reminders.send_reminders(session, when)["quote_expiring"] == 1
    assert reminders.send_reminders(session, when)["quote_expiring"] == 0
    assert _kinds(session, people["buyer"]).count("quote_expiring") == 1


def test_will_it_ship_on_time_and_a_late_answer(app, session, people):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    for b in visibility.bookings_of_order(session, order.id):
        owner = people["mill"] if b.factory_company_id == people["mill"].company_id else (
            people["anod"])
        bookings.accept_booking(session, owner, b.id)
    mine = session.exec(select(Booking).where(
        Booking.factory_company_id == people["mill"].company_id)).one()
    counts = reminders.send_reminders(session, utcnow())  # ends within two days
    assert counts["operation_ending_soon"] == 2
    assert reminders.send_reminders(session, utcnow())["operation_ending_soon"] == 0
    ask = session.exec(select(Notification).where(
        Notification.user_id == people["mill"].id,
        Notification.kind == "operation_ending_soon")).one()
    assert ask.booking_id == mine.id
    with app.app_context():
        reminders.answer_on_time(session, people["mill"], ask.id, False, "two days late")
    assert "operation_late" in _kinds(session, people["buyer"])
    assert "operation_late" in _kinds(session, people["operator"])
    answer = session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                   OrderEvent.kind == "late_expected")).one()
    assert answer.details["on_time"] is False and answer.details["note"] == "two days late"


def test_the_housekeeping_step_runs_reminders_and_due_mails(app, session, people):
    _order, quote = make_quote(session, people)
    quote.expires_at = utcnow() + timedelta(hours=3)
    session.add(quote)
    session.commit()
    with app.app_context():
        results = run_housekeeping(session)
    assert results["notify"]["quote_expiring"] == 1


def test_the_answer_form_on_the_notifications_page(app, session, people):
    from tests.conftest import login
    from tests.payments.conftest import account_of

    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    for b in visibility.bookings_of_order(session, order.id):
        owner = people["mill"] if b.factory_company_id == people["mill"].company_id else (
            people["anod"])
        bookings.accept_booking(session, owner, b.id)
    reminders.send_reminders(session, utcnow())
    ask = session.exec(select(Notification).where(
        Notification.user_id == people["mill"].id,
        Notification.kind == "operation_ending_soon")).one()
    mill = login(app.test_client(), account_of(people, "mill", app))
    assert "Will it ship on time?" in mill.get(
        "/notifications", headers={"Accept-Language": "en"}).get_data(as_text=True)
    missing_note = mill.post(f"/notifications/{ask.id}/answer", data={"on_time": "no"})
    assert missing_note.status_code == 302
    assert "late_expected" not in [e.kind for e in session.exec(select(OrderEvent))]
    assert mill.post(f"/notifications/{ask.id}/answer", data={"on_time": "yes"}
                     ).status_code == 302
    kinds = [e.kind for e in session.exec(select(OrderEvent).where(
        OrderEvent.order_id == order.id))]
    assert "on_time_confirmed" in kinds
    again = mill.post(f"/notifications/{ask.id}/answer", data={"on_time": "yes"})
    assert again.status_code == 302
    session.expire_all()
    assert [e.kind for e in session.exec(select(OrderEvent).where(
        OrderEvent.order_id == order.id))].count("on_time_confirmed") == 1


def test_a_late_answer_is_on_the_operators_overview(app, session, people):
    from tests.conftest import login
    from tests.payments.conftest import account_of

    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    for b in visibility.bookings_of_order(session, order.id):
        owner = people["mill"] if b.factory_company_id == people["mill"].company_id else (
            people["anod"])
        bookings.accept_booking(session, owner, b.id)
    reminders.send_reminders(session, utcnow())
    ask = session.exec(select(Notification).where(
        Notification.user_id == people["mill"].id,
        Notification.kind == "operation_ending_soon")).one()
    operator = login(app.test_client(), account_of(people, "operator", app))
    assert "expecting to be late" not in operator.get(
        "/operator/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    with app.app_context():
        reminders.answer_on_time(session, people["mill"], ask.id, False, "coolant pump")
    page = operator.get("/operator/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "expecting to be late" in page and "coolant pump" in page
