"""Market health for operators: supply, demand, fill rate, on-time delivery, utilisation of
published capacity and money in flight. Every figure is one aggregate query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from market.accounts.models import Company
from market.capacity import availability
from market.core.models import utcnow
from market.deals.models import Quote
from market.orders.models import Order, OrderEvent
from market.payments import ledger
from market.payments.models import LedgerEntry
from market.runs.models import MatchingRun


@dataclass
class Health:
    companies: dict[str, int] = field(default_factory=dict)  # "verified factory" -> n
    orders: dict[str, int] = field(default_factory=dict)  # status -> n
    submitted_30d: int = 0
    quoted_30d: int = 0
    delivered: int = 0
    delivered_on_time: int = 0
    offered_minutes_28d: int = 0
    busy_minutes_28d: int = 0
    money: dict[str, dict[str, int]] = field(default_factory=dict)  # currency -> account
    last_run: MatchingRun | None = None
    # orders in work whose factory answered "will it ship on time?" with no (notify)
    late: list[OrderEvent] = field(default_factory=list)

    @property
    def fill_rate(self) -> float | None:
        return self.quoted_30d / self.submitted_30d if self.submitted_30d else None

    @property
    def on_time_rate(self) -> float | None:
        return self.delivered_on_time / self.delivered if self.delivered else None

    @property
    def utilisation(self) -> float | None:
        return (self.busy_minutes_28d / self.offered_minutes_28d
                if self.offered_minutes_28d else None)


def health(session: Session, now: datetime | None = None) -> Health:
    now = now or utcnow()
    h = Health()
    for kind, status, n in session.exec(select(Company.kind, Company.status, func.count())
                                        .group_by(Company.kind, Company.status)):
        h.companies[f"{status} {kind}"] = int(n)
    h.orders = {s: int(n) for s, n in session.exec(
        select(Order.status, func.count()).group_by(Order.status))}
    since = now - timedelta(days=30)
    h.submitted_30d = int(session.exec(select(func.count()).select_from(Order).where(
        col(Order.submitted_at) >= since)).one())
    h.quoted_30d = int(session.exec(select(func.count(func.distinct(Quote.order_id)))
                                    .join(Order, col(Order.id) == Quote.order_id)
                                    .where(col(Order.submitted_at) >= since)).one())
    delivered_at = (select(OrderEvent.order_id, func.max(OrderEvent.at).label("at"))
                    .where(OrderEvent.kind == "delivered").group_by(OrderEvent.order_id)
                    .subquery())
    total, on_time = session.exec(
        select(func.count(), func.sum(case((delivered_at.c.at <= Order.due_date, 1), else_=0)))
        .select_from(delivered_at).join(Order, col(Order.id) == delivered_at.c.order_id)).one()
    h.delivered, h.delivered_on_time = int(total or 0), int(on_time or 0)
    minutes = availability.minutes_by_status(session, now, now + timedelta(days=28))
    h.busy_minutes_28d = minutes.get("held", 0) + minutes.get("booked", 0)
    h.offered_minutes_28d = h.busy_minutes_28d + minutes.get("published", 0)
    if session.exec(select(LedgerEntry.id)).first() is not None:
        h.money = ledger.balances(session)
    h.last_run = session.exec(select(MatchingRun).order_by(col(MatchingRun.id).desc())).first()
    h.late = list(session.exec(
        select(OrderEvent).join(Order, col(Order.id) == OrderEvent.order_id)
        .where(OrderEvent.kind == "late_expected",
               col(Order.status).in_(("accepted", "scheduled", "in_production")))
        .order_by(col(OrderEvent.at).desc()).limit(20)))
    return h
