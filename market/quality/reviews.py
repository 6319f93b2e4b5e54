"""Reviews after delivery: the buyer rates each factory of a delivered order once (quality,
on time, communication, a comment); the factory may answer once. Shown on its profile."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import User
from market.core import audit, events
from market.core.errors import N_, Conflict, NotFound, PermissionDenied, ValidationError
from market.core.models import utcnow
from market.deals.models import Booking, BookingStatus
from market.orders.models import Order, OrderStatus
from market.quality.models import Review

REVIEWABLE = (OrderStatus.delivered, OrderStatus.closed)


def factories_of(session: Session, order_id: int) -> list[int]:
    """The factories that did work on the order (a done booking)."""
    return sorted(set(session.exec(select(Booking.factory_company_id).where(
        Booking.order_id == order_id, Booking.status == BookingStatus.done.value))))


def post_review(session: Session, actor: User, order_id: int, factory_id: int,
                scores: dict[str, Any], comment: str = "") -> Review:
    order = session.get(Order, order_id)
    if order is None or actor.company_id != order.buyer_company_id:
        raise NotFound("Order not found.")
    accounts.require_active(session, actor)
    if order.status not in REVIEWABLE:
        raise Conflict("Factories are reviewed once the order is delivered.")
    if factory_id not in factories_of(session, order_id):
        raise ValidationError("This factory did no work on the order.",
                              {"factory_id": N_("Choose a factory that worked on the order.")})
    fields: dict[str, str] = {}
    clean: dict[str, int] = {}
    for name in ("quality", "on_time", "communication"):
        value = scores.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            try:
                value = int(str(value))
            except (TypeError, ValueError):
                value = 0
        if not 1 <= value <= 5:
            fields[name] = N_("From 1 to 5.")
        clean[name] = value
    comment = (comment or "").strip()
    if len(comment) > 2000:
        fields["comment"] = N_("At most 2000 characters.")
    if fields:
        raise ValidationError("Please correct the review.", fields)
    if session.exec(select(Review.id).where(Review.order_id == order_id,
                                            Review.factory_company_id == factory_id)).first():
        raise Conflict("You have reviewed this factory for this order already.")
    review = Review(order_id=order_id, factory_company_id=factory_id,
                    buyer_company_id=order.buyer_company_id, author_id=actor.id,
                    comment=comment, **clean)
    session.add(review)
    session.flush()
    audit.record(session, actor.id, "review.posted", review, order.buyer_company_id,
                 factory_id=factory_id, order_id=order_id)
    events.occurred(session, "review_received", order=order, actor=actor,
                    factory_id=factory_id, review_id=review.id)
    session.commit()
    return review


def answer(session: Session, actor: User, review_id: int, text: str) -> Review:
    review = session.get(Review, review_id)
    if review is None or actor.company_id != review.factory_company_id:
        raise NotFound("Review not found.")
    accounts.require_active(session, actor)
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise ValidationError("Please correct the answer.",
                              {"answer": N_("Write 1 to 2000 characters.")})
    if review.answered_at is not None:
        raise Conflict("The review has been answered already.")
    review.answer, review.answered_at = text, utcnow()
    session.add(review)
    audit.record(session, actor.id, "review.answered", review, review.factory_company_id)
    session.commit()
    return review


def reviews_of(session: Session, company_id: int, limit: int = 50) -> list[Review]:
    return list(session.exec(select(Review).where(Review.factory_company_id == company_id)
                             .order_by(col(Review.created_at).desc()).limit(limit)))


def require_reader(actor: User) -> None:
    if not actor.is_authenticated:
        raise PermissionDenied("Sign in to read factories' records.")
