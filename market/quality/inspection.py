"""Delivery inspection: within the inspection window after the shipment the buyer confirms
the delivery (deals.production.confirm_delivery: the money is released) or rejects it here,
with the reason, photos (the order's files) and the remedy asked. A rejection is a dispute
the operators resolve (payments.disputes): a remake, a refund or a partial refund."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import User
from market.core.errors import N_, Conflict, NotFound, ValidationError
from market.core.models import utcnow
from market.deals.production import INSPECTION_DAYS, inspection_ends
from market.orders.models import Attachment, Order, OrderStatus
from market.payments import disputes
from market.payments.models import Dispute

REMEDIES = ("remake", "refund", "partial_refund")


def reject_delivery(session: Session, actor: User, order_id: int, reason: str, remedy: str,
                    attachment_ids: list[int] | None = None,
                    inspection_days: int = INSPECTION_DAYS,
                    now: datetime | None = None) -> Dispute:
    order = session.get(Order, order_id)
    if order is None or actor.company_id != order.buyer_company_id:
        raise NotFound("Order not found.")
    accounts.require_active(session, actor)
    fields: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        fields["reason"] = N_("Say what is wrong with the parts.")
    if remedy not in REMEDIES:
        fields["remedy"] = N_("remake, refund or partial_refund")
    ids = sorted({int(i) for i in attachment_ids or []})
    if any(not 0 < i < 2**63 for i in ids):  # no database id: and SQLite refuses >64 bits
        fields["attachment_ids"] = N_("Files of this order only.")
    elif ids:
        own = set(session.exec(select(Attachment.id).where(
            Attachment.order_id == order_id, col(Attachment.id).in_(ids))))
        if own != set(ids):
            fields["attachment_ids"] = N_("Files of this order only.")
    if fields:
        raise ValidationError("Please correct the rejection.", fields)
    if order.status != OrderStatus.shipped:
        raise Conflict("Only a shipped order's delivery can be rejected; this one is "
                       "%(status)s.", params={"status": order.status})
    ends = inspection_ends(order, inspection_days)
    if ends is not None and (now or utcnow()) > ends:
        raise Conflict("The inspection window has ended: the delivery counts as accepted. "
                       "Contact the platform through the order's messages.")
    return disputes.open_dispute(session, actor, order_id, reason, remedy=remedy,
                                 attachment_ids=ids)


def disputes_of(session: Session, order_id: int) -> list[Dispute]:
    return list(session.exec(select(Dispute).where(Dispute.order_id == order_id)
                             .order_by(col(Dispute.id).desc())))
