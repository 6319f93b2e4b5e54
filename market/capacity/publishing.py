"""Published capacity: one-off windows and shift rules expanded into windows in the plant's
zone; withdrawing idle time; `occupy` (held or booked time cut out of idle windows); a
machine's windows never overlap."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.capacity.equipment import get_machine, get_window, require_writer
from market.capacity.models import (
    LIVE_WINDOW_STATES,
    CapacityRule,
    CapacityWindow,
    Machine,
    MachineStatus,
    Plant,
    WindowStatus,
)
from market.core import audit, dates
from market.core.errors import N_, Conflict, NotFound, ValidationError
from market.core.models import utcnow

MAX_WINDOW = timedelta(days=31)


MAX_RULE_DAYS = 366


TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationError("%(field)s needs a time zone offset.",
                              {name: N_("Give the time with its offset, e.g. "
                                        "2026-12-01T08:00+08:00.")}, {"field": name})
    return value.astimezone(UTC)


def live_windows(session: Session, machine_id: int, start: datetime | None,
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


def publish_span(session: Session, machine: Machine, start: datetime, end: datetime,
             source: str, rule_id: int | None = None) -> PublishResult:
    """Publish [start, end): the parts not yet live become published, merged with touching
    published segments; held and booked segments are left as they are."""
    live = live_windows(session, machine.id, start, end)  # type: ignore[arg-type]
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


def check_span(start: datetime, end: datetime, allow_past: bool = False) -> None:
    fields: dict[str, str] = {}
    for name, value in (("start", start), ("end", end)):
        if not dates.MIN_YEAR <= value.year <= dates.MAX_YEAR:
            fields[name] = N_("Use a date between 2000 and 2100.")
    if fields:
        raise ValidationError("This window cannot be published.", fields)
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
    require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if machine.status == MachineStatus.retired:
        raise Conflict("This machine is retired and cannot publish capacity.")
    start, end = aware(start, "start"), aware(end, "end")
    check_span(start, end)
    result = publish_span(session, machine, start, end, source)
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
    require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    start, end = aware(start, "start"), aware(end, "end")
    if end <= start:
        raise ValidationError("The end must be after the start.", {"end": N_("Before the start.")})
    minutes, kept = withdraw_published(session, machine.id, start, end)  # type: ignore[arg-type]
    if minutes:
        audit.record(session, actor.id, "window.withdrawn", machine, plant.company_id,  # type: ignore[union-attr]
                     start=start.isoformat(), end=end.isoformat(), minutes=minutes)
    session.commit()
    return WithdrawResult(minutes, kept)


def withdraw_published(session: Session, machine_id: int, start: datetime, end: datetime
                       ) -> tuple[int, list[CapacityWindow]]:
    """Withdraw the published time of [start, end) on a machine, splitting segments that
    straddle it; return the minutes withdrawn and the held or booked segments inside, left
    alone. No checks, no commit: the callers (a withdrawal, a downtime) do both."""
    minutes = 0
    kept: list[CapacityWindow] = []
    for w in live_windows(session, machine_id, start, end):
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
        session.add(CapacityWindow(machine_id=machine_id, start=a, end=b, rule_id=w.rule_id,
                                   status=WindowStatus.withdrawn.value, source=w.source))
        first = True
        for p_start, p_end in ((w.start, a), (b, w.end)):
            if p_end <= p_start:
                continue
            if first:
                w.start, w.end = p_start, p_end
                session.add(w)
                first = False
            else:
                session.add(CapacityWindow(machine_id=machine_id, start=p_start, end=p_end,
                                           rule_id=w.rule_id, source=w.source))
    session.flush()
    return minutes, kept


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
    for w in live_windows(session, machine_id, start, end):
        if w.end <= start or w.start >= end:
            continue
        if w.status != WindowStatus.published:
            raise Conflict("Machine %(machine)s is no longer free between %(start)s and "
                           "%(end)s UTC.", params={
                               "machine": machine_id,
                               "start": f"{max(w.start, start):%Y-%m-%d %H:%M}",
                               "end": f"{min(w.end, end):%Y-%m-%d %H:%M}"})
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
        raise Conflict("Machine %(machine)s has no published time between %(start)s and "
                       "%(end)s UTC.", params={"machine": machine_id,
                                               "start": f"{start:%Y-%m-%d %H:%M}",
                                               "end": f"{end:%Y-%m-%d %H:%M}"})
    session.flush()
    return segments


def list_windows(session: Session, actor: User, machine_id: int, start: datetime | None,
                 end: datetime | None, include_withdrawn: bool = False) -> list[CapacityWindow]:
    get_machine(session, actor, machine_id)
    query = select(CapacityWindow).where(CapacityWindow.machine_id == machine_id)
    if not include_withdrawn:
        query = query.where(CapacityWindow.status != WindowStatus.withdrawn.value)
    if start is not None:
        query = query.where(col(CapacityWindow.end) > aware(start, "from"))
    if end is not None:
        query = query.where(col(CapacityWindow.start) < aware(end, "to"))
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


@dataclass
class ShiftRuleInput:
    weekdays: list[int] | list[str]
    start_time: str
    end_time: str
    valid_from: date | str
    valid_until: date | str
    holidays: list[date] | list[str] = field(default_factory=list)


def parse_day(value: date | str, name: str, fields: dict[str, str]) -> date | None:
    try:
        return dates.parse_day(value)
    except dates.DateError as exc:
        fields[name] = exc.message
        return None


def parse_clock(value: str) -> time | None:
    if not TIME_RE.match(value or ""):
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
    begin, finish = parse_clock(start_time), parse_clock(end_time)
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
    require_writer(actor, plant.company_id)  # type: ignore[union-attr]
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
        if parse_clock(getattr(data, name)) is None:
            fields[name] = N_("Use a time like 08:00 (24:00 for midnight at the end).")
    if data.start_time == data.end_time and "start_time" not in fields:
        fields["end_time"] = N_("A shift needs a length; for 24 hours use 00:00 to 24:00.")
    if data.start_time == "24:00":
        fields["start_time"] = N_("A shift cannot start at 24:00; use 00:00.")
    valid_from = parse_day(data.valid_from, "valid_from", fields)
    valid_until = parse_day(data.valid_until, "valid_until", fields)
    holidays: list[date] = []
    for h in data.holidays:
        parsed = parse_day(h, "holidays", fields)
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
        added += publish_span(session, machine, a, b, "rule", rule.id).added_minutes
    audit.record(session, actor.id, "capacity_rule.created", rule, plant.company_id,  # type: ignore[union-attr]
                 windows=len(spans), minutes=added)
    session.commit()
    return rule, added


def _rule_spans(rule: CapacityRule, tz: str, now: datetime) -> list[tuple[datetime, datetime]]:
    """The rule's shifts from now on, as it was saved."""
    spans = expand_shifts(rule.weekdays, rule.start_time, rule.end_time, rule.valid_from,
                          rule.valid_until, [date.fromisoformat(h) for h in rule.holidays], tz)
    return [(max(a, now), b) for a, b in spans if b > now]


