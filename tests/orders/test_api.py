"""The orders part of the JSON API (API.md): contract, bad input, transitions, access."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from market.orders.models import Order
from tests.conftest import api_token, make_account
from tests.fakes.orders import api_body, future


@pytest.fixture
def headers(client, taxonomy, buyer):
    return api_token(client, buyer)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.data[:500]
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    return response.json["error"]


def count_orders(session) -> int:
    return session.exec(select(func.count()).select_from(Order)).one()


def test_create_get_list_submit_cancel(client, headers):
    created = client.post("/api/v1/orders", json=api_body(), headers=headers)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["status"] == "draft" and body["offered"] is False
    assert body["delivery"] == {"address": "88 Century Ave, Shanghai", "lat": 31.23,
                                "lon": 121.47}
    assert body["budget"] == 1_500_000 and body["currency"] == "CNY"
    assert [(o["seq"], o["process"], o["material"]) for o in body["operations"]] == [
        (1, "cnc_milling", "al6061"), (2, "anodizing", "al6061")]
    assert body["operations"][0]["bookings"] == []
    assert body["quotes"] == [] and body["payments"] == []
    assert "+00:00" in body["due_date"] or body["due_date"].endswith("Z")
    order_id = body["id"]

    got = client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert got.status_code == 200 and got.json["title"] == "Bracket, 6061 anodized"
    assert [e["kind"] for e in got.json["events"]] == ["created"]

    listed = client.get("/api/v1/orders", headers=headers)
    assert listed.status_code == 200
    assert set(listed.json) == {"items", "page", "per_page", "total"}
    assert listed.json["total"] == 1 and listed.json["items"][0]["id"] == order_id

    submitted = client.post(f"/api/v1/orders/{order_id}/submit", headers=headers)
    assert submitted.status_code == 200 and submitted.json["status"] == "open"
    assert submitted.json["offered"] is True
    assert client.get("/api/v1/orders?status=open", headers=headers).json["total"] == 1
    assert client.get("/api/v1/orders?status=draft", headers=headers).json["total"] == 0

    again = client.post(f"/api/v1/orders/{order_id}/submit", headers=headers)
    assert_error(again, 409, "conflict")
    edit = client.put(f"/api/v1/orders/{order_id}", json=api_body(), headers=headers)
    assert_error(edit, 409, "conflict")

    cancelled = client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "Changed"},
                            headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["cancel_reason"] == "Changed"
    assert_error(client.post(f"/api/v1/orders/{order_id}/cancel", headers=headers), 409,
                 "conflict")


def test_put_replaces_a_draft(client, headers):
    order_id = client.post("/api/v1/orders", json=api_body(), headers=headers).json["id"]
    body = api_body(title="v2", operations=[{"process": "cnc_turning", "material": "ss304"}])
    updated = client.put(f"/api/v1/orders/{order_id}", json=body, headers=headers)
    assert updated.status_code == 200, updated.json
    assert updated.json["title"] == "v2"
    assert [o["process"] for o in updated.json["operations"]] == ["cnc_turning"]
    assert updated.json["operations"][0]["minutes_per_unit"] > 0  # the typical value


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": "lots"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": 10**30}, "quantity"),
        ({"budget": 10**30}, "budget"),
        ({"delivery": None}, "delivery"),
        ({"delivery": {"address": "", "lat": "31.2", "lon": 121}}, "delivery.lat"),
        ({"operations": "cnc"}, "operations"),
        ({"operations": [None]}, "operations.0"),
        ({"due_date": "2020-01-01T00:00:00+00:00"}, "due_date"),
        ({"due_date": "2030-01-01T00:00:00"}, "due_date"),
        ({"due_date": "soon"}, "due_date"),
        # a typo far in the future once made every matching run fail (issue "Locked doors")
        ({"due_date": "9999-12-31"}, "due_date"),
        ({"due_date": "9999-12-31T00:00:00+00:00"}, "due_date"),
        ({"due_date": "1999-12-31"}, "due_date"),
        ({"due_date": "2026-13-40"}, "due_date"),
        ({"due_date": future(800).isoformat()}, "due_date"),  # more than two years ahead
        ({"due_date": 20261222}, "due_date"),
        ({"delivery": {"address": "", "lat": 100, "lon": 0}}, "delivery.lat"),
        ({"delivery": {"address": "", "lat": 0}}, "delivery.lon"),
        ({"budget": -1}, "budget"),
        ({"budget": 10.5}, "budget"),
        ({"operations": []}, "operations"),
        ({"operations": [{"process": "teleportation"}]}, "operations.0.process"),
        ({"operations": [{"process": "anodizing", "material": "pa12"}]},
         "operations.0.material"),
        ({"operations": [{"process": "cnc_milling", "material": "al6061",
                          "minutes_per_unit": -1}]}, "operations.0.minutes_per_unit"),
        ({"operations": [{"process": "cnc_milling", "colour": "red"}]}, "operations.0.colour"),
        ({"title": ""}, "title"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_input_is_422_with_the_field(client, session, headers, overrides, field):
    body = api_body(**overrides)
    error = assert_error(client.post("/api/v1/orders", json=body, headers=headers), 422,
                         "validation_error")
    assert field in error["fields"], error
    assert count_orders(session) == 0


def test_missing_fields(client, session, headers):
    body = api_body()
    del body["quantity"], body["operations"]
    error = assert_error(client.post("/api/v1/orders", json=body, headers=headers), 422,
                         "validation_error")
    assert {"quantity", "operations"} <= set(error["fields"])


@pytest.mark.parametrize("payload", ["[1, 2]", "\"text\"", "{not json", "null"])
def test_body_must_be_a_json_object(client, headers, payload):
    response = client.post("/api/v1/orders", data=payload, content_type="application/json",
                           headers=headers)
    assert_error(response, 400, "bad_request")


def test_cancel_body_must_be_an_object(client, headers):
    order_id = client.post("/api/v1/orders", json=api_body(), headers=headers).json["id"]
    response = client.post(f"/api/v1/orders/{order_id}/cancel", data="[1]",
                           content_type="application/json", headers=headers)
    assert_error(response, 400, "bad_request")
    response = client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": 5},
                           headers=headers)
    assert_error(response, 422, "validation_error")


def test_bad_pagination_and_status(client, headers):
    assert_error(client.get("/api/v1/orders?page=x", headers=headers), 400, "bad_request")
    assert_error(client.get("/api/v1/orders?status=bogus", headers=headers), 422,
                 "validation_error")


def test_only_buyers_create(app, client, taxonomy):
    factory = make_account(app, "factory")
    response = client.post("/api/v1/orders", json=api_body(),
                           headers=api_token(client, factory))
    assert_error(response, 403, "forbidden")
    assert_error(client.post("/api/v1/orders", json=api_body()), 401, "unauthorized")


def test_unverified_buyer_submits_but_is_not_offered(app, client, taxonomy):
    pending = make_account(app, "buyer", verified=False)
    headers = api_token(client, pending)
    order_id = client.post("/api/v1/orders", json=api_body(), headers=headers).json["id"]
    submitted = client.post(f"/api/v1/orders/{order_id}/submit", headers=headers)
    assert submitted.status_code == 200
    assert submitted.json["status"] == "open" and submitted.json["offered"] is False


def test_other_companies_and_anonymous_get_404(app, client, headers):
    order_id = client.post("/api/v1/orders", json=api_body(), headers=headers).json["id"]
    for kind in ("buyer", "factory"):
        other = api_token(client, make_account(app, kind))
        assert_error(client.get(f"/api/v1/orders/{order_id}", headers=other), 404, "not_found")
        for action in ("submit", "cancel", "instant-quote"):
            assert_error(client.post(f"/api/v1/orders/{order_id}/{action}", headers=other),
                         404, "not_found")
        assert_error(client.put(f"/api/v1/orders/{order_id}", json=api_body(), headers=other),
                     404, "not_found")
        assert client.get("/api/v1/orders", headers=other).json["total"] == 0
    assert_error(client.get(f"/api/v1/orders/{order_id}"), 404, "not_found")
    assert_error(client.get("/api/v1/orders/424242", headers=headers), 404, "not_found")
    operator = api_token(client, make_account(app, "operator"))
    assert client.get(f"/api/v1/orders/{order_id}", headers=operator).status_code == 200


def test_openapi_lists_the_orders_routes(client):
    doc = client.get("/api/v1/openapi.json").json
    for path, method in [("/api/v1/orders", "post"), ("/api/v1/orders", "get"),
                         ("/api/v1/orders/{order_id}", "get"),
                         ("/api/v1/orders/{order_id}/submit", "post"),
                         ("/api/v1/orders/{order_id}/cancel", "post"),
                         ("/api/v1/orders/{order_id}/attachments", "post"),
                         ("/api/v1/attachments/{attachment_id}", "get"),
                         ("/api/v1/orders/{order_id}/instant-quote", "post")]:
        assert method in doc["paths"][path], (path, method)
    schemas = doc["components"]["schemas"]
    assert {"OrderIn", "OrderOut", "InstantQuoteOut"} <= set(schemas)
    assert {"price", "currency", "delivery_date", "plants", "valid_until"} <= set(
        schemas["InstantQuoteOut"]["properties"])


def test_due_date_in_other_offsets_is_stored_in_utc(client, headers):
    due = future(20).astimezone().isoformat()
    body = client.post("/api/v1/orders", json=api_body(due_date=due), headers=headers).json
    assert body["due_date"].endswith(("+00:00", "Z"))


def test_get_order_shows_bookings_and_quotes(app, client, session, headers, buyer):
    from market.orders.models import Order as OrderRow
    from tests.fakes.orders import book

    order_id = client.post("/api/v1/orders", json=api_body(), headers=headers).json["id"]
    factory = make_account(app, "factory")
    booking = book(session, session.get(OrderRow, order_id), factory.company_id, "accepted")
    body = client.get(f"/api/v1/orders/{order_id}", headers=headers).json
    assert body["quotes"][0]["id"] == booking.quote_id
    assert body["quotes"][0]["price"] == 10_800
    assert body["operations"][0]["bookings"][0]["status"] == "accepted"
    assert body["operations"][1]["bookings"] == []
    assert body["payments"] == []
    # the booked factory reads the order, not the buyer's deals
    seen = client.get(f"/api/v1/orders/{order_id}", headers=api_token(client, factory)).json
    assert seen["id"] == order_id and seen["quotes"] == []


def test_a_plain_day_is_the_end_of_that_day_in_shanghai(client, headers):
    """API.md "Dates": integrators send "2026-12-22"; it means by the end of that day."""
    day = future(20).date()
    created = client.post("/api/v1/orders", json=api_body(due_date=day.isoformat()),
                          headers=headers)
    assert created.status_code == 201, created.json
    due = datetime.fromisoformat(created.json["due_date"])
    local = due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.date(), local.hour, local.minute) == (day, 23, 59)


def test_a_body_over_the_limit_is_a_documented_413(app_config, client, headers):
    """Found reading what the fuzzer could not reach: a JSON body or an upload larger than
    MAX_CONTENT_LENGTH answered 413, which the document listed for no operation."""
    import io

    from market import create_app
    from tests.fakes.orders import tiny_pdf

    small = create_app({**app_config, "MAX_CONTENT_LENGTH": 4096}).test_client()
    order_id = client.post("/api/v1/orders", json=api_body(), headers=headers).json["id"]
    assert_error(small.post("/api/v1/orders", json=api_body(title="x" * 5000),
                            headers=headers), 413, "too_large")
    upload = small.post(f"/api/v1/orders/{order_id}/attachments", headers=headers,
                        data={"file": (io.BytesIO(tiny_pdf() + b" " * 5000), "big.pdf")},
                        content_type="multipart/form-data")
    assert_error(upload, 413, "too_large")
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path, method in [("/api/v1/orders", "post"),
                         ("/api/v1/orders/{order_id}/attachments", "post"),
                         ("/api/v1/orders/{order_id}", "put")]:
        assert "413" in paths[path][method]["responses"], (path, method)
    assert "413" not in paths["/api/v1/orders/{order_id}"]["get"]["responses"]


def test_uploads_and_the_optional_cancel_body_are_documented(client, headers):
    """The fuzzer sent uploads without a file (the document showed no body) and never a
    reason to cancel: both are declared now, and the reason is checked like any body."""
    doc = client.get("/api/v1/openapi.json").json
    paths, schemas = doc["paths"], doc["components"]["schemas"]

    def form(path: str) -> dict:
        body = paths[path]["post"]["requestBody"]
        ref = body["content"]["multipart/form-data"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    for path in ("/api/v1/orders/{order_id}/attachments",
                 "/api/v1/orders/{order_id}/message-files",
                 "/api/v1/bookings/{booking_id}/documents", "/api/v1/certifications"):
        assert form(path)["properties"]["file"]["format"] == "binary", path
    assert "coc" in form("/api/v1/bookings/{booking_id}/documents")["properties"]["kind"]["enum"]
    assert set(form("/api/v1/certifications")["required"]) == {
        "file", "kind", "number", "valid_until"}
    cancel = paths["/api/v1/orders/{order_id}/cancel"]["post"]["requestBody"]
    assert cancel["required"] is False  # and PATCH /machines/{id}: every field optional
    assert paths["/api/v1/machines/{machine_id}"]["patch"]["requestBody"]["required"] is False
    assert paths["/api/v1/orders"]["post"]["requestBody"]["required"] is True
    order_id = client.post("/api/v1/orders", json=api_body(), headers=headers).json["id"]
    long = client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "x" * 501},
                       headers=headers)
    assert "reason" in assert_error(long, 422, "validation_error")["fields"]
    done = client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "Not needed"},
                       headers=headers)
    assert done.status_code == 200 and done.json["cancel_reason"] == "Not needed"
