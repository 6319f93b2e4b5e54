"""Bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool

from market.core.models import MAX_ID
from market.core.schemas import Strict


class NotificationOut(BaseModel):
    id: int
    kind: str
    subject: str
    body: str
    order_id: int | None
    booking_id: int | None
    link: str = Field(description="path of the object's page on this site")
    created_at: datetime
    read_at: datetime | None


class ReadAllOut(BaseModel):
    marked: int = Field(ge=0, description="how many were unread")


class NotificationSettingsOut(BaseModel):
    email: dict[str, bool] = Field(description="every kind: whether it is also mailed")


class NotificationSettingsIn(Strict):
    email: dict[str, StrictBool] = Field(
        max_length=100, description="kinds to change: true to mail them, false not to")


class WebhookEndpointIn(Strict):
    url: str = Field(min_length=1, max_length=2000, description="http(s), a public address")
    events: list[str] = Field(min_length=1, max_length=30,
                              description="notification kinds to receive")


class WebhookEndpointOut(BaseModel):
    id: int
    url: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None
    deleted_at: datetime | None


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="whsec_...: shown only in this answer")


class WebhookDeliveryOut(BaseModel):
    id: int
    event: str
    attempt: int
    status: str = Field(description="pending | sent | failed")
    status_code: int | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime


class AuthorOut(BaseModel):
    name: str
    company: str


class MessageFileOut(BaseModel):
    id: int
    filename: str
    kind: str
    size: int
    url: str


class MessageOut(BaseModel):
    id: int
    author: AuthorOut
    body: str = Field(description="plain text, never HTML")
    attachments: list[MessageFileOut]
    factory_id: int | None = Field(description="the thread's factory; null: buyer-operators")
    created_at: datetime


class MessageIn(Strict):
    body: str = Field(min_length=1, max_length=4000)
    attachment_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=10, description="files uploaded to this thread")
