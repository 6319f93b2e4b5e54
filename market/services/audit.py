"""The audit log: services call `record` inside their own transaction, so an action and
its audit row are committed together or not at all."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from market.models import AuditEvent


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


def recent(
    session: Session, company_id: int | None = None, limit: int = 50,
    actions: list[str] | None = None,
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    if company_id is not None:
        query = query.where(AuditEvent.company_id == company_id)
    if actions:
        query = query.where(col(AuditEvent.action).in_(actions))
    return list(session.exec(query.limit(limit)))
