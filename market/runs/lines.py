"""The runs page's list of runs: the columns it shows, a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core.db import read
from market.core.errors import PermissionDenied
from market.runs.models import MatchingRun, relative_gap


class RunLine(NamedTuple):
    """A run as the runs page lists it: the columns it shows, not the whole run (whose
    problem and stats can be large). A tuple: compared and hashed as one (core.fragments)."""

    id: int
    status: str
    kind: str
    trigger: str
    created_at: datetime
    started_at: datetime | None
    time_limit_seconds: int
    served: int | None
    unserved: int | None
    objective: int | None
    bound: int | None
    progress: int = 0  # percent of the time limit spent (runs.service.progress), not a column

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)


_PAGE = (select(*(getattr(MatchingRun, name) for name in RunLine._fields if name != "progress"))
         .order_by(col(MatchingRun.id).desc())
         .offset(bindparam("offset")).limit(bindparam("limit")))


def list_run_lines(session: Session, actor: User, page: int = 1,
                   per_page: int = 20) -> tuple[list[RunLine], bool]:
    """A page of runs, newest first, as `RunLine`s, and whether another page follows."""
    if not actor.is_operator:
        raise PermissionDenied("Only platform operators run and review matching.")
    rows = read(session, _PAGE, offset=(page - 1) * per_page, limit=per_page + 1)
    return [RunLine(*row) for row in rows[:per_page]], len(rows) > per_page
