"""Time the deals domain gives back or asks for: releasing held and booked time as idle,
and the answer-by deadline of a proposed booking."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from market.capacity.models import CapacityWindow, WindowStatus

RESPONSE_HOURS = 48
ANSWER_LEAD_HOURS = 4  # a factory answers at least this long before its work starts


def answer_by(now: datetime, start: datetime) -> datetime:
    """A proposed booking's deadline: RESPONSE_HOURS from now, but ending ANSWER_LEAD_HOURS
    before the work starts (a deadline after the start helps nobody). Work starting sooner
    gets until its start; work whose planned start has passed (money that came late) gets an
    hour, and the re-plan that follows a lapse finds it a new place."""
    deadline = min(now + timedelta(hours=RESPONSE_HOURS),
                   start - timedelta(hours=ANSWER_LEAD_HOURS))
    if deadline > now:
        return deadline
    return start if start > now else now + timedelta(hours=1)


def release(session: Session, planned_ids: list[int]) -> int:
    """Give the held or booked time of these planned operations back as idle time, merged
    with the idle segments it touches. Returns the minutes released."""
    if not planned_ids:
        return 0
    segments = session.exec(select(CapacityWindow).where(
        col(CapacityWindow.planned_operation_id).in_(planned_ids),
        col(CapacityWindow.status).in_([WindowStatus.held.value, WindowStatus.booked.value]),
    )).all()
    minutes = 0
    machines: dict[int, list[CapacityWindow]] = defaultdict(list)
    for seg in segments:
        minutes += seg.minutes
        seg.status, seg.planned_operation_id = WindowStatus.published.value, None
        session.add(seg)
        machines[seg.machine_id].append(seg)
    session.flush()
    for machine_id, segs in machines.items():
        lo = min(s.start for s in segs)
        hi = max(s.end for s in segs)
        neighbours = session.exec(select(CapacityWindow).where(
            CapacityWindow.machine_id == machine_id,
            CapacityWindow.status == WindowStatus.published.value,
            col(CapacityWindow.end) >= lo, col(CapacityWindow.start) <= hi,
        ).order_by(col(CapacityWindow.start))).all()
        keep: CapacityWindow | None = None
        for w in neighbours:
            if keep is not None and w.start <= keep.end:
                new_end = max(keep.end, w.end)
                # delete first: PostgreSQL checks the exclusion constraint per statement
                session.delete(w)
                session.flush()
                keep.end = new_end
                session.add(keep)
            else:
                keep = w
        session.flush()
    return minutes
