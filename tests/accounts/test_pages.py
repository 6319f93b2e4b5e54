"""Pages: register, sign in and out, dashboards per role, profile, vetting, errors, headers."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from market.accounts.models import Company, User
from tests.conftest import PASSWORD, login, make_account


def test_register_logs_in_and_shows_pending_dashboard(client, session):
    response = client.post("/auth/register", data={
        "company_name": "Xiamen Trail Gear", "company_kind": "buyer", "country": "CN",
        "city": "Xiamen", "name": "Zheng Lin", "email": "zheng@example.com",
        "password": PASSWORD,
    }, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Xiamen Trail Gear" in html
    assert "waiting for verification" in html or "等待" in html
    assert session.exec(select(Company)).one().status == "pending"


def test_register_form_errors_keep_input(client, session):
    response = client.post("/auth/register", data={
        "company_name": "Keep Me", "company_kind": "factory", "country": "CN",
        "email": "k@example.com", "password": "short",
    }, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="Keep Me"' in html
    assert "at least 10 characters" in html
    assert session.exec(select(User)).first() is None


def test_duplicate_email_on_page(client, buyer):
    response = client.post("/auth/register", data={
        "company_name": "Again", "company_kind": "buyer", "country": "CN",
        "email": buyer.email, "password": PASSWORD,
    }, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_wrong_password_shows_error(client, buyer):
    response = client.post("/auth/login", data={"email": buyer.email, "password": "nope nope"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_login_logout(client, buyer):
    login(client, buyer)
    assert client.get("/dashboard").status_code == 200
    assert client.post("/auth/logout").status_code == 302
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_remember_me_sets_cookie(client, buyer):
    response = client.post("/auth/login", data={"email": buyer.email, "password": PASSWORD,
                                                "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") and "HttpOnly" in c for c in cookies)


def test_logout_everywhere_invalidates_remember_cookie(app, buyer):
    first = app.test_client()
    first.post("/auth/login", data={"email": buyer.email, "password": PASSWORD, "remember": "y"})
    remember = first.get_cookie("remember_token")
    assert remember is not None
    second = login(app.test_client(), buyer)
    second.post("/auth/logout-everywhere")
    stranger = app.test_client()
    stranger.set_cookie("remember_token", remember.value)
    assert stranger.get("/dashboard").status_code == 302


def test_open_redirect_is_refused(client, buyer):
    response = client.post("/auth/login?next=//evil.example.com/x",
                           data={"email": buyer.email, "password": PASSWORD})
    assert response.location.endswith("/dashboard")
    client.post("/auth/logout")
    response = client.post("/auth/login?next=/company",
                           data={"email": buyer.email, "password": PASSWORD})
    assert response.location.endswith("/company")


def test_dashboard_fits_the_kind(factory_client, buyer_client, app):
    factory_html = factory_client.get("/dashboard", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    buyer_html = buyer_client.get("/dashboard", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    assert "Your factory" in factory_html and "Your orders" not in factory_html
    assert "Your orders" in buyer_html and "Your factory" not in buyer_html
    both = login(app.test_client(), make_account(app, "both"))
    html = both.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Your factory" in html and "Your orders" in html


def test_operator_lands_on_companies(operator_client):
    response = operator_client.get("/dashboard")
    assert response.status_code == 302 and response.location.endswith("/operator/")


def test_edit_company_profile(buyer_client, session, buyer):
    response = buyer_client.post("/company", data={
        "name": "Renamed Co", "name_zh": "改名公司", "city": "Suzhou", "address": "1 Road",
        "lat": "31.3", "lon": "120.6", "website": "", "phone": "", "description": "We buy.",
    })
    assert response.status_code == 302
    company = session.get(Company, buyer.company_id)
    session.refresh(company)
    assert (company.name, company.name_zh, company.lat) == ("Renamed Co", "改名公司", 31.3)


def test_edit_company_profile_bad_coordinates(buyer_client, session, buyer):
    response = buyer_client.post("/company", data={"name": "X", "lat": "123", "lon": "abc"})
    assert response.status_code == 422
    company = session.get(Company, buyer.company_id)
    assert company.name == "Buyer Test Co"


def test_member_cannot_edit_profile(app, buyer, session):
    from market.accounts import service as accounts

    member = User(email="member@example.com", password_hash=accounts.hash_password(PASSWORD),
                  company_id=buyer.company_id, role="member")
    session.add(member)
    session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"email": "member@example.com", "password": PASSWORD})
    response = client.post("/company", data={"name": "Hijacked"})
    assert response.status_code == 403


def test_operator_verifies_and_suspends(operator_client, buyer, session):
    page = operator_client.get("/operator/companies?status=pending").get_data(as_text=True)
    assert "Buyer Test Co" not in page  # fixtures verify their companies
    company = session.get(Company, buyer.company_id)
    company.status = "pending"
    session.add(company)
    session.commit()
    page = operator_client.get("/operator/companies?status=pending").get_data(as_text=True)
    assert "Buyer Test Co" in page
    response = operator_client.post(f"/operator/companies/{buyer.company_id}/status/verified",
                                    headers={"HX-Request": "true"})
    assert response.status_code == 200 and f'id="company-{buyer.company_id}"' in response.text
    session.expire_all()
    assert session.get(Company, buyer.company_id).status == "verified"
    response = operator_client.post(
        f"/operator/companies/{buyer.company_id}/status/suspended", data={"reason": ""},
        follow_redirects=True)
    session.expire_all()
    assert session.get(Company, buyer.company_id).status == "verified"  # reason required
    operator_client.post(f"/operator/companies/{buyer.company_id}/status/suspended",
                         data={"reason": "fake certificates"})
    session.expire_all()
    assert session.get(Company, buyer.company_id).status == "suspended"
    detail = operator_client.get(f"/operator/companies/{buyer.company_id}",
                                 headers={"Accept-Language": "en"}).get_data(as_text=True)
    # the history in words, not the audit log's codes
    assert "fake certificates" in detail and "Company suspended" in detail
    assert "company.suspended" not in detail


def test_operator_search_partial(operator_client, buyer, factory):
    response = operator_client.get("/operator/companies?q=Factory", headers={"HX-Request": "1"})
    assert "<html" not in response.text
    assert "Factory Test Co" in response.text and "Buyer Test Co" not in response.text


@pytest.mark.parametrize("path", ["/operator/companies", "/operator/companies/1"])
def test_non_operators_get_403(buyer_client, path):
    assert buyer_client.get(path).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/operator/companies")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_unknown_company_is_404(operator_client):
    assert operator_client.get("/operator/companies/9999").status_code == 404
    assert operator_client.post("/operator/companies/9999/status/verified").status_code == 404


@pytest.mark.parametrize("status, path, method", [
    (404, "/no/such/page", "get"),
    (405, "/auth/logout", "get"),
])
def test_error_pages_fit_the_site(client, status, path, method):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert 'class="topbar"' in response.text and f'<p class="error-code">{status}</p>' in (
        response.text)


def test_413_page(app_config):
    from market import create_app

    app = create_app({**app_config, "MAX_CONTENT_LENGTH": 100})
    response = app.test_client().post("/auth/login", data={"email": "x" * 500})
    assert response.status_code == 413
    assert '<p class="error-code">413</p>' in response.text


def test_500_page_is_friendly_and_logged(app, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert '<p class="error-code">500</p>' in response.text and "kaput" not in response.text
    assert "kaput" in caplog.text


def test_login_rate_limit_page(app_config, buyer):
    from market import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute"})
    client = app.test_client()
    data = {"email": buyer.email, "password": "wrong password"}
    codes = [client.post("/auth/login", data=data).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    assert '<p class="error-code">429</p>' in client.post("/auth/login", data=data).text
    assert client.get("/auth/login").status_code == 200  # only POSTs count


def test_security_headers(client):
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_htmx_is_vendored_and_pinned(client):
    html = client.get("/").text
    src = re.search(r'<script src="([^"]*htmx[^"]*)"', html).group(1)
    assert src.startswith("/static/vendor/htmx-2.0.") and "://" not in src
    assert client.get(src).status_code == 200


def test_language_switch(client):
    assert "注册" in client.get("/").text or "Register" in client.get("/").text
    client.post("/lang/en", data={"next": "/"})
    assert "Register your company" in client.get("/").text
    assert client.post("/lang/xx").status_code == 404
    response = client.post("/lang/zh", data={"next": "https://evil.example.com"})
    assert response.location == "/"


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_forms_without_token_are_refused(self, client, buyer):
        response = client.post("/auth/login", data={"email": buyer.email, "password": PASSWORD})
        assert response.status_code == 400
        assert "form expired" in response.text or "表单" in response.text

    def test_forms_with_token_work(self, client, buyer):
        page = client.get("/auth/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/auth/login", data={"email": buyer.email, "password": PASSWORD,
                                                    "csrf_token": token})
        assert response.status_code == 302

    def test_htmx_requests_carry_the_token_header(self, client, operator, buyer):
        page = client.get("/auth/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"email": operator.email, "password": PASSWORD,
                                         "csrf_token": token})
        listing = client.get("/operator/companies").text
        header_token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", listing)
        assert header_token, "base layout must send the CSRF token with htmx requests"
        url = f"/operator/companies/{buyer.company_id}/status/verified"
        assert client.post(url, headers={"HX-Request": "true"}).status_code == 400
        response = client.post(url, headers={"HX-Request": "true",
                                             "X-CSRFToken": header_token.group(1)})
        assert response.status_code == 200


def test_a_nul_character_in_a_form_or_query_is_a_400_page(client, buyer_client, buyer):
    """As in the API (found by its fuzzer): on PostgreSQL a NUL in the login form's email
    was a 500, reaching the database in the user lookup."""
    r = client.post("/auth/login", data={"email": "a\x00@example.com", "password": "x"},
                    headers={"Accept-Language": "en"})
    assert r.status_code == 400 and b"could not be understood" in r.data
    assert buyer_client.get("/factories?city=Su\x00").status_code == 400
    assert buyer_client.get("/factories?city=Suzhou").status_code == 200
    r = client.post("/auth/login", data={"email": buyer.email, "password": PASSWORD})
    assert r.status_code == 302  # the guard leaves ordinary forms alone
