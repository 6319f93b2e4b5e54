"""Bodies of the matching-run, quote and booking API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from market.core.schemas import Strict


class RunIn(Strict):
    time_limit_seconds: int = Field(default=30, ge=1, le=600)
    order_ids: list[int] | None = Field(default=None, max_length=5000)


class RunAccepted(BaseModel):
    id: int
    status: str


class PlacementOut(BaseModel):
    operation_id: int
    machine_id: int
    plant_id: int
    start: datetime
    end: datetime
    cost: int


class RunOrderOut(BaseModel):
    order_id: int
    served: bool
    reason: str
    cost: int | None
    transport_cost: int | None
    completion: datetime | None
    lateness_minutes: int | None
    decision: str
    decision_note: str
    placements: list[PlacementOut]


class RunOut(BaseModel):
    id: int
    status: str
    progress: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    time_limit_seconds: int
    plan_status: str
    objective: int | None
    bound: int | None
    gap: float | None
    served: int | None
    unserved: int | None
    utilisation: float | None
    error: str
    stats: dict[str, Any]
    orders: list[RunOrderOut] | None = None


class ApproveIn(Strict):
    order_ids: list[int] | None = Field(default=None, max_length=5000)


class ReasonIn(Strict):
    reason: str = Field(default="", max_length=1000)


class QuoteOut(BaseModel):
    id: int
    order_id: int
    run_id: int
    status: str
    currency: str
    production_cost: int
    platform_fee: int
    price: int
    delivery_date: datetime
    plants: int
    created_at: datetime
    expires_at: datetime


class ApproveOut(BaseModel):
    approved: list[int]
    conflicts: dict[str, str]
    quotes: list[QuoteOut]


class BookingOut(BaseModel):
    id: int
    order_id: int
    quote_id: int
    operation_id: int
    machine_id: int
    start: datetime
    end: datetime
    amount: int
    currency: str
    status: str
    respond_by: datetime
    decline_reason: str
    note: str
    qc: str


class ProgressIn(Strict):
    status: Literal["started", "done"]
    note: str = Field(default="", max_length=1000)
    qc: str = Field(default="", max_length=2000)


class NoteIn(Strict):
    note: str = Field(default="", max_length=1000)


class TransportIn(Strict):
    speed_kmh: float | None = Field(default=None, gt=0, le=200)
    handling_minutes: int | None = Field(default=None, ge=0, le=10_080)
    cost_per_km: int | None = Field(default=None, ge=0)
    fixed_cost: int | None = Field(default=None, ge=0)


class TransportOut(BaseModel):
    speed_kmh: float
    handling_minutes: int
    cost_per_km: int
    fixed_cost: int
