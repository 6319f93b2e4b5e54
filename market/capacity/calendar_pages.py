"""Factories' capacity pages beyond plants and machines: the week calendar with its one-off
windows (htmx), CSV import with its example, and utilisation. Same blueprint as pages.py
(URLs under /factory); split off to keep each module readable."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from market.capacity import availability, csv_import, equipment, publishing
from market.capacity import week as week_reads
from market.capacity.models import Plant
from market.capacity.pages import (
    _calendar_context,
    _is_htmx,
    _local,
    _plant_or_404,
    bp,
)
from market.catalog import service as taxonomy
from market.core.errors import NotFound
from market.core.extensions import db
from market.core.pages import actor as _actor
from market.core.pages import attempt, factory_required

# --- windows and the week calendar --------------------------------------------------------

@bp.get("/plants/<int:plant_id>/calendar")
@factory_required
def calendar(plant_id: int):
    try:  # the plant and its machines in one read
        row, machines = week_reads.plant_machines(db.session, _actor(), plant_id)
    except NotFound:
        abort(404)
    return render_template("factory/_calendar.html", plant=row,
                           **_calendar_context(row, request.args.get("week"), machines))


@bp.post("/plants/<int:plant_id>/windows")
@factory_required
def add_window(plant_id: int):
    row = _plant_or_404(plant_id)
    form = request.form
    week = form.get("week")
    status, kind = 200, "success"
    try:
        machine_id = int(form.get("machine_id", ""))
        start = _local(form.get("day", ""), form.get("start_time", ""), row.timezone)
        end = _local(form.get("day", ""), form.get("end_time", ""), row.timezone)
        if end <= start:  # a shift like 22:00-06:00 ends the next day
            end += timedelta(days=1)
    except ValueError:
        message, status = _("Choose a machine, a day and times like 08:00."), 422
    else:
        published = attempt(publishing.publish_window, db.session, _actor(), machine_id, start, end)
        if published.ok:
            result = published.value
            message = (_("Published %(hours)s hours.", hours=round(result.added_minutes / 60, 1))
                       if result.created else _("That time was already published."))
            kind = "success" if result.created else "info"  # nothing happened: not a success
        else:
            message, status = published.message, published.status
    if status != 200:
        kind = "error"
    if _is_htmx():
        # 409 and 422 are swapped in place (base.html's htmx responseHandling)
        return render_template("factory/_calendar.html", plant=row, message=message,
                               message_error=status != 200, message_kind=kind,
                               **_calendar_context(row, week)), status
    flash(message, kind)
    return redirect(url_for("factory.plant", plant_id=plant_id, week=week))


@bp.post("/windows/<int:window_id>/withdraw")
@factory_required
def withdraw_window(window_id: int):
    try:
        window = equipment.get_window(db.session, _actor(), window_id)
    except NotFound:
        abort(404)
    machine_row = equipment.get_machine(db.session, _actor(), window.machine_id)
    withdrawn = attempt(publishing.withdraw_window, db.session, _actor(), window_id)
    status = withdrawn.status
    message = (_("Withdrew %(hours)s hours.",
                 hours=round(withdrawn.value.withdrawn_minutes / 60, 1))
               if withdrawn.ok else withdrawn.message)
    back = request.form.get("back")
    if _is_htmx() and back == "calendar":
        plant_row = db.session.get(Plant, machine_row.plant_id)
        return render_template("factory/_calendar.html", plant=plant_row, message=message,
                               message_error=status != 200,
                               **_calendar_context(plant_row, request.form.get("week"))), status  # type: ignore[arg-type]
    flash(message, "error" if status != 200 else "success")
    return redirect(url_for("factory.machine", machine_id=machine_row.id))


# --- CSV import and utilisation -----------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@factory_required
def import_csv():
    errors: list[tuple[int, str]] = []
    report = None
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors, status = [(0, _("Choose a CSV file."))], 422
        else:
            imported = attempt(csv_import.import_csv, db.session, _actor(), upload.read())
            if imported.ok:
                report = imported.value
            elif isinstance(imported.error, csv_import.CsvImportError):
                # one line per problem, in the reader's language
                errors = [(n, _(msg, **params) if params else _(msg))
                          for n, msg, params in imported.error.errors]
                status = 422
            else:
                errors, status = [(0, imported.message)], imported.status
    plants = equipment.list_plants(db.session, _actor())
    return render_template("factory/import.html", errors=errors, report=report,
                           columns=csv_import.CSV_COLUMNS, plants=plants,
                           processes=taxonomy.processes(db.session),
                           materials=taxonomy.materials(db.session)), status


@bp.get("/import/example.csv")
@factory_required
def import_example():
    """An example that imports as downloaded: this factory's first plant, days ahead."""
    plants = equipment.list_plants(db.session, _actor())
    plant = plants[0] if plants else None
    start = datetime.now(ZoneInfo(plant.timezone if plant else "Asia/Shanghai")).date()
    text = csv_import.example_csv(plant.name if plant else _("My plant"),
                                  start + timedelta(days=1))
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=yunzao-capacity.csv"})


@bp.get("/utilisation")
@factory_required
def utilisation():
    mondays, rows = availability.utilisation(db.session, _actor(), weeks=8)
    return render_template("factory/utilisation.html", mondays=mondays, rows=rows)


@bp.get("/material-options")
@login_required
def material_options():
    """<option>s of the materials a process works on (the routing and machine editors)."""
    code = request.args.get("process", "")
    infos = [i for i in taxonomy.processes(db.session) if i.process.code == code]
    materials = infos[0].materials if infos else []
    if request.args.get("as") == "checks":  # the machine form: checkboxes, all visible
        return render_template("factory/_material_checks.html", materials=materials,
                               i=request.args.get("i", type=int) or 0, chosen=[],
                               process=code)
    return render_template("factory/_material_options.html", materials=materials,
                           any_option=request.args.get("any") == "1")


