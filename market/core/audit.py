"""The audit log: who did what to which object, and when. Services call `record` inside their
own transaction, so an action and its audit row are committed together or not at all."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlmodel import Field, Session, SQLModel, col, select

from market.core.db import read
from market.core.models import utc_column, utcnow


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



def record(
    session: Session,
    actor_id: int | None,
    action: str,
    obj: Any,
    company_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        actor_user_id=actor_id,
        company_id=company_id,
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "id", "") or getattr(obj, "code", "")),
        details=details,
    )
    session.add(event)
    return event


@lru_cache(maxsize=4)
def _recent_query(of_company: bool, of_actions: bool) -> Any:
    query = select(*AuditEvent.__table__.columns)  # type: ignore[attr-defined]
    if of_company:
        query = query.where(AuditEvent.company_id == bindparam("company_id"))
    if of_actions:
        query = query.where(col(AuditEvent.action).in_(bindparam("actions", expanding=True)))
    return (query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            .limit(bindparam("limit")))


def recent(
    session: Session, company_id: int | None = None, limit: int = 50,
    actions: list[str] | None = None,
) -> list[Any]:
    """The latest events (of a company, of some actions), newest first, as read-only rows
    with the events' fields."""
    return list(read(session, _recent_query(company_id is not None, bool(actions)),
                     company_id=company_id, actions=actions or [], limit=limit))
