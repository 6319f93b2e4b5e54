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
