"""Supply side: plants, machines, what they can do, and when they are idle."""

from datetime import date, datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, Relationship, SQLModel

from market.core.models import utc_column, utcnow


class MachineStatus(StrEnum):
    active = "active"
    retired = "retired"  # kept for history: past windows and bookings still point here


class WindowStatus(StrEnum):
    published = "published"  # idle, offered to the matching engine
    held = "held"  # reserved by an approved plan until its quote expires
    booked = "booked"  # firm work
    withdrawn = "withdrawn"  # taken back by the factory; kept for history


# Windows in these states occupy the machine; withdrawn ones do not.
LIVE_WINDOW_STATES = (WindowStatus.published, WindowStatus.held, WindowStatus.booked)


class Plant(SQLModel, table=True):
    __tablename__ = "plant"
    __table_args__ = (
        sa.CheckConstraint("lat between -90 and 90", name="lat"),
        sa.CheckConstraint("lon between -180 and 180", name="lon"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=120)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    lat: float
    lon: float
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))

    machines: list["Machine"] = Relationship(back_populates="plant")


class Machine(SQLModel, table=True):
    __tablename__ = "machine"
    __table_args__ = (
        sa.CheckConstraint("status in ('active', 'retired')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plant_id: int = Field(foreign_key="plant.id", index=True)
    name: str = Field(max_length=120)
    kind: str = Field(default="", max_length=120)
    status: str = Field(default=MachineStatus.active.value, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    retired_at: datetime | None = Field(default=None, sa_column=utc_column())

    plant: Optional["Plant"] = Relationship(back_populates="machines")
    capabilities: list["Capability"] = Relationship(
        back_populates="machine",
        sa_relationship_kwargs={"cascade": "all, delete-orphan", "order_by": "Capability.id"},
    )


class Capability(SQLModel, table=True):
    """What one machine can do: a process, on some materials, at a price and a speed."""

    __tablename__ = "capability"
    __table_args__ = (
        sa.CheckConstraint("rate_per_hour >= 0", name="rate"),
        sa.CheckConstraint("setup_minutes >= 0", name="setup"),
        sa.CheckConstraint("speed > 0", name="speed"),
    )

    id: int | None = Field(default=None, primary_key=True)
    machine_id: int = Field(foreign_key="machine.id", index=True)
    process_code: str = Field(foreign_key="process.code", index=True, max_length=40)
    # Material codes; an empty list accepts any material (as in the matching format).
    materials: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    rate_per_hour: int  # minor units of the platform currency
    setup_minutes: int = 0
    speed: float = 1.0
    max_part_mm: int | None = None
    tolerance_mm: float | None = None

    machine: Optional["Machine"] = Relationship(back_populates="capabilities")


class CapacityRule(SQLModel, table=True):
    """A recurring shift, e.g. Mon-Fri 08:00-16:00 from 1 Dec to 31 Jan, in the plant's
    time zone. It is expanded into CapacityWindow rows; the rule is kept to show and edit."""

    __tablename__ = "capacity_rule"

    id: int | None = Field(default=None, primary_key=True)
    machine_id: int = Field(foreign_key="machine.id", index=True)
    weekdays: list[int] = Field(sa_column=sa.Column(sa.JSON, nullable=False))  # 0 = Monday
    start_time: str = Field(max_length=5)  # "HH:MM" local
    end_time: str = Field(max_length=5)  # "HH:MM" local; <= start means the next day
    valid_from: date
    valid_until: date
    holidays: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    withdrawn_at: datetime | None = Field(default=None, sa_column=utc_column())


class CapacityWindow(SQLModel, table=True):
    """A concrete [start, end) of idle, held or booked time on one machine, in UTC.

    Live windows of one machine never overlap: the capacity service refuses or merges, and on
    PostgreSQL an exclusion constraint over the time range guarantees it under concurrency."""

    __tablename__ = "capacity_window"
    __table_args__ = (
        sa.CheckConstraint('"end" > start', name="positive"),
        sa.CheckConstraint(
            "status in ('published', 'held', 'booked', 'withdrawn')", name="status"
        ),
        sa.Index("ix_capacity_window_machine_start", "machine_id", "start"),
        sa.Index("ix_capacity_window_start_end", "start", "end"),
        postgresql.ExcludeConstraint(
            ("machine_id", "="),
            (sa.text("tstzrange(start, \"end\", '[)')"), "&&"),
            where=sa.text("status <> 'withdrawn'"),
            using="gist",
            name="ex_capacity_window_no_overlap",
        ).ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    machine_id: int = Field(foreign_key="machine.id")
    rule_id: int | None = Field(default=None, foreign_key="capacity_rule.id", index=True)
    start: datetime = Field(sa_column=utc_column(False))
    end: datetime = Field(sa_column=utc_column(False))
    status: str = Field(default=WindowStatus.published.value, max_length=16)
    source: str = Field(default="manual", max_length=16)  # manual | rule | api | csv
    # the planned operation that holds or books this segment (none while published)
    planned_operation_id: int | None = Field(default=None, foreign_key="planned_operation.id",
                                             index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)




class MachineDowntime(SQLModel, table=True):
    """A factory's report that a machine is down over [start, end): its idle time there is
    withdrawn, booked work there is at risk, and a re-plan of the orders hit is queued."""

    __tablename__ = "machine_downtime"
    __table_args__ = (sa.CheckConstraint('"end" > start', name="positive"),)

    id: int | None = Field(default=None, primary_key=True)
    machine_id: int = Field(foreign_key="machine.id", index=True)
    start: datetime = Field(sa_column=utc_column(False))
    end: datetime = Field(sa_column=utc_column(False))
    reason: str = Field(max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    withdrawn_minutes: int = 0
    # what it hit, as the deals and runs domains answered (ids only: capacity sits below them)
    affected_bookings: list[int] = Field(default_factory=list,
                                         sa_column=sa.Column(sa.JSON, nullable=False))
    replan_run_id: int | None = None
