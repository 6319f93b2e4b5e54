"""The capacity part of the JSON API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import api_token, make_account
from tests.fakes.capacity import future_monday

MACHINE = {"name": "DMG MORI CMX 800", "kind": "VMC", "capabilities": [
    {"process": "cnc_milling", "materials": ["al6061", "ss304"], "rate_per_hour": 16000,
     "setup_minutes": 45, "speed": 1.1}]}


@pytest.fixture
def headers(client, factory, taxonomy):
    return api_token(client, factory)


@pytest.fixture
def machine_id(client, headers):
    plant = client.post("/api/v1/plants", json={"name": "Chang'an", "lat": 22.8, "lon": 113.8,
                                                "timezone": "Asia/Shanghai"}, headers=headers)
    assert plant.status_code == 201, plant.json
    response = client.post("/api/v1/machines", json={**MACHINE, "plant_id": plant.json["id"]},
                           headers=headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def iso(dt) -> str:
    return dt.isoformat()


def test_plants_and_machines(client, headers, machine_id):
    plants = client.get("/api/v1/plants", headers=headers).json
    assert plants["total"] == 1 and plants["items"][0]["timezone"] == "Asia/Shanghai"
    machine = client.get(f"/api/v1/machines/{machine_id}", headers=headers).json
    assert machine["capabilities"][0]["rate_per_hour"] == 16000
    patched = client.patch(f"/api/v1/machines/{machine_id}", json={"name": "CMX #1"},
                           headers=headers)
    assert patched.status_code == 200 and patched.json["name"] == "CMX #1"
    retired = client.delete(f"/api/v1/machines/{machine_id}", headers=headers)
    assert retired.json["status"] == "retired"
    assert client.get("/api/v1/machines", headers=headers).json["total"] == 0
    assert client.get("/api/v1/machines?include_retired=1", headers=headers).json["total"] == 1


def test_idempotent_window_push(client, headers, machine_id):
    base = future_monday()
    body = {"start": iso(base), "end": iso(base + timedelta(hours=8))}
    first = client.post(f"/api/v1/machines/{machine_id}/windows", json=body, headers=headers)
    second = client.post(f"/api/v1/machines/{machine_id}/windows", json=body, headers=headers)
    assert (first.status_code, first.json["created"]) == (201, True)
    assert (second.status_code, second.json["created"]) == (200, False)
    assert first.json["windows"][0]["id"] == second.json["windows"][0]["id"]
    windows = client.get(f"/api/v1/machines/{machine_id}/windows", headers=headers).json["items"]
    assert len(windows) == 1


def test_the_repeat_s_200_is_documented(client):
    post = client.get("/api/v1/openapi.json").json["paths"][
        "/api/v1/machines/{machine_id}/windows"]["post"]
    assert {"200", "201"} <= set(post["responses"])


def test_the_capacity_search_says_what_it_requires(client, headers):
    search = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/capacity"]["get"]
    required = {p["name"] for p in search["parameters"] if p["required"]}
    assert required == {"process", "from", "to"}
    missing = client.get("/api/v1/capacity?process=cnc_milling&from=2027-01-04",
                         headers=headers)
    assert missing.status_code == 422 and "to" in missing.json["error"]["fields"]


def test_window_errors(client, headers, machine_id):
    base = future_monday()
    url = f"/api/v1/machines/{machine_id}/windows"
    bad_order = client.post(url, json={"start": iso(base + timedelta(hours=8)),
                                       "end": iso(base)}, headers=headers)
    assert bad_order.status_code == 422 and "end" in bad_order.json["error"]["fields"]
    naive = client.post(url, json={"start": "2030-01-01T08:00:00", "end": "2030-01-01T10:00"},
                        headers=headers)
    assert naive.status_code == 422
    garbage = client.post(url, json={"start": "soon", "end": "later"}, headers=headers)
    assert garbage.status_code == 422 and {"start", "end"} <= set(garbage.json["error"]["fields"])


def test_booked_window_delete_is_409(client, headers, machine_id, session):
    from market.capacity import publishing
    from market.capacity.models import CapacityWindow, WindowStatus

    base = future_monday()
    client.post(f"/api/v1/machines/{machine_id}/windows",
                json={"start": iso(base), "end": iso(base + timedelta(hours=8))},
                headers=headers)
    publishing.occupy(session, machine_id, base + timedelta(hours=1), base + timedelta(hours=2),
                    WindowStatus.booked)
    session.commit()
    booked = session.exec(select(CapacityWindow).where(CapacityWindow.status == "booked")).one()
    response = client.delete(f"/api/v1/windows/{booked.id}", headers=headers)
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict"
    free = session.exec(select(CapacityWindow).where(CapacityWindow.status == "published")).first()
    assert client.delete(f"/api/v1/windows/{free.id}", headers=headers).status_code == 200
    withdrawn = client.post(f"/api/v1/machines/{machine_id}/withdraw", headers=headers,
                            json={"start": iso(base), "end": iso(base + timedelta(hours=8))})
    assert withdrawn.json["kept"][0]["id"] == booked.id


def test_shift_rules(client, headers, machine_id):
    monday = future_monday().date()
    response = client.post(f"/api/v1/machines/{machine_id}/shift-rules", headers=headers, json={
        "weekdays": [0, 1, 2, 3, 4], "start_time": "22:00", "end_time": "06:00",
        "valid_from": monday.isoformat(), "valid_until": (monday + timedelta(days=6)).isoformat(),
        "holidays": [(monday + timedelta(days=1)).isoformat()]})
    assert response.status_code == 201, response.json
    assert response.json["added_minutes"] == 4 * 8 * 60
    windows = client.get(f"/api/v1/machines/{machine_id}/windows", headers=headers).json["items"]
    assert len(windows) == 4
    bad = client.post(f"/api/v1/machines/{machine_id}/shift-rules", headers=headers, json={
        "weekdays": [7], "start_time": "99:00", "end_time": "06:00",
        "valid_from": monday.isoformat(), "valid_until": monday.isoformat()})
    assert bad.status_code == 422
    rule_id = response.json["id"]
    edited = client.put(f"/api/v1/shift-rules/{rule_id}", headers=headers, json={
        "weekdays": [0], "start_time": "08:00", "end_time": "12:00",
        "valid_from": monday.isoformat(), "valid_until": (monday + timedelta(days=6)).isoformat()})
    assert edited.status_code == 200 and edited.json["added_minutes"] == 4 * 60
    windows = client.get(f"/api/v1/machines/{machine_id}/windows", headers=headers).json["items"]
    assert [(w["status"]) for w in windows] == ["published"]  # the old shifts are gone
    gone = client.delete(f"/api/v1/shift-rules/{edited.json['id']}", headers=headers)
    assert gone.status_code == 200 and gone.json["withdrawn_minutes"] == 4 * 60
    assert client.delete(f"/api/v1/shift-rules/{rule_id}", headers=headers).status_code == 409
    assert client.delete("/api/v1/shift-rules/999999", headers=headers).status_code == 404


def test_capacity_search(client, headers, machine_id, app):
    base = future_monday()
    client.post(f"/api/v1/machines/{machine_id}/windows", headers=headers,
                json={"start": iso(base), "end": iso(base + timedelta(hours=10))})
    buyer_headers = api_token(client, make_account(app, "buyer"))
    rival_headers = api_token(client, make_account(app, "factory"))
    query = (f"/api/v1/capacity?process=cnc_milling&material=al6061&min_hours=2"
             f"&from={base.isoformat().replace('+', '%2B')}"
             f"&to={(base + timedelta(days=2)).isoformat().replace('+', '%2B')}")
    as_buyer = client.get(query, headers=buyer_headers).json
    assert as_buyer["items"][0]["free_hours"] == 10.0
    assert as_buyer["items"][0]["rate_per_hour"] == 16000
    assert client.get(query, headers=rival_headers).json["items"][0]["rate_per_hour"] is None
    missing = client.get("/api/v1/capacity?process=cnc_milling", headers=buyer_headers)
    assert missing.status_code == 422 and "from" in missing.json["error"]["fields"]
    # plain days (API.md "Dates"): from the start of the first to the end of the last
    days = (f"/api/v1/capacity?process=cnc_milling&material=al6061&min_hours=2"
            f"&from={base.date().isoformat()}&to={(base + timedelta(days=1)).date().isoformat()}")
    by_day = client.get(days, headers=buyer_headers)
    assert by_day.status_code == 200, by_day.json
    assert by_day.json["items"][0]["free_hours"] == 10.0
    for bad in ("9999-12-31", "2026-02-30", "tomorrow"):
        refused = client.get(f"/api/v1/capacity?process=cnc_milling&from={bad}&to=2026-12-31",
                             headers=buyer_headers)
        assert refused.status_code == 422 and "from" in refused.json["error"]["fields"], bad


def test_dates_outside_2000_2100_are_refused(client, headers, machine_id):
    far = {"start": "9999-12-30T08:00:00+08:00", "end": "9999-12-30T16:00:00+08:00"}
    window = client.post(f"/api/v1/machines/{machine_id}/windows", json=far, headers=headers)
    assert window.status_code == 422 and "start" in window.json["error"]["fields"]
    monday = future_monday().date()
    rule = client.post(f"/api/v1/machines/{machine_id}/shift-rules", headers=headers, json={
        "weekdays": [0], "start_time": "08:00", "end_time": "16:00",
        "valid_from": monday.isoformat(), "valid_until": "9999-12-31"})
    assert rule.status_code == 422 and "valid_until" in rule.json["error"]["fields"]


def test_authorization(client, headers, machine_id, app):
    rival = api_token(client, make_account(app, "factory"))
    buyer = api_token(client, make_account(app, "buyer"))
    for method, path in [("get", f"/api/v1/machines/{machine_id}"),
                         ("patch", f"/api/v1/machines/{machine_id}"),
                         ("get", f"/api/v1/machines/{machine_id}/windows"),
                         ("delete", f"/api/v1/machines/{machine_id}")]:
        kwargs = {"json": {"name": "x"}} if method == "patch" else {}
        response = getattr(client, method)(path, headers=rival, **kwargs)
        assert response.status_code == 404, (method, path, response.json)
    response = client.post("/api/v1/plants", json={"name": "X", "lat": 1, "lon": 1},
                           headers=buyer)
    assert response.status_code == 403
    response = client.post(f"/api/v1/machines/{machine_id}/windows", headers=buyer,
                           json={"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T08:00:00Z"})
    assert response.status_code in (403, 404)
    assert client.get("/api/v1/plants").status_code == 401
