"""The page helpers of market.core.pages: `on_service_error`, `attempt` and the app-wide
handler for a ServiceError that escapes a page view, through a tiny blueprint of their own."""

from __future__ import annotations

import uuid

import pytest
from flask import Blueprint
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import select
from werkzeug.exceptions import NotFound as HttpNotFound

from market.accounts.models import Company
from market.core.errors import Conflict, NotFound, ServiceError, ValidationError
from market.core.extensions import db
from market.core.pages import Attempt, attempt, error_message, on_service_error

# Two messages with a Chinese translation in the catalogue, to see the reader's language.
EMPTY, PLANT_MISSING = "The file is empty.", "Plant not found."
EMPTY_ZH, PLANT_MISSING_ZH = "文件为空。", "未找到该厂区。"


def _invalid() -> ValidationError:
    return ValidationError("Please correct the form.", {"name": "Enter a name.",
                                                        "city": "Enter a city."})


def _stage_company(slug: str) -> Company:
    """A company written in the request's transaction but not committed."""
    company = Company(slug=slug, name="Staged Co", kind="buyer")
    db.session.add(company)
    db.session.flush()
    return company


def _form_again(exc: ServiceError):
    # commits whatever the transaction still holds: the view's half-done write must be gone
    db.session.commit()
    return "form again: " + ",".join(sorted(exc.localized_fields)), exc.status


def _helpers_blueprint() -> Blueprint:
    bp = Blueprint("helpers_test", __name__, url_prefix="/_helpers")

    @bp.post("/form/<slug>")
    @on_service_error(_form_again)
    def form(slug: str):
        _stage_company(slug)
        raise _invalid()

    @bp.post("/fine")
    @on_service_error(_form_again)
    def fine():
        return "saved", 201

    @bp.get("/things/<int:thing_id>")
    def thing(thing_id: int):
        return f"thing {thing_id}"

    @bp.post("/things/<int:thing_id>/act")
    @on_service_error("helpers_test.thing")
    def act(thing_id: int):
        raise Conflict("The thing changed meanwhile.")

    @bp.post("/back")
    @on_service_error()
    def back():
        raise Conflict("The thing changed meanwhile.")

    @bp.post("/translated")
    @on_service_error()
    def translated():
        raise ValidationError(EMPTY, {"file": PLANT_MISSING})

    @bp.post("/missing")
    @on_service_error("helpers_test.thing")
    def missing():
        raise NotFound("Nothing here.")

    @bp.route("/escape", methods=["GET", "POST"])
    def escape():
        raise Conflict("The thing changed meanwhile.", {"when": "Reload the page."})

    @bp.get("/escape-missing")
    def escape_missing():
        raise NotFound("Nothing here.")

    @bp.get("/busy")
    def busy():
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    return bp


@pytest.fixture
def client(app):
    app.register_blueprint(_helpers_blueprint())
    return app.test_client()


def _flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as sess:
        return list(sess.get("_flashes", []))


def _stored(session, slug: str) -> list[Company]:
    return list(session.exec(select(Company).where(Company.slug == slug)))


# --- on_service_error ---------------------------------------------------------------------

def test_a_callable_answers_with_its_own_status_after_the_flash(client):
    response = client.post(f"/_helpers/form/{uuid.uuid4().hex[:8]}")
    assert response.status_code == 422  # the callable's, from the error
    assert response.get_data(as_text=True) == "form again: city,name"
    assert _flashes(client) == [
        ("error", "Please correct the form. Enter a name. Enter a city.")]


def test_the_transaction_is_rolled_back_before_the_answer(client, session):
    slug = f"staged-{uuid.uuid4().hex[:8]}"
    response = client.post(f"/_helpers/form/{slug}")
    assert response.status_code == 422
    # _form_again committed: had the view's flushed insert survived, it would be stored now
    assert _stored(session, slug) == []


def test_a_view_without_an_error_is_left_alone(client):
    response = client.post("/_helpers/fine")
    assert (response.status_code, response.get_data(as_text=True)) == (201, "saved")
    assert _flashes(client) == []


def test_an_endpoint_redirects_with_the_views_own_arguments(client):
    response = client.post("/_helpers/things/7/act")
    assert response.status_code == 302
    assert response.headers["Location"] == "/_helpers/things/7"
    assert _flashes(client) == [("error", "The thing changed meanwhile.")]


