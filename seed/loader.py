"""Load the taxonomy and the demo world into a database. Idempotent: every row is found by
its natural key (code, slug, email) and updated in place, never duplicated."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, select

from market.accounts.models import Company, CompanyStatus, User, UserRole
from market.accounts.service import hash_password
from market.capacity.models import Capability, Machine, Plant
from market.catalog.models import Material, Process, ProcessFamily, ProcessMaterial
from market.core.models import utcnow
from seed import demo_world, taxonomy


@dataclass
class Summary:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, email, company)

    def count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1

    def render(self) -> str:
        made = ", ".join(f"{n} {k}" for k, n in sorted(self.created.items())) or "nothing new"
        lines = [f"Seed loaded ({made}).", "", "Demo logins (password: "
                 f"{demo_world.DEMO_PASSWORD}):"]
        for role, email, company in self.logins:
            lines.append(f"  {role:<9} {email:<48} {company}")
        return "\n".join(lines)


def _upsert(session: Session, model, key: dict, values: dict, summary: Summary, label: str):
    row = session.exec(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **values)
        summary.count(label)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    return row


def load_taxonomy(session: Session, summary: Summary | None = None) -> Summary:
    summary = summary or Summary()
    for position, fam in enumerate(taxonomy.FAMILIES):
        _upsert(session, ProcessFamily, {"code": fam["code"]},
                {"name_en": fam["name_en"], "name_zh": fam["name_zh"], "position": position},
                summary, "process families")
    for mat in taxonomy.MATERIALS:
        _upsert(session, Material, {"code": mat["code"]},
                {"name_en": mat["name_en"], "name_zh": mat["name_zh"],
                 "category": mat["category"]}, summary, "materials")
    session.flush()
    existing_links = {(link.process_code, link.material_code)
                      for link in session.exec(select(ProcessMaterial))}
    for proc in taxonomy.PROCESSES:
        _upsert(session, Process, {"code": proc["code"]}, {
            "family_code": proc["family"], "name_en": proc["name_en"],
            "name_zh": proc["name_zh"], "unit": proc.get("unit", "part"),
            "typical_minutes_per_unit": float(proc["typical_minutes_per_unit"]),
            "typical_setup_minutes": int(proc["typical_setup_minutes"]),
            "typical_rate_per_hour": int(proc["typical_rate_per_hour"]),
            "tolerance_mm": proc.get("tolerance_mm"),
        }, summary, "processes")
        session.flush()
        for material in proc["materials"]:
            if (proc["code"], material) not in existing_links:
                session.add(ProcessMaterial(process_code=proc["code"], material_code=material))
    session.commit()
    return summary


def _company(session: Session, data: dict, summary: Summary) -> Company:
    city = demo_world.CITIES.get(data["city"], {})
    company = _upsert(session, Company, {"slug": data["slug"]}, {
        "name": data["name"], "name_zh": data.get("name_zh"), "kind": data["kind"],
        "country": "CN", "city": data["city"], "description": data.get("description", ""),
        "lat": city.get("lat"), "lon": city.get("lon"),
    }, summary, "companies")
    if company.id is None or company.status == CompanyStatus.pending:
        verified = data.get("verified", True)
        company.status = (CompanyStatus.verified if verified else CompanyStatus.pending).value
        company.verified_at = utcnow() if verified else None
    session.flush()
    for person in data.get("users", []):
        _user(session, person["email"], person.get("name", ""), person.get("role", "member"),
              company, summary)
        summary.logins.append((company.kind, person["email"], company.name))
    return company


def _user(session: Session, email: str, name: str, role: str, company: Company | None,
          summary: Summary) -> User:
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        # Hashing is slow on purpose; only new users need it.
        user = User(email=email, name=name, role=role,
                    password_hash=hash_password(demo_world.DEMO_PASSWORD),
                    company_id=company.id if company else None)
        session.add(user)
        summary.count("users")
    return user


def load_demo_world(session: Session, summary: Summary | None = None) -> Summary:
    summary = summary or Summary()
    for op in demo_world.OPERATORS:
        _user(session, op["email"], op.get("name", "Operator"), UserRole.operator.value, None,
              summary)
        summary.logins.append(("operator", op["email"], "Yunzao platform"))
    for data in [*demo_world.FACTORIES, *demo_world.BUYERS]:
        _company(session, data, summary)
    session.commit()
    return summary


def load_capacity(session: Session, summary: Summary, weeks: int = 4,
                  today: date | None = None) -> Summary:
    """Plants and machines of the demo factories, and idle time for the coming weeks: day
    shifts on weekdays, a late shift on some machines, part of it already booked elsewhere.
    Publishing is a union, so seeding again on the same day adds nothing."""
    from market.capacity.publishing import expand_shifts, publish_span

    rng = random.Random(2026)
    today = today or utcnow().date()
    first = today + timedelta(days=1)
    last = today + timedelta(weeks=weeks)
    for data in demo_world.FACTORIES:
        company = session.exec(select(Company).where(Company.slug == data["slug"])).one()
        for plant_data in data.get("plants", []):
            plant = _upsert(session, Plant, {"company_id": company.id, "name": plant_data["name"]},
                            {"address": plant_data.get("address", ""),
                             "city": plant_data.get("city", ""), "lat": plant_data["lat"],
                             "lon": plant_data["lon"],
                             "timezone": plant_data.get("timezone", "Asia/Shanghai")},
                            summary, "plants")
            session.flush()
            for machine_data in plant_data.get("machines", []):
                machine = session.exec(select(Machine).where(
                    Machine.plant_id == plant.id, Machine.name == machine_data["name"])).first()
                if machine is None:
                    machine = Machine(plant_id=plant.id, name=machine_data["name"],
                                      kind=machine_data.get("kind", ""), capabilities=[
                                          Capability(process_code=c["process"],
                                                     materials=list(c.get("materials", [])),
                                                     rate_per_hour=int(c["rate_per_hour"]),
                                                     setup_minutes=int(c.get("setup_minutes", 0)),
                                                     speed=float(c.get("speed", 1.0)),
                                                     max_part_mm=c.get("max_part_mm"),
                                                     tolerance_mm=c.get("tolerance_mm"))
                                          for c in machine_data["capabilities"]])
                    session.add(machine)
                    session.flush()
                    summary.count("machines")
                shifts = [("08:00", "16:00")]
                if rng.random() < 0.4:
                    shifts.append(("16:00", "24:00"))
                for begin, end in shifts:
                    for a, b in expand_shifts(range(5), begin, end, first, last, [],
                                              plant.timezone):
                        # about a fifth of the shifts are already taken by the factory's
                        # own work and never offered
                        if rng.random() < 0.2:
                            continue
                        if publish_span(session, machine, a, b, "rule").created:
                            summary.count("capacity windows")
    session.commit()
    return summary


def load_all(session: Session) -> Summary:
    from seed.history import load_history

    summary = load_taxonomy(session)
    load_demo_world(session, summary)
    load_capacity(session, summary)
    for _ in range(load_history(session)):
        summary.count("past orders")
    return summary
