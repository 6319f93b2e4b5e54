"""Machine downtime: a factory reports a machine down from-to with a reason. The idle time in
the range is withdrawn at once; what is booked there is for the deals domain to answer (at
risk, re-planned), reached through `events.machine_down` in the same transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import User
from market.capacity.equipment import get_machine, require_writer
from market.capacity.models import MachineDowntime, MachineStatus, Plant
from market.capacity.publishing import aware, withdraw_published
from market.core import audit, dates, events
from market.core.db import write_lock
from market.core.errors import N_, Conflict, ValidationError
from market.core.models import utcnow

MAX_DOWNTIME = timedelta(days=90)


def report_downtime(session: Session, actor: User, machine_id: int, start: datetime,
                    end: datetime, reason: str) -> MachineDowntime:
    """Record the downtime, withdraw the idle time in it and let the booked work be
    re-planned. Returns the downtime with what it hit (`affected_bookings`, `replan_run_id`).
    The whole read-check-write holds the write lock (on SQLite a read before it could not
    write after another writer)."""
    with write_lock(session):
        return _report(session, actor, machine_id, start, end, reason)


def _report(session: Session, actor: User, machine_id: int, start: datetime, end: datetime,
            reason: str) -> MachineDowntime:
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    accounts.require_active(session, actor)
    if machine.status == MachineStatus.retired:
        raise Conflict("This machine is retired; it has no time to take back.")
    start, end = aware(start, "start"), aware(end, "end")
    fields: dict[str, str] = {}
    for name, value in (("start", start), ("end", end)):
        if not dates.MIN_YEAR <= value.year <= dates.MAX_YEAR:
            fields[name] = N_("Use a date between 2000 and 2100.")
    if not fields and end <= start:
        fields["end"] = N_("The end must be after the start.")
    elif not fields and end - start > MAX_DOWNTIME:
        fields["end"] = N_("A downtime can be at most 90 days long; retire the machine instead.")
    elif not fields and end <= utcnow():
        fields["end"] = N_("The downtime is entirely in the past.")
    reason = (reason or "").strip()
    if not reason:
        fields["reason"] = N_("Say what happened, for the buyers and operators.")
    elif len(reason) > 500:
        fields["reason"] = N_("At most 500 characters.")
    if fields:
        raise ValidationError("The downtime cannot be recorded.", fields)
    minutes, _booked = withdraw_published(session, machine.id, start, end)  # type: ignore[arg-type]
    downtime = MachineDowntime(machine_id=machine.id, start=start, end=end, reason=reason,  # type: ignore[arg-type]
                               created_by_id=actor.id, withdrawn_minutes=minutes)
    session.add(downtime)
    session.flush()
    answer = events.collect(events.machine_down, session, downtime=downtime, machine=machine,
                            actor=actor)
    downtime.affected_bookings = list(answer.get("affected_bookings", []))
    downtime.replan_run_id = answer.get("replan_run_id")
    session.add(downtime)
    audit.record(session, actor.id, "machine.down", machine, plant.company_id,  # type: ignore[union-attr]
                 start=start.isoformat(), end=end.isoformat(), reason=reason,
                 withdrawn_minutes=minutes, affected=downtime.affected_bookings)
    session.commit()
    return downtime


def list_downtimes(session: Session, actor: User, machine_id: int) -> list[MachineDowntime]:
    machine = get_machine(session, actor, machine_id)
    return list(session.exec(select(MachineDowntime).where(
        MachineDowntime.machine_id == machine.id).order_by(col(MachineDowntime.start).desc())))


def keep_down(session: Session, machine_id: int, start: datetime, end: datetime) -> int:
    """Time given back on a machine (a moved booking's) stays withdrawn where the machine is
    reported down: a broken machine's hours are never offered as idle. Returns the minutes."""
    downs = session.exec(select(MachineDowntime).where(
        MachineDowntime.machine_id == machine_id, col(MachineDowntime.end) > start,
        col(MachineDowntime.start) < end)).all()
    return sum(withdraw_published(session, machine_id, max(d.start, start), min(d.end, end))[0]
               for d in downs)

