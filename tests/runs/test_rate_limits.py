"""Rate limits where abuse costs money or capacity (issue "Locked doors"): instant quotes run
the solver and uploads fill the disk, so they are limited per company, not per address."""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.orders import service as orders
from market.orders.models import Attachment
from tests.conftest import api_token, login, make_account
from tests.fakes.orders import order_input, seed_capacity, tiny_pdf
from tests.payments.conftest import people  # noqa: F401


@pytest.fixture
def app_config(app_config):
    return {**app_config, "JOBS_MODE": "sync", "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "1000 per minute", "QUOTE_RATE_LIMIT": "2 per minute",
            "UPLOAD_RATE_LIMIT": "1 per hour"}


def _order_of(app, session, account) -> int:
    user = session.get(User, account.user_id)
    return orders.create_draft(session, user, order_input()).id


def test_instant_quotes_and_uploads_are_limited_per_company(app, client, session, taxonomy,
                                                            factory):
    seed_capacity(session, factory.company_id)
    first, second = make_account(app, "buyer"), make_account(app, "buyer")
    mine, theirs = _order_of(app, session, first), _order_of(app, session, second)
    headers = api_token(client, first)
    url = f"/api/v1/orders/{mine}/instant-quote"
    assert [client.post(url, headers=headers).status_code for _ in range(2)] == [200, 200]
    refused = client.post(url, headers=headers)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    # another company, same address: not limited by the first one's quotes
    other = client.post(f"/api/v1/orders/{theirs}/instant-quote",
                        headers=api_token(client, second))
    assert other.status_code == 200

    def upload():
        return client.post(f"/api/v1/orders/{mine}/attachments", headers=headers,
                           data={"file": (io.BytesIO(tiny_pdf()), "drawing.pdf")},
                           content_type="multipart/form-data")

    assert upload().status_code == 201
    assert upload().status_code == 429


def test_the_pages_say_so_when_a_company_is_over_its_limit(app, session, taxonomy, factory):
    seed_capacity(session, factory.company_id)
    buyer = make_account(app, "buyer")
    order_id = _order_of(app, session, buyer)
    page = login(app.test_client(), buyer)
    en = {"Accept-Language": "en", "HX-Request": "true"}
    for _ in range(2):
        assert "quote-price" in page.post(f"/orders/{order_id}/quote", headers=en).text
    refused = page.post(f"/orders/{order_id}/quote", headers=en).text
    assert "Too many requests" in refused and "quote-price" not in refused

    def upload():
        return page.post(f"/orders/{order_id}/attachments", headers={"Accept-Language": "en"},
                         data={"file": (io.BytesIO(tiny_pdf()), "drawing.pdf")},
                         content_type="multipart/form-data", follow_redirects=True)

    assert "drawing.pdf" in upload().text
    second = upload().text
    assert "Too many requests" in second
    assert session.exec(select(Attachment).where(Attachment.order_id == order_id)).all()
    assert len(session.exec(select(Attachment)).all()) == 1  # the refused one was not stored


def test_messages_are_limited_per_company(app, client, session, people):  # noqa: F811
    """Every message is a notification and a mail to the other side: a company writes so many
    an hour; the refused one is not stored, and the other side may still answer."""
    from market.deals import service as bookings
    from market.notify.models import Message
    from tests.fakes.orders import pay
    from tests.payments.conftest import account_of, make_quote

    app.config["MESSAGE_RATE_LIMIT"] = "2 per hour"
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    mill = api_token(client, account_of(people, "mill", app))
    url = f"/api/v1/orders/{order.id}/messages"
    sent = [client.post(url, headers=mill, json={"body": f"Question {i}"}).status_code
            for i in range(3)]
    assert sent == [201, 201, 429]
    assert client.post(url, headers=mill, json={"body": "again"}).json["error"]["code"] == (
        "rate_limited")
    buyer = api_token(client, account_of(people, "buyer", app))
    answer = client.post(f"{url}?factory_id={people['mill'].company_id}", headers=buyer,
                         json={"body": "Answered"})
    assert answer.status_code == 201
    assert len(session.exec(select(Message)).all()) == 3
