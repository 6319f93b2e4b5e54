"""Notifications from domain events: recipients, texts in the recipient's language, the
transaction they belong to, and the generic rendering of kinds sent by other branches."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from market.accounts.models import User
from market.core import events
from market.core.models import utcnow
from market.deals import service as bookings
from market.deals import visibility
from market.notify import service
from market.notify.models import Notification, OutboundMail
from tests.fakes.orders import pay
from tests.payments.conftest import make_quote, run_to_shipment


def _of(session, user, kind=None):
    session.expire_all()
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(session.exec(query))


def _paid(session, people):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    return order, quote


def test_paying_proposes_bookings_and_tells_each_factory(app, session, people):
    order, _quote = _paid(session, people)
    for factory in ("mill", "anod"):
        notes = _of(session, people[factory], "booking_proposed")
        assert len(notes) == 1, factory
        booking = session.get(visibility.Booking, notes[0].booking_id)
        assert booking.factory_company_id == people[factory].company_id
        assert notes[0].order_id == order.id
        assert f"#{order.id}" in notes[0].subject
        assert notes[0].link == f"/factory/bookings/{booking.id}"
        assert "¥" in notes[0].body  # its own amount, in yuan
    received = _of(session, people["buyer"], "payment_received")
    assert len(received) == 1 and received[0].link == f"/orders/{order.id}"
    # the operator who marked the money received is not told of their own act
    assert _of(session, people["operator"]) == []
    # a factory never hears of the buyer's price
    price = format(_quote.price // 100, ",")
    assert all(price not in n.body for n in _of(session, people["mill"]))


def test_texts_are_in_the_recipients_language(app, session, people):
    people["mill"].locale = "zh"
    people["anod"].locale = "en"
    session.add_all([people["mill"], people["anod"]])
    session.commit()
    _paid(session, people)
    zh = _of(session, people["mill"], "booking_proposed")[0]
    en = _of(session, people["anod"], "booking_proposed")[0]
    assert en.subject.startswith("New booking for order")
    assert "新" in zh.subject and "New booking" not in zh.subject


def test_a_rollback_drops_the_notifications_and_their_mails(app, session, people):
    order, _quote = make_quote(session, people)
    before = len(session.exec(select(OutboundMail)).all())
    with app.app_context():
        events.occurred(session, "shipment_recorded", order=order, actor=None, note="SF1")
        session.flush()
        assert _count(session) == 1
        session.rollback()
    assert _count(session) == 0
    assert len(session.exec(select(OutboundMail)).all()) == before


def _count(session) -> int:
    return len(session.exec(select(Notification)).all())


def test_the_whole_journey_tells_each_party(app, session, people, inbox):
    order, _quote = _paid(session, people)
    run_to_shipment(session, people, order)
    shipped = _of(session, people["buyer"], "shipment_recorded")
    assert len(shipped) == 1 and "Courier SF123" in shipped[0].body
    bookings.confirm_delivery(session, people["buyer"], order.id)
    for factory in ("mill", "anod"):
        assert len(_of(session, people[factory], "delivery_confirmed")) == 1
    # the buyer acted: the buyer is not told of its own confirmation
    assert _of(session, people["buyer"], "delivery_confirmed") == []
    # the shipment needs the buyer's answer: mailed by default; a payment receipt is not
    assert len(inbox.to(people["buyer"].email)) == 1


def test_a_declined_booking_tells_the_buyer_and_the_operators(app, session, people):
    order, _quote = _paid(session, people)
    mine = [b for b in visibility.bookings_of_order(session, order.id)
            if b.factory_company_id == people["mill"].company_id][0]
    bookings.decline_booking(session, people["mill"], mine.id, "Spindle broken")
    for who in ("buyer", "operator"):
        notes = _of(session, people[who], "booking_declined")
        assert len(notes) == 1 and "Spindle broken" in notes[0].body, who
    assert _of(session, people["mill"], "booking_declined") == []


def test_kinds_of_the_other_branches_render_from_their_details(app, session, people):
    order, quote = _paid(session, people)
    start = utcnow() + timedelta(days=1)
    with app.app_context():
        events.occurred(session, "downtime_reported", order=order, actor=people["mill"],
                        machine_name="DMG Mori 5X", start=start, end=start + timedelta(hours=8),
                        reason="spindle repair")
        events.occurred(session, "order_replanned", order=order, actor=None, run_id=77)
        events.occurred(session, "change_request_answered", order=order, actor=None,
                        change_request_id=5, status="quoted", price_difference_minor=12_050,
                        delivery_date=start + timedelta(days=3))
        events.occurred(session, "delivery_rejected", order=order, actor=people["buyer"],
                        reason="burrs on every edge")
        events.occurred(session, "review_received", order=order, actor=people["buyer"],
                        factory_id=people["anod"].company_id)
        events.occurred(session, "something_new", order=order, actor=None, parts=3,
                        where="Suzhou")
        session.commit()
    downtime = _of(session, people["buyer"], "downtime_reported")[0]
    assert "DMG Mori 5X" in downtime.body and "spindle repair" in downtime.body
    assert len(_of(session, people["operator"], "downtime_reported")) == 1
    assert "77" in _of(session, people["buyer"], "order_replanned")[0].body
    assert len(_of(session, people["mill"], "order_replanned")) == 1
    answered = _of(session, people["buyer"], "change_request_answered")[0]
    assert "¥120.50" in answered.body and "quoted" in answered.body
    assert "burrs" in _of(session, people["anod"], "delivery_rejected")[0].body
    assert len(_of(session, people["anod"], "review_received")) == 1
    assert _of(session, people["mill"], "review_received") == []
    generic = _of(session, people["buyer"], "something_new")[0]
    assert "parts: 3" in generic.body and "where: Suzhou" in generic.body


def test_reading_marks_and_counts(app, session, people):
    _paid(session, people)
    mill = session.get(User, people["mill"].id)
    with app.app_context():
        assert service.unread_count(session, mill) == 1
        note = _of(session, mill)[0]
        service.mark_read(session, mill, note.id)
        assert service.unread_count(session, mill) == 0
        assert service.list_for(session, mill, unread=True).total == 0
        assert service.list_for(session, mill).total == 1
