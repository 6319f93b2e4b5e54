"""Capacity services: plants, machines, shift rules, windows, CSV import, search."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.capacity import availability, csv_import, equipment, publishing
from market.capacity.models import CapacityWindow, Machine, WindowStatus
from market.core.audit import AuditEvent
from market.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.fakes.capacity import future_monday, setup_machine


@pytest.fixture
def world(session, taxonomy, factory):
    return setup_machine(session, factory.user_id)


def live(session, machine_id):
    return [(w.start, w.end, w.status) for w in session.exec(
        select(CapacityWindow).where(CapacityWindow.machine_id == machine_id,
                                     CapacityWindow.status != "withdrawn")
        .order_by(CapacityWindow.start))]


def h(base: datetime, hours: float) -> datetime:
    return base + timedelta(hours=hours)


# --- rule expansion (pure) ----------------------------------------------------------------

def test_expand_shifts_in_plant_time_zone():
    spans = publishing.expand_shifts([0, 1, 2, 3, 4], "08:00", "16:00", date(2026, 12, 7),
                                   date(2026, 12, 13), [], "Asia/Shanghai")
    assert len(spans) == 5  # Mon-Fri, the weekend is off
    assert spans[0] == (datetime(2026, 12, 7, 0, 0, tzinfo=UTC),
                        datetime(2026, 12, 7, 8, 0, tzinfo=UTC))


def test_expand_shifts_crossing_midnight_and_24h_end():
    night = publishing.expand_shifts([4], "22:00", "06:00", date(2026, 12, 11),
                                   date(2026, 12, 11), [], "Asia/Shanghai")
    assert night == [(datetime(2026, 12, 11, 14, tzinfo=UTC), datetime(2026, 12, 11, 22,
                                                                        tzinfo=UTC))]
    late = publishing.expand_shifts([0], "16:00", "24:00", date(2026, 12, 7), date(2026, 12, 7),
                                  [], "Asia/Shanghai")
    assert late[0][1] - late[0][0] == timedelta(hours=8)


def test_expand_shifts_skips_holidays_and_handles_dst():
    spans = publishing.expand_shifts(range(7), "08:00", "16:00", date(2027, 3, 27),
                                   date(2027, 3, 29), [date(2027, 3, 29)], "Europe/Berlin")
    # 28 March 2027: Berlin moves from UTC+1 to UTC+2 at 02:00
    assert [a.hour for a, _ in spans] == [7, 6]
    assert all(b - a == timedelta(hours=8) for a, b in spans)


# --- plants and machines ------------------------------------------------------------------

def test_plant_validation(session, taxonomy, factory):
    actor = session.get(User, factory.user_id)
    with pytest.raises(ValidationError) as info:
        equipment.create_plant(session, actor, equipment.PlantInput(
            name="", lat=95, lon="east", timezone="Mars/Olympus"))
    assert set(info.value.fields) == {"name", "lat", "lon", "timezone"}


def test_buyers_cannot_create_plants(session, taxonomy, buyer):
    actor = session.get(User, buyer.user_id)
    with pytest.raises(PermissionDenied):
        equipment.create_plant(session, actor, equipment.PlantInput(name="X", lat=1, lon=1))


def test_machine_capability_validation(session, world):
    actor, plant, _machine = world
    with pytest.raises(ValidationError) as info:
        equipment.create_machine(session, actor, equipment.MachineInput(
            plant_id=plant.id, name="Bad", capabilities=[
                equipment.CapabilityInput(process="teleportation"),
                equipment.CapabilityInput(process="cnc_milling", materials=["cotton"],
                                         rate_per_hour="-5", speed=0),
            ]))
    fields = info.value.fields
    assert "capabilities.0.process" in fields
    assert {"capabilities.1.materials", "capabilities.1.rate_per_hour",
            "capabilities.1.speed"} <= set(fields)


def test_other_factories_machines_do_not_exist(session, world, app):
    from tests.conftest import make_account

    _actor, plant, machine = world
    other = session.get(User, make_account(app, "factory").user_id)
    with pytest.raises(NotFound):
        equipment.get_machine(session, other, machine.id)
    with pytest.raises(NotFound):
        publishing.publish_window(session, other, machine.id, future_monday(),
                                  h(future_monday(), 8))
    with pytest.raises(NotFound):
        equipment.update_plant(session, other, plant.id, equipment.PlantInput("X", 1, 1))


def test_edit_keeps_history_and_retire_withdraws_future(session, world):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    equipment.update_machine(session, actor, machine.id, capabilities=[
        equipment.CapabilityInput(process="cnc_milling", materials=["al6061", "ss304"],
                                 rate_per_hour=18000)])
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "machine.updated")).one()
    assert event.details["before"]["capabilities"][0]["rate_per_hour"] == 15000
    assert event.details["after"]["capabilities"][0]["rate_per_hour"] == 18000
    publishing.retire_machine(session, actor, machine.id)
    assert live(session, machine.id) == []
    assert session.get(Machine, machine.id).status == "retired"
    with pytest.raises(Conflict):
        publishing.publish_window(session, actor, machine.id, base, h(base, 8))


# --- windows ------------------------------------------------------------------------------

def test_publish_merges_and_is_idempotent(session, world):
    actor, _plant, machine = world
    base = future_monday()
    first = publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    again = publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    assert first.created and not again.created
    publishing.publish_window(session, actor, machine.id, h(base, 6), h(base, 12))  # overlaps
    publishing.publish_window(session, actor, machine.id, h(base, 12), h(base, 14))  # touches
    assert live(session, machine.id) == [(base, h(base, 14), "published")]


def test_window_rules(session, world):
    actor, _plant, machine = world
    base = future_monday()
    with pytest.raises(ValidationError):
        publishing.publish_window(session, actor, machine.id, h(base, 8), base)
    with pytest.raises(ValidationError):
        publishing.publish_window(session, actor, machine.id, base, base + timedelta(days=40))
    with pytest.raises(ValidationError):
        publishing.publish_window(session, actor, machine.id, base.replace(tzinfo=None),
                                h(base, 8).replace(tzinfo=None))
    past = datetime.now(UTC) - timedelta(days=3)
    with pytest.raises(ValidationError):
        publishing.publish_window(session, actor, machine.id, past, h(past, 8))
    assert live(session, machine.id) == []


def test_booked_time_cannot_be_withdrawn_but_free_part_can(session, world):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    publishing.occupy(session, machine.id, h(base, 2), h(base, 4), WindowStatus.booked)
    session.commit()
    assert live(session, machine.id) == [
        (base, h(base, 2), "published"), (h(base, 2), h(base, 4), "booked"),
        (h(base, 4), h(base, 8), "published")]
    booked = session.exec(select(CapacityWindow).where(CapacityWindow.status == "booked")).one()
    with pytest.raises(Conflict, match="cannot be withdrawn"):
        publishing.withdraw_window(session, actor, booked.id)
    result = publishing.withdraw(session, actor, machine.id, base, h(base, 8))
    assert result.withdrawn_minutes == 6 * 60 and [w.id for w in result.kept] == [booked.id]
    assert live(session, machine.id) == [(h(base, 2), h(base, 4), "booked")]


def test_partial_withdraw_splits(session, world):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    publishing.withdraw(session, actor, machine.id, h(base, 3), h(base, 5))
    assert live(session, machine.id) == [(base, h(base, 3), "published"),
                                         (h(base, 5), h(base, 8), "published")]


def test_republish_around_booking_does_not_touch_it(session, world):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    publishing.occupy(session, machine.id, h(base, 2), h(base, 4), WindowStatus.held)
    session.commit()
    again = publishing.publish_window(session, actor, machine.id, base, h(base, 10))
    assert again.added_minutes == 120
    assert (h(base, 2), h(base, 4), "held") in live(session, machine.id)


def test_occupy_conflicts(session, world):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    publishing.occupy(session, machine.id, h(base, 2), h(base, 4), WindowStatus.held)
    with pytest.raises(Conflict):
        publishing.occupy(session, machine.id, h(base, 3), h(base, 5), WindowStatus.held)
    with pytest.raises(Conflict):
        publishing.occupy(session, machine.id, h(base, 30), h(base, 32), WindowStatus.held)


def test_shift_rule_publishes_windows(session, world):
    actor, _plant, machine = world
    monday = future_monday().date()
    rule, added = publishing.add_shift_rule(session, actor, machine.id, publishing.ShiftRuleInput(
        weekdays=[0, 1, 2, 3, 4], start_time="08:00", end_time="16:00", valid_from=monday,
        valid_until=monday + timedelta(days=13), holidays=[monday + timedelta(days=2)]))
    assert added == 9 * 8 * 60
    rows = live(session, machine.id)
    assert len(rows) == 9 and rows[0][0].hour == 0  # 08:00 Shanghai is 00:00 UTC
    # a second shift that touches the first merges into one window a day
    publishing.add_shift_rule(session, actor, machine.id, publishing.ShiftRuleInput(
        weekdays=[0], start_time="16:00", end_time="24:00", valid_from=monday,
        valid_until=monday))
    first = live(session, machine.id)[0]
    assert first[1] - first[0] == timedelta(hours=16)


@pytest.mark.parametrize("data, field", [
    ({"weekdays": []}, "weekdays"),
    ({"weekdays": [9]}, "weekdays"),
    ({"start_time": "8am"}, "start_time"),
    ({"end_time": "25:00"}, "end_time"),
    ({"valid_until": "2020-01-01"}, "valid_until"),
    ({"valid_from": "tomorrow"}, "valid_from"),
])
def test_shift_rule_validation(session, world, data, field):
    actor, _plant, machine = world
    monday = future_monday().date()
    base = {"weekdays": [0], "start_time": "08:00", "end_time": "16:00",
            "valid_from": monday.isoformat(), "valid_until": (monday + timedelta(days=6))
            .isoformat()}
    with pytest.raises(ValidationError) as info:
        publishing.add_shift_rule(session, actor, machine.id,
                                publishing.ShiftRuleInput(**{**base, **data}))
    assert field in info.value.fields
    assert live(session, machine.id) == []


# --- CSV import ---------------------------------------------------------------------------

def test_csv_example_imports_as_downloaded(session, world):
    actor, plant, _machine = world
    monday = future_monday()
    text = csv_import.example_csv(plant.name, monday.date())
    assert "Chang'an plant" in text or plant.name in text
    report = csv_import.import_csv(session, actor, text.encode())
    assert report.machines_created == 2 and report.windows_published == 2
    mill = session.exec(select(Machine).where(Machine.name == "Haas VF-2 #1")).one()
    # money in the file is yuan: 150.00 is 15,000 fen
    assert [c.rate_per_hour for c in mill.capabilities] == [15_000]
    again = csv_import.import_csv(session, actor, text.encode())
    assert again.machines_created == 0 and again.minutes_published == 0  # idempotent


def test_csv_bad_rows_import_nothing(session, world):
    actor, _plant, machine = world
    monday = future_monday().date().isoformat()
    text = (",".join(csv_import.CSV_COLUMNS) + "\n"
            f"Chang'an plant,New mill,,cnc_milling,al6061,100,0,1,{monday}T08:00,{monday}T16:00\n"
            "Nowhere plant,M2,,cnc_milling,,100,0,1,,\n"
            "Chang'an plant,M3,,cnc_milling,cotton,100,0,1,,\n"
            f"Chang'an plant,M4,,cnc_milling,,100,0,1,{monday}T16:00,{monday}T08:00\n"
            "Chang'an plant,M5,,cnc_milling,,abc,0,1,,\n"
            "Chang'an plant,M6,,cnc_milling,,1.234,0,1,,\n")
    with pytest.raises(csv_import.CsvImportError) as info:
        csv_import.import_csv(session, actor, text.encode())
    assert [line for line, _msg, _params in info.value.errors] == [3, 4, 5, 6, 7]
    assert info.value.errors[0][2] == {"name": "Nowhere plant"}
    assert "yuan" in info.value.errors[3][1]
    assert len(session.exec(select(Machine)).all()) == 1
    assert live(session, machine.id) == []


def test_csv_in_fen_from_before_is_refused_with_a_pointer(session, world):
    actor, _plant, _machine = world
    text = "plant,machine,process,rate_per_hour\nChang'an plant,M9,cnc_milling,15000\n"
    with pytest.raises(csv_import.CsvImportError) as info:
        csv_import.import_csv(session, actor, text.encode())
    assert "rate_cny_per_hour" in info.value.errors[0][1]


@pytest.mark.parametrize("content", [b"\xff\xfe\x00bad", b"name,foo\nx,y\n", b""])
def test_csv_unreadable(session, world, content):
    actor, _plant, _machine = world
    with pytest.raises(csv_import.CsvImportError):
        csv_import.import_csv(session, actor, content)


# --- search and utilisation ---------------------------------------------------------------

def test_search_capacity_hides_competitor_prices(session, world, app, buyer, operator):
    from tests.conftest import make_account

    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    publishing.publish_window(session, actor, machine.id, h(base, 24), h(base, 30))
    competitor = session.get(User, make_account(app, "factory").user_id)
    hits = availability.search_capacity(session, competitor, "cnc_milling", "al6061", base,
                                    h(base, 48), min_hours=1)
    assert len(hits) == 1 and hits[0].free_minutes == 14 * 60 and not hits[0].show_price
    for viewer_id in (buyer.user_id, operator.user_id, actor.id):
        hit = availability.search_capacity(session, session.get(User, viewer_id), "cnc_milling",
                                       "al6061", base, h(base, 48))[0]
        assert hit.show_price
    assert availability.search_capacity(session, competitor, "cnc_milling", "ss304", base,
                                    h(base, 48)) == []
    assert availability.search_capacity(session, competitor, "cnc_milling", None, base,
                                    h(base, 4))[0].free_minutes == 240
    assert availability.search_capacity(session, competitor, "cnc_milling", None, base,
                                    h(base, 48), min_hours=20) == []


def test_search_excludes_unverified_factories(session, world):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    actor.company.status = "pending"
    session.add(actor.company)
    session.commit()
    assert availability.search_capacity(session, actor, "cnc_milling", None, base, h(base, 9)) == []


def test_utilisation(session, world):
    actor, _plant, machine = world
    base = future_monday(0)
    publishing.publish_window(session, actor, machine.id, h(base, 24 * 7), h(base, 24 * 7 + 10))
    publishing.occupy(session, machine.id, h(base, 24 * 7 + 2), h(base, 24 * 7 + 6),
                    WindowStatus.booked)
    session.commit()
    mondays, rows = availability.utilisation(session, actor, weeks=3, today=base.date())
    assert rows[0].weeks[1][1:] == (600, 240)
    assert rows[0].weeks[0][1:] == (0, 0)


def test_exclusion_constraint_on_postgres(session, world):
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError

    if session.get_bind().dialect.name != "postgresql":
        # SQLite gets the check in the service only; the PostgreSQL-only DDL must not leak in
        table_sql = session.connection().exec_driver_sql(
            "select sql from sqlite_master where name = 'capacity_window'").scalar()
        assert "EXCLUDE" not in table_sql and inspect(session.connection()).has_table(
            "capacity_window")
        return

    _actor, _plant, machine = world
    base = future_monday()
    session.add(CapacityWindow(machine_id=machine.id, start=base, end=h(base, 8)))
    session.commit()
    session.add(CapacityWindow(machine_id=machine.id, start=h(base, 4), end=h(base, 10),
                               status="booked"))
    with pytest.raises(IntegrityError, match="ex_capacity_window_no_overlap"):
        session.commit()
    session.rollback()
    session.add(CapacityWindow(machine_id=machine.id, start=h(base, 4), end=h(base, 10),
                               status="withdrawn"))
    session.commit()  # withdrawn history may overlap


def test_minutes_by_status_clips_to_the_range(session, world):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, h(base, 8))
    publishing.occupy(session, machine.id, h(base, 2), h(base, 4), WindowStatus.booked)
    session.commit()
    assert availability.minutes_by_status(session, base, h(base, 8)) == {
        "published": 360, "booked": 120}
    # a range cutting through windows counts only the part inside it
    assert availability.minutes_by_status(session, h(base, 3), h(base, 5)) == {
        "published": 60, "booked": 60}
