"""Factories: plants, machines, capabilities, shift rules, the capacity calendar, CSV import
and utilisation. Views parse and render; the capacity modules (equipment,
publishing, csv_import, availability) own the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from market.accounts import service as accounts
from market.capacity import downtime, equipment, publishing
from market.capacity import week as week_reads
from market.capacity.models import Plant
from market.catalog import places
from market.catalog import service as taxonomy
from market.core.errors import N_, NotFound, ServiceError, ValidationError
from market.core.extensions import db
from market.core.money import parse_money
from market.core.pages import actor as _actor
from market.core.pages import attempt, factory_required, on_service_error

bp = Blueprint("factory", __name__, url_prefix="/factory")


def _plant_or_404(plant_id: int) -> Plant:
    try:
        return equipment.get_plant(db.session, _actor(), plant_id)
    except NotFound:
        abort(404)


def _machine_or_404(machine_id: int):
    try:
        return equipment.get_machine(db.session, _actor(), machine_id)
    except NotFound:
        abort(404)


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _week_start(raw: str | None, tz: ZoneInfo) -> date:
    """The first day shown: the day asked for, else today in the plant's zone (a rolling
    seven days ahead is what a planner looks at; past days hold nothing to publish)."""
    try:
        return date.fromisoformat(raw) if raw else datetime.now(tz).date()
    except ValueError:
        return datetime.now(tz).date()


def _local(day_text: str, clock: str, tz: str) -> datetime:
    """A local date and HH:MM (24:00 allowed) in the plant's zone, as aware UTC."""
    day = date.fromisoformat(day_text)
    if clock == "24:00":
        day, clock = day + timedelta(days=1), "00:00"
    return datetime.combine(day, time.fromisoformat(clock), ZoneInfo(tz)).astimezone(UTC)


def cap_rows(form=None, caps=None) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    """The machine form's capability rows as raw text, from what was typed (so a bad value
    comes back as typed, with every other field of the row) or from the saved capabilities;
    empty rows are dropped (the service numbers rows the same way) and one blank row ends
    the list."""
    rows: list[dict] = []  # type: ignore[type-arg]
    if form is not None and form.getlist("process"):
        names = ("rate", "setup", "speed", "max_part_mm", "tolerance_mm")
        columns = {n: form.getlist(n) for n in names}
        for i, process in enumerate(form.getlist("process")):
            if not process:
                continue
            row = {n: (columns[n][i] if i < len(columns[n]) else "") for n in names}
            rows.append({"process": process, "materials": form.getlist(f"materials-{i}"),
                         **row})
    else:
        for c in caps or []:
            rows.append({"process": c.process_code, "materials": list(c.materials or []),
                         "rate": f"{c.rate_per_hour / 100:.2f}", "setup": str(c.setup_minutes),
                         "speed": f"{c.speed:g}",
                         "max_part_mm": f"{c.max_part_mm:g}" if c.max_part_mm else "",
                         "tolerance_mm": f"{c.tolerance_mm:g}" if c.tolerance_mm else ""})
    return rows + [{"process": "", "materials": [], "rate": "", "setup": "0", "speed": "1",
                    "max_part_mm": "", "tolerance_mm": ""}]


def _capability_rows(form) -> list[equipment.CapabilityInput]:  # type: ignore[no-untyped-def]
    """Capability rows of a machine form: process[], materials-<i>[], rate[], setup[], speed[]."""
    rows = []
    processes = form.getlist("process")
    rates, setups, speeds = form.getlist("rate"), form.getlist("setup"), form.getlist("speed")
    max_parts, tolerances = form.getlist("max_part_mm"), form.getlist("tolerance_mm")
    for i, process in enumerate(processes):
        if not process:
            continue
        try:
            rate: int | str = parse_money(rates[i] if i < len(rates) else "")
        except ValueError:
            rate = "invalid"
        rows.append(equipment.CapabilityInput(
            process=process,
            materials=form.getlist(f"materials-{i}"),
            rate_per_hour=rate,
            setup_minutes=(setups[i] if i < len(setups) else "0") or "0",
            speed=(speeds[i] if i < len(speeds) else "1") or "1",
            max_part_mm=(max_parts[i] if i < len(max_parts) else "") or None,
            tolerance_mm=(tolerances[i] if i < len(tolerances) else "") or None,
        ))
    return rows


