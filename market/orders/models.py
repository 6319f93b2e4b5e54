"""Demand side: buyers' orders, their routings, drawings and timelines."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from market.core.models import company_column, utc_column, utcnow


class OrderStatus(StrEnum):
    """The lifecycle of DESIGN.md. The allowed moves live in market.orders.service."""

    draft = "draft"  # being composed; only the buyer sees it
    open = "open"  # submitted: waiting for matching and quotes
    quoted = "quoted"  # a firm quote from an approved matching run is waiting for the buyer
    accepted = "accepted"  # quote accepted and paid into escrow
    scheduled = "scheduled"  # every booking accepted by its factory
    in_production = "in_production"
    shipped = "shipped"
    delivered = "delivered"
    closed = "closed"
    cancelled = "cancelled"
    disputed = "disputed"


ORDER_STATUSES = tuple(s.value for s in OrderStatus)
# QC documents a factory uploads per booking (quality.models.BookingDocument), and that an
# order may require before it ships: inspection report, certificate of conformity, material
# certificate, photo, first-article inspection, other
DOCUMENT_KINDS = ("inspection_report", "coc", "material_cert", "photo", "fai", "other")


class Order(SQLModel, table=True):
    __tablename__ = "buyer_order"  # "order" is reserved in SQL
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity"),
        sa.CheckConstraint("budget is null or budget >= 0", name="budget"),
        sa.CheckConstraint("delivery_lat between -90 and 90", name="lat"),
        sa.CheckConstraint("delivery_lon between -180 and 180", name="lon"),
        sa.CheckConstraint(
            "status in (" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + ")", name="status"
        ),
        sa.Index("ix_buyer_order_company_status", "company_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    buyer_company_id: int = Field(sa_column=company_column(index=False))
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    quantity: int
    due_date: datetime = Field(sa_column=utc_column(False))
    delivery_address: str = Field(default="", max_length=300)
    delivery_lat: float
    delivery_lon: float
    budget: int | None = None  # minor units of `currency`
    currency: str = Field(default="CNY", max_length=3)
    # the finished part's [x, y, z] in mm: only machines taking its largest side are eligible
    part_size_mm: list[float] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    status: str = Field(default=OrderStatus.draft.value, max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    submitted_at: datetime | None = Field(default=None, sa_column=utc_column())
    cancelled_at: datetime | None = Field(default=None, sa_column=utc_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column())
    # the inspection window (deals.INSPECTION_DAYS) runs from the shipment to the buyer
    shipped_at: datetime | None = Field(default=None, sa_column=utc_column())
    # QC documents the factories must upload before the last operation ships (fai, coc, ...)
    required_documents: list[str] = Field(default_factory=list, sa_column=sa.Column(
        sa.JSON, nullable=False, server_default="[]"))
    cancel_reason: str = Field(default="", max_length=500)
    # certification kinds (catalog.certifications) the factories must hold, verified and valid
    required_certifications: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(sa.JSON, nullable=False, server_default=sa.text("'[]'")))

    operations: list["OrderOperation"] = Relationship(
        back_populates="order",
        sa_relationship_kwargs={"cascade": "all, delete-orphan",
                                "order_by": "OrderOperation.seq"},
    )
    attachments: list["Attachment"] = Relationship(
        back_populates="order", sa_relationship_kwargs={"order_by": "Attachment.id"}
    )


class OrderOperation(SQLModel, table=True):
    """One step of an order's routing; steps run in `seq` order (a chain)."""

    __tablename__ = "order_operation"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "seq", name="uq_order_operation_order_seq"),
        sa.CheckConstraint("minutes_per_unit > 0", name="minutes"),
        sa.CheckConstraint("tolerance_mm is null or tolerance_mm > 0", name="tolerance"),
        sa.CheckConstraint("quantity is null or quantity > 0", name="quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    seq: int  # 1, 2, 3 ... in routing order; the matching id is o{order_id}-{seq}
    process_code: str = Field(foreign_key="process.code", max_length=40)
    material_code: str | None = Field(default=None, foreign_key="material.code", max_length=40)
    minutes_per_unit: float
    tolerance_mm: float | None = None
    notes: str = Field(default="", max_length=1000)
    quantity: int | None = None  # its own quantity (inspect 5 of 200); None: the order's

    order: Optional["Order"] = Relationship(back_populates="operations")


class Attachment(SQLModel, table=True):
    """A drawing or model. The bytes live on disk under their SHA-256, outside the web root;
    the row says who may see them (through the order) and how to name them."""

    __tablename__ = "attachment"
    __table_args__ = (sa.CheckConstraint("size > 0", name="size"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    sha256: str = Field(max_length=64, index=True)
    size: int
    kind: str = Field(max_length=8)  # pdf | png | jpeg | step | stl | dxf (by content)
    content_type: str = Field(max_length=80)
    filename: str = Field(max_length=160)  # sanitised display name
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))

    order: Optional["Order"] = Relationship(back_populates="attachments")


class OrderEvent(SQLModel, table=True):
    """The order's timeline as its buyer sees it (the audit log is the operators' view)."""

    __tablename__ = "order_event"
    __table_args__ = (sa.Index("ix_order_event_order_at", "order_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id")
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    kind: str = Field(max_length=40)  # created | updated | submitted | cancelled | ...
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
