"""The accounts part of the JSON API, its error format and the OpenAPI document."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from market.accounts.models import Company, User
from tests.conftest import PASSWORD, api_token

REGISTER = {"email": "li@example.com", "password": PASSWORD, "company_name": "Li Robotics",
            "company_kind": "buyer", "country": "CN", "city": "Shenzhen"}


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.json
    assert response.is_json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    return response.json["error"]


def test_register_token_me(client):
    response = client.post("/api/v1/register", json=REGISTER)
    assert response.status_code == 201
    assert response.json["company"]["status"] == "pending"
    assert response.json["user"]["email"] == "li@example.com"
    assert "password_hash" not in str(response.json)
    token = client.post("/api/v1/tokens", json={"email": "li@example.com", "password": PASSWORD})
    assert token.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json['token']}"})
    assert me.status_code == 200
    assert me.json["company"]["name"] == "Li Robotics"


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        ({**REGISTER, "company_kind": "trader"}, 422, "validation_error", "company_kind"),
        ({**REGISTER, "password": "short"}, 422, "validation_error", "password"),
        ({k: v for k, v in REGISTER.items() if k != "company_name"}, 422, "validation_error",
         "company_name"),
        ({**REGISTER, "email": "nope"}, 422, "validation_error", "email"),
        ({**REGISTER, "extra": 1}, 422, "validation_error", "extra"),
        ({**REGISTER, "country": 86}, 422, "validation_error", "country"),
    ],
)
def test_register_bad_input(client, session, body, status, code, field):
    error = assert_error(client.post("/api/v1/register", json=body), status, code)
    assert field in error["fields"]
    assert session.exec(select(func.count()).select_from(User)).one() == 0
    assert session.exec(select(func.count()).select_from(Company)).one() == 0


@pytest.mark.parametrize("payload", ["[1, 2]", "\"text\"", "{not json", "null"])
def test_body_must_be_a_json_object(client, payload):
    response = client.post("/api/v1/register", data=payload, content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_body_must_be_json(client):
    assert_error(client.post("/api/v1/register", data={"email": "x"}), 400, "bad_request")


def test_duplicate_email_is_409(client):
    assert client.post("/api/v1/register", json=REGISTER).status_code == 201
    error = assert_error(client.post("/api/v1/register", json=REGISTER), 409, "conflict")
    assert "email" in error["fields"]


def test_wrong_password_is_401(client, buyer):
    response = client.post("/api/v1/tokens", json={"email": buyer.email, "password": "wrong one!!"})
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer yz_nope", "Bearer x"])
def test_me_needs_a_valid_token(client, header):
    headers = {"Authorization": header} if header else {}
    assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_session_cookie_is_not_accepted_by_the_api(buyer_client):
    assert_error(buyer_client.get("/api/v1/me"), 401, "unauthorized")


def test_revoked_token_is_refused(client, buyer):
    headers = api_token(client, buyer)
    listing = client.get("/api/v1/tokens", headers=headers).json
    assert listing["total"] == 1 and listing["page"] == 1
    tokens = listing["items"]
    revoked = client.delete(f"/api/v1/tokens/{tokens[0]['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    error = assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")
    assert "revoked" in error["message"]


def test_operator_verifies_company(client, buyer, operator):
    op_headers = api_token(client, operator)
    response = client.post(f"/api/v1/companies/{buyer.company_id}/verify", json={},
                           headers=op_headers)
    assert response.status_code == 200 and response.json["status"] == "verified"
    listed = client.get("/api/v1/companies?status=verified", headers=op_headers).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == buyer.company_id
    assert {"items", "page", "per_page", "total"} <= set(listed)


def test_suspension_needs_reason(client, buyer, operator):
    headers = api_token(client, operator)
    error = assert_error(client.post(f"/api/v1/companies/{buyer.company_id}/verify",
                                     json={"status": "suspended"}, headers=headers),
                         422, "validation_error")
    assert "reason" in error["fields"]


def test_non_operator_cannot_verify(client, buyer, factory):
    headers = api_token(client, buyer)
    assert_error(client.post(f"/api/v1/companies/{factory.company_id}/verify", json={},
                             headers=headers), 403, "forbidden")
    assert_error(client.get("/api/v1/companies", headers=headers), 403, "forbidden")


def test_verify_unknown_company_is_404(client, operator):
    headers = api_token(client, operator)
    assert_error(client.post("/api/v1/companies/4242/verify", json={}, headers=headers),
                 404, "not_found")


def test_bad_pagination_is_400(client, operator):
    headers = api_token(client, operator)
    assert_error(client.get("/api/v1/companies?page=x", headers=headers), 400, "bad_request")


def test_unknown_api_path_and_method_are_json(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.put("/api/v1/register", json={}), 405, "method_not_allowed")


def test_processes(client, taxonomy):
    listing = client.get("/api/v1/processes?per_page=200").json
    processes = listing["items"]
    assert len(processes) == listing["total"] >= 30
    milling = next(p for p in processes if p["code"] == "cnc_milling")
    assert milling["family"] == "machining" and "al6061" in milling["materials"]
    assert len({p["family"] for p in processes}) == 10


def test_openapi_document_lists_every_route(client, app):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path, method in [("/api/v1/register", "post"), ("/api/v1/tokens", "post"),
                         ("/api/v1/me", "get"), ("/api/v1/companies/{company_id}/verify", "post"),
                         ("/api/v1/processes", "get")]:
        assert method in paths[path], (path, method)
    register = paths["/api/v1/register"]["post"]
    schema_ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) >= {"email", "password", "company_name", "company_kind"}
    # every API rule of the app is documented
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")}
    documented = {p.replace("{", "<int:").replace("}", ">") for p in paths}
    assert rules - documented == {"/api/v1/openapi.json"}


def test_token_rate_limit(app_config):
    from market import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    codes = [client.post("/api/v1/tokens", json={"email": "a@example.com", "password": "x"})
             .status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert client.post("/api/v1/tokens", json={}).json["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("method, path", [
    ("delete", "/api/v1/tokens/{id}"), ("delete", "/api/v1/windows/{id}"),
    ("get", "/api/v1/attachments/{id}"), ("get", "/api/v1/orders/{id}"),
    ("get", "/orders/{id}"), ("get", "/quotes/{id}"),
])
def test_an_id_beyond_the_id_range_is_not_found(client, buyer, method, path):
    """Found by fuzzing: such ids reached the database driver and answered 500 (SQLite: beyond
    64 bits; PostgreSQL's INTEGER ids: beyond 31)."""
    headers = api_token(client, buyer)
    for big in (2**31, 2**63, 2**64 + 1, 10**40):
        response = getattr(client, method)(path.format(id=big), headers=headers)
        assert response.status_code == 404, (path, big, response.status_code)
    # the largest real id still reaches the view: unknown (404), or sign in first (pages)
    last = getattr(client, method)(path.format(id=2**31 - 1), headers=headers)
    assert last.status_code == (404 if path.startswith("/api/") or "orders" in path else 302)


def test_text_with_a_nul_character_is_a_422_not_a_server_error(app, client, buyer, operator):
    """Found by the stateful fuzzer on PostgreSQL: POST /tokens with an email holding U+0000
    answered 500 (psycopg: "PostgreSQL text fields cannot contain NUL (0x00) bytes"); any
    text reaching a query or a row did (bodies, query strings, form fields, file names)."""
    import io

    from tests.fakes.orders import tiny_pdf

    r = client.post("/api/v1/tokens", json={"email": "a\x00@example.com", "password": "x"})
    assert r.status_code == 422 and "email" in r.json["error"]["fields"], r.data[:300]
    r = client.post("/api/v1/register", json={"email": "new@example.com", "password": PASSWORD,
                                              "company_name": "Nul\x00 Co",
                                              "company_kind": "buyer", "city": "Suzhou"})
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"company_name"}
    headers = api_token(client, buyer)
    r = client.put("/api/v1/me/notification-settings", headers=headers,
                   json={"email": {"quote_offered\x00": True}})
    assert r.status_code == 422 and r.json["error"]["fields"] == {
        "email.quote_offered\\u0000": "Remove the NUL character (\\u0000): text cannot hold it."}
    ops = api_token(client, operator)
    r = client.get("/api/v1/companies?q=Co\x00", headers=ops)
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"query.q"}
    r = client.post("/api/v1/certifications", headers=headers, content_type="multipart/form-data",
                    data={"kind": "iso9001", "number": "CN\x00", "valid_until": "2030-01-01",
                          "file": (io.BytesIO(tiny_pdf()), "cert.pdf")})
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"number"}
    assert client.get("/api/v1/companies?q=Co", headers=ops).status_code == 200
