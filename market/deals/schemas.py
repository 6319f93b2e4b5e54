"""Bodies of the quote and booking API, and of run approval (which offers the quotes)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from market.core.schemas import Id, Strict


class ApproveIn(Strict):
    order_ids: list[Id] | None = Field(default=None, max_length=5000)


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
    at_risk: bool = Field(description="Its machine is reported down: a re-plan moves it")
    replaces_id: int | None = Field(description="The booking a re-plan moved to this one")
    quantity_done: int = Field(description="Parts done so far, as the factory reports them")
    qc_result: Literal["", "pass", "fail"] = Field(description="The latest QC result")
    shipped_at: datetime | None = Field(
        description="When its parts were sent on: to the next plant, or (the last "
                    "operation) to the buyer")
    carrier: str
    tracking_number: str


class ProgressIn(Strict):
    status: Literal["started", "done"] = Field(
        description="started: start an accepted booking, or report on one in progress; "
                    "done: all parts done (the operation before must be done)")
    note: str = Field(default="", max_length=1000)
    qc: str = Field(default="", max_length=2000)
    quantity_done: StrictInt | None = Field(default=None, ge=0)
    qc_result: Literal["pass", "fail"] | None = Field(
        default=None, description="fail counts as a defect on the factory's record; a "
                                  "failed operation cannot be done until it passes")


class ShipIn(Strict):
    carrier: str = Field(default="", max_length=80)
    tracking_number: str = Field(default="", max_length=80)
    note: str = Field(default="", max_length=1000)


class ChangeRequestIn(Strict):
    due_date: str | None = Field(
        default=None, max_length=40, examples=["2027-01-15", "2027-01-15T17:00:00+08:00"],
        description="The new due date: a day (YYYY-MM-DD: the end of that day, "
                    "Asia/Shanghai) or ISO 8601 with offset; in the future, within two years")
    quantity: int | None = Field(default=None, strict=True,
                                 description="The new quantity, whole units, at least 1 "
                                             "(not once work has started)")
    reason: str = Field(max_length=1000, description="Why the order should change")


class ChangeRequestOut(BaseModel):
    id: int
    order_id: int
    status: Literal["pending", "quoted", "accepted", "declined", "impossible"] = Field(
        description="pending: its re-plan runs; quoted: the price difference and the new "
                    "delivery date wait for the buyer; impossible: no plan delivers by the "
                    "date asked (`note` says why)")
    due_date: datetime | None = Field(description="The due date asked for; null: unchanged")
    quantity: int | None = Field(description="The quantity asked for; null: unchanged")
    reason: str
    price_difference: int | None = Field(
        description="Minor units of `currency`: the new total less the current quote's "
                    "(negative: refunded on acceptance; positive: a second escrow payment); "
                    "null until quoted")
    currency: str
    delivery_date: datetime | None = Field(description="The re-plan's delivery date")
    note: str = Field(description="Why the change is impossible, when it is")
    quote_id: int | None = Field(description="The new firm quote, once accepted")
    created_at: datetime
    answered_at: datetime | None
    decided_at: datetime | None
