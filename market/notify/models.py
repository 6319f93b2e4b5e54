"""Notifications (in-app), the mail outbox, the users' mail settings and the reminders
already sent. Each row is written in the transaction of the event that caused it."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from market.core.models import utc_column, utcnow


class Notification(SQLModel, table=True):
    """One thing one user should hear about, written in that user's language when it
    happened (a language switch later does not rewrite history)."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_read", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    kind: str = Field(max_length=40)
    subject: str = Field(max_length=300)
    body: str = Field(default="", max_length=4000)
    link: str = Field(default="", max_length=300)  # a path on this site
    order_id: int | None = Field(default=None, foreign_key="buyer_order.id")
    booking_id: int | None = Field(default=None, foreign_key="booking.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    read_at: datetime | None = Field(default=None, sa_column=utc_column())
    # a question the notification asks (will it ship on time?): answered once
    answered_at: datetime | None = Field(default=None, sa_column=utc_column())


class MailStatus:
    pending = "pending"
    sent = "sent"
    failed = "failed"  # gave up after the last retry


class OutboundMail(SQLModel, table=True):
    """The mail outbox: a row per mail, its Message-ID fixed when written, so a mail that
    is sent again after a crash carries the same id (receivers drop the duplicate)."""

    __tablename__ = "outbound_mail"
    __table_args__ = (sa.Index("ix_outbound_mail_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    notification_id: int | None = Field(default=None, foreign_key="notification.id")
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    html_body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    message_id: str = Field(max_length=200, sa_column_kwargs={"unique": True}, nullable=False)
    status: str = Field(default=MailStatus.pending, max_length=16)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    # pending rows are due then: the job sending right after the commit takes a lease by
    # moving it forward; housekeeping sends whatever is due (a crash, a failed attempt)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())


class NotificationSettings(SQLModel, table=True):
    """A user's choices of which kinds are also mailed; kinds absent take the default."""

    __tablename__ = "notification_settings"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    email: dict[str, bool] = Field(default_factory=dict,
                                   sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))


class Reminder(SQLModel, table=True):
    """A reminder sent (kind and object): the unique key makes each one go out once."""

    __tablename__ = "notify_reminder"
    __table_args__ = (sa.UniqueConstraint("kind", "object_id", name="uq_notify_reminder_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    object_id: int
    sent_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))


class WebhookEndpoint(SQLModel, table=True):
    """An integrator's URL for a company's events (Standard Webhooks). The secret signs
    every delivery; it is shown once, when the endpoint is made."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    secret: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    deleted_at: datetime | None = Field(default=None, sa_column=utc_column())
    disabled_at: datetime | None = Field(default=None, sa_column=utc_column())
    # the first failure since the last success: 5 days of it disable the endpoint
    failing_since: datetime | None = Field(default=None, sa_column=utc_column())


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: its body fixed when written (in the event's
    transaction), its `webhook-id` the same on every attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    event: str = Field(max_length=40)
    message_id: str = Field(max_length=60, sa_column_kwargs={"unique": True}, nullable=False)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default=MailStatus.pending, max_length=16)  # pending|sent|failed
    attempt: int = Field(default=0)
    status_code: int | None = None
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    next_attempt_at: datetime | None = Field(default_factory=utcnow, sa_column=utc_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column())


class Message(SQLModel, table=True):
    """One message in a thread of an order: `factory_company_id` names the factory of the
    thread (the buyer, the operators and that factory), None the buyer-operators thread.
    Messages are kept as written: no edit, no delete; the body is plain text."""

    __tablename__ = "order_message"
    __table_args__ = (sa.Index("ix_order_message_thread", "order_id", "factory_company_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id")
    factory_company_id: int | None = Field(default=None, foreign_key="company.id")
    author_id: int = Field(foreign_key="user_account.id")
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))


class MessageFile(SQLModel, table=True):
    """A file for a message (a drawing, a photo): stored like an order's drawings (the same
    directory, the same type checks) but readable only by its thread. Uploaded first, then
    named by the message that carries it."""

    __tablename__ = "message_file"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    factory_company_id: int | None = Field(default=None, foreign_key="company.id")
    message_id: int | None = Field(default=None, foreign_key="order_message.id", index=True)
    uploaded_by_id: int = Field(foreign_key="user_account.id")
    sha256: str = Field(max_length=64)
    size: int
    kind: str = Field(max_length=8)
    content_type: str = Field(max_length=80)
    filename: str = Field(max_length=160)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
