"""Read access to the process taxonomy."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from market.catalog.models import Material, Process, ProcessFamily, ProcessMaterial


@dataclass
class ProcessInfo:
    process: Process
    materials: list[str] = field(default_factory=list)


def processes(session: Session) -> list[ProcessInfo]:
    """Every process with its usual material codes, ordered by family then name."""
    links: dict[str, list[str]] = defaultdict(list)
    for link in session.exec(select(ProcessMaterial).order_by(col(ProcessMaterial.material_code))):
        links[link.process_code].append(link.material_code)
    families = {f.code: f.position for f in session.exec(select(ProcessFamily))}
    rows = session.exec(select(Process)).all()
    rows = sorted(rows, key=lambda p: (families.get(p.family_code, 99), p.name_en))
    return [ProcessInfo(p, links.get(p.code, [])) for p in rows]


def families(session: Session) -> list[ProcessFamily]:
    return list(session.exec(select(ProcessFamily).order_by(col(ProcessFamily.position))))


def materials(session: Session) -> list[Material]:
    return list(session.exec(select(Material).order_by(col(Material.code))))
