"""Shared helpers for capacity tests: a factory with a plant and a machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from market.accounts.models import User
from market.capacity import equipment


def future_monday(weeks: int = 1) -> datetime:
    """Midnight UTC of a Monday at least `weeks` weeks ahead, so tests never age."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7 * weeks)


def setup_machine(session, user_id: int, tz: str = "Asia/Shanghai",
                  process: str = "cnc_milling", materials: list[str] | None = None,
                  rate: int = 15000, lat: float = 23.02, lon: float = 113.75):
    actor = session.get(User, user_id)
    plant = equipment.create_plant(session, actor, equipment.PlantInput(
        name="Chang'an plant", lat=lat, lon=lon, timezone=tz, city="Dongguan"))
    machine = equipment.create_machine(session, actor, equipment.MachineInput(
        plant_id=plant.id, name="Haas VF-2", kind="VMC",
        capabilities=[equipment.CapabilityInput(process=process,
                                               materials=materials or ["al6061"],
                                               rate_per_hour=rate, setup_minutes=30)]))
    return actor, plant, machine