def get_rule(session: Session, actor: User, rule_id: int) -> CapacityRule:
    rule = session.get(CapacityRule, rule_id)
    if rule is None:
        raise NotFound("Shift rule not found.")
    get_machine(session, actor, rule.machine_id)
    return rule


def withdraw_rule(session: Session, actor: User, rule_id: int,
                  commit: bool = True) -> WithdrawResult:
    """Withdraw a shift rule as a unit: its future idle time goes (held and booked time stays
    and is reported), except where another live rule of the machine publishes the same time.
    Past shifts stay as history."""
    rule = get_rule(session, actor, rule_id)
    machine = session.get(Machine, rule.machine_id)
    plant = session.get(Plant, machine.plant_id)  # type: ignore[union-attr]
    require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if rule.withdrawn_at is not None:
        raise Conflict("This shift rule was already withdrawn.")
    now = utcnow().replace(second=0, microsecond=0)
    others = [span for other in session.exec(select(CapacityRule).where(
        CapacityRule.machine_id == rule.machine_id, CapacityRule.id != rule.id,
        col(CapacityRule.withdrawn_at).is_(None))).all()
        for span in _rule_spans(other, plant.timezone, now)]  # type: ignore[union-attr]
    minutes, kept = 0, []
    for a, b in _rule_spans(rule, plant.timezone, now):  # type: ignore[union-attr]
        for piece_a, piece_b in _subtract((a, b), others):
            got, held = withdraw_published(session, rule.machine_id, piece_a, piece_b)
            minutes += got
            kept.extend(held)
    rule.withdrawn_at = utcnow()
    session.add(rule)
    audit.record(session, actor.id, "capacity_rule.withdrawn", rule, plant.company_id,  # type: ignore[union-attr]
                 minutes=minutes)
    if commit:
        session.commit()
    return WithdrawResult(minutes, kept)


def replace_shift_rule(session: Session, actor: User, rule_id: int,
                       data: ShiftRuleInput) -> tuple[CapacityRule, int]:
    """Edit a rule: the old one withdrawn and the new one published, in one transaction (a
    rule the checks refuse changes nothing)."""
    rule = get_rule(session, actor, rule_id)
    withdraw_rule(session, actor, rule_id, commit=False)
    return add_shift_rule(session, actor, rule.machine_id, data)


def _subtract(span: tuple[datetime, datetime], others: list[tuple[datetime, datetime]]
              ) -> list[tuple[datetime, datetime]]:
    pieces = [span]
    for oa, ob in others:
        nxt = []
        for a, b in pieces:
            if ob <= a or oa >= b:
                nxt.append((a, b))
                continue
            if a < oa:
                nxt.append((a, oa))
            if ob < b:
                nxt.append((ob, b))
        pieces = nxt
    return pieces


def list_rules(session: Session, actor: User, machine_id: int) -> list[CapacityRule]:
    get_machine(session, actor, machine_id)
    return list(session.exec(select(CapacityRule).where(CapacityRule.machine_id == machine_id)
                             .order_by(col(CapacityRule.withdrawn_at).is_not(None),
                                       col(CapacityRule.created_at).desc())))


def retire_machine(session: Session, actor: User, machine_id: int) -> Machine:
    """Retiring withdraws the machine's future idle time; held and booked work stays."""
    machine = get_machine(session, actor, machine_id)
    plant = session.get(Plant, machine.plant_id)
    require_writer(actor, plant.company_id)  # type: ignore[union-attr]
    if machine.status == MachineStatus.retired:
        return machine
    now = utcnow()
    withdrawn = 0
    for window in live_windows(session, machine.id, now, None):  # type: ignore[arg-type]
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