# --- overview and plants ------------------------------------------------------------------

def _index_page(errors: dict, form, status: int = 200):  # type: ignore[no-untyped-def]
    plants = equipment.list_plants(db.session, _actor())
    counts: dict[int, int] = {}
    for m in equipment.list_machines(db.session, _actor()):
        counts[m.plant_id] = counts.get(m.plant_id, 0) + 1
    return render_template("factory/index.html", plants=plants, counts=counts,
                           timezones=equipment.timezones(), errors=errors, form=form), status


def _plant_input(form) -> equipment.PlantInput:  # type: ignore[no-untyped-def]
    # blank coordinates (and city) come from the city picker, as its script does in the page
    where = places.fill({k: form.get(k, "") for k in ("lat", "lon", "city")},
                        places.chosen(form.get("plant-place"), form.get("plant-place_district")),
                        str(get_locale()))
    return equipment.PlantInput(
        name=form.get("name", ""), lat=where["lat"] or None, lon=where["lon"] or None,
        timezone=form.get("timezone", "Asia/Shanghai"), address=form.get("address", ""),
        city=where["city"])


@bp.get("/")
@factory_required
def index():
    return _index_page({}, {})


def _index_again(exc: ServiceError):
    return _index_page(exc.localized_fields, request.form, exc.status)


@bp.post("/plants")
@factory_required
@on_service_error(_index_again)
def create_plant():
    plant = equipment.create_plant(db.session, _actor(), _plant_input(request.form))
    flash(_("Plant %(name)s added.", name=plant.name), "success")
    return redirect(url_for("factory.plant", plant_id=plant.id))


