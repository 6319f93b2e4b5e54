"""Password reset and email confirmation by mail, through the real SMTP server."""

from __future__ import annotations

import re

from market.accounts.models import User
from tests.conftest import make_account


def _link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"https://yunzao\.test(/auth/\S+)", text)
    assert found, text
    return found.group(1)


def test_reset_by_mail_works_once_and_signs_out_everywhere(app, client, session, inbox):
    account = make_account(app, "buyer", "reset-me@example.com")
    inbox.messages.clear()  # the registration's confirmation
    other = app.test_client()
    assert other.post("/auth/login", data={"email": account.email,
                                            "password": account.password}).status_code == 302
    asked = client.post("/auth/forgot", data={"email": "Reset-Me@example.com "})
    assert asked.status_code == 302
    [message] = inbox.to(account.email)
    link = _link(message)
    assert client.get(link).status_code == 200
    weak = client.post(link, data={"password": "short"})
    assert weak.status_code == 422
    done = client.post(link, data={"password": "a much better passphrase 42"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/auth/login")
    assert client.post("/auth/login", data={"email": account.email,
                                            "password": account.password}).status_code == 401
    assert client.post("/auth/login", data={"email": account.email,
                                            "password": "a much better passphrase 42"}
                       ).status_code == 302
    assert other.get("/dashboard").status_code == 302  # the old session ended
    again = app.test_client().post(link, data={"password": "yet another passphrase 7"})
    assert again.status_code == 302 and "/auth/forgot" in again.headers["Location"]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, client, inbox):
    answer = client.post("/auth/forgot", data={"email": "nobody@example.com"})
    assert answer.status_code == 302 and inbox.messages == []
    assert client.get("/auth/reset/not-a-token").status_code == 302


def test_registration_mails_a_confirmation_link(app, client, session, inbox):
    account = make_account(app, "factory", "confirm-me@example.com")
    [message] = inbox.to(account.email)
    link = _link(message)
    assert link.startswith("/auth/confirm/")
    assert session.get(User, account.user_id).email_confirmed_at is None
    assert client.get(link).status_code == 302
    session.expire_all()
    assert session.get(User, account.user_id).email_confirmed_at is not None
    assert client.get(link[:-3] + "xyz").status_code == 302  # a forged one: flashed, no change
