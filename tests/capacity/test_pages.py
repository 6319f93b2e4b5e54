"""Factory pages: plants, machines, shift rules, the week calendar with htmx, CSV import,
utilisation, and the capacity search page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.capacity import publishing
from market.capacity.models import CapacityWindow, Machine, Plant
from tests.conftest import login, make_account
from tests.fakes.capacity import future_monday, setup_machine

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(session, taxonomy, factory):
    return setup_machine(session, factory.user_id)


def test_add_plant_and_machine_through_pages(factory_client, session, taxonomy):
    response = factory_client.post("/factory/plants", data={
        "name": "Songshan Lake plant", "city": "Dongguan", "lat": "22.9", "lon": "113.9",
        "timezone": "Asia/Shanghai"})
    assert response.status_code == 302
    plant = session.exec(select(Plant)).one()
    response = factory_client.post(f"/factory/plants/{plant.id}/machines", data={
        "name": "Brother S700X1", "kind": "drill-tap centre", "process": ["cnc_milling"],
        "materials-0": ["al6061", "al7075"], "rate": ["128.50"], "setup": ["20"],
        "speed": ["1.2"]})
    assert response.status_code == 302
    machine = session.exec(select(Machine)).one()
    assert machine.capabilities[0].rate_per_hour == 12850
    assert machine.capabilities[0].materials == ["al6061", "al7075"]
    page = factory_client.get(f"/factory/plants/{plant.id}", headers=EN).text
    assert "Brother S700X1" in page and 'id="calendar"' in page


def test_bad_plant_and_machine_keep_input(factory_client, session, world):
    response = factory_client.post("/factory/plants", data={"name": "Nowhere", "lat": "100",
                                                            "lon": "x"}, headers=EN)
    assert response.status_code == 422 and 'value="Nowhere"' in response.text
    _actor, plant, _machine = world
    response = factory_client.post(f"/factory/plants/{plant.id}/machines", data={
        "name": "Mill", "process": ["cnc_milling"], "rate": ["lots"]}, headers=EN)
    assert response.status_code == 422 and 'value="Mill"' in response.text
    assert len(session.exec(select(Machine)).all()) == 1
    # a bad rate keeps the whole capability row as typed: process, materials, setup, size
    response = factory_client.post(f"/factory/plants/{plant.id}/machines", data={
        "name": "Mill", "process": ["cnc_milling"], "materials-0": ["al7075"],
        "rate": ["-5"], "setup": ["25"], "speed": ["1.3"], "max_part_mm": ["400"],
        "tolerance_mm": ["0.01"]}, headers=EN)
    html = response.text
    assert response.status_code == 422
    assert 'value="cnc_milling" selected' in html
    assert 'name="materials-0" value="al7075" checked' in html
    assert 'value="-5"' in html and 'value="25"' in html and 'value="400"' in html
    assert 'value="0.01"' in html and 'value="1.3"' in html


def test_materials_are_checkboxes_for_the_chosen_process(factory_client, world):
    _actor, _plant, machine = world
    page = factory_client.get(f"/factory/machines/{machine.id}", headers=EN).text
    assert 'type="checkbox" name="materials-0"' in page and "<select id=\"materials-0\"" not in page
    swap = factory_client.get("/factory/material-options?process=anodizing&i=2&as=checks",
                              headers={**EN, "HX-Request": "true"}).text
    assert 'id="materials-2"' in swap and 'name="materials-2"' in swap


def test_shift_rule_form(factory_client, session, world):
    _actor, _plant, machine = world
    monday = future_monday().date()
    response = factory_client.post(f"/factory/machines/{machine.id}/shift-rules", data={
        "weekdays": ["0", "1", "2", "3", "4"], "start_time": "08:00", "end_time": "16:00",
        "valid_from": monday.isoformat(), "valid_until": (monday + timedelta(days=6)).isoformat(),
        "holidays": ""})
    assert response.status_code == 302
    assert len(session.exec(select(CapacityWindow)).all()) == 5
    bad = factory_client.post(f"/factory/machines/{machine.id}/shift-rules", data={
        "start_time": "8", "end_time": "16:00", "valid_from": "x", "valid_until": ""},
        headers=EN)
    assert bad.status_code == 422 and "Choose at least one weekday" in bad.text


def test_calendar_htmx_add_and_withdraw(factory_client, session, world):
    _actor, plant, machine = world
    monday = future_monday().date()
    response = factory_client.post(f"/factory/plants/{plant.id}/windows", data={
        "machine_id": machine.id, "day": monday.isoformat(), "start_time": "22:00",
        "end_time": "06:00", "week": monday.isoformat()},
        headers={**EN, "HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "Published 8.0 hours" in response.text
    assert "22:00–24:00" in response.text and "00:00–06:00" in response.text
    window = session.exec(select(CapacityWindow)).one()
    assert window.end - window.start == timedelta(hours=8)
    response = factory_client.post(f"/factory/windows/{window.id}/withdraw", data={
        "back": "calendar", "week": monday.isoformat()}, headers={**EN, "HX-Request": "true"})
    assert response.status_code == 200 and "Withdrew 8.0 hours" in response.text
    session.expire_all()
    assert session.get(CapacityWindow, window.id).status == "withdrawn"


def test_calendar_errors_in_place_and_repeats_are_not_successes(factory_client, session, world):
    _actor, plant, machine = world
    monday = future_monday().date()
    htmx = {"HX-Request": "true"}
    past = factory_client.post(f"/factory/plants/{plant.id}/windows", data={
        "machine_id": machine.id, "day": "2020-01-06", "start_time": "08:00",
        "end_time": "16:00", "week": monday.isoformat()}, headers={**EN, **htmx})
    # a 422 partial that base.html's htmx settings swap in place, in the error style
    assert past.status_code == 422 and "<html" not in past.text
    assert 'class="flash flash-error"' in past.text and "entirely in the past" in past.text
    zh = factory_client.post(f"/factory/plants/{plant.id}/windows", data={
        "machine_id": machine.id, "day": "2020-01-06", "start_time": "08:00",
        "end_time": "16:00", "week": monday.isoformat()},
        headers={"Accept-Language": "zh", **htmx})
    assert "entirely in the past" not in zh.text  # in the reader's language
    data = {"machine_id": machine.id, "day": monday.isoformat(), "start_time": "08:00",
            "end_time": "16:00", "week": monday.isoformat()}
    factory_client.post(f"/factory/plants/{plant.id}/windows", data=data, headers={**EN, **htmx})
    again = factory_client.post(f"/factory/plants/{plant.id}/windows", data=data,
                                headers={**EN, **htmx})
    assert "already published" in again.text and "flash-success" not in again.text


def test_calendar_shows_booked_and_refuses_withdraw(factory_client, session, world):
    from market.capacity.models import WindowStatus

    actor, plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, base + timedelta(hours=8))
    publishing.occupy(session, machine.id, base + timedelta(hours=2), base + timedelta(hours=4),
                    WindowStatus.booked)
    session.commit()
    page = factory_client.get(f"/factory/plants/{plant.id}/calendar?week={base.date()}",
                              headers=EN).text
    assert page.count("slot-booked") >= 2 and "slot-published" in page  # legend + cell
    booked = session.exec(select(CapacityWindow).where(CapacityWindow.status == "booked")).one()
    response = factory_client.post(f"/factory/windows/{booked.id}/withdraw",
                                   data={"back": "calendar"},
                                   headers={**EN, "HX-Request": "true"})
    assert response.status_code == 409 and "cannot be withdrawn" in response.text


def test_csv_import_page(factory_client, session, world):
    import io

    page = factory_client.get("/factory/import", headers=EN)
    assert "Process and material codes" in page.text and "<code>cnc_milling</code>" in page.text
    example = factory_client.get("/factory/import/example.csv")
    assert example.status_code == 200 and example.mimetype == "text/csv"
    # the example names this factory's own plant and imports exactly as downloaded
    assert "Chang'an plant" in example.text
    response = factory_client.post(
        "/factory/import", data={"file": (io.BytesIO(example.data), "example.csv")},
        content_type="multipart/form-data", headers=EN)
    assert response.status_code == 200 and "2 machines created" in response.text
    bad = (b"plant,machine,process\nNowhere,M,cnc_milling\n")
    response = factory_client.post("/factory/import", data={"file": (io.BytesIO(bad), "x.csv")},
                                   content_type="multipart/form-data", headers=EN)
    assert response.status_code == 422 and "Line 2" in response.text
    assert "Nothing was imported" in response.text
    zh = factory_client.post("/factory/import", data={"file": (io.BytesIO(bad), "x.csv")},
                             content_type="multipart/form-data", headers={"Accept-Language": "zh"})
    assert "Nowhere" in zh.text and "Unknown plant" not in zh.text  # the row error translated
    good = (b"plant,machine,process,materials,rate_cny_per_hour\n"
            b"Chang'an plant,Lathe 2,cnc_turning,al6061,90.00\n")
    response = factory_client.post("/factory/import", data={"file": (io.BytesIO(good), "g.csv")},
                                   content_type="multipart/form-data", headers=EN)
    assert response.status_code == 200 and "1 machine created" in response.text
    lathe = session.exec(select(Machine).where(Machine.name == "Lathe 2")).one()
    assert lathe.capabilities[0].rate_per_hour == 9_000  # ¥90.00 an hour


def test_utilisation_page(factory_client, world):
    response = factory_client.get("/factory/utilisation", headers=EN)
    assert response.status_code == 200 and "Haas VF-2" in response.text


def test_other_factory_gets_404_and_buyer_403(app, world):
    _actor, plant, machine = world
    rival = login(app.test_client(), make_account(app, "factory"))
    for path in (f"/factory/plants/{plant.id}", f"/factory/machines/{machine.id}",
                 f"/factory/plants/{plant.id}/calendar"):
        assert rival.get(path).status_code == 404, path
    assert rival.post(f"/factory/machines/{machine.id}/retire").status_code == 404
    buyer = login(app.test_client(), make_account(app, "buyer"))
    assert buyer.get("/factory/").status_code == 403
    assert buyer.post("/factory/plants", data={"name": "x"}).status_code == 403


def test_capacity_search_page(app, session, world, buyer_client):
    actor, _plant, machine = world
    base = future_monday()
    publishing.publish_window(session, actor, machine.id, base, base + timedelta(hours=8))
    url = (f"/capacity?process=cnc_milling&material=al6061&from={base.date()}"
           f"&to={(base + timedelta(days=1)).date()}&min_hours=1")
    page = buyer_client.get(url, headers=EN).text
    assert "Haas VF-2" in page and "¥150.00" in page
    rival = login(app.test_client(), make_account(app, "factory"))
    partial = rival.get(url, headers={**EN, "HX-Request": "true"}).text
    assert "Haas VF-2" in partial and "¥150.00" not in partial and "hidden" in partial
    assert "<html" not in partial
    bad = buyer_client.get("/capacity?process=cnc_milling&from=soon", headers=EN)
    assert bad.status_code == 200 and "Use dates like" in bad.text


def test_retire_from_page(factory_client, session, world):
    _actor, _plant, machine = world
    assert factory_client.post(f"/factory/machines/{machine.id}/retire").status_code == 302
    session.expire_all()
    assert session.get(Machine, machine.id).status == "retired"
    assert session.get(User, _actor.id) is not None


def test_shift_rules_edited_and_withdrawn_as_a_unit(factory_client, client, session, world):
    from market.capacity.models import CapacityRule

    actor, _plant, machine = world
    monday = future_monday().date()
    rule_form = {"weekdays": ["0", "1", "2", "3", "4"], "start_time": "08:00",
                 "end_time": "16:00", "valid_from": monday.isoformat(),
                 "valid_until": (monday + timedelta(days=6)).isoformat(), "holidays": ""}
    factory_client.post(f"/factory/machines/{machine.id}/shift-rules", data=rule_form)
    rule = session.exec(select(CapacityRule)).one()

    def idle_hours():
        session.expire_all()
        return sum(w.minutes for w in session.exec(select(CapacityWindow).where(
            CapacityWindow.machine_id == machine.id,
            CapacityWindow.status == "published"))) / 60

    assert idle_hours() == 40
    edit = factory_client.get(f"/factory/machines/{machine.id}?edit_rule={rule.id}", headers=EN)
    assert "Edit shift rule" in edit.text and f'name="replaces" value="{rule.id}"' in edit.text
    # a bad edit changes nothing
    bad = factory_client.post(f"/factory/machines/{machine.id}/shift-rules",
                              data={**rule_form, "replaces": rule.id, "end_time": "8"},
                              headers=EN)
    assert bad.status_code == 422 and idle_hours() == 40
    factory_client.post(f"/factory/machines/{machine.id}/shift-rules",
                        data={**rule_form, "replaces": rule.id, "end_time": "12:00"})
    assert idle_hours() == 20  # 08:00-12:00 now, not 08:00-16:00
    session.expire_all()
    assert session.get(CapacityRule, rule.id).withdrawn_at is not None
    new = session.exec(select(CapacityRule).where(CapacityRule.id != rule.id)).one()
    done = factory_client.post(f"/factory/shift-rules/{new.id}/withdraw", headers=EN,
                               follow_redirects=True)
    assert "Shift rule withdrawn: 20.0 hours" in done.text and idle_hours() == 0
    again = factory_client.post(f"/factory/shift-rules/{new.id}/withdraw", headers=EN,
                                follow_redirects=True)
    assert "already withdrawn" in again.text
