"""CSV import of plants, machines, capabilities and windows, all rows or none."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.capacity.equipment import CapabilityInput, clean_capabilities, factory_company_of
from market.capacity.models import (
    Machine,
    MachineStatus,
    Plant,
)
from market.capacity.publishing import check_span, publish_span
from market.core import audit
from market.core.errors import ValidationError

CSV_COLUMNS = ["plant", "machine", "kind", "process", "materials", "rate_per_hour",
               "setup_minutes", "speed", "window_start", "window_end"]


CSV_EXAMPLE = (
    ",".join(CSV_COLUMNS) + "\n"
    "Chang'an plant,Haas VF-2 #1,3-axis machining centre,cnc_milling,al6061;al7075;ss304,"
    "15000,45,1.0,2026-12-07T08:00:00+08:00,2026-12-07T16:00:00+08:00\n"
    "Chang'an plant,Haas VF-2 #1,3-axis machining centre,cnc_milling,al6061;al7075;ss304,"
    "15000,45,1.0,2026-12-08T08:00:00+08:00,2026-12-08T16:00:00+08:00\n"
    "Chang'an plant,Mazak QT-200,CNC lathe,cnc_turning,al6061;ss304;brass_h62,12000,30,1.1,,\n"
)


@dataclass
class ImportReport:
    machines_created: int = 0
    capabilities_set: int = 0
    windows_published: int = 0
    minutes_published: int = 0


class CsvImportError(ValidationError):
    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(f"The file has {len(errors)} problem(s); nothing was imported.",
                         {f"line {n}": message for n, message in errors})
        self.errors = errors


def parse_when(text: str, tz: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:  # local time of the plant
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


def import_csv(session: Session, actor: User, content: bytes) -> ImportReport:
    """All or nothing: every bad row is reported with its line number, and a file with any
    bad row imports nothing."""
    company_id = factory_company_of(actor)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvImportError([(1, "The file is not UTF-8 text.")]) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("plant", "machine", "process") if c not in (reader.fieldnames or [])]
    if missing:
        raise CsvImportError([(1, f"Missing column(s): {', '.join(missing)}. "
                                  f"Expected: {', '.join(CSV_COLUMNS)}.")])
    plants = {p.name: p for p in session.exec(select(Plant).where(Plant.company_id == company_id))}
    machines = {(m.plant_id, m.name): m for m in session.exec(
        select(Machine).join(Plant, col(Plant.id) == Machine.plant_id)
        .where(Plant.company_id == company_id))}
    errors: list[tuple[int, str]] = []
    caps_by_machine: dict[tuple[int, str], dict[str, CapabilityInput]] = defaultdict(dict)
    kinds: dict[tuple[int, str], str] = {}
    windows: list[tuple[tuple[int, str], datetime, datetime]] = []
    rows = 0
    for row in reader:
        line = reader.line_num
        rows += 1
        if None in row:
            errors.append((line, "Too many values in this row."))
            continue
        plant = plants.get((row.get("plant") or "").strip())
        if plant is None:
            errors.append((line, f"Unknown plant {row.get('plant')!r}; add the plant first."))
            continue
        name = (row.get("machine") or "").strip()
        if not name or len(name) > 120:
            errors.append((line, "The machine needs a name of at most 120 characters."))
            continue
        key = (plant.id, name)  # type: ignore[assignment]
        existing = machines.get(key)  # type: ignore[arg-type]
        if existing is not None and existing.status == MachineStatus.retired:
            errors.append((line, f"Machine {name!r} is retired."))
            continue
        kinds[key] = (row.get("kind") or "").strip()  # type: ignore[index]
        cap = CapabilityInput(
            process=(row.get("process") or "").strip(),
            materials=[m for m in (row.get("materials") or "").split(";") if m.strip()],
            rate_per_hour=(row.get("rate_per_hour") or "0").strip(),
            setup_minutes=(row.get("setup_minutes") or "0").strip(),
            speed=(row.get("speed") or "1").strip(),
        )
        field_errors: dict[str, str] = {}
        clean_capabilities(session, [cap], field_errors)
        if field_errors:
            errors.append((line, "; ".join(f"{k.split('.')[-1]}: {v}"
                                           for k, v in field_errors.items())))
            continue
        caps_by_machine[key][cap.process] = cap  # type: ignore[index]
        ws, we = (row.get("window_start") or "").strip(), (row.get("window_end") or "").strip()
        if ws or we:
            try:
                start, end = parse_when(ws, plant.timezone), parse_when(we, plant.timezone)
                check_span(start, end)
            except ValueError:
                errors.append((line, "window_start and window_end must be dates with times, "
                                     "e.g. 2026-12-07T08:00:00+08:00."))
                continue
            except ValidationError as exc:
                errors.append((line, "; ".join(exc.fields.values())))
                continue
            windows.append((key, start, end))  # type: ignore[arg-type]
    if rows == 0 and not errors:
        errors.append((1, "The file has no rows."))
    if errors:
        raise CsvImportError(errors)
    report = ImportReport()
    for key, caps in caps_by_machine.items():
        machine = machines.get(key)
        if machine is None:
            machine = Machine(plant_id=key[0], name=key[1], kind=kinds.get(key, ""))
            session.add(machine)
            machines[key] = machine
            report.machines_created += 1
        fresh = clean_capabilities(session, list(caps.values()), {})
        current = {c.process_code: c for c in machine.capabilities}
        for cap in fresh:
            if cap.process_code in current:
                old = current[cap.process_code]
                old.materials, old.rate_per_hour = cap.materials, cap.rate_per_hour
                old.setup_minutes, old.speed = cap.setup_minutes, cap.speed
            else:
                machine.capabilities.append(cap)
            report.capabilities_set += 1
    session.flush()
    for key, start, end in windows:
        result = publish_span(session, machines[key], start, end, "csv")
        report.windows_published += 1
        report.minutes_published += result.added_minutes
    audit.record(session, actor.id, "capacity.imported", actor.company, company_id,
                 machines=report.machines_created, windows=report.windows_published)
    session.commit()
    return report
