"""Factories' supply: plants, machines, capabilities, and the windows of idle time.

The windows of one machine partition the time it offers into non-overlapping segments:
published (idle), held (by an approved plan) and booked. Publishing adds the union of new
and existing time, so the same push twice changes nothing; holding and booking split a
published segment; withdrawing only ever touches published time."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import Session, col, select

from market.accounts.models import Company, CompanyStatus, User
from market.capacity.models import (
    LIVE_WINDOW_STATES,
    Capability,
    CapacityRule,
    CapacityWindow,
    Machine,
    MachineStatus,
    Plant,
    WindowStatus,
)
from market.catalog.models import Process, ProcessMaterial
from market.core import audit
from market.core.errors import N_, Conflict, NotFound, PermissionDenied, ValidationError
from market.core.models import utcnow

MAX_WINDOW = timedelta(days=31)
MAX_RULE_DAYS = 366
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


# --- access -------------------------------------------------------------------------------

def _factory_company(actor: User) -> int:
    """The company whose capacity the actor manages; buyers and operators manage none."""
    if actor.company is None or not actor.company.is_factory:
        raise PermissionDenied("Only factory accounts can manage plants, machines and capacity.")
    return actor.company.id  # type: ignore[return-value]


def get_plant(session: Session, actor: User, plant_id: int) -> Plant:
    plant = session.get(Plant, plant_id)
    if plant is None or not (actor.is_operator or plant.company_id == actor.company_id):
        raise NotFound("Plant not found.")  # another factory's plant does not exist for you
    return plant


def get_machine(session: Session, actor: User, machine_id: int) -> Machine:
    machine = session.get(Machine, machine_id)
    if machine is None:
        raise NotFound("Machine not found.")
    plant = session.get(Plant, machine.plant_id)
    if plant is None or not (actor.is_operator or plant.company_id == actor.company_id):
        raise NotFound("Machine not found.")
    return machine


def get_window(session: Session, actor: User, window_id: int) -> CapacityWindow:
    window = session.get(CapacityWindow, window_id)
    if window is None:
        raise NotFound("Window not found.")
    get_machine(session, actor, window.machine_id)
    return window


def _require_writer(actor: User, company_id: int) -> None:
    if actor.is_operator:
        return
    if _factory_company(actor) != company_id:
        raise NotFound("Not found.")


# --- plants -------------------------------------------------------------------------------

@dataclass
class PlantInput:
    name: str
    lat: float | str | None
    lon: float | str | None
    timezone: str = "Asia/Shanghai"
    address: str = ""
    city: str = ""


def _number(value: object, name: str, lo: float, hi: float, fields: dict[str, str]) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        fields[name] = N_("Enter a number.")
        return 0.0
    if not lo <= number <= hi:
        fields[name] = f"Must be between {lo:g} and {hi:g}."
    return number


def _check_timezone(name: str, fields: dict[str, str]) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fields["timezone"] = N_("Unknown time zone; use an IANA name such as Asia/Shanghai.")


def _plant_fields(data: PlantInput) -> tuple[dict[str, object], dict[str, str]]:
    fields: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        fields["name"] = N_("Enter the plant's name.")
    elif len(name) > 120:
        fields["name"] = N_("At most 120 characters.")
    lat = _number(data.lat, "lat", -90, 90, fields)
    lon = _number(data.lon, "lon", -180, 180, fields)
    _check_timezone(data.timezone or "", fields)
    clean = {"name": name, "lat": lat, "lon": lon, "timezone": data.timezone,
             "address": (data.address or "").strip()[:300], "city": (data.city or "").strip()[:120]}
    return clean, fields


def create_plant(session: Session, actor: User, data: PlantInput) -> Plant:
    company_id = _factory_company(actor)
    clean, fields = _plant_fields(data)
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    plant = Plant(company_id=company_id, **clean)
    session.add(plant)
    session.flush()
    audit.record(session, actor.id, "plant.created", plant, company_id, name=plant.name)
    session.commit()
    return plant


def update_plant(session: Session, actor: User, plant_id: int, data: PlantInput) -> Plant:
    plant = get_plant(session, actor, plant_id)
    _require_writer(actor, plant.company_id)
    clean, fields = _plant_fields(data)
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    before = {k: getattr(plant, k) for k in clean}
    for key, value in clean.items():
        setattr(plant, key, value)
    session.add(plant)
    audit.record(session, actor.id, "plant.updated", plant, plant.company_id, before=before)
    session.commit()
    return plant


def list_plants(session: Session, actor: User) -> list[Plant]:
    company_id = _factory_company(actor)
    return list(session.exec(
        select(Plant).where(Plant.company_id == company_id).order_by(col(Plant.name))))


def timezones() -> list[str]:
    return sorted(tz for tz in available_timezones() if "/" in tz and not tz.startswith("Etc"))


# --- machines and capabilities ------------------------------------------------------------

@dataclass
class CapabilityInput:
    process: str
    materials: list[str] = field(default_factory=list)
    rate_per_hour: int | str = 0
    setup_minutes: int | str = 0
    speed: float | str = 1.0
    max_part_mm: int | str | None = None
    tolerance_mm: float | str | None = None


@dataclass
class MachineInput:
    plant_id: int | str
    name: str
    kind: str = ""
    capabilities: list[CapabilityInput] = field(default_factory=list)


def _process_materials(session: Session) -> dict[str, set[str]]:
    allowed: dict[str, set[str]] = {p: set() for p in session.exec(select(Process.code))}
    for link in session.exec(select(ProcessMaterial)):
        allowed[link.process_code].add(link.material_code)
    return allowed


def _int(value: object, name: str, fields: dict[str, str], lo: int = 0,
         hi: int = 10**9) -> int:
    try:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        fields[name] = N_("Enter a whole number.")
        return 0
    if not lo <= number <= hi:
        fields[name] = f"Must be between {lo} and {hi}."
    return number


def _capabilities(session: Session, items: Sequence[CapabilityInput],
                  fields: dict[str, str]) -> list[Capability]:
    allowed = _process_materials(session)
    caps: list[Capability] = []
    if not items:
        fields["capabilities"] = N_("Add at least one capability (a process the machine can do).")
    seen: set[str] = set()
    for i, item in enumerate(items):
        prefix = f"capabilities.{i}."
        process = (item.process or "").strip()
        if process not in allowed:
            fields[prefix + "process"] = f"Unknown process {process!r}."
            continue
        if process in seen:
            fields[prefix + "process"] = f"Process {process} is listed twice."
        seen.add(process)
        materials = sorted({m.strip() for m in item.materials if m and m.strip()})
        usual = allowed[process]
        unknown = [m for m in materials if usual and m not in usual]
        if unknown:
            fields[prefix + "materials"] = (
                f"{', '.join(unknown)} cannot be processed by {process}.")
        rate = _int(item.rate_per_hour, prefix + "rate_per_hour", fields, 0, 10**8)
        setup = _int(item.setup_minutes, prefix + "setup_minutes", fields, 0, 7 * 1440)
        speed = _number(item.speed if item.speed not in (None, "") else 1.0,
                        prefix + "speed", 0.05, 20, fields)
        max_part = (None if item.max_part_mm in (None, "")
                    else _int(item.max_part_mm, prefix + "max_part_mm", fields, 1, 100_000))
        tolerance = (None if item.tolerance_mm in (None, "")
                     else _number(item.tolerance_mm, prefix + "tolerance_mm", 0.0001, 100, fields))
        caps.append(Capability(process_code=process, materials=materials, rate_per_hour=rate,
                               setup_minutes=setup, speed=speed, max_part_mm=max_part,
                               tolerance_mm=tolerance))
    return caps


def _cap_snapshot(machine: Machine) -> list[dict[str, object]]:
    return [{"process": c.process_code, "materials": list(c.materials),
             "rate_per_hour": c.rate_per_hour, "setup_minutes": c.setup_minutes,
             "speed": c.speed} for c in machine.capabilities]


def create_machine(session: Session, actor: User, data: MachineInput) -> Machine:
    fields: dict[str, str] = {}
    try:
        plant = get_plant(session, actor, int(data.plant_id))
    except (TypeError, ValueError, NotFound):
        raise ValidationError(
            "Choose one of your plants.", {"plant_id": N_("Unknown plant.")}
        ) from None
    _require_writer(actor, plant.company_id)
    name = (data.name or "").strip()
    if not name or len(name) > 120:
        fields["name"] = N_("Enter a name of at most 120 characters.")
    caps = _capabilities(session, data.capabilities, fields)
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    machine = Machine(plant_id=plant.id, name=name, kind=(data.kind or "").strip()[:120],
                      capabilities=caps)
    session.add(machine)
    session.flush()
    audit.record(session, actor.id, "machine.created", machine, plant.company_id,
                 capabilities=_cap_snapshot(machine))
    session.commit()
    return machine


def update_machine(session: Session, actor: User, machine_id: int, name: str | None = None,
                   kind: str | None = None,
                   capabilities: Sequence[CapabilityInput] | None = None) -> Machine:
    """Edits keep history: the audit log stores the capabilities before and after."""
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    _require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if machine.status == MachineStatus.retired:
        raise Conflict("This machine is retired; its history is read-only.")
    fields: dict[str, str] = {}
    before = {"name": machine.name, "kind": machine.kind, "capabilities": _cap_snapshot(machine)}
    if name is not None:
        if not name.strip() or len(name.strip()) > 120:
            fields["name"] = N_("Enter a name of at most 120 characters.")
        machine.name = name.strip()
    if kind is not None:
        machine.kind = kind.strip()[:120]
    if capabilities is not None:
        caps = _capabilities(session, capabilities, fields)
        if not fields:
            machine.capabilities = caps
    if fields:
        session.rollback()
        raise ValidationError("Please correct the highlighted fields.", fields)
    session.add(machine)
    session.flush()
    audit.record(session, actor.id, "machine.updated", machine, plant.company_id,  # type: ignore[union-attr]
                 before=before, after={"name": machine.name, "kind": machine.kind,
                                       "capabilities": _cap_snapshot(machine)})
    session.commit()
    return machine


def retire_machine(session: Session, actor: User, machine_id: int) -> Machine:
    """Retiring withdraws the machine's future idle time; held and booked work stays."""
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    _require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if machine.status == MachineStatus.retired:
        return machine
    now = utcnow()
    withdrawn = 0
    for window in _live_windows(session, machine.id, now, None):  # type: ignore[arg-type]
        if window.status == WindowStatus.published:
            if window.start < now:
                # keep the past part as history, withdraw the future part
                session.add(CapacityWindow(machine_id=machine.id, start=now, end=window.end,
                                           status=WindowStatus.withdrawn.value,
                                           source=window.source, rule_id=window.rule_id))
                window.end = now
                session.add(window)
            else:
                window.status = WindowStatus.withdrawn.value
                session.add(window)
            withdrawn += 1
    machine.status = MachineStatus.retired.value
    machine.retired_at = now
    session.add(machine)
    audit.record(session, actor.id, "machine.retired", machine, plant.company_id,  # type: ignore[union-attr]
                 withdrawn_windows=withdrawn)
    session.commit()
    return machine


