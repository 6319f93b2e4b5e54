"""Capacity search (free hours of verified factories) and utilisation per machine and week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from market.accounts.models import Company, CompanyStatus, User
from market.capacity.equipment import list_machines
from market.capacity.models import (
    Capability,
    CapacityWindow,
    Machine,
    MachineStatus,
    Plant,
    WindowStatus,
)
from market.capacity.publishing import aware, windows_for_machines
from market.catalog.certifications import CERTIFICATION_KINDS
from market.core import events
from market.core.errors import N_, ValidationError
from market.core.models import utcnow


@dataclass
class CapacityHit:
    machine: Machine
    plant: Plant
    company: Company
    capability: Capability
    free_minutes: int
    show_price: bool

    @property
    def free_hours(self) -> float:
        return round(self.free_minutes / 60, 1)


def can_see_prices(viewer: User, company_id: int) -> bool:
    """Operators see every price; a factory sees its own; buyers see what they would pay.
    Other factories are competitors and never see each other's rates."""
    if viewer.is_operator or viewer.company_id == company_id:
        return True
    return viewer.company is not None and not viewer.company.is_factory


def search_capacity(session: Session, viewer: User, process: str, material: str | None,
                    start: datetime, end: datetime, min_hours: float = 0,
                    limit: int = 200, tolerance_mm: float | None = None,
                    part_mm: float | None = None,
                    certifications: list[str] | None = None) -> list[CapacityHit]:
    """Machines of verified factories that can do `process` on `material` (holding
    `tolerance_mm`, taking a part whose largest side is `part_mm`, in plants whose company
    holds every one of `certifications` verified and valid, where given), with their free
    (published) hours inside [start, end)."""
    fields: dict[str, str] = {}
    if certifications and any(c not in CERTIFICATION_KINDS for c in certifications):
        fields["certification"] = N_("Choose from iso9001, iatf16949, iso13485, as9100, "
                                     "iso14001.")
    if not process:
        fields["process"] = N_("Choose a process.")
    start, end = aware(start, "from"), aware(end, "to")
    if end <= start:
        fields["to"] = N_("The end of the range must be after its start.")
    elif end - start > timedelta(days=180):
        fields["to"] = N_("Search at most 180 days at a time.")
    if min_hours < 0:
        fields["min_hours"] = N_("Must be zero or more.")
    if tolerance_mm is not None and not tolerance_mm > 0:
        fields["tolerance_mm"] = N_("Must be more than zero.")
    if part_mm is not None and not part_mm > 0:
        fields["part_mm"] = N_("Must be more than zero.")
    if fields:
        raise ValidationError("Please correct the search.", fields)
    rows = session.exec(
        select(Capability, Machine, Plant, Company)
        .join(Machine, col(Machine.id) == Capability.machine_id)
        .join(Plant, col(Plant.id) == Machine.plant_id)
        .join(Company, col(Company.id) == Plant.company_id)
        .where(Capability.process_code == process,
               Machine.status == MachineStatus.active.value,
               Company.status == CompanyStatus.verified.value)
    ).all()
    eligible = {}
    for cap, machine, plant, company in rows:
        if material and cap.materials and material not in cap.materials:
            continue
        # the matching's eligibility (MATCHING_FORMAT 1.1): absent on either side is no limit
        if tolerance_mm is not None and cap.tolerance_mm is not None and (
                cap.tolerance_mm > tolerance_mm):
            continue
        if part_mm is not None and cap.max_part_mm is not None and cap.max_part_mm < part_mm:
            continue
        prev = eligible.get(machine.id)
        if prev is None or cap.rate_per_hour < prev[0].rate_per_hour:
            eligible[machine.id] = (cap, machine, plant, company)
    if eligible and certifications:
        # the quality domain answers which plants' companies hold them (as for the matching)
        held = events.collect(events.plant_certifications, session,
                              plant_companies={p.id: p.company_id
                                               for _c, _m, p, _co in eligible.values()},
                              now=utcnow())
        need = set(certifications)
        eligible = {mid: row for mid, row in eligible.items()
                    if need <= set(held.get(row[2].id) or [])}
    if not eligible:
        return []
    free = free_minutes_by_machine(session, list(eligible), start, end)
    hits = []
    for machine_id, (cap, machine, plant, company) in eligible.items():
        minutes = free.get(machine_id, 0)
        if minutes <= 0 or minutes < min_hours * 60:
            continue
        hits.append(CapacityHit(machine, plant, company, cap, minutes,
                                can_see_prices(viewer, company.id)))  # type: ignore[arg-type]
    hits.sort(key=lambda h: (-h.free_minutes, h.machine.id))
    return hits[:limit]


