"""The factory directory for buyers and operators: verified factories with their city,
processes, verified certifications, probation and scorecard; one profile per factory with its
reviews."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from market.accounts.models import Company, CompanyStatus, User
from market.capacity.models import Capability, Machine, MachineStatus, Plant
from market.core.errors import NotFound
from market.quality import certifications as certs
from market.quality import probation
from market.quality.models import Certification, Review
from market.quality.reviews import reviews_of
from market.quality.scorecards import Scorecard, for_companies, scorecard


@dataclass
class FactoryEntry:
    company: Company
    cities: list[str]
    processes: list[str]
    scorecard: Scorecard
    reviews: list[Review] = field(default_factory=list)
    certificates: list[Certification] = field(default_factory=list)  # verified, valid
    on_probation: bool = False

    @property
    def certifications(self) -> list[str]:
        return sorted({c.kind for c in self.certificates})


def _processes_and_cities(session: Session, company_ids: list[int]
                          ) -> dict[int, tuple[set[str], set[str]]]:
    rows = session.exec(
        select(Plant.company_id, Plant.city, Capability.process_code)
        .join(Machine, col(Machine.plant_id) == col(Plant.id))
        .join(Capability, col(Capability.machine_id) == col(Machine.id))
        .where(col(Plant.company_id).in_(company_ids or [0]),
               Machine.status == MachineStatus.active.value)).all()
    out: dict[int, tuple[set[str], set[str]]] = {c: (set(), set()) for c in company_ids}
    for company_id, city, process in rows:
        out[company_id][0].add(process)
        if city:
            out[company_id][1].add(city)
    return out


def _certificates(session: Session, company_ids: list[int], now: datetime
                  ) -> dict[int, list[Certification]]:
    out: dict[int, list[Certification]] = {c: [] for c in company_ids}
    for row in session.exec(select(Certification).where(
            col(Certification.company_id).in_(company_ids or [0]),
            Certification.status == "verified", col(Certification.expires_at) > now)
            .order_by(col(Certification.kind))):
        out[row.company_id].append(row)
    return out


def directory(session: Session, actor: User, now: datetime, process: str | None = None,
              city: str | None = None, certification: str | None = None,
              probation_limit: int = 0) -> list[FactoryEntry]:
    """Verified factories, filtered by process, city and a verified, unexpired
    certification (a kind code); `probation_limit`: the configured PROBATION_MAX_AMOUNT."""
    companies = list(session.exec(select(Company).where(
        Company.status == CompanyStatus.verified.value,
        col(Company.kind).in_(["factory", "both"])).order_by(col(Company.name))))
    ids = [c.id for c in companies]
    facts = _processes_and_cities(session, ids)  # type: ignore[arg-type]
    held = _certificates(session, ids, now)  # type: ignore[arg-type]
    new = probation.on_probation(session, ids, probation_limit)  # type: ignore[arg-type]
    kept = []
    for c in companies:
        processes, cities = facts.get(c.id, (set(), set()))  # type: ignore[arg-type]
        if process and process not in processes:
            continue
        if city and city.strip().lower() not in {x.lower() for x in cities}:
            continue
        if certification and certification not in {x.kind for x in held[c.id]}:  # type: ignore[index]
            continue
        kept.append((c, processes, cities))
    cards = for_companies(session, [c.id for c, _p, _c in kept], now)  # type: ignore[misc]
    return [FactoryEntry(c, sorted(cities), sorted(processes), cards[c.id],  # type: ignore[index]
                         certificates=held[c.id], on_probation=c.id in new)  # type: ignore[index]
            for c, processes, cities in kept]


def profile(session: Session, actor: User, company_id: int, now: datetime,
            probation_limit: int = 0) -> FactoryEntry:
    company = session.get(Company, company_id)
    if company is None or company.status != CompanyStatus.verified or not company.is_factory:
        raise NotFound("Factory not found.")
    processes, cities = _processes_and_cities(session, [company_id])[company_id]
    return FactoryEntry(company, sorted(cities), sorted(processes),
                        scorecard(session, company_id, now), reviews_of(session, company_id),
                        certificates=certs.valid_certificates(session, company_id, now),
                        on_probation=bool(probation.on_probation(session, [company_id],
                                                                 probation_limit)))
