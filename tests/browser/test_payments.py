# ruff: noqa: F811  (pytest fixtures are parameters here)
"""Browser, manual gateway: the buyer accepts a quote and sees bank-transfer instructions,
an operator marks the transfer received, two factories accept and do their bookings, the
last one ships, the buyer confirms delivery, and each factory sees its payout."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.orders import service as orders
from market.orders.models import Order
from market.payments import ledger
from market.payments.models import Payout
from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import firm_quote, order_input, seed_capacity

pytestmark = pytest.mark.browser


def sign_in(page, server, email: str) -> None:  # noqa: F811
    browser_sign_in(page, server, email, PASSWORD)

@pytest.fixture
def wired():
    """Acceptance opens the escrow payment and delivery confirmation releases the payouts:
    the default flow of market.deals.service."""


def _deal(app) -> dict:
    """Two factories (milling, then anodizing), a buyer's order with a firm quote whose legs
    go to each factory (built directly: no solver in a browser test)."""
    from market.core.extensions import db

    mill = make_account(app, "factory", "mill@example.com")
    anod = make_account(app, "factory", "anodizer@example.com")
    make_account(app, "buyer", "buyer@example.com")
    make_account(app, "operator", "ops@example.com")
    with app.app_context():
        s = db.session
        machines = [seed_capacity(s, mill.company_id, processes=(("cnc_milling", ["al6061"]),),
                                  days=2)[0],
                    seed_capacity(s, anod.company_id, processes=(("anodizing", []),),
                                  days=2)[0]]
        buyer = s.exec(select(User).where(User.email == "buyer@example.com")).one()
        order = orders.create_draft(s, buyer, order_input(title="Gimbal bracket"))
        orders.submit(s, buyer, order.id)
        quote = firm_quote(s, order, machines)
        return {"order_id": order.id, "quote_id": quote.id, "price": quote.price}


def _work_bookings(page, server, email: str, ship: bool = False) -> None:
    sign_in(page, server, email)
    page.goto(server.url + "/factory/bookings")
    links = page.locator("table a[href*='/factory/bookings/']")
    urls = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(urls) == 1
    page.goto(server.url + urls[0])
    if page.get_by_role("button", name="Accept booking").count():
        page.get_by_role("button", name="Accept booking").click()
        page.get_by_text("Booking accepted.").wait_for()
        return
    page.get_by_role("button", name="Mark started").click()
    page.get_by_role("button", name="Mark done").click()
    page.get_by_role("button", name="Mark done").wait_for(state="detached")
    if ship:
        page.get_by_label("Carrier").fill("SF Express")
        page.get_by_label("Tracking number").fill("SF1234")
        page.get_by_role("button", name="Ship to the buyer").click()
        page.get_by_text("Shipment recorded").wait_for()


def _bank_details(page, server, email: str, bank: str, number: str) -> None:
    sign_in(page, server, email)
    page.goto(server.url + "/factory/payout-account")
    page.get_by_label("Bank and branch").fill(bank)
    page.get_by_label("Account holder").fill(email.split("@")[0].title() + " Co")
    page.get_by_label("Account number").fill(number)
    page.get_by_role("button", name="Save bank details").click()
    page.get_by_text("Bank details saved.").wait_for()


def _send_payouts(page, server, reference: str, screenshot: str | None) -> None:
    """The operator makes the bank transfer of the first payout that can be sent and marks
    it sent on the payments page."""
    sign_in(page, server, "ops@example.com")
    page.goto(server.url + "/operator/payments")
    page.get_by_role("heading", name="Bank transfers to make").wait_for()
    page.get_by_label("Bank reference").first.fill(reference)
    if screenshot:
        shot(page, screenshot)
    page.get_by_role("button", name=re.compile(r"Mark payout \d+ sent")).first.click()
    page.get_by_text(re.compile(r"Payout #\d+ marked paid")).wait_for()


def test_manual_payment_loop_pays_each_factory(page, server, live_app, wired):  # noqa: F811
    from market.core.extensions import db

    deal = _deal(live_app)
    order_id = deal["order_id"]

    # the buyer accepts and is asked to pay into escrow by bank transfer
    sign_in(page, server, "buyer@example.com")
    page.goto(f"{server.url}/quotes/{deal['quote_id']}")
    page.get_by_role("button", name="Accept quote").click()
    page.locator(".flash-success").wait_for()
    page.goto(f"{server.url}/orders/{order_id}")
    page.get_by_role("link", name="Pay into escrow").click()
    page.wait_for_url(re.compile(rf".*/orders/{order_id}/payment$"))
    instructions = page.get_by_label("Bank transfer instructions")
    reference = instructions.locator(".reference").inner_text()
    assert re.fullmatch(rf"YZ-{order_id}-\d+", reference)
    assert "¥206.65" in instructions.inner_text()  # 191.34 + 8% fee (15.31) in yuan
    shot(page, "60-pay-bank-instructions")

    # one factory enters its bank details before any work; the other only at the end
    _bank_details(page, server, "mill@example.com", "ICBC Suzhou Industrial Park",
                  "6222 0212 3456 7890")
    page.goto(server.url + "/factory/bookings")
    assert page.locator("table a[href*='/factory/bookings/']").count() == 0  # not paid yet

    # the operator sees the transfer arrive and marks it received
    sign_in(page, server, "ops@example.com")
    page.goto(server.url + "/operator/payments")
    page.get_by_label("Bank slip note").fill("CMB 88231")
    shot(page, "61-operator-mark-received")
    page.get_by_role("button", name=f"Mark {reference} received").click()
    page.get_by_text(f"Payment {reference} marked received").wait_for()

    # both factories accept, do their work, the anodizer ships
    _work_bookings(page, server, "mill@example.com")
    _work_bookings(page, server, "anodizer@example.com")
    _work_bookings(page, server, "mill@example.com")
    _work_bookings(page, server, "anodizer@example.com", ship=True)

    # the buyer confirms delivery: payouts are released
    sign_in(page, server, "buyer@example.com")
    page.goto(f"{server.url}/orders/{order_id}")
    page.get_by_role("button", name="Confirm delivery").click()
    page.get_by_text("Delivery confirmed").wait_for()
    page.goto(f"{server.url}/orders/{order_id}/payment")
    page.get_by_role("heading", name="Paid out").wait_for()
    page.goto(server.url + "/payments/receipts")
    assert reference in page.locator("table").inner_text()
    shot(page, "62-buyer-receipts")

    # the payouts are due: nothing is paid before the bank transfer is made and confirmed
    sign_in(page, server, "mill@example.com")
    page.goto(server.url + "/factory/payouts")
    row = page.locator("table tbody tr").first
    assert "¥123.45" in row.inner_text() and "due" in row.inner_text()
    _send_payouts(page, server, "CMB OUT 5521", "63-operator-transfers-to-make")
    sign_in(page, server, "mill@example.com")
    page.goto(server.url + "/factory/payouts")
    row = page.locator("table tbody tr").first
    assert "¥123.45" in row.inner_text() and "paid" in row.inner_text()
    shot(page, "63-mill-payouts")

    # the anodizer had no bank details: its payout waits, then goes out when it enters them
    sign_in(page, server, "anodizer@example.com")
    page.goto(server.url + "/factory/payouts")
    assert "waiting for the factory" in page.locator("table tbody tr").first.inner_text().lower()
    assert page.get_by_text("Enter your bank details so we can pay you.").is_visible()
    shot(page, "64-anodizer-payout-waiting")
    _bank_details(page, server, "anodizer@example.com", "Bank of China Kunshan",
                  "6216 6100 0000 4321")
    row = page.locator("table tbody tr").first
    assert "¥67.89" in row.inner_text() and "due" in row.inner_text()
    _send_payouts(page, server, "BOC OUT 17", None)
    sign_in(page, server, "anodizer@example.com")
    page.goto(server.url + "/factory/payouts")
    row = page.locator("table tbody tr").first
    assert "¥67.89" in row.inner_text() and "paid" in row.inner_text()
    shot(page, "65-anodizer-payouts")

    sign_in(page, server, "ops@example.com")
    page.goto(f"{server.url}/operator/ledger?order_id={order_id}")
    page.get_by_text("balanced", exact=True).wait_for()
    shot(page, "66-operator-ledger")

    with live_app.app_context():
        s = db.session
        assert s.get(Order, order_id).status == "delivered"
        payouts = s.exec(select(Payout)).all()
        assert sorted(p.amount for p in payouts) == [6_789, 12_345]
        assert {p.status for p in payouts} == {"paid"}
        assert ledger.is_balanced(s)
        assert ledger.balances(s, order_id)["CNY"]["escrow"] == 0