def clipped_seconds(session: Session, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    """SQL for the seconds of a window inside [start, end), on either database."""
    from sqlalchemy import func, literal

    w = CapacityWindow.__table__.c  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", func.least(w.end, literal(end))
                            - func.greatest(w.start, literal(start)))
    # SQLite stores naive UTC text; julianday works on it
    naive_start = start.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    naive_end = end.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return (func.julianday(func.min(w.end, naive_end))
            - func.julianday(func.max(w.start, naive_start))) * 86400.0


def free_minutes_by_machine(session: Session, machine_ids: list[int], start: datetime,
                            end: datetime) -> dict[int, int]:
    """Published minutes per machine clipped to [start, end), summed in the database."""
    from sqlalchemy import func

    w = CapacityWindow.__table__.c  # type: ignore[attr-defined]
    query = (
        select(w.machine_id, func.sum(clipped_seconds(session, start, end)))
        .where(w.machine_id.in_(machine_ids), w.status == WindowStatus.published.value,
               w.end > start, w.start < end)
        .group_by(w.machine_id)
    )
    return {mid: int(round(float(total or 0) / 60)) for mid, total in session.exec(query)}  # type: ignore[call-overload]


def minutes_by_status(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Minutes of every window status inside [start, end), summed in the database."""
    from sqlalchemy import func

    w = CapacityWindow.__table__.c  # type: ignore[attr-defined]
    query = (select(w.status, func.sum(clipped_seconds(session, start, end)))
             .where(w.end > start, w.start < end).group_by(w.status))
    return {status: int(round(float(total or 0) / 60))
            for status, total in session.exec(query)}  # type: ignore[call-overload]


@dataclass
class UtilisationRow:
    machine: Machine
    weeks: list[tuple[date, int, int]]  # (monday, published minutes, held+booked minutes)


def utilisation(session: Session, actor: User, weeks: int = 6,
                today: date | None = None) -> tuple[list[date], list[UtilisationRow]]:
    """Published versus booked hours per machine and ISO week, from this week on."""
    machines = list_machines(session, actor)
    today = today or utcnow().date()
    monday = today - timedelta(days=today.weekday())
    mondays = [monday + timedelta(weeks=i) for i in range(weeks)]
    start = datetime.combine(mondays[0], time(0), UTC)
    end = datetime.combine(mondays[-1] + timedelta(days=7), time(0), UTC)
    by_machine = windows_for_machines(session, [m.id for m in machines], start, end)  # type: ignore[misc]
    rows = []
    for m in machines:
        cells = []
        for mon in mondays:
            ws = datetime.combine(mon, time(0), UTC)
            we = ws + timedelta(days=7)
            pub = busy = 0
            for w in by_machine.get(m.id, []):  # type: ignore[arg-type]
                overlap = (min(w.end, we) - max(w.start, ws)).total_seconds() // 60
                if overlap <= 0:
                    continue
                if w.status == WindowStatus.published:
                    pub += int(overlap)
                else:
                    busy += int(overlap)
            cells.append((mon, pub + busy, busy))
        rows.append(UtilisationRow(m, cells))
    return mondays, rows
