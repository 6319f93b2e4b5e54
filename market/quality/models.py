"""Quality records: QC documents per booking, reviews of factories by their buyers (one per
factory and order, after delivery; the factory may answer once), and factories'
certifications (uploaded, verified by operators, expiring)."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from market.catalog.certifications import CERTIFICATION_KINDS
from market.core.models import company_column, utc_column, utcnow
from market.orders.models import DOCUMENT_KINDS


class Review(SQLModel, table=True):
    __tablename__ = "review"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "factory_company_id", name="uq_review_order_factory"),
        sa.CheckConstraint("quality between 1 and 5", name="quality"),
        sa.CheckConstraint("on_time between 1 and 5", name="on_time"),
        sa.CheckConstraint("communication between 1 and 5", name="communication"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    # two companies: their own column names (company_column names one `company_id`)
    factory_company_id: int = Field(foreign_key="company.id", index=True)
    buyer_company_id: int = Field(foreign_key="company.id")
    author_id: int | None = Field(default=None, foreign_key="user_account.id")
    quality: int
    on_time: int
    communication: int
    comment: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    answer: str = Field(default="", max_length=2000)
    answered_at: datetime | None = Field(default=None, sa_column=utc_column())

    @property
    def rating(self) -> float:
        return (self.quality + self.on_time + self.communication) / 3


class BookingDocument(SQLModel, table=True):
    """A QC document the booked factory uploaded for its operation. The bytes are stored like
    drawings (content-addressed, checked by content); the buyer and operators read them."""

    __tablename__ = "booking_document"
    __table_args__ = (
        sa.CheckConstraint("size > 0", name="size"),
        sa.CheckConstraint(
            "kind in (" + ", ".join(f"'{k}'" for k in DOCUMENT_KINDS) + ")", name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    operation_id: int = Field(foreign_key="order_operation.id")
    factory_company_id: int = Field(foreign_key="company.id")
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    kind: str = Field(max_length=20)
    sha256: str = Field(max_length=64)
    size: int
    file_type: str = Field(max_length=8)  # pdf | png | jpeg | ... (by content)
    content_type: str = Field(max_length=80)
    filename: str = Field(max_length=160)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
class CertificationStatus(StrEnum):
    pending = "pending"  # uploaded, waiting for an operator
    verified = "verified"  # counts in matching, search and the directory until it expires
    rejected = "rejected"
    expired = "expired"  # its day passed (housekeeping); it no longer counts


CERTIFICATION_STATUSES = tuple(s.value for s in CertificationStatus)


class Certification(SQLModel, table=True):
    """A certificate a factory holds. `valid_until` is the day printed on it, kept as a
    calendar date because that is what the certificate says (a day has no time zone);
    `expires_at` is the instant it stops counting, the end of that day in the platform's
    zone (Asia/Shanghai) in UTC, so every comparison with "now" is one indexed column. Both
    are written together and never apart. The file is stored content-addressed by
    `orders.attachments.write_blob`, like drawings."""

    __tablename__ = "certification"
    __table_args__ = (
        sa.CheckConstraint("kind in (" + ", ".join(f"'{k}'" for k in CERTIFICATION_KINDS)
                           + ")", name="kind"),
        sa.CheckConstraint("status in (" + ", ".join(f"'{s}'" for s in CERTIFICATION_STATUSES)
                           + ")", name="status"),
        sa.CheckConstraint("size > 0", name="size"),
        sa.Index("ix_certification_company_status", "company_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(sa_column=company_column(index=False))
    kind: str = Field(max_length=16)
    number: str = Field(max_length=100)
    valid_until: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    expires_at: datetime = Field(sa_column=utc_column(False, index=True))
    status: str = Field(default=CertificationStatus.pending.value, max_length=16)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    sha256: str = Field(max_length=64)
    size: int
    file_kind: str = Field(max_length=8)  # pdf | png | jpeg (by content)
    content_type: str = Field(max_length=80)
    filename: str = Field(max_length=160)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    verified_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    verified_at: datetime | None = Field(default=None, sa_column=utc_column())
    rejected_reason: str = Field(default="", max_length=500)
    # when the factory was warned that it expires soon (once), and told that it expired
    warned_at: datetime | None = Field(default=None, sa_column=utc_column())
    expired_at: datetime | None = Field(default=None, sa_column=utc_column())
