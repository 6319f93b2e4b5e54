"""Probation (DESIGN.md "Trust feeds the matching": small jobs first): a factory with fewer
than scorecards.MIN_JOBS jobs (done bookings) has no record yet, so it gets at most one live
piece of work at a time, on orders worth at most PROBATION_MAX_AMOUNT (config, fen).

How the matching hears of it (`plant_probation`, answering `events.plant_probation`): the
plants of a factory on probation are named with `live` (it already has a live booking, or
time held for an offered quote: the planner leaves its machines out of the problem) and
`max_amount` (the planner keeps them out of orders worth more; see runs.planning). Live
work of the orders being re-planned (`own`) does not count, so a re-plan may keep it there.

Known limit: one run may still give a new factory several operations at once (the engine
has no "at most one order per plant" rule); the operators see "on probation" on run review."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, func, select

from market.capacity.models import CapacityWindow, Machine, Plant, WindowStatus
from market.deals.models import Booking, BookingStatus
from market.quality.scorecards import MIN_JOBS

LIVE = (BookingStatus.proposed.value, BookingStatus.accepted.value,
        BookingStatus.in_progress.value)


def jobs_done(session: Session, company_ids: Iterable[int]) -> dict[int, int]:
    ids = list(set(company_ids))
    counts = {c: 0 for c in ids}
    if not ids:
        return counts
    for company_id, n in session.exec(
            select(Booking.factory_company_id, func.count())
            .where(col(Booking.factory_company_id).in_(ids),
                   Booking.status == BookingStatus.done.value)
            .group_by(Booking.factory_company_id)):
        counts[company_id] = int(n)
    return counts


def on_probation(session: Session, company_ids: Iterable[int], max_amount: int) -> set[int]:
    """The companies among `company_ids` on probation (none when probation is off)."""
    if max_amount <= 0:
        return set()
    return {c for c, n in jobs_done(session, company_ids).items() if n < MIN_JOBS}


def with_live_work(session: Session, company_ids: Iterable[int],
                   own: Iterable[int] = ()) -> set[int]:
    """The companies with a live booking or time held for an offered quote, leaving out
    the planned operations `own` (the orders being re-planned)."""
    ids, skip = list(set(company_ids)), list(set(own))
    if not ids:
        return set()
    booked = select(Booking.factory_company_id).where(
        col(Booking.factory_company_id).in_(ids), col(Booking.status).in_(LIVE))
    if skip:
        booked = booked.where(col(Booking.planned_operation_id).not_in(skip))
    held = (select(Plant.company_id)
            .join(Machine, col(Machine.plant_id) == col(Plant.id))
            .join(CapacityWindow, col(CapacityWindow.machine_id) == col(Machine.id))
            .where(col(Plant.company_id).in_(ids),
                   CapacityWindow.status == WindowStatus.held.value))
    if skip:
        held = held.where(col(CapacityWindow.planned_operation_id).not_in(skip))
    return set(session.exec(booked.distinct())) | set(session.exec(held.distinct()))


def plant_probation(session: Session, plant_companies: dict[int, int], now: datetime,
                    own: Iterable[int] = (), max_amount: int = 0
                    ) -> dict[int, dict[str, object]]:
    """Receiver of events.plant_probation (with `max_amount` from the configuration): the
    plants of factories on probation, each with `live` and `max_amount`."""
    new = on_probation(session, set(plant_companies.values()), max_amount)
    if not new:
        return {}
    busy = with_live_work(session, new, own)
    return {plant: {"live": company in busy, "max_amount": max_amount}
            for plant, company in plant_companies.items() if company in new}
