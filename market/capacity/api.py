"""Factory capacity in the JSON API: plants, machines, windows, shift rules, search."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from flask import request

from market.capacity import availability, downtime, equipment, publishing
from market.capacity.models import CapacityRule, CapacityWindow, Machine, Plant
from market.capacity.schemas import (
    CapacityHitOut,
    DowntimeIn,
    DowntimeOut,
    MachineIn,
    MachineOut,
    MachinePatch,
    PlantIn,
    PlantOut,
    PublishOut,
    ShiftRuleIn,
    ShiftRuleOut,
    WindowIn,
    WindowOut,
    WithdrawOut,
)
from market.core import dates
from market.core.api import ApiError, Page, current_api_user, pagination, route
from market.core.extensions import db

CURRENCY = "CNY"


def plant_out(plant: Plant) -> dict[str, Any]:
    return PlantOut.model_validate(plant, from_attributes=True).model_dump(mode="json")


def machine_out(machine: Machine) -> dict[str, Any]:
    return MachineOut(
        id=machine.id, plant_id=machine.plant_id, name=machine.name, kind=machine.kind,  # type: ignore[arg-type]
        status=machine.status, currency=CURRENCY,
        capabilities=[{"process": c.process_code, "materials": c.materials,  # type: ignore[misc]
                       "rate_per_hour": c.rate_per_hour, "setup_minutes": c.setup_minutes,
                       "speed": c.speed, "max_part_mm": c.max_part_mm,
                       "tolerance_mm": c.tolerance_mm} for c in machine.capabilities],
    ).model_dump(mode="json")


def window_out(window: CapacityWindow) -> dict[str, Any]:
    return WindowOut.model_validate(window, from_attributes=True).model_dump(mode="json")


def rule_out(rule: CapacityRule, added: int | None = None) -> dict[str, Any]:
    data = ShiftRuleOut.model_validate(rule, from_attributes=True)
    data.added_minutes = added
    return data.model_dump(mode="json")


def _caps(items) -> list[equipment.CapabilityInput]:  # type: ignore[no-untyped-def]
    return [equipment.CapabilityInput(**item.model_dump()) for item in items]


def _when(name: str, required: bool = True) -> datetime | None:
    """A range bound from the query: a day (`from` its start, `to` the end of it, in the
    platform's zone) or a timestamp with offset (API.md "Dates")."""
    raw = request.args.get(name)
    if not raw:
        if required:
            raise ApiError(422, "validation_error",
                           f"Give ?{name}= as a day (2026-12-01) or ISO 8601 with offset.",
                           {name: "Required."})
        return None
    try:
        # a "+" in a query string arrives as a space
        return dates.parse_moment(raw.strip().replace(" ", "+"),
                                  day="until" if name == "to" else "start")
    except dates.DateError as exc:
        raise ApiError(422, "validation_error", f"{name}: {exc.message}",
                       {name: exc.message}) from None


@route("POST", "/plants", summary="Add a plant", body=PlantIn, response=PlantOut, status=201,
       tag="capacity")
def create_plant(data: PlantIn) -> dict[str, Any]:
    plant = equipment.create_plant(db.session, current_api_user(),
                                  equipment.PlantInput(**data.model_dump()))
    return plant_out(plant)


@route("GET", "/plants", summary="My plants", response=PlantOut, tag="capacity", paginated=True)
def list_plants() -> list[dict[str, Any]]:
    rows = equipment.list_plants(db.session, current_api_user())
    return [plant_out(p) for p in rows]


@route("POST", "/machines", summary="Add a machine with its capabilities", body=MachineIn,
       response=MachineOut, status=201, tag="capacity")
def create_machine(data: MachineIn) -> dict[str, Any]:
    machine = equipment.create_machine(db.session, current_api_user(), equipment.MachineInput(
        plant_id=data.plant_id, name=data.name, kind=data.kind,
        capabilities=_caps(data.capabilities)))
    return machine_out(machine)


@route("GET", "/machines", summary="My machines", response=MachineOut, tag="capacity",
       query={"plant_id": "only this plant", "include_retired": "1 to include retired"},
       paginated=True)
def list_machines() -> Page:
    page, per_page = pagination()
    plant_id = request.args.get("plant_id", type=int)
    rows = equipment.list_machines(db.session, current_api_user(), plant_id,
                                  include_retired=request.args.get("include_retired") == "1")
    items = rows[(page - 1) * per_page: page * per_page]
    return Page([machine_out(m) for m in items], page, per_page, len(rows))


@route("GET", "/machines/<int:machine_id>", summary="One machine", response=MachineOut,
       tag="capacity")
def get_machine(machine_id: int) -> dict[str, Any]:
    return machine_out(equipment.get_machine(db.session, current_api_user(), machine_id))


@route("PATCH", "/machines/<int:machine_id>", summary="Edit a machine (history is kept)",
       body=MachinePatch, response=MachineOut, tag="capacity")
def patch_machine(machine_id: int, data: MachinePatch) -> dict[str, Any]:
    machine = equipment.update_machine(
        db.session, current_api_user(), machine_id, name=data.name, kind=data.kind,
        capabilities=_caps(data.capabilities) if data.capabilities is not None else None)
    return machine_out(machine)


@route("DELETE", "/machines/<int:machine_id>",
       summary="Retire a machine: its future idle time is withdrawn, history stays",
       response=MachineOut, tag="capacity")
def retire_machine(machine_id: int) -> dict[str, Any]:
    return machine_out(publishing.retire_machine(db.session, current_api_user(), machine_id))


@route("POST", "/machines/<int:machine_id>/windows",
       summary="Publish idle time (idempotent: the same window twice adds nothing)",
       body=WindowIn, response=PublishOut, status=201, tag="capacity", also=(200,))
def publish_window(machine_id: int, data: WindowIn):  # type: ignore[no-untyped-def]
    result = publishing.publish_window(db.session, current_api_user(), machine_id, data.start,
                                     data.end, source="api")
    body = PublishOut(created=result.created, added_minutes=result.added_minutes,
                      windows=[window_out(w) for w in result.windows])  # type: ignore[misc]
    return body.model_dump(mode="json"), 201 if result.created else 200


@route("GET", "/machines/<int:machine_id>/windows", summary="A machine's windows",
       response=WindowOut, tag="capacity",
       query={"from": "a day (its start) or ISO 8601 with offset",
              "to": "a day (to its end) or ISO 8601 with offset"}, paginated=True)
def list_windows(machine_id: int) -> list[dict[str, Any]]:
    rows = publishing.list_windows(db.session, current_api_user(), machine_id,
                                 _when("from", False), _when("to", False))
    return [window_out(w) for w in rows]


@route("POST", "/machines/<int:machine_id>/withdraw",
       summary="Withdraw the idle time of a range; held and booked parts are kept and listed",
       body=WindowIn, response=WithdrawOut, tag="capacity")
def withdraw_range(machine_id: int, data: WindowIn) -> dict[str, Any]:
    result = publishing.withdraw(db.session, current_api_user(), machine_id, data.start, data.end)
    return {"withdrawn_minutes": result.withdrawn_minutes,
            "kept": [window_out(w) for w in result.kept]}


def downtime_out(row: Any) -> dict[str, Any]:
    return DowntimeOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@route("POST", "/machines/<int:machine_id>/downtime",
       summary="Report a machine down: its idle time in the range is withdrawn, booked work "
               "there is at risk and re-planned", body=DowntimeIn, response=DowntimeOut,
       status=201, tag="capacity")
def report_downtime(machine_id: int, data: DowntimeIn) -> tuple[dict[str, Any], int]:
    row = downtime.report_downtime(db.session, current_api_user(), machine_id, data.start,
                                   data.end, data.reason)
    return downtime_out(row), 201


@route("GET", "/machines/<int:machine_id>/downtime", summary="A machine's reported downtime",
       response=DowntimeOut, tag="capacity", paginated=True)
def list_downtime(machine_id: int) -> list[dict[str, Any]]:
    return [downtime_out(d) for d in downtime.list_downtimes(db.session, current_api_user(),
                                                             machine_id)]


@route("DELETE", "/windows/<int:window_id>",
       summary="Withdraw a window (409 when it is held or booked)", response=WithdrawOut,
       tag="capacity")
def delete_window(window_id: int) -> dict[str, Any]:
    result = publishing.withdraw_window(db.session, current_api_user(), window_id)
    return {"withdrawn_minutes": result.withdrawn_minutes,
            "kept": [window_out(w) for w in result.kept]}


@route("POST", "/machines/<int:machine_id>/shift-rules",
       summary="Publish recurring shifts, expanded in the plant's time zone", body=ShiftRuleIn,
       response=ShiftRuleOut, status=201, tag="capacity")
def add_shift_rule(machine_id: int, data: ShiftRuleIn) -> dict[str, Any]:
    rule, added = publishing.add_shift_rule(db.session, current_api_user(), machine_id,
                                          publishing.ShiftRuleInput(**data.model_dump()))
    return rule_out(rule, added)


@route("PUT", "/shift-rules/<int:rule_id>",
       summary="Edit a shift rule: the old one is withdrawn and the new one published at once",
       body=ShiftRuleIn, response=ShiftRuleOut, tag="capacity")
def replace_shift_rule(rule_id: int, data: ShiftRuleIn) -> dict[str, Any]:
    rule, added = publishing.replace_shift_rule(db.session, current_api_user(), rule_id,
                                              publishing.ShiftRuleInput(**data.model_dump()))
    return rule_out(rule, added)


@route("DELETE", "/shift-rules/<int:rule_id>",
       summary="Withdraw a shift rule: its future idle time goes; held and booked time stays",
       response=WithdrawOut, tag="capacity")
def withdraw_shift_rule(rule_id: int) -> dict[str, Any]:
    result = publishing.withdraw_rule(db.session, current_api_user(), rule_id)
    return {"withdrawn_minutes": result.withdrawn_minutes,
            "kept": [window_out(w) for w in result.kept]}


@route("GET", "/machines/<int:machine_id>/shift-rules", summary="A machine's shift rules",
       response=ShiftRuleOut, tag="capacity", paginated=True)
def list_shift_rules(machine_id: int) -> list[dict[str, Any]]:
    return [rule_out(r) for r in publishing.list_rules(db.session, current_api_user(), machine_id)]


@route("GET", "/capacity", summary="Search free capacity of verified factories",
       response=CapacityHitOut, tag="capacity",
       query={"process": "process code", "material": "material code",
              "from": "a day (its start) or ISO 8601 with offset",
              "to": "a day (to its end) or ISO 8601 with offset",
              "min_hours": "minimum free hours in the range",
              "tolerance_mm": "only machines holding this tolerance (± mm)",
              "part_mm": "only machines taking a part this large (its largest side, mm)",
              "certification": "only plants whose company holds these certifications "
                               "(verified, valid; comma-separated kinds)"},
       required_query=("process", "from", "to"), paginated=True)
def search() -> list[dict[str, Any]]:
    numbers: dict[str, float | None] = {}
    for name in ("min_hours", "tolerance_mm", "part_mm"):
        raw = request.args.get(name)
        try:
            numbers[name] = float(raw) if raw else None
        except ValueError:
            raise ApiError(422, "validation_error", f"{name} must be a number.",
                           {name: "Enter a number."}) from None
        if numbers[name] is not None and not math.isfinite(numbers[name]):  # type: ignore[arg-type]
            raise ApiError(422, "validation_error", f"{name} must be a number.",
                           {name: "Enter a number."})
    hits = availability.search_capacity(
        db.session, current_api_user(), request.args.get("process", ""),
        request.args.get("material") or None, _when("from"), _when("to"),  # type: ignore[arg-type]
        numbers["min_hours"] or 0, tolerance_mm=numbers["tolerance_mm"],
        part_mm=numbers["part_mm"],
        certifications=[c.strip() for c in (request.args.get("certification") or "").split(",")
                        if c.strip()] or None)
    items = [CapacityHitOut(
        machine_id=hit.machine.id, machine=hit.machine.name, plant_id=hit.plant.id,  # type: ignore[arg-type]
        plant=hit.plant.name, city=hit.plant.city, lat=hit.plant.lat, lon=hit.plant.lon,
        company=hit.company.name, process=hit.capability.process_code,
        materials=hit.capability.materials, free_hours=hit.free_hours,
        rate_per_hour=hit.capability.rate_per_hour if hit.show_price else None,
        currency=CURRENCY).model_dump(mode="json") for hit in hits]
    return items
