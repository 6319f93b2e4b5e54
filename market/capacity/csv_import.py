"""CSV import of plants, machines, capabilities and windows, all rows or none."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
from market.core.errors import N_, ValidationError
from market.core.money import parse_money

# Money in files is in yuan, as on every form (fen stay inside the database).
CSV_COLUMNS = ["plant", "machine", "kind", "process", "materials", "rate_cny_per_hour",
               "setup_minutes", "speed", "window_start", "window_end"]
OLD_RATE_COLUMN = "rate_per_hour"  # fen, before 2026-12: refused with a pointer to the new one


def example_csv(plant_name: str, start: date) -> str:
    """An example that imports as downloaded: the factory's own plant, windows ahead."""
    rows = [CSV_COLUMNS]
    for day in (start, start + timedelta(days=1)):
        rows.append([plant_name, "Haas VF-2 #1", "3-axis machining centre", "cnc_milling",
                     "al6061;al7075;ss304", "150.00", "45", "1.0",
                     f"{day.isoformat()}T08:00:00", f"{day.isoformat()}T16:00:00"])
    rows.append([plant_name, "Mazak QT-200", "CNC lathe", "cnc_turning",
                 "al6061;ss304;brass_h62", "120.00", "30", "1.1", "", ""])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@dataclass
class ImportReport:
    machines_created: int = 0
    capabilities_set: int = 0
    windows_published: int = 0
    minutes_published: int = 0


Problem = tuple[int, str, dict[str, object]]  # line, message (msgid), its parameters


class CsvImportError(ValidationError):
    def __init__(self, errors: list[Problem]) -> None:
        super().__init__(N_("The file has %(count)d problem(s); nothing was imported."),
                         {f"line {n}": message % params if params else message
                          for n, message, params in errors}, {"count": len(errors)})
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
        raise CsvImportError([(1, N_("The file is not UTF-8 text."), {})]) from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if OLD_RATE_COLUMN in header and "rate_cny_per_hour" not in header:
        raise CsvImportError([(1, N_("The column rate_per_hour (fen) is now rate_cny_per_hour, "
                                     "in yuan per hour (150.00 for ¥150/h)."), {})])
    missing = [c for c in ("plant", "machine", "process") if c not in header]
    if missing:
        raise CsvImportError([(1, N_("Missing column(s): %(missing)s. Expected: %(expected)s."),
                               {"missing": ", ".join(missing),
                                "expected": ", ".join(CSV_COLUMNS)})])
    plants = {p.name: p for p in session.exec(select(Plant).where(Plant.company_id == company_id))}
    machines = {(m.plant_id, m.name): m for m in session.exec(
        select(Machine).join(Plant, col(Plant.id) == Machine.plant_id)
        .where(Plant.company_id == company_id))}
    errors: list[Problem] = []
    caps_by_machine: dict[tuple[int, str], dict[str, CapabilityInput]] = defaultdict(dict)
    kinds: dict[tuple[int, str], str] = {}
    windows: list[tuple[tuple[int, str], datetime, datetime]] = []
    rows = 0
    for row in reader:
        line = reader.line_num
        rows += 1
        if None in row:
            errors.append((line, N_("Too many values in this row."), {}))
            continue
        plant = plants.get((row.get("plant") or "").strip())
        if plant is None:
            errors.append((line, N_("Unknown plant %(name)s; add the plant first."),
                           {"name": row.get("plant") or ""}))
            continue
        name = (row.get("machine") or "").strip()
        if not name or len(name) > 120:
            errors.append((line, N_("The machine needs a name of at most 120 characters."), {}))
            continue
        key = (plant.id, name)  # type: ignore[assignment]
        existing = machines.get(key)  # type: ignore[arg-type]
        if existing is not None and existing.status == MachineStatus.retired:
            errors.append((line, N_("Machine %(name)s is retired."), {"name": name}))
            continue
        kinds[key] = (row.get("kind") or "").strip()  # type: ignore[index]
        try:
            rate = parse_money(row.get("rate_cny_per_hour") or "0")
        except ValueError:
            errors.append((line, N_("rate_cny_per_hour: give yuan per hour, e.g. 150.00."), {}))
            continue
        cap = CapabilityInput(
            process=(row.get("process") or "").strip(),
            materials=[m.strip() for m in (row.get("materials") or "").split(";") if m.strip()],
            rate_per_hour=str(rate),
            setup_minutes=(row.get("setup_minutes") or "0").strip(),
            speed=(row.get("speed") or "1").strip(),
        )
        field_errors: dict[str, str] = {}
        clean_capabilities(session, [cap], field_errors)
        if field_errors:
            for k, v in field_errors.items():
                errors.append((line, N_("%(column)s: %(problem)s"),
                               {"column": k.split(".")[-1], "problem": v}))
            continue
        caps_by_machine[key][cap.process] = cap  # type: ignore[index]
        ws, we = (row.get("window_start") or "").strip(), (row.get("window_end") or "").strip()
        if ws or we:
            try:
                start, end = parse_when(ws, plant.timezone), parse_when(we, plant.timezone)
                check_span(start, end)
            except ValueError:
                errors.append((line, N_("window_start and window_end must be dates with "
                                        "times, e.g. 2026-12-07T08:00:00+08:00."), {}))
                continue
            except ValidationError as exc:
                errors.extend((line, v, {}) for v in exc.fields.values())
                continue
            windows.append((key, start, end))  # type: ignore[arg-type]
    if rows == 0 and not errors:
        errors.append((1, N_("The file has no rows."), {}))
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
