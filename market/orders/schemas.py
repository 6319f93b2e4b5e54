"""Request and response bodies of the orders part of the API (API.md: field names fixed).

The schemas check types only; the rules (quantity > 0, due date in the future, process and
material known, ...) live in market.orders.service so pages and API give the same answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from market.core.schemas import Strict

DocumentKind = Literal["inspection_report", "coc", "material_cert", "photo", "fai", "other"]


class DeliveryIn(Strict):
    address: str = Field(default="", max_length=300)
    # strict: JSON true is not the number 1, and "31.2" is not a number
    lat: float = Field(strict=True, description="Latitude of the delivery place, -90..90")
    lon: float = Field(strict=True, description="Longitude of the delivery place, -180..180")


class OperationIn(Strict):
    process: str = Field(max_length=40, description="A process code from GET /processes")
    material: str | None = Field(
        default=None, max_length=40,
        description="A material code the process accepts (optional for processes that "
                    "accept any material)")
    minutes_per_unit: float | None = Field(
        default=None, strict=True,
        description="Work content per unit; omitted: the process's typical value")
    tolerance_mm: float | None = Field(
        default=None, strict=True,
        description="The tolerance to hold, ± mm: only machines holding it are eligible")
    notes: str = Field(default="", max_length=1000)
    quantity: int | None = Field(
        default=None, strict=True,
        description="This operation's own quantity (inspect 5 of 200), 1..the order's; "
                    "omitted: the order's")


class OrderIn(Strict):
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    quantity: int = Field(strict=True, description="Whole units, at least 1")
    due_date: str = Field(
        max_length=40, examples=["2026-12-22", "2026-12-22T17:00:00+08:00"],
        description="A day (YYYY-MM-DD: the end of that day, Asia/Shanghai) or ISO 8601 with "
                    "offset; in the future and within two years")
    delivery: DeliveryIn
    budget: int | None = Field(default=None, strict=True,
                               description="Minor units (fen), at least 0; optional")
    currency: str = Field(default="CNY", max_length=3)
    operations: list[OperationIn] = Field(description="The routing, in order; at least one")
    part_size_mm: list[float] | None = Field(
        default=None, min_length=3, max_length=3,
        description="The finished part's [x, y, z] in mm: only machines taking its largest "
                    "side are eligible")
    required_documents: list[DocumentKind] = Field(
        default_factory=list, max_length=6,
        description="QC documents the factories must upload before the order ships")
    required_certifications: list[str] = Field(
        default_factory=list, max_length=10,
        description="Certifications the factories must hold (verified, unexpired): "
                    "iso9001, iatf16949, iso13485, as9100, iso14001")


class CancelIn(Strict):
    reason: str = Field(default="", max_length=500)


class FileUpload(BaseModel):
    """A multipart/form-data upload (documented; the view reads the form itself)."""

    file: bytes = Field(description="PDF, STEP, STL, DXF, PNG or JPEG: the type is read from "
                                    "the content, not the name")


class DeliveryOut(BaseModel):
    address: str
    lat: float
    lon: float


class HandoffOut(BaseModel):
    """For a factory's own operation: where the parts come from and go to."""

    from_city: str | None = Field(description="The previous operation's plant; null: none")
    from_end: datetime | None = Field(default=None,
                                      description="When the previous operation is planned to end")
    from_shipped_at: datetime | None = Field(
        default=None, description="When the previous plant sent the parts on (null: not yet)")
    from_carrier: str = ""
    from_tracking_number: str = ""
    to_city: str | None = Field(description="The next operation's plant; null: the buyer")
    to_start: datetime | None = Field(default=None,
                                      description="When the next operation is planned to start")


class DocumentOut(BaseModel):
    id: int
    booking_id: int
    kind: DocumentKind
    filename: str
    file_type: str
    size: int
    created_at: datetime
    url: str = Field(description="Download address (the buyer, operators, its factory)")


class ShipmentOut(BaseModel):
    shipped_at: datetime
    carrier: str
    tracking_number: str
    inspection_ends_at: datetime = Field(
        description="Until then the buyer may reject the delivery; after it the delivery "
                    "counts as accepted")


class OperationOut(BaseModel):
    id: int
    seq: int
    process: str
    material: str | None
    minutes_per_unit: float
    tolerance_mm: float | None
    notes: str
    quantity: int = Field(description="The quantity this operation works on")
    bookings: list[dict] = Field(
        default_factory=list,
        description="Bookings on factories' machines: {id, status, start, end, respond_by}; "
                    "a factory sees only its own, with `amount`")
    handoff: HandoffOut | None = Field(
        default=None, description="A factory's own operations: the plants before and after")
    documents: list[DocumentOut] = Field(
        default_factory=list,
        description="QC documents of this operation (the buyer and operators; a factory: "
                    "its own)")


class AttachmentOut(BaseModel):
    id: int
    order_id: int
    filename: str
    kind: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    url: str = Field(description="Download address (same authorization as the order)")


class EventOut(BaseModel):
    at: datetime
    kind: str
    details: dict


class OrderOut(BaseModel):
    id: int
    title: str
    description: str
    quantity: int = Field(strict=True, description="Whole units, at least 1")
    due_date: datetime
    part_size_mm: list[float] | None
    delivery: DeliveryOut | None = Field(
        description="For the buyer, operators and the factory of the last operation")
    budget: int | None = Field(description="The buyer's and operators' only")
    currency: str
    status: str
    offered: bool = Field(description="Open and from a verified buyer: considered by matching")
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    required_documents: list[DocumentKind]
    shipment: ShipmentOut | None = Field(
        default=None, description="Once shipped: the buyer's and operators' only")
    operations: list[OperationOut]
    attachments: list[AttachmentOut]
    quotes: list[dict] = Field(
        default_factory=list,
        description="Firm quotes, newest first (details: GET /orders/{id}/quotes)")
    payments: list[dict] = Field(default_factory=list,
                                 description="Escrow payments: {id, status, amount, currency, "
                                             "gateway}")
    events: list[EventOut] = Field(default_factory=list, description="The order's timeline")
    required_certifications: list[str] = Field(
        default_factory=list, description="Certifications every factory of the order holds")




class OrderStatusOut(BaseModel):
    """An order's id and status after an action on it (delivery confirmed, shipped)."""

    id: int
    status: str