def list_machines(session: Session, actor: User, plant_id: int | None = None,
                  include_retired: bool = False) -> list[Machine]:
    company_id = _factory_company(actor)
    query = (select(Machine).join(Plant, col(Plant.id) == Machine.plant_id)
             .where(Plant.company_id == company_id))
    if plant_id is not None:
        query = query.where(Machine.plant_id == plant_id)
    if not include_retired:
        query = query.where(Machine.status == MachineStatus.active.value)
    return list(session.exec(query.order_by(col(Machine.plant_id), col(Machine.name))))


# --- windows ------------------------------------------------------------------------------

def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationError(f"{name} needs a time zone offset.",
                              {name: "Give the time with its offset, e.g. 2026-12-01T08:00+08:00."})
    return value.astimezone(UTC)


def _live_windows(session: Session, machine_id: int, start: datetime | None,
                  end: datetime | None) -> list[CapacityWindow]:
    query = select(CapacityWindow).where(
        CapacityWindow.machine_id == machine_id,
        col(CapacityWindow.status).in_([s.value for s in LIVE_WINDOW_STATES]),
    )
    if end is not None:
        query = query.where(col(CapacityWindow.start) <= end)
    if start is not None:
        query = query.where(col(CapacityWindow.end) >= start)
    return list(session.exec(query.order_by(col(CapacityWindow.start)).with_for_update()))


