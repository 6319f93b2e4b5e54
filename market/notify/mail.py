"""The mail outbox. A mail row is written in the transaction of the notification it carries
(`queue_for`); after the commit a background job sends it (`send_after_commit` ->
`deliver`); housekeeping sends whatever is due and unsent (`send_due`): a failed attempt
after its back-off, a row whose job never ran because the process died after the commit.

Sending twice is possible (the process dies after SMTP accepted the mail, before the row says
so) and harmless: the Message-ID is fixed when the row is written, so the copy carries the
same id. Without MAIL_SERVER the mail is written to the log (development)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from blinker import Signal
from flask import current_app, render_template
from flask_babel import force_locale, gettext
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core import events
from market.core.jobs import dispatch
from market.core.models import utcnow
from market.notify.models import MailStatus, Notification, OutboundMail

log = logging.getLogger(__name__)

# After a failed attempt n (1, 2, ...), the next one waits RETRY_AFTER[n-1]; then it gives up.
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
               timedelta(hours=2), timedelta(hours=6))
# A job sending a mail holds it this long; a fresh row waits this long for its own job
# before housekeeping takes it (the process died between the commit and the send).
LEASE = timedelta(minutes=2)

# Sent after the commit of a transaction that queued mails (a private signal: only this
# module sends and receives it).
mails_committed = Signal("notify-mails-committed")


def site_url(path: str = "") -> str:
    return (current_app.config.get("SITE_URL") or "").rstrip("/") + path


def _message_id() -> str:
    domain = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN") or "yunzao.local"
    return f"<{uuid.uuid4().hex}@{domain}>"


def compose(user: User, locale: str, subject: str, body: str, link: str,
            template: str = "notify/mail") -> tuple[str, str, str]:
    """Subject, plain text and HTML of a mail to `user` in `locale`."""
    with force_locale(locale):
        context = {"user": user, "subject": subject, "body": body,
                   "link": site_url(link) if link else "",
                   "settings_link": site_url("/notifications/settings")}
        full_subject = gettext("[Yunzao] %(subject)s", subject=subject)
        return (full_subject[:300], render_template(f"{template}.txt", **context),
                render_template(f"{template}.html", **context))


def queue(session: Session, user: User, subject: str, text: str, html: str,
          notification_id: int | None = None) -> OutboundMail:
    """Write one mail to the outbox (the caller commits, then `send_after_commit`)."""
    now = utcnow()
    row = OutboundMail(user_id=user.id, notification_id=notification_id, to_address=user.email,
                       subject=subject, text_body=text, html_body=html,
                       message_id=_message_id(), created_at=now, next_attempt_at=now + LEASE)
    session.add(row)
    session.flush()
    return row


def queue_for(session: Session, note: Notification, user: User) -> OutboundMail:
    from market.notify.service import user_locale

    subject, text, html = compose(user, user_locale(user), note.subject, note.body, note.link)
    return queue(session, user, subject, text, html, note.id)


def send_after_commit(session: Session, mail_ids: list[int]) -> None:
    if mail_ids:
        events.publish(session, mails_committed, mail_ids=mail_ids)


@mails_committed.connect
def _dispatch(session: Any, mail_ids: list[int]) -> None:
    from market.notify.service import app_context_for

    try:
        with app_context_for(session):
            dispatch("send_mail", mail_ids=mail_ids)
    except Exception:  # the broker is down: housekeeping sends them once they are due
        log.exception("could not dispatch mails %s; housekeeping will send them", mail_ids)


def _claim(session: Session, mail_id: int, now: datetime) -> bool:
    """Take the row for one attempt: only one sender at a time, and only while it is due
    (or fresh, for the job right after the commit)."""
    result = session.execute(update(OutboundMail).where(
        col(OutboundMail.id) == mail_id, col(OutboundMail.status) == MailStatus.pending,
        or_(col(OutboundMail.attempts) == 0, col(OutboundMail.next_attempt_at) <= now))
        .values(attempts=OutboundMail.attempts + 1, next_attempt_at=now + LEASE))
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _send(row: OutboundMail) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info("mail (no MAIL_SERVER) to %s, Message-ID %s\nSubject: %s\n\n%s",
                 row.to_address, row.message_id, row.subject, row.text_body)
        return
    message = EmailMultiAlternatives(
        row.subject, row.text_body, config.get("MAIL_DEFAULT_SENDER"), [row.to_address],
        headers={"Message-ID": row.message_id})
    message.attach_alternative(row.html_body, "text/html")
    message.send()


def deliver(session: Session, mail_id: int, now: datetime | None = None) -> bool:
    """One attempt at one mail; True when it went out now."""
    from market.notify.service import app_context_for

    with app_context_for(session):
        return _attempt(session, mail_id, now or utcnow())


def _attempt(session: Session, mail_id: int, now: datetime) -> bool:
    if not _claim(session, mail_id, now):
        return False
    row = session.get(OutboundMail, mail_id, populate_existing=True)
    assert row is not None
    try:
        _send(row)
    except Exception as exc:  # noqa: BLE001 - any failure of the mail server is retried
        row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        if row.attempts > len(RETRY_AFTER):
            row.status = MailStatus.failed
            log.error("mail %s to %s failed for good: %s", row.id, row.to_address,
                      row.last_error)
        else:
            row.next_attempt_at = now + RETRY_AFTER[row.attempts - 1]
            log.warning("mail %s failed (attempt %s), retried at %s: %s", row.id,
                        row.attempts, row.next_attempt_at, row.last_error)
        session.add(row)
        session.commit()
        return False
    row.status, row.sent_at, row.last_error = MailStatus.sent, utcnow(), ""
    session.add(row)
    session.commit()
    return True


def send_due(session: Session, now: datetime | None = None, limit: int = 100) -> int:
    """Send the unsent mails that are due; the count sent."""
    now = now or utcnow()
    due = session.exec(select(OutboundMail.id).where(
        OutboundMail.status == MailStatus.pending, col(OutboundMail.next_attempt_at) <= now)
        .order_by(col(OutboundMail.id)).limit(limit)).all()
    session.commit()
    return sum(1 for mail_id in due if deliver(session, mail_id, now))  # type: ignore[arg-type]
