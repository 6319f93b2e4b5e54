"""Scorecards (DESIGN.md "Trust feeds the matching"): each factory's record over the last 90
days or its last 10 jobs, whichever holds more, and the risk the matching charges for it.

- a job is an operation the factory finished (a done booking);
- on-time rate: jobs shipped or handed off (done, where nothing was sent on) by their planned
  end plus one day;
- defect rate: jobs whose QC failed, or on an order whose delivery the buyer rejected (a
  dispute with a remedy) unless the operators found for the factory (released the money);
- acceptance rate: proposed bookings the factory accepted, of those it answered or let lapse;
- response time: median hours from proposal to answer;
- rating: the mean of its reviews (quality, on time, communication).
Every figure is None until the factory has MIN_JOBS jobs.

risk_per_mille (MATCHING_FORMAT 1.1, problems per 1000 operations) is the share of late or
defective jobs, smoothed towards PRIOR_PER_MILLE with the weight of PRIOR_JOBS jobs, so a
factory without a record is neither trusted blindly nor ruled out, and one bad job of a new
factory does not condemn it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlmodel import Session, col, select

from market.deals.models import Booking, BookingStatus
from market.payments.models import Dispute
from market.quality.models import Review

WINDOW_DAYS = 90
MIN_RECENT = 10
MIN_JOBS = 3
ON_TIME_GRACE = timedelta(days=1)
PRIOR_PER_MILLE = 100  # a new factory: one problem in ten operations, until it shows better
PRIOR_JOBS = 5


@dataclass
class Scorecard:
    jobs_counted: int
    window_days: int
    on_time_rate: float | None
    defect_rate: float | None
    acceptance_rate: float | None
    response_hours_median: float | None
    rating: float | None
    risk_per_mille: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _recent(done: list[Booking], now: datetime) -> list[Booking]:
    """The jobs that count, of a factory's done bookings newest first."""
    recent = [b for b in done if b.done_at >= now - timedelta(days=WINDOW_DAYS)]  # type: ignore[operator]
    return recent if len(recent) >= MIN_RECENT else done[:MIN_RECENT]


def _late(b: Booking) -> bool:
    return (b.shipped_at or b.done_at) > b.end + ON_TIME_GRACE  # type: ignore[operator]


def for_companies(session: Session, company_ids: Iterable[int], now: datetime
                  ) -> dict[int, Scorecard]:
    """Each factory's scorecard, in four queries however many factories (capacity search
    and run review show one a factory: four queries each before)."""
    ids = set(company_ids)
    if not ids:
        return {}
    done: dict[int, list[Booking]] = defaultdict(list)
    for b in session.exec(select(Booking).where(
            col(Booking.factory_company_id).in_(ids), Booking.status == BookingStatus.done.value,
            col(Booking.done_at).is_not(None)).order_by(col(Booking.done_at).desc())):
        done[b.factory_company_id].append(b)
    jobs = {c: _recent(done[c], now) for c in ids}
    rejected = set(session.exec(select(Dispute.order_id).where(
        col(Dispute.order_id).in_({b.order_id for js in jobs.values() for b in js} or {0}),
        Dispute.remedy != "", Dispute.resolution != "release")))
    proposed: dict[int, list[Booking]] = defaultdict(list)
    reviews: dict[int, list[Review]] = defaultdict(list)
    known = {c for c in ids if len(jobs[c]) >= MIN_JOBS}  # a record to show
    if known:
        for b in session.exec(select(Booking).where(
                col(Booking.factory_company_id).in_(known),
                col(Booking.created_at) >= now - timedelta(days=WINDOW_DAYS))):
            proposed[b.factory_company_id].append(b)
        for r in session.exec(select(Review).where(col(Review.factory_company_id).in_(known))):
            reviews[r.factory_company_id].append(r)
    return {c: _card(jobs[c], rejected, proposed[c], reviews[c]) for c in ids}


def _card(jobs: list[Booking], rejected: set[int], proposed: list[Booking],
          reviews: list[Review]) -> Scorecard:
    def defective(b: Booking) -> bool:
        return b.qc_failed_at is not None or b.order_id in rejected

    late = sum(1 for b in jobs if _late(b))
    defects = sum(1 for b in jobs if defective(b))
    problems = sum(1 for b in jobs if defective(b) or _late(b))
    risk = round((problems * 1000 + PRIOR_PER_MILLE * PRIOR_JOBS) / (len(jobs) + PRIOR_JOBS))
    if len(jobs) < MIN_JOBS:
        return Scorecard(len(jobs), WINDOW_DAYS, None, None, None, None, None, risk)
    answered = [b for b in proposed if b.responded_at is not None]
    accepted = [b for b in answered if b.status != BookingStatus.declined]
    hours = [(b.responded_at - b.created_at).total_seconds() / 3600 for b in answered]  # type: ignore[operator]
    return Scorecard(
        jobs_counted=len(jobs), window_days=WINDOW_DAYS,
        on_time_rate=round(1 - late / len(jobs), 3), defect_rate=round(defects / len(jobs), 3),
        acceptance_rate=round(len(accepted) / len(answered), 3) if answered else None,
        response_hours_median=round(median(hours), 1) if hours else None,
        rating=round(sum(r.rating for r in reviews) / len(reviews), 2) if reviews else None,
        risk_per_mille=min(1000, risk))


def scorecard(session: Session, company_id: int, now: datetime) -> Scorecard:
    return for_companies(session, [company_id], now)[company_id]


def plant_risk(session: Session, plant_companies: dict[int, int], now: datetime
               ) -> dict[int, int]:
    """Receiver of events.plant_risk: each plant's risk_per_mille from its company's record."""
    cards = for_companies(session, plant_companies.values(), now)
    by_company = {c: card.risk_per_mille for c, card in cards.items()}
    return {plant: by_company[company] for plant, company in plant_companies.items()}


def company_records(session: Session, company_ids: list[int], now: datetime
                    ) -> dict[int, dict[str, Any]]:
    """Receiver of events.company_records: each factory's scorecard, for run review."""
    return {c: card.as_dict() for c, card in for_companies(session, company_ids, now).items()}
