"""The notify domain's background work: sending mails (after the commit that queued them)
and its housekeeping step (reminders due, mails due again after a failure or a crash)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from market.core.jobs import housekeeping_step, task
from market.notify import mail, reminders, webhooks


@task
def send_mail(app: Flask, mail_ids: list[int]) -> None:
    from market.core.extensions import db

    with app.app_context():
        for mail_id in mail_ids:
            mail.deliver(db.session, mail_id)


@task
def deliver_webhooks(app: Flask, delivery_ids: list[int]) -> None:
    from market.core.extensions import db

    with app.app_context():
        for delivery_id in delivery_ids:
            webhooks.deliver(db.session, delivery_id)


@housekeeping_step("notify")
def housekeeping(session: Any) -> dict[str, int]:
    counts = reminders.send_reminders(session)
    counts["mails_sent"] = mail.send_due(session)
    counts["webhooks_sent"] = webhooks.send_due(session)
    return counts
