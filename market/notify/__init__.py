"""Notifications, mail, reminders (issue "Nobody misses anything"): notifications are made
from `core.events.notable` in the sender's transaction, with their mails in an outbox sent
after the commit by a background job; housekeeping sends the reminders and what is due."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # importing api and tasks registers their routes, tasks and housekeeping step
    from flask_mailman import Mail

    from market.notify import (  # noqa: F401
        account_pages,
        api,
        message_api,
        message_pages,
        pages,
        service,
        tasks,
        webhook_pages,
    )

    Mail().init_app(app)
    service.connect_receivers(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(webhook_pages.bp)
    app.register_blueprint(message_pages.bp)
    app.register_blueprint(account_pages.bp)
    app.jinja_env.globals["message_thread"] = message_pages.thread_html
    app.context_processor(pages.unread_badge)
    from market.accounts.loading import USER_EXTRAS

    USER_EXTRAS["notify_unread"] = service.unread_count_column

    from market.core.templating import reader_filter
    from market.notify.kinds import kind_labels

    @app.template_filter("notification_kind")
    @reader_filter
    def _kind_label(name: str) -> str:
        return str(kind_labels().get(name, name))
