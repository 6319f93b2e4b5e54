"""Fixtures of the notify tests: a real SMTP server (aiosmtpd on an ephemeral port) that
collects what arrives and can refuse the next mails, the app configured to send to it with
jobs run at once, and the payments tests' marketplace (a buyer, two factories, an operator)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from market.notify.models import OutboundMail
from tests.payments.conftest import account_of, make_quote  # noqa: F401
from tests.payments.conftest import people as marketplace  # noqa: F401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Inbox:
    """What the SMTP server received; `refuse` > 0 answers the next mails 451 (try later)."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0
    refused: int = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd)
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp) -> Inbox:
    return smtp[0]


@pytest.fixture
def app_config(app_config: dict, smtp) -> dict:
    return {**app_config, "JOBS_MODE": "sync", "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp[1], "MAIL_TIMEOUT": 5, "SITE_URL": "https://yunzao.test"}


@pytest.fixture
def people(marketplace, session, inbox):  # noqa: F811
    """The payments tests' marketplace, its registrations' confirmation mails set aside (the
    account mail tests look at those)."""
    inbox.messages.clear()
    for row in session.exec(select(OutboundMail)):
        session.delete(row)
    session.commit()
    return marketplace
