"""Bodies of the matching-run, quote and booking API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from market.core.schemas import Id, Strict


class RunIn(Strict):
    time_limit_seconds: StrictInt = Field(default=30, ge=1, le=600)
    order_ids: list[Id] | None = Field(default=None, max_length=5000)
    kind: Literal["match", "replan", "rush"] = Field(
        default="match", description="match: open orders; replan: booked orders (order_ids "
        "required), started work fixed, accepted work kept where moving it does not pay; "
        "rush: open orders (order_ids) that may displace accepted, not started work at its "
        "change cost, charged to them")


class PlaceOut(BaseModel):
    machine_id: int
    start: datetime
    end: datetime


class ChangeOut(BaseModel):
    operation_id: int | None
    order_id: int
    reason: str = Field(description="previous (moved to do better), at_risk (its machine is "
                        "down), declined (its factory declined), new (no place before)")
    from_: PlaceOut | None = Field(alias="from")
    to: PlaceOut

    # "from" is a Python keyword: the field is from_ here and "from" on the wire, both ways
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)


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
    kind: str = "match"
    trigger: str = ""
    changes: list[ChangeOut] | None = Field(
        default=None, description="A re-plan's operations that move: where they are, where "
        "they go")
    orders: list[RunOrderOut] | None = None


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


class InstantQuoteOut(BaseModel):
    price: int | None = Field(description="Minor units, platform fee included; null when no "
                                          "placement exists")
    currency: str
    delivery_date: datetime | None
    plants: int
    valid_until: datetime
    reason: str | None = Field(default=None, description="Why no placement exists")
    production_cost: int | None = Field(default=None, description="Machines and transport")
    platform_fee: int | None = None
    indicative: bool = True
