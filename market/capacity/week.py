"""What the week calendar reads: a plant with its active machines, and their windows in a
week, as rows (read-only; prebuilt Core statements, core.db.read)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, select
from sqlmodel import Session, col

from market.accounts.models import User
from market.capacity.models import CapacityWindow, Machine, MachineStatus, Plant, WindowStatus
from market.core.db import read
from market.core.errors import NotFound


class WeekPlant(NamedTuple):
    id: int
    company_id: int
    timezone: str


_PLANT_MACHINES = (
    select(Plant.id, Plant.company_id, Plant.timezone, Machine.id.label("machine_id"),  # type: ignore[union-attr]
           Machine.name)
    .select_from(Plant)
    .outerjoin(Machine, and_(col(Machine.plant_id) == col(Plant.id),
                             col(Machine.status) == MachineStatus.active.value))
    .where(col(Plant.id) == bindparam("plant_id"))
    .order_by(col(Machine.name)))

_WINDOWS = (
    select(CapacityWindow.id, CapacityWindow.machine_id, CapacityWindow.start,
           CapacityWindow.end, CapacityWindow.status)
    .join(Machine, col(Machine.id) == col(CapacityWindow.machine_id))
    .where(col(Machine.plant_id) == bindparam("plant_id"),
           col(Machine.status) == MachineStatus.active.value,
           col(CapacityWindow.status) != WindowStatus.withdrawn.value,
           col(CapacityWindow.end) > bindparam("start"),
           col(CapacityWindow.start) < bindparam("end"))
    .order_by(col(CapacityWindow.start)))


class MachineRow(NamedTuple):
    id: int
    name: str


def plant_machines(session: Session, actor: User, plant_id: int
                   ) -> tuple[WeekPlant, list[MachineRow]]:
    """The plant (NotFound unless it is the actor's company's, or the actor an operator)
    and its active machines by name, in one query."""
    rows = read(session, _PLANT_MACHINES, plant_id=plant_id)
    if not rows or not (actor.is_operator or rows[0].company_id == actor.company_id):
        raise NotFound("Plant not found.")  # another factory's plant does not exist for you
    plant = WeekPlant(rows[0].id, rows[0].company_id, rows[0].timezone)
    return plant, [MachineRow(r.machine_id, r.name) for r in rows if r.machine_id is not None]


def week_windows(session: Session, plant_id: int, start: datetime,
                 end: datetime) -> dict[int, list[Any]]:
    """The windows of the plant's active machines that overlap [start, end), withdrawn
    ones left out, by machine, earliest first."""
    result: dict[int, list[Any]] = defaultdict(list)
    for w in read(session, _WINDOWS, plant_id=plant_id, start=start, end=end):
        result[w.machine_id].append(w)
    return result