@dataclass
class PublishResult:
    windows: list[CapacityWindow]  # the published segments now covering the request
    added_minutes: int  # 0 when everything was already published (an idempotent repeat)

    @property
    def created(self) -> bool:
        return self.added_minutes > 0


def _publish(session: Session, machine: Machine, start: datetime, end: datetime,
             source: str, rule_id: int | None = None) -> PublishResult:
    """Publish [start, end): the parts not yet live become published, merged with touching
    published segments; held and booked segments are left as they are."""
    live = _live_windows(session, machine.id, start, end)  # type: ignore[arg-type]
    # free gaps of [start, end) not covered by any live segment
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for w in live:
        if w.end <= cursor or w.start >= end:
            continue
        if w.start > cursor:
            gaps.append((cursor, w.start))
        cursor = max(cursor, w.end)
    if cursor < end:
        gaps.append((cursor, end))
    added = sum(int((b - a).total_seconds() // 60) for a, b in gaps)
    published = [w for w in live if w.status == WindowStatus.published]
    for a, b in gaps:
        # merge with published neighbours that touch or overlap the gap
        touching = [w for w in published if w.end >= a and w.start <= b]
        if touching:
            keep = touching[0]
            new_start = min([a] + [w.start for w in touching])
            new_end = max([b] + [w.end for w in touching])
            for other in touching[1:]:
                published.remove(other)
                session.delete(other)
            # Delete before growing: PostgreSQL checks the exclusion constraint per statement.
            session.flush()
            keep.start, keep.end = new_start, new_end
            session.add(keep)
        else:
            keep = CapacityWindow(machine_id=machine.id, start=a, end=b, source=source,
                                  rule_id=rule_id)
            session.add(keep)
            published.append(keep)
        published.sort(key=lambda w: w.start)
    session.flush()
    covering = [w for w in published if w.end > start and w.start < end]
    return PublishResult(covering, added)


def _check_span(start: datetime, end: datetime, allow_past: bool = False) -> None:
    fields: dict[str, str] = {}
    if end <= start:
        fields["end"] = N_("The end must be after the start.")
    elif end - start > MAX_WINDOW:
        fields["end"] = N_("A window can be at most 31 days long; use a shift rule for more.")
    if not allow_past and end <= utcnow():
        fields["end"] = N_("The window is entirely in the past.")
    if fields:
        raise ValidationError("This window cannot be published.", fields)


def publish_window(session: Session, actor: User, machine_id: int, start: datetime,
                   end: datetime, source: str = "manual") -> PublishResult:
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    _require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if machine.status == MachineStatus.retired:
        raise Conflict("This machine is retired and cannot publish capacity.")
    start, end = _aware(start, "start"), _aware(end, "end")
    _check_span(start, end)
    result = _publish(session, machine, start, end, source)
    if result.created:
        audit.record(session, actor.id, "window.published", machine, plant.company_id,  # type: ignore[union-attr]
                     start=start.isoformat(), end=end.isoformat(), source=source)
    session.commit()
    return result


@dataclass
class WithdrawResult:
    withdrawn_minutes: int
    kept: list[CapacityWindow]  # held or booked segments inside the range, left alone


def withdraw(session: Session, actor: User, machine_id: int, start: datetime,
             end: datetime) -> WithdrawResult:
    """Withdraw the published time of [start, end); held and booked parts stay and are
    reported. Partial overlaps split the published segment."""
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    _require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        raise ValidationError("The end must be after the start.", {"end": N_("Before the start.")})
    minutes = 0
    kept: list[CapacityWindow] = []
    for w in _live_windows(session, machine.id, start, end):  # type: ignore[arg-type]
        if w.end <= start or w.start >= end:
            continue
        if w.status != WindowStatus.published:
            kept.append(w)
            continue
        a, b = max(w.start, start), min(w.end, end)
        minutes += int((b - a).total_seconds() // 60)
        if a == w.start and b == w.end:  # the whole segment: keep its row as history
            w.status = WindowStatus.withdrawn.value
            session.add(w)
            continue
        pieces = [(w.start, a), (b, w.end)]
        session.add(CapacityWindow(machine_id=machine.id, start=a, end=b, rule_id=w.rule_id,
                                   status=WindowStatus.withdrawn.value, source=w.source))
        first = True
        for p_start, p_end in pieces:
            if p_end <= p_start:
                continue
            if first:
                w.start, w.end = p_start, p_end
                session.add(w)
                first = False
            else:
                session.add(CapacityWindow(machine_id=machine.id, start=p_start, end=p_end,
                                           rule_id=w.rule_id, source=w.source))
    if minutes:
        audit.record(session, actor.id, "window.withdrawn", machine, plant.company_id,  # type: ignore[union-attr]
                     start=start.isoformat(), end=end.isoformat(), minutes=minutes)
    session.commit()
    return WithdrawResult(minutes, kept)


def withdraw_window(session: Session, actor: User, window_id: int) -> WithdrawResult:
    window = get_window(session, actor, window_id)
    if window.status in (WindowStatus.held, WindowStatus.booked):
        raise Conflict(
            "This time is held or booked for an order and cannot be withdrawn; "
            "the free time around it can.")
    if window.status == WindowStatus.withdrawn:
        return WithdrawResult(0, [])
    return withdraw(session, actor, window.machine_id, window.start, window.end)


def occupy(session: Session, machine_id: int, start: datetime, end: datetime,
           status: WindowStatus) -> list[CapacityWindow]:
    """Turn the published time of [start, end) into held or booked segments (the plan's
    operation may run across gaps between windows). Raises Conflict when any part of it is
    already held or booked. The caller commits."""
    segments: list[CapacityWindow] = []
    for w in _live_windows(session, machine_id, start, end):
        if w.end <= start or w.start >= end:
            continue
        if w.status != WindowStatus.published:
            raise Conflict(f"Machine {machine_id} is no longer free between "
                           f"{max(w.start, start):%Y-%m-%d %H:%M} and "
                           f"{min(w.end, end):%Y-%m-%d %H:%M} UTC.")
        a, b = max(w.start, start), min(w.end, end)
        if w.start < a:
            session.add(CapacityWindow(machine_id=machine_id, start=w.start, end=a,
                                       rule_id=w.rule_id, source=w.source))
        if b < w.end:
            session.add(CapacityWindow(machine_id=machine_id, start=b, end=w.end,
                                       rule_id=w.rule_id, source=w.source))
        w.start, w.end, w.status = a, b, status.value
        session.add(w)
        segments.append(w)
    if not segments:
        raise Conflict(f"Machine {machine_id} has no published time between {start:%Y-%m-%d %H:%M}"
                       f" and {end:%Y-%m-%d %H:%M} UTC.")
    session.flush()
    return segments


def list_windows(session: Session, actor: User, machine_id: int, start: datetime | None,
                 end: datetime | None, include_withdrawn: bool = False) -> list[CapacityWindow]:
    get_machine(session, actor, machine_id)
    query = select(CapacityWindow).where(CapacityWindow.machine_id == machine_id)
    if not include_withdrawn:
        query = query.where(CapacityWindow.status != WindowStatus.withdrawn.value)
    if start is not None:
        query = query.where(col(CapacityWindow.end) > _aware(start, "from"))
    if end is not None:
        query = query.where(col(CapacityWindow.start) < _aware(end, "to"))
    return list(session.exec(query.order_by(col(CapacityWindow.start))))


def windows_for_machines(session: Session, machine_ids: Iterable[int], start: datetime,
                         end: datetime) -> dict[int, list[CapacityWindow]]:
    ids = list(machine_ids)
    result: dict[int, list[CapacityWindow]] = defaultdict(list)
    if not ids:
        return result
    rows = session.exec(select(CapacityWindow).where(
        col(CapacityWindow.machine_id).in_(ids),
        CapacityWindow.status != WindowStatus.withdrawn.value,
        col(CapacityWindow.end) > start, col(CapacityWindow.start) < end,
    ).order_by(col(CapacityWindow.start)))
    for w in rows:
        result[w.machine_id].append(w)
    return result


# --- shift rules --------------------------------------------------------------------------

@dataclass
class ShiftRuleInput:
    weekdays: list[int] | list[str]
    start_time: str
    end_time: str
    valid_from: date | str
    valid_until: date | str
    holidays: list[date] | list[str] = field(default_factory=list)


def _parse_date(value: date | str, name: str, fields: dict[str, str]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        fields[name] = N_("Use a date like 2026-12-01.")
        return None


def _parse_clock(value: str) -> time | None:
    if not _TIME_RE.match(value or ""):
        return None
    hours, minutes = int(value[:2]), int(value[3:])
    return time(0, 0) if hours == 24 else time(hours, minutes)


def expand_shifts(weekdays: Iterable[int], start_time: str, end_time: str, valid_from: date,
                  valid_until: date, holidays: Iterable[date], tz: str
                  ) -> list[tuple[datetime, datetime]]:
    """Concrete UTC windows of a weekly shift pattern in a plant's time zone.

    A shift belongs to the day it starts: Fri 22:00-06:00 runs into Saturday morning, and a
    holiday cancels the shifts starting on it. End 24:00 (or any end <= start) is next day."""
    zone = ZoneInfo(tz)
    days = set(weekdays)
    off = set(holidays)
    begin, finish = _parse_clock(start_time), _parse_clock(end_time)
    if begin is None or finish is None:
        raise ValueError("times must be HH:MM")
    overnight = end_time == "24:00" or (finish.hour, finish.minute) <= (begin.hour, begin.minute)
    out: list[tuple[datetime, datetime]] = []
    day = valid_from
    while day <= valid_until:
        if day.weekday() in days and day not in off:
            local_start = datetime.combine(day, begin, zone)
            end_day = day + timedelta(days=1) if overnight else day
            local_end = datetime.combine(end_day, finish, zone)
            out.append((local_start.astimezone(UTC), local_end.astimezone(UTC)))
        day += timedelta(days=1)
    return out


def add_shift_rule(session: Session, actor: User, machine_id: int,
                   data: ShiftRuleInput) -> tuple[CapacityRule, int]:
    """Store the rule and publish its windows (merged with existing idle time). Returns the
    rule and the number of minutes newly published."""
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    _require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if machine.status == MachineStatus.retired:
        raise Conflict("This machine is retired and cannot publish capacity.")
    fields: dict[str, str] = {}
    try:
        weekdays = sorted({int(d) for d in data.weekdays})
    except (TypeError, ValueError):
        weekdays = []
    if not weekdays or any(d < 0 or d > 6 for d in weekdays):
        fields["weekdays"] = N_("Choose at least one weekday (0 = Monday ... 6 = Sunday).")
    for name in ("start_time", "end_time"):
        if _parse_clock(getattr(data, name)) is None:
            fields[name] = N_("Use a time like 08:00 (24:00 for midnight at the end).")
    if data.start_time == data.end_time and "start_time" not in fields:
        fields["end_time"] = N_("A shift needs a length; for 24 hours use 00:00 to 24:00.")
    if data.start_time == "24:00":
        fields["start_time"] = N_("A shift cannot start at 24:00; use 00:00.")
    valid_from = _parse_date(data.valid_from, "valid_from", fields)
    valid_until = _parse_date(data.valid_until, "valid_until", fields)
    holidays: list[date] = []
    for h in data.holidays:
        parsed = _parse_date(h, "holidays", fields)
        if parsed:
            holidays.append(parsed)
    if valid_from and valid_until:
        if valid_until < valid_from:
            fields["valid_until"] = N_("The last day is before the first day.")
        elif (valid_until - valid_from).days >= MAX_RULE_DAYS:
            fields["valid_until"] = N_("A rule can cover at most one year.")
    if fields:
        raise ValidationError("Please correct the shift rule.", fields)
    assert valid_from and valid_until
    spans = expand_shifts(weekdays, data.start_time, data.end_time, valid_from, valid_until,
                          holidays, plant.timezone)  # type: ignore[union-attr]
    now = utcnow()
    spans = [(max(a, now.replace(second=0, microsecond=0)), b) for a, b in spans if b > now]
    if not spans:
        raise ValidationError("This rule gives no future shifts.",
                              {"valid_until": N_("All its shifts are in the past or on holidays.")})
    rule = CapacityRule(machine_id=machine.id, weekdays=weekdays,  # type: ignore[arg-type]
                        start_time=data.start_time, end_time=data.end_time,
                        valid_from=valid_from, valid_until=valid_until,
                        holidays=[h.isoformat() for h in holidays])
    session.add(rule)
    session.flush()
    added = 0
    for a, b in spans:
        added += _publish(session, machine, a, b, "rule", rule.id).added_minutes
    audit.record(session, actor.id, "capacity_rule.created", rule, plant.company_id,  # type: ignore[union-attr]
                 windows=len(spans), minutes=added)
    session.commit()
    return rule, added


def list_rules(session: Session, actor: User, machine_id: int) -> list[CapacityRule]:
    get_machine(session, actor, machine_id)
    return list(session.exec(select(CapacityRule).where(CapacityRule.machine_id == machine_id)
                             .order_by(col(CapacityRule.created_at).desc())))


# --- CSV import ---------------------------------------------------------------------------

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


def _parse_when(text: str, tz: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:  # local time of the plant
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


def import_csv(session: Session, actor: User, content: bytes) -> ImportReport:
    """All or nothing: every bad row is reported with its line number, and a file with any
    bad row imports nothing."""
    company_id = _factory_company(actor)
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
        _capabilities(session, [cap], field_errors)
        if field_errors:
            errors.append((line, "; ".join(f"{k.split('.')[-1]}: {v}"
                                           for k, v in field_errors.items())))
            continue
        caps_by_machine[key][cap.process] = cap  # type: ignore[index]
        ws, we = (row.get("window_start") or "").strip(), (row.get("window_end") or "").strip()
        if ws or we:
            try:
                start, end = _parse_when(ws, plant.timezone), _parse_when(we, plant.timezone)
                _check_span(start, end)
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
        fresh = _capabilities(session, list(caps.values()), {})
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
        result = _publish(session, machines[key], start, end, "csv")
        report.windows_published += 1
        report.minutes_published += result.added_minutes
    audit.record(session, actor.id, "capacity.imported", actor.company, company_id,
                 machines=report.machines_created, windows=report.windows_published)
    session.commit()
    return report


# --- search and utilisation ---------------------------------------------------------------

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
                    limit: int = 200) -> list[CapacityHit]:
    """Machines of verified factories that can do `process` on `material`, with their free
    (published) hours inside [start, end)."""
    fields: dict[str, str] = {}
    if not process:
        fields["process"] = N_("Choose a process.")
    start, end = _aware(start, "from"), _aware(end, "to")
    if end <= start:
        fields["to"] = N_("The end of the range must be after its start.")
    elif end - start > timedelta(days=180):
        fields["to"] = N_("Search at most 180 days at a time.")
    if min_hours < 0:
        fields["min_hours"] = N_("Must be zero or more.")
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
        prev = eligible.get(machine.id)
        if prev is None or cap.rate_per_hour < prev[0].rate_per_hour:
            eligible[machine.id] = (cap, machine, plant, company)
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


def _clipped_seconds(session: Session, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
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
        select(w.machine_id, func.sum(_clipped_seconds(session, start, end)))
        .where(w.machine_id.in_(machine_ids), w.status == WindowStatus.published.value,
               w.end > start, w.start < end)
        .group_by(w.machine_id)
    )
    return {mid: int(round(float(total or 0) / 60)) for mid, total in session.exec(query)}  # type: ignore[call-overload]


def minutes_by_status(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Minutes of every window status inside [start, end), summed in the database."""
    from sqlalchemy import func

    w = CapacityWindow.__table__.c  # type: ignore[attr-defined]
    query = (select(w.status, func.sum(_clipped_seconds(session, start, end)))
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

