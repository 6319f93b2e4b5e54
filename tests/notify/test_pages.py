"""Notification pages: the unread badge in the navigation, the list with mark-read through
htmx, opening one goes to its object, the mail settings page, the language switch."""

from __future__ import annotations

import re

from sqlmodel import select

from market.accounts.models import User
from market.core import events
from market.notify.models import Notification, NotificationSettings
from tests.conftest import login
from tests.payments.conftest import account_of, make_quote


def _notice(app, session, people, kind="shipment_recorded", **details):
    order, _quote = make_quote(session, people)
    with app.app_context():
        events.occurred(session, kind, order=order, actor=None, **details)
    session.commit()
    return order


def _badge(html: str) -> str:
    found = re.search(r'<span id="unread-badge"[^>]*>(.*?)</span>', html, re.S)
    assert found, "no badge"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def _client(app, people, role):
    return login(app.test_client(), account_of(people, role, app))


def test_badge_page_mark_read_and_open(app, session, people):
    people["buyer"].locale = "en"  # written in its language: the page's does not matter
    session.add(people["buyer"])
    session.commit()
    order = _notice(app, session, people, note="SF 9")
    buyer = _client(app, people, "buyer")
    page = buyer.get("/notifications", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "has shipped" in html and "SF 9" in html
    assert _badge(html).startswith("1")
    note = session.exec(select(Notification)).first()
    # htmx: the item comes back read, with the badge out of band
    fragment = buyer.post(f"/notifications/{note.id}/read", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "Mark read" not in text
    assert 'hx-swap-oob="true"' in text and _badge(text) == ""
    assert _badge(buyer.get("/dashboard").get_data(as_text=True)) == ""
    opened = buyer.get(f"/notifications/{note.id}")
    assert opened.status_code == 302 and opened.headers["Location"] == f"/orders/{order.id}"


def test_read_all_and_a_foreign_notification(app, session, people):
    _notice(app, session, people)
    _notice(app, session, people, kind="order_replanned", run_id=3)
    buyer = _client(app, people, "buyer")
    assert _badge(buyer.get("/notifications").get_data(as_text=True)).startswith("2")
    done = buyer.post("/notifications/read-all", headers={"HX-Request": "true"})
    assert done.status_code == 200 and _badge(done.get_data(as_text=True)) == ""
    note = session.exec(select(Notification)).first()
    mill = _client(app, people, "mill")
    assert mill.get(f"/notifications/{note.id}").status_code == 404
    assert mill.post(f"/notifications/{note.id}/read").status_code == 404
    assert app.test_client().get("/notifications").status_code == 302


def test_chinese_page(app, session, people):
    people["buyer"].locale = "zh"
    session.add(people["buyer"])
    session.commit()
    _notice(app, session, people)
    html = _client(app, people, "buyer").get("/notifications").get_data(as_text=True)
    assert "通知" in html and "已发货" in html and "全部标记为已读" in html


def test_settings_page_saves_the_choices(app, session, people):
    mill = _client(app, people, "mill")
    page = mill.get("/notifications/settings", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'id="email-booking_proposed"[^>]*checked', html)
    saved = mill.post("/notifications/settings", data={"email-payout_paid": "on"})
    assert saved.status_code == 302
    session.expire_all()
    row = session.get(NotificationSettings, people["mill"].id)
    assert row.email["payout_paid"] is True and row.email["booking_proposed"] is False


def test_the_language_switch_is_kept_on_the_user(app, session, people):
    buyer = _client(app, people, "buyer")
    assert buyer.post("/lang/en", data={"next": "/dashboard"}).status_code == 302
    session.expire_all()
    assert session.get(User, people["buyer"].id).locale == "en"
    buyer.post("/lang/zh", data={"next": "/dashboard"})
    session.expire_all()
    assert session.get(User, people["buyer"].id).locale == "zh"


def test_the_badge_read_with_the_user_gives_way_to_a_write_in_the_request(app, session,
                                                                          people):
    """The unread count comes in the user's own query (one round trip for both); a request
    that commits after that (a notification read, one made) counts again."""
    from flask import g, render_template_string

    from market.accounts import service as accounts
    from market.core.extensions import db
    from market.notify.service import mark_all_read

    _notice(app, session, people)
    buyer = session.get(User, people["buyer"].id)
    with app.test_request_context("/"):
        extras: dict = {}
        user = accounts.load_user(db.session, buyer.get_id(), extras)
        assert user is not None and extras == {"notify_unread": 1}
        g.user_extras = extras
        mark_all_read(db.session, user)  # commits
        assert "notify_unread" not in g.user_extras
        from flask_login import login_user

        login_user(user)
        page = render_template_string("{{ unread_notifications() }}")
    assert page == "0"
