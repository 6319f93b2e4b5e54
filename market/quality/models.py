"""Quality records: QC documents per booking, reviews of factories by their buyers (one per
factory and order, after delivery; the factory may answer once)."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from market.core.models import utc_column, utcnow
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
