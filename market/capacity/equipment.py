"""Plants, machines and their capabilities (process, materials, rate, setup, speed), and who
may see or change them: a factory's own, operators everything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.capacity.models import (
    Capability,
    CapacityWindow,
    Machine,
    MachineStatus,
    Plant,
)
from market.catalog.models import Process, ProcessMaterial
from market.core import audit
from market.core.errors import (
    N_,
    Conflict,
    FieldMessage,
    NotFound,
    PermissionDenied,
    ValidationError,
)


def factory_company_of(actor: User) -> int:
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


def require_writer(actor: User, company_id: int) -> None:
    if actor.is_operator:
        return
    if factory_company_of(actor) != company_id:
        raise NotFound("Not found.")


@dataclass
class PlantInput:
    name: str
    lat: float | str | None
    lon: float | str | None
    timezone: str = "Asia/Shanghai"
    address: str = ""
    city: str = ""


def bounded_number(value: object, name: str, lo: float, hi: float, fields: dict[str, str]) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        fields[name] = N_("Enter a number.")
        return 0.0
    if not lo <= number <= hi:
        fields[name] = FieldMessage("Must be between %(lo)s and %(hi)s.", lo=format(lo, "g"),
                                    hi=format(hi, "g"))
    return number


def check_timezone(name: str, fields: dict[str, str]) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fields["timezone"] = N_("Unknown time zone; use an IANA name such as Asia/Shanghai.")


def plant_fields(data: PlantInput) -> tuple[dict[str, object], dict[str, str]]:
    fields: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        fields["name"] = N_("Enter the plant's name.")
    elif len(name) > 120:
        fields["name"] = N_("At most 120 characters.")
    lat = bounded_number(data.lat, "lat", -90, 90, fields)
    lon = bounded_number(data.lon, "lon", -180, 180, fields)
    check_timezone(data.timezone or "", fields)
    clean = {"name": name, "lat": lat, "lon": lon, "timezone": data.timezone,
             "address": (data.address or "").strip()[:300], "city": (data.city or "").strip()[:120]}
    return clean, fields


def create_plant(session: Session, actor: User, data: PlantInput) -> Plant:
    company_id = factory_company_of(actor)
    clean, fields = plant_fields(data)
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
    require_writer(actor, plant.company_id)
    clean, fields = plant_fields(data)
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
    company_id = factory_company_of(actor)
    return list(session.exec(
        select(Plant).where(Plant.company_id == company_id).order_by(col(Plant.name))))


def timezones() -> list[str]:
    return sorted(tz for tz in available_timezones() if "/" in tz and not tz.startswith("Etc"))


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


def process_materials(session: Session) -> dict[str, set[str]]:
    allowed: dict[str, set[str]] = {p: set() for p in session.exec(select(Process.code))}
    for link in session.exec(select(ProcessMaterial)):
        allowed[link.process_code].add(link.material_code)
    return allowed


def bounded_int(value: object, name: str, fields: dict[str, str], lo: int = 0,
         hi: int = 10**9) -> int:
    try:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        fields[name] = N_("Enter a whole number.")
        return 0
    if not lo <= number <= hi:
        fields[name] = FieldMessage("Must be between %(lo)s and %(hi)s.", lo=lo, hi=hi)
    return number


def clean_capabilities(session: Session, items: Sequence[CapabilityInput],
                  fields: dict[str, str]) -> list[Capability]:
    allowed = process_materials(session)
    caps: list[Capability] = []
    if not items:
        fields["capabilities"] = N_("Add at least one capability (a process the machine can do).")
    seen: set[str] = set()
    for i, item in enumerate(items):
        prefix = f"capabilities.{i}."
        process = (item.process or "").strip()
        if process not in allowed:
            fields[prefix + "process"] = FieldMessage("Unknown process %(code)s.",
                                                       code=repr(process))
            continue
        if process in seen:
            fields[prefix + "process"] = FieldMessage("Process %(code)s is listed twice.",
                                                       code=process)
        seen.add(process)
        materials = sorted({m.strip() for m in item.materials if m and m.strip()})
        usual = allowed[process]
        unknown = [m for m in materials if usual and m not in usual]
        if unknown:
            fields[prefix + "materials"] = FieldMessage(
                "%(materials)s cannot be processed by %(process)s.",
                materials=", ".join(unknown), process=process)
        rate = bounded_int(item.rate_per_hour, prefix + "rate_per_hour", fields, 0, 10**8)
        setup = bounded_int(item.setup_minutes, prefix + "setup_minutes", fields, 0, 7 * 1440)
        speed = bounded_number(item.speed if item.speed not in (None, "") else 1.0,
                        prefix + "speed", 0.05, 20, fields)
        max_part = (None if item.max_part_mm in (None, "")
                    else bounded_int(item.max_part_mm, prefix + "max_part_mm", fields, 1, 100_000))
        tolerance = (None if item.tolerance_mm in (None, "")
                     else bounded_number(item.tolerance_mm, prefix + "tolerance_mm", 0.0001, 100,
                                         fields))
        caps.append(Capability(process_code=process, materials=materials, rate_per_hour=rate,
                               setup_minutes=setup, speed=speed, max_part_mm=max_part,
                               tolerance_mm=tolerance))
    return caps


def capability_snapshot(machine: Machine) -> list[dict[str, object]]:
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
    require_writer(actor, plant.company_id)
    name = (data.name or "").strip()
    if not name or len(name) > 120:
        fields["name"] = N_("Enter a name of at most 120 characters.")
    caps = clean_capabilities(session, data.capabilities, fields)
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    machine = Machine(plant_id=plant.id, name=name, kind=(data.kind or "").strip()[:120],
                      capabilities=caps)
    session.add(machine)
    session.flush()
    audit.record(session, actor.id, "machine.created", machine, plant.company_id,
                 capabilities=capability_snapshot(machine))
    session.commit()
    return machine


def update_machine(session: Session, actor: User, machine_id: int, name: str | None = None,
                   kind: str | None = None,
                   capabilities: Sequence[CapabilityInput] | None = None) -> Machine:
    """Edits keep history: the audit log stores the capabilities before and after."""
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if machine.status == MachineStatus.retired:
        raise Conflict("This machine is retired; its history is read-only.")
    fields: dict[str, str] = {}
    before = {"name": machine.name, "kind": machine.kind,
              "capabilities": capability_snapshot(machine)}
    if name is not None:
        if not name.strip() or len(name.strip()) > 120:
            fields["name"] = N_("Enter a name of at most 120 characters.")
        machine.name = name.strip()
    if kind is not None:
        machine.kind = kind.strip()[:120]
    if capabilities is not None:
        caps = clean_capabilities(session, capabilities, fields)
        if not fields:
            machine.capabilities = caps
    if fields:
        session.rollback()
        raise ValidationError("Please correct the highlighted fields.", fields)
    session.add(machine)
    session.flush()
    audit.record(session, actor.id, "machine.updated", machine, plant.company_id,  # type: ignore[union-attr]
                 before=before, after={"name": machine.name, "kind": machine.kind,
                                       "capabilities": capability_snapshot(machine)})
    session.commit()
    return machine


def list_machines(session: Session, actor: User, plant_id: int | None = None,
                  include_retired: bool = False) -> list[Machine]:
    company_id = factory_company_of(actor)
    query = (select(Machine).join(Plant, col(Plant.id) == Machine.plant_id)
             .where(Plant.company_id == company_id))
    if plant_id is not None:
        query = query.where(Machine.plant_id == plant_id)
    if not include_retired:
        query = query.where(Machine.status == MachineStatus.active.value)
    return list(session.exec(query.order_by(col(Machine.plant_id), col(Machine.name))))
