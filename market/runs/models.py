"""Matching runs and their proposals (planned operations, per-order outcomes), and the
operators' platform settings the runs read."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from market.core.models import utc_column, utcnow


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"  # a proposal waits for review
    failed = "failed"
    approved = "approved"  # some or all orders approved
    rejected = "rejected"


class MatchingRun(SQLModel, table=True):
    __tablename__ = "matching_run"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=RunStatus.queued.value, max_length=16, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    started_at: datetime | None = Field(default=None, sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column())
    heartbeat_at: datetime | None = Field(default=None, sa_column=utc_column())
    worker: str = Field(default="", max_length=120)  # which process runs it (for the reaper)
    attempts: int = 0
    time_limit_seconds: int = 30
    # "match": open orders against idle time; "replan": orders already booked, started and
    # done work fixed, accepted work keeping its place unless moving it pays (runs/replan.py)
    kind: str = Field(default="match", max_length=16)
    trigger: str = Field(default="", max_length=200)  # why a re-plan: "downtime:3", ...
    # order ids asked for; empty means every open order of a verified buyer
    order_ids: list[int] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    horizon_start: datetime | None = Field(default=None, sa_column=utc_column())
    horizon_minutes: int | None = None
    problem: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    plan_status: str = Field(default="", max_length=16)  # OPTIMAL | FEASIBLE | NO_SOLUTION
    objective: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    bound: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    served: int | None = None
    unserved: int | None = None
    utilisation_bp: int | None = None  # planned / offered minutes in the horizon, basis points
    stats: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON,
                                                                             nullable=False))
    error: str = Field(default="", max_length=4000)
    reviewed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    reviewed_at: datetime | None = Field(default=None, sa_column=utc_column())

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: int | None, bound: int | None) -> float | None:
    """How far the plan's cost may be above the best possible, as a share of it."""
    if objective is None or bound is None or objective == 0:
        return None
    return max(0.0, (objective - bound) / abs(objective))


class RunOrder(SQLModel, table=True):
    """One order's outcome in a run: served with a cost and dates, or unserved and why."""

    __tablename__ = "run_order"
    __table_args__ = (sa.UniqueConstraint("run_id", "order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="matching_run.id", index=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    served: bool
    reason: str = Field(default="", max_length=500)
    cost: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    transport_cost: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    completion: datetime | None = Field(default=None, sa_column=utc_column())
    lateness_minutes: int | None = None
    decision: str = Field(default="", max_length=16)  # "" | approved | conflict | rejected
    decision_note: str = Field(default="", max_length=1000)


class PlannedOperation(SQLModel, table=True):
    __tablename__ = "planned_operation"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="matching_run.id", index=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    operation_id: int = Field(foreign_key="order_operation.id")
    machine_id: int = Field(foreign_key="machine.id", index=True)
    plant_id: int = Field(foreign_key="plant.id")
    start: datetime = Field(sa_column=utc_column(False))
    end: datetime = Field(sa_column=utc_column(False))
    cost: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class PlatformSetting(SQLModel, table=True):
    """Operator-editable settings (transport rates, deadlines) with who changed them last."""

    __tablename__ = "platform_setting"

    key: str = Field(primary_key=True, max_length=60)
    value: Any = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")