def test_without_an_answer_it_goes_back_to_the_referring_page(client):
    response = client.post("/_helpers/back", headers={"Referer": "http://localhost/orders/?x=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost/orders/?x=1"
    assert _flashes(client) == [("error", "The thing changed meanwhile.")]


@pytest.mark.parametrize("referrer", [None, "https://evil.example/phish",
                                      "http://localhost.evil.example/phish",
                                      "//evil.example/phish"])
def test_a_missing_or_foreign_referrer_goes_home_instead(client, referrer):
    headers = {"Referer": referrer} if referrer else {}
    response = client.post("/_helpers/back", headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"  # main.index, never the other site
    assert _flashes(client) == [("error", "The thing changed meanwhile.")]


def test_not_found_is_the_404_page_without_a_flash(client):
    response = client.post("/_helpers/missing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert _flashes(client) == []


def test_the_flash_is_in_the_readers_language_with_its_field_messages(client):
    response = client.post("/_helpers/translated", headers={"Accept-Language": "zh"})
    assert response.status_code == 302
    assert _flashes(client) == [("error", f"{EMPTY_ZH} {PLANT_MISSING_ZH}")]


# --- attempt ------------------------------------------------------------------------------

def _raise(exc: Exception):
    raise exc


def test_attempt_returns_the_value(app):
    with app.test_request_context("/"):
        result = attempt(lambda a, b=0: a + b, 2, b=3)
    assert isinstance(result, Attempt)
    assert (result.ok, result.value, result.error, result.message, result.status) == (
        True, 5, None, "", 200)


def test_attempt_returns_the_error_rolled_back(app, session):
    slug = f"staged-{uuid.uuid4().hex[:8]}"
    exc = _invalid()
    with app.test_request_context("/"):
        company = _stage_company(slug)
        result = attempt(_raise, exc)
        assert company not in db.session  # the flushed insert went with the rollback
        db.session.commit()
    assert not result.ok
    assert result.value is None
    assert result.error is exc
    assert result.status == 422
    assert result.message == "Please correct the form. Enter a name. Enter a city."
    assert _stored(session, slug) == []


def test_attempt_message_is_in_the_readers_language(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        result = attempt(_raise, Conflict(EMPTY))
        assert result.message == EMPTY_ZH
        assert error_message(ValidationError(EMPTY, {"file": PLANT_MISSING})) == (
            f"{EMPTY_ZH} {PLANT_MISSING_ZH}")
    assert result.status == 409


def test_attempt_turns_not_found_into_the_404_page(app):
    with app.test_request_context("/"), pytest.raises(HttpNotFound):
        attempt(_raise, NotFound("Nothing here."))


def test_attempt_lets_other_exceptions_through(app):
    with app.test_request_context("/"), pytest.raises(ZeroDivisionError):
        attempt(lambda: 1 / 0)


# --- a ServiceError that escapes a page view ----------------------------------------------

def test_an_escaped_error_on_post_is_a_flash_and_a_redirect_back(client):
    response = client.post("/_helpers/escape", headers={"Referer": "http://localhost/orders/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost/orders/"
    assert _flashes(client) == [("error", "The thing changed meanwhile. Reload the page.")]


def test_an_escaped_error_on_post_with_a_foreign_referrer_goes_home(client):
    response = client.post("/_helpers/escape", headers={"Referer": "https://evil.example/"})
    assert (response.status_code, response.headers["Location"]) == (302, "/")


def test_an_escaped_error_on_get_is_an_error_page_with_the_services_status(client):
    response = client.get("/_helpers/escape", headers={"Accept-Language": "en"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The thing changed meanwhile. Reload the page." in page
    assert "Something went wrong" not in page  # not the 500 page
    assert _flashes(client) == []


def test_an_escaped_not_found_is_the_404_page(client):
    response = client.get("/_helpers/escape-missing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_exhausted_connection_pool_is_busy_not_broken(client):
    """Every connection taken (a burst): 503 with Retry-After, on pages and under /api/."""
    response = client.get("/_helpers/busy", headers={"Accept-Language": "en"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "busy right now" in response.text


def test_an_id_beyond_the_columns_is_a_404_whatever_the_method(client):
    """werkzeug said 405 for `PUT /api/v1/orders/<a huge id>` (the GET rule of the same shape
    was counted as a match); a path that names nothing is a 404, a wrong method still 405."""
    huge = 10**12
    for method, path in (("PUT", f"/api/v1/orders/{huge}"), ("PATCH", f"/api/v1/machines/{huge}"),
                         ("GET", f"/api/v1/machines/{huge}/windows"), ("PUT", f"/orders/{huge}")):
        assert client.open(path, method=method).status_code == 404, (method, path)
    wrong = client.delete("/api/v1/orders/1")
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"
