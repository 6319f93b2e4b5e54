"""Bodies of the payments API. Money is integer minor units with a currency."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from market.core.schemas import Strict


class BankInstructions(BaseModel):
    bank_name: str
    account_holder: str
    account_number: str
    reference: str
    amount: int
    currency: str


class PaymentOut(BaseModel):
    id: int
    order_id: int
    quote_id: int
    amount: int
    platform_fee: int
    currency: str
    gateway: str
    status: str
    refunded_amount: int
    reference: str
    client_secret: str | None = None
    publishable_key: str | None = None
    instructions: BankInstructions | None = None
    last_error: str = ""
    created_at: datetime
    succeeded_at: datetime | None


class MarkReceivedIn(Strict):
    amount: StrictInt | None = Field(default=None, gt=0)
    note: str = Field(default="", max_length=200)


class MarkSentIn(Strict):
    """The bank's own reference of the transfer out, if the operator has one."""

    reference: str = Field(default="", max_length=100)


class RefundOut(BaseModel):
    id: int
    order_id: int
    payment_id: int
    amount: int
    currency: str
    status: str
    reason: str
    provider_refund_id: str | None
    last_error: str
    created_at: datetime
    succeeded_at: datetime | None


class PayoutOut(BaseModel):
    id: int
    order_id: int
    factory_company_id: int
    gross: int
    fee: int
    refund_share: int
    amount: int
    currency: str
    status: str
    gateway: str
    provider_transfer_id: str | None
    last_error: str
    created_at: datetime
    paid_at: datetime | None


class LedgerEntryOut(BaseModel):
    id: int
    txn: str
    order_id: int | None
    account: str
    amount: int
    currency: str
    kind: str
    memo: str
    created_at: datetime


class LedgerOut(BaseModel):
    order_id: int | None
    balanced: bool
    balances: dict[str, dict[str, int]]
    entries: list[LedgerEntryOut]


class DisputeIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class ResolveIn(Strict):
    resolution: Literal["refund_all", "refund_part", "release", "remake"]
    amount: StrictInt | None = Field(default=None, gt=0)
    note: str = Field(default="", max_length=2000)
    from_seq: StrictInt | None = Field(
        default=None, ge=1, le=1000,
        description="remake: the first routing step made again (default 1); it and every "
                    "later step go back into production")


class DisputeOut(BaseModel):
    id: int
    order_id: int
    payment_id: int
    status: str
    reason: str
    remedy: str = Field(description="A rejected delivery: remake | refund | partial_refund; "
                                    "empty for other disputes")
    attachment_ids: list[int] = Field(description="The order's files the buyer pointed to "
                                                  "(photos of the problem)")
    resolution: str
    refund_amount: int
    opened_at: datetime
    resolved_at: datetime | None


class WebhookOut(BaseModel):
    received: bool
    event_id: str
    type: str
    result: str
