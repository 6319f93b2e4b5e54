"""Bodies of the capacity API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from market.core.schemas import Id, Strict


class PlantIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)


class PlantOut(BaseModel):
    id: int
    name: str
    address: str
    city: str
    lat: float
    lon: float
    timezone: str
    created_at: datetime


class CapabilityIn(Strict):
    process: str = Field(max_length=40)
    materials: list[str] = Field(default_factory=list, max_length=100)
    rate_per_hour: int = Field(ge=0, le=10**8, description="minor units per machine hour")
    setup_minutes: int = Field(default=0, ge=0, le=7 * 1440)
    speed: float = Field(default=1.0, gt=0, le=20)
    max_part_mm: int | None = Field(default=None, gt=0)
    tolerance_mm: float | None = Field(default=None, gt=0)


class CapabilityOut(BaseModel):
    process: str
    materials: list[str]
    rate_per_hour: int
    setup_minutes: int
    speed: float
    max_part_mm: int | None
    tolerance_mm: float | None


class MachineIn(Strict):
    plant_id: Id
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field(default="", max_length=120)
    capabilities: list[CapabilityIn] = Field(min_length=1, max_length=50)


class MachinePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    kind: str | None = Field(default=None, max_length=120)
    capabilities: list[CapabilityIn] | None = Field(default=None, min_length=1, max_length=50)


class MachineOut(BaseModel):
    id: int
    plant_id: int
    name: str
    kind: str
    status: str
    currency: str
    capabilities: list[CapabilityOut]


class WindowIn(Strict):
    start: datetime = Field(description="ISO 8601 with offset")
    end: datetime = Field(description="ISO 8601 with offset")


class DowntimeIn(Strict):
    start: datetime = Field(description="ISO 8601 with offset")
    end: datetime = Field(description="ISO 8601 with offset")
    reason: str = Field(min_length=1, max_length=500, description="What happened, for the "
                        "buyers and operators")


class DowntimeOut(BaseModel):
    id: int
    machine_id: int
    start: datetime
    end: datetime
    reason: str
    withdrawn_minutes: int = Field(description="Idle minutes taken back from the market")
    affected_bookings: list[int] = Field(description="Bookings in the range, now at risk")
    replan_run_id: int | None = Field(description="The re-plan run queued for their orders")
    created_at: datetime


class WindowOut(BaseModel):
    id: int
    machine_id: int
    start: datetime
    end: datetime
    status: str
    source: str


class PublishOut(BaseModel):
    created: bool
    added_minutes: int
    windows: list[WindowOut]


class WithdrawOut(BaseModel):
    withdrawn_minutes: int
    kept: list[WindowOut]


class ShiftRuleIn(Strict):
    weekdays: list[int] = Field(min_length=1, max_length=7, description="0 = Monday")
    start_time: str = Field(pattern=r"^\d\d:\d\d$", examples=["08:00"])
    end_time: str = Field(pattern=r"^\d\d:\d\d$", examples=["16:00"],
                          description="<= start_time means the next day; 24:00 is midnight")
    valid_from: date
    valid_until: date
    holidays: list[date] = Field(default_factory=list, max_length=366)


class ShiftRuleOut(BaseModel):
    id: int
    machine_id: int
    weekdays: list[int]
    start_time: str
    end_time: str
    valid_from: date
    valid_until: date
    holidays: list[str]
    added_minutes: int | None = None


class CapacityHitOut(BaseModel):
    machine_id: int
    machine: str
    plant_id: int
    plant: str
    city: str
    lat: float
    lon: float
    company: str
    process: str
    materials: list[str]
    free_hours: float
    rate_per_hour: int | None = Field(description="null when hidden from a competitor")
    currency: str