def _plant_page(row: Plant, errors: dict, form, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("factory/plant.html", plant=row,
                           **_calendar_context(row, request.args.get("week")),
                           processes=taxonomy.processes(db.session),
                           cap_rows=cap_rows(form if errors else None),
                           timezones=equipment.timezones(), errors=errors, form=form), status


@bp.get("/plants/<int:plant_id>")
@factory_required
def plant(plant_id: int):
    return _plant_page(_plant_or_404(plant_id), {}, {})


@bp.post("/plants/<int:plant_id>")
@factory_required
@on_service_error("factory.plant")
def update_plant(plant_id: int):
    row = _plant_or_404(plant_id)
    equipment.update_plant(db.session, _actor(), row.id, _plant_input(request.form))  # type: ignore[arg-type]
    flash(_("Plant saved."), "success")
    return redirect(url_for("factory.plant", plant_id=plant_id))


# --- machines -----------------------------------------------------------------------------

def _plant_again(exc: ServiceError):
    row = _plant_or_404((request.view_args or {})["plant_id"])
    return _plant_page(row, exc.localized_fields, request.form, exc.status)


@bp.post("/plants/<int:plant_id>/machines")
@factory_required
@on_service_error(_plant_again)
def create_machine(plant_id: int):
    row = _plant_or_404(plant_id)
    form = request.form
    machine = equipment.create_machine(db.session, _actor(), equipment.MachineInput(
        plant_id=row.id, name=form.get("name", ""), kind=form.get("kind", ""),  # type: ignore[arg-type]
        capabilities=_capability_rows(form)))
    flash(_("Machine %(name)s added. Now publish its idle time.", name=machine.name), "success")
    return redirect(url_for("factory.machine", machine_id=machine.id))


@bp.get("/machines/<int:machine_id>")
@factory_required
def machine(machine_id: int):
    row = _machine_or_404(machine_id)
    form: dict = {}  # type: ignore[type-arg]
    edit = request.args.get("edit_rule", type=int)
    if edit:  # the shift form filled with a rule to edit
        found = attempt(publishing.get_rule, db.session, _actor(), edit)
        if found.ok and found.value.machine_id == row.id and found.value.withdrawn_at is None:
            r = found.value
            form = MultiDict([("weekdays", str(d)) for d in r.weekdays] + [
                ("start_time", r.start_time), ("end_time", r.end_time),
                ("valid_from", r.valid_from.isoformat()),
                ("valid_until", r.valid_until.isoformat()),
                ("holidays", " ".join(r.holidays)), ("replaces", str(r.id))])
    return _machine_page(row, {}, form)


def _machine_page(row, errors, form, status: int = 200):  # type: ignore[no-untyped-def]
    plant_row = db.session.get(Plant, row.plant_id)
    now = datetime.now(UTC)
    windows = publishing.list_windows(db.session, _actor(), row.id, now - timedelta(days=1),
                                    now + timedelta(days=60))
    rules = publishing.list_rules(db.session, _actor(), row.id)
    downtimes = downtime.list_downtimes(db.session, _actor(), row.id)[:10]
    return render_template("factory/machine.html", machine=row, plant=plant_row,
                           windows=windows, rules=rules, errors=errors, form=form,
                           cap_rows=cap_rows(form if errors else None, row.capabilities),
                           downtimes=downtimes,
                           processes=taxonomy.processes(db.session),
                           tz=ZoneInfo(plant_row.timezone),  # type: ignore[union-attr]
                           today=datetime.now(ZoneInfo(plant_row.timezone)).date()), status  # type: ignore[union-attr]


def _machine_again(exc: ServiceError):
    row = _machine_or_404((request.view_args or {})["machine_id"])
    return _machine_page(row, exc.localized_fields, request.form, exc.status)


@bp.post("/machines/<int:machine_id>")
@factory_required
@on_service_error(_machine_again)
def update_machine(machine_id: int):
    row = _machine_or_404(machine_id)
    form = request.form
    equipment.update_machine(db.session, _actor(), row.id, name=form.get("name"),
                            kind=form.get("kind"), capabilities=_capability_rows(form))
    flash(_("Machine saved. The previous settings are kept in the history."), "success")
    return redirect(url_for("factory.machine", machine_id=machine_id))


@bp.post("/machines/<int:machine_id>/retire")
@factory_required
def retire_machine(machine_id: int):
    row = _machine_or_404(machine_id)
    publishing.retire_machine(db.session, _actor(), row.id)
    flash(_("Machine retired. Its future idle time was withdrawn; booked work stays."), "info")
    return redirect(url_for("factory.plant", plant_id=row.plant_id))


@bp.post("/machines/<int:machine_id>/downtime")
@factory_required
@on_service_error(_machine_again)
def report_downtime(machine_id: int):
    row = _machine_or_404(machine_id)
    plant_row = db.session.get(Plant, row.plant_id)
    form = request.form
    fields: dict[str, str] = {}
    moments = {}
    for name in ("down_start", "down_end"):
        try:
            moments[name] = _local(form.get(f"{name}_day", ""), form.get(f"{name}_time", ""),
                                   plant_row.timezone)  # type: ignore[union-attr]
        except ValueError:
            fields[name] = N_("Give a day and a time (HH:MM).")
    if fields:
        raise ValidationError(N_("The downtime cannot be recorded."), fields)
    down = downtime.report_downtime(db.session, _actor(), row.id, moments["down_start"],
                                    moments["down_end"], form.get("reason", ""))
    flash(_("Downtime recorded: %(hours)s idle hours withdrawn; %(count)d booked operations "
            "will be re-planned and their buyers told.",
            hours=round(down.withdrawn_minutes / 60, 1), count=len(down.affected_bookings)),
          "success")
    return redirect(url_for("factory.machine", machine_id=machine_id))


@bp.post("/machines/<int:machine_id>/shift-rules")
@factory_required
@on_service_error(_machine_again)
def add_shift_rule(machine_id: int):
    row = _machine_or_404(machine_id)
    form = request.form
    holidays = [d.strip() for d in form.get("holidays", "").replace(",", " ").split() if d]
    rule_input = publishing.ShiftRuleInput(
        weekdays=form.getlist("weekdays"), start_time=form.get("start_time", ""),
        end_time=form.get("end_time", ""), valid_from=form.get("valid_from", ""),
        valid_until=form.get("valid_until", ""), holidays=holidays)
    replaces = form.get("replaces", type=int)
    if replaces:  # editing: the old rule goes in the same transaction
        publishing.get_rule(db.session, _actor(), replaces)
        _rule, added = publishing.replace_shift_rule(db.session, _actor(), replaces, rule_input)
    else:
        _rule, added = publishing.add_shift_rule(db.session, _actor(), row.id, rule_input)
    flash(_("Shift rule saved: %(hours)s hours of idle time published.",
            hours=round(added / 60, 1)), "success")
    return redirect(url_for("factory.machine", machine_id=machine_id))


@bp.post("/shift-rules/<int:rule_id>/withdraw")
@factory_required
@on_service_error()
def withdraw_shift_rule(rule_id: int):
    try:
        rule = publishing.get_rule(db.session, _actor(), rule_id)
    except NotFound:
        abort(404)
    result = publishing.withdraw_rule(db.session, _actor(), rule_id)
    flash(_("Shift rule withdrawn: %(hours)s hours of idle time taken back; booked work stays.",
            hours=round(result.withdrawn_minutes / 60, 1)), "success")
    return redirect(url_for("factory.machine", machine_id=rule.machine_id))


# --- the week calendar (its routes: calendar_pages.py) ----------------------------------

class Slot(NamedTuple):
    """A window's part on one day of the calendar."""

    window_id: int
    status: str
    start: str  # "08:00"
    end: str  # "16:00", or "24:00" past midnight


class WeekRow(NamedTuple):
    """A machine's week in the calendar: its slots day by day."""

    machine_id: int
    name: str
    days: tuple[tuple[Slot, ...], ...]


def _calendar_context(plant_row: Plant | week_reads.WeekPlant, week: str | None = None,
                      machines: list[Any] | None = None) -> dict:
    """The week calendar's values; `machines`: the plant's active machines, when the caller
    read them with the plant (week.plant_machines)."""
    tz = ZoneInfo(plant_row.timezone)
    monday = _week_start(week, tz)
    days = [monday + timedelta(days=i) for i in range(7)]
    start = datetime.combine(monday, time(0), tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tz).astimezone(UTC)
    if machines is None:
        machines = week_reads.plant_machines(db.session, _actor(), plant_row.id)[1]  # type: ignore[arg-type]
    windows = week_reads.week_windows(db.session, plant_row.id, start, end)  # type: ignore[arg-type]
    cells: dict[tuple[int, date], list[Slot]] = {}
    for m in machines:
        for w in windows.get(m.id, []):  # type: ignore[arg-type]
            local_start, local_end = w.start.astimezone(tz), w.end.astimezone(tz)
            day = local_start.date()
            last = local_end.date() if local_end.time() != time(0) else (
                local_end.date() - timedelta(days=1))
            while day <= last:
                if monday <= day < monday + timedelta(days=7):
                    seg_start = max(local_start, datetime.combine(day, time(0), tz))
                    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tz)
                    seg_end = min(local_end, next_midnight)
                    cells.setdefault((m.id, day), []).append(Slot(  # type: ignore[arg-type]
                        w.id, w.status, seg_start.strftime("%H:%M"),
                        "24:00" if seg_end.time() == time(0) and seg_end > seg_start
                        else seg_end.strftime("%H:%M")))
                day += timedelta(days=1)
    # a machine's week as one value (its row is remembered by it: core.fragments)
    week_rows = [WeekRow(m.id, m.name, tuple(tuple(cells.get((m.id, d), ())) for d in days))  # type: ignore[arg-type]
                 for m in machines]
    return {"days": days, "monday": monday, "machines": machines, "week_rows": week_rows,
            "prev_week": (monday - timedelta(days=7)).isoformat(),
            "next_week": (monday + timedelta(days=7)).isoformat(), "tz_name": plant_row.timezone,
            # the phone view shows the first day; its arrows move the range by one day
            "prev_day": (monday - timedelta(days=1)).isoformat(),
            "next_day": (monday + timedelta(days=1)).isoformat()}


# --- bookings -----------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@factory_required
@on_service_error("factory.settings")
def settings():
    company = _actor().company
    if request.method == "POST":
        accounts.set_auto_accept(db.session, _actor(), request.form.get("auto_accept") == "1")
        flash(_("Settings saved."), "success")
        return redirect(url_for("factory.settings"))
    return render_template("factory/settings.html", company=company)
