"""API.md "Disruption and change" through the JSON API: downtime, re-plan runs and their
changes, approval that moves bookings, partial declines."""

from __future__ import annotations

from datetime import timedelta

from market.accounts.models import User
from tests.conftest import Account, api_token
from tests.deals.test_disruption import app_config, live, world  # noqa: F401 (fixtures)


def token(client, user: User):
    return api_token(client, Account(user.id, user.company_id, user.email))


def test_downtime_replan_and_approval_through_the_api(client, session, world):  # noqa: F811
    users, machines, order = world["users"], world["machines"], world["order"]
    milling = next(b for b in live(session, order.id) if b.machine_id != machines["anod"].id)
    name = "mill1" if milling.machine_id == machines["mill1"].id else "mill2"
    factory = token(client, users[name])
    body = {"start": (milling.start - timedelta(hours=1)).isoformat(),
            "end": (milling.end + timedelta(days=1)).isoformat(), "reason": "Coolant pump"}
    r = client.post(f"/api/v1/machines/{milling.machine_id}/downtime", json=body,
                    headers=factory)
    assert r.status_code == 201, r.json
    assert r.json["affected_bookings"] == [milling.id]
    run_id = r.json["replan_run_id"]
    assert client.get(f"/api/v1/machines/{milling.machine_id}/downtime",
                      headers=factory).json["items"][0]["id"] == r.json["id"]
    # the factory sees its booking at risk
    mine = client.get(f"/api/v1/bookings/{milling.id}", headers=factory).json
    assert mine["at_risk"] is True

    operator = token(client, users["operator"])
    run = client.get(f"/api/v1/matching-runs/{run_id}", headers=operator).json
    assert run["kind"] == "replan" and run["status"] == "done"
    change = next(c for c in run["changes"] if c["operation_id"] == milling.operation_id)
    assert set(change) == {"operation_id", "order_id", "reason", "from", "to"}
    assert change["from"]["machine_id"] == milling.machine_id
    assert change["to"]["machine_id"] != milling.machine_id

    r = client.post(f"/api/v1/matching-runs/{run_id}/approve", json={}, headers=operator)
    assert r.status_code == 200, r.json
    assert r.json["approved"] == [order.id]
    assert client.get(f"/api/v1/bookings/{milling.id}", headers=factory).json["status"] == (
        "replaced")


def test_downtime_errors_and_foreign_machines(client, session, world):  # noqa: F811
    users, machines = world["users"], world["machines"]
    mill1 = token(client, users["mill1"])
    url = f"/api/v1/machines/{machines['mill1'].id}/downtime"
    r = client.post(url, json={"start": "2026-12-10T08:00:00+08:00",
                               "end": "2026-12-09T08:00:00+08:00", "reason": "x"},
                    headers=mill1)
    assert r.status_code == 422 and "end" in r.json["error"]["fields"]
    r = client.post(url, json={"start": "2026-12-10T08:00:00", "end": "2026-12-11T08:00:00",
                               "reason": "no offset"}, headers=mill1)
    assert r.status_code == 422
    other = token(client, users["mill2"])
    r = client.post(url, json={"start": "2030-01-01T08:00:00+08:00",
                               "end": "2030-01-02T08:00:00+08:00", "reason": "not mine"},
                    headers=other)
    assert r.status_code == 404
    buyer = token(client, users["buyer"])
    assert client.post(url, json={"start": "2030-01-01T08:00:00+08:00",
                                  "end": "2030-01-02T08:00:00+08:00", "reason": "x"},
                       headers=buyer).status_code in (403, 404)


def test_operator_replan_run_and_partial_decline_api(client, session, world):  # noqa: F811
    users, machines, order = world["users"], world["machines"], world["order"]
    operator = token(client, users["operator"])
    r = client.post("/api/v1/matching-runs", json={"kind": "replan", "order_ids": [order.id],
                                                    "time_limit_seconds": 2}, headers=operator)
    assert r.status_code == 202, r.json
    run = client.get(f"/api/v1/matching-runs/{r.json['id']}", headers=operator).json
    assert run["kind"] == "replan" and run["changes"] == []
    r = client.post("/api/v1/matching-runs", json={"kind": "replan", "order_ids": []},
                    headers=operator)
    assert r.status_code == 422
    anod = next(b for b in live(session, order.id) if b.machine_id == machines["anod"].id)
    factory = token(client, users["anod"])
    r = client.post(f"/api/v1/bookings/{anod.id}/decline", json={"reason": "Tank leak"},
                    headers=factory)
    assert r.status_code == 200, r.json
    buyer = token(client, users["buyer"])
    body = client.get(f"/api/v1/orders/{order.id}", headers=buyer).json
    assert body["status"] == "accepted"  # still booked, money held: one step is re-planned
