"""Mail through a real SMTP server (aiosmtpd): plain text and HTML in the user's language,
retries after a refusal, the crash between commit and send, the same Message-ID twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import select

from market.core import events
from market.core.models import utcnow
from market.notify import mail, service
from market.notify.models import MailStatus, OutboundMail
from tests.payments.conftest import make_quote


def _ship_notice(app, session, people, **details):
    """An event that mails the buyer by default (a shipment needs its answer)."""
    order, _quote = make_quote(session, people)
    with app.app_context():
        events.occurred(session, "shipment_recorded", order=order, actor=None, **details)
    session.commit()
    return order


def _rows(session):
    session.expire_all()
    return list(session.exec(select(OutboundMail)))


def test_a_notification_is_mailed_in_text_and_html(app, session, people, inbox):
    people["buyer"].locale = "en"
    session.add(people["buyer"])
    session.commit()
    order = _ship_notice(app, session, people, note="SF 123")
    buyer = people["buyer"]
    [message] = inbox.to(buyer.email)
    assert message["Subject"].strip() == f"[Yunzao] Order #{order.id} {order.title} has shipped"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "SF 123" in text and "SF 123" in html
    assert f"https://yunzao.test/orders/{order.id}" in text
    assert f'href="https://yunzao.test/orders/{order.id}"' in html
    [row] = _rows(session)
    assert row.status == MailStatus.sent and row.attempts == 1
    assert message["Message-ID"] == row.message_id


def test_mail_is_in_the_users_language_and_text_is_escaped_in_html(app, session, people,
                                                                      inbox):
    people["buyer"].locale = "zh"
    session.add(people["buyer"])
    session.commit()
    _ship_notice(app, session, people, note="<b>fragile</b>")
    [message] = inbox.to(people["buyer"].email)
    # a folded encoded subject decodes with the fold's space in front
    assert message["Subject"].strip().startswith("【云造】")
    assert "已发货" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;fragile&lt;/b&gt;" in html and "<b>fragile" not in html


def test_who_turned_a_kind_off_gets_no_mail_but_still_the_notification(app, session, people,
                                                                          inbox):
    with app.app_context():
        service.save_email_settings(session, people["buyer"], {"shipment_recorded": False})
    _ship_notice(app, session, people)
    assert inbox.to(people["buyer"].email) == []
    assert _rows(session) == []
    with app.app_context():
        assert service.unread_count(session, people["buyer"]) == 1


def test_a_refusing_server_is_retried_until_it_accepts(app, session, people, inbox):
    inbox.refuse = 2
    _ship_notice(app, session, people)
    [row] = _rows(session)
    assert row.status == MailStatus.pending and row.attempts == 1 and "451" in row.last_error
    assert inbox.messages == []
    now = utcnow()
    # not due yet: housekeeping leaves it
    assert mail.send_due(session, now) == 0
    assert mail.send_due(session, now + timedelta(minutes=2)) == 0  # second refusal
    [row] = _rows(session)
    assert row.attempts == 2 and row.next_attempt_at > now + timedelta(minutes=6)
    assert mail.send_due(session, now + timedelta(minutes=10)) == 1
    assert inbox.refused == 2 and len(inbox.messages) == 1
    [row] = _rows(session)
    assert row.status == MailStatus.sent and row.attempts == 3
    assert mail.send_due(session, now + timedelta(days=1)) == 0  # sent once


def test_a_crash_between_commit_and_send_sends_later(app, session, people, inbox,
                                                      monkeypatch):
    # the process dies after the commit: the job that would send the mail never runs
    monkeypatch.setattr(mail, "dispatch", lambda *a, **k: None)
    _ship_notice(app, session, people)
    assert inbox.messages == []
    [row] = _rows(session)
    assert row.status == MailStatus.pending and row.attempts == 0
    assert mail.send_due(session, utcnow()) == 0  # its own job may still be on the way
    assert mail.send_due(session, utcnow() + mail.LEASE + timedelta(seconds=1)) == 1
    assert len(inbox.messages) == 1


def test_a_crash_after_sending_resends_with_the_same_message_id(app, session, people, inbox,
                                                                monkeypatch):
    monkeypatch.setattr(mail, "dispatch", lambda *a, **k: None)
    _ship_notice(app, session, people)
    [row] = _rows(session)
    now = utcnow()
    with app.app_context():
        # a sender claims the row and the server accepts the mail; the process dies
        # before the row says "sent"
        assert mail._claim(session, row.id, now)
        mail._send(session.get(OutboundMail, row.id))
    assert len(inbox.messages) == 1
    assert mail.send_due(session, now + mail.LEASE + timedelta(seconds=1)) == 1
    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"] == row.message_id


def test_without_mail_server_mails_go_to_the_log(app, session, people, inbox, caplog):
    app.config["MAIL_SERVER"] = ""
    with caplog.at_level(logging.INFO, logger="market.notify.mail"):
        _ship_notice(app, session, people, note="log me")
    assert inbox.messages == []
    assert any("log me" in r.getMessage() and people["buyer"].email in r.getMessage()
               for r in caplog.records)
    [row] = _rows(session)
    assert row.status == MailStatus.sent


def test_a_mail_that_never_goes_gives_up_after_the_last_retry(app, session, people, inbox):
    inbox.refuse = 100
    _ship_notice(app, session, people)
    now = utcnow()
    for hours in range(1, 30):
        mail.send_due(session, now + timedelta(hours=hours * 2))
    [row] = _rows(session)
    assert row.status == MailStatus.failed
    assert row.attempts == len(mail.RETRY_AFTER) + 1
