"""Who did what to which object, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from market.models.base import utc_column, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False, index=True))
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    action: str = Field(max_length=80)  # e.g. "company.verified"
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=40)
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
