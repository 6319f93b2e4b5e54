# ruff: noqa: F811  (pytest fixtures are parameters here)
"""Browser: the unread badge and the notifications page (mark read with htmx), and a
message exchange between a factory working in English and a buyer working in Chinese, on the
booking and order pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from market.accounts.models import User
from market.deals import service as bookings
from market.deals.models import Booking
from tests.browser.test_payments import _deal
from tests.conftest import PASSWORD
from tests.fakes.live_server import LiveServer, make_live_app, shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import pay

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(tmp_path):
    return make_live_app(tmp_path, JOBS_MODE="sync")


@pytest.fixture
def server(live_app):
    with LiveServer(live_app) as srv:
        yield srv


def _booked(app) -> dict:
    from market.core.extensions import db

    deal = _deal(app)
    with app.app_context():
        s = db.session
        users = {u.email: u for u in s.exec(select(User))}
        users["buyer@example.com"].locale = "zh"
        users["mill@example.com"].locale = "en"
        s.add_all(users.values())
        s.commit()
        bookings.accept_quote(s, users["buyer@example.com"], deal["quote_id"])
        pay(s, users["ops@example.com"].id, deal["order_id"])
        mine = s.exec(select(Booking).where(
            Booking.factory_company_id == users["mill@example.com"].company_id)).one()
        deal["booking_id"] = mine.id
        deal["mill_company"] = mine.factory_company_id
    return deal


def test_badge_page_and_mark_read(page, server, live_app):
    deal = _booked(live_app)
    browser_sign_in(page, server, "mill@example.com", PASSWORD)
    badge = page.locator("#unread-badge")
    assert badge.inner_text().strip().startswith("1")
    page.get_by_role("link", name=re.compile("Notifications")).click()
    page.wait_for_url(re.compile(r".*/notifications$"))
    assert page.get_by_role("link", name=re.compile(r"New booking for order #\d+")).is_visible()
    shot(page, "notify-list-en")
    page.get_by_role("button", name=re.compile("Mark read")).click()
    page.get_by_text("Read", exact=True).wait_for()
    expect(page.locator("#unread-badge")).to_have_text("")
    # opening it goes to the booking
    page.get_by_role("link", name=re.compile(r"New booking for order")).click()
    page.wait_for_url(re.compile(rf".*/factory/bookings/{deal['booking_id']}$"))


def test_a_message_exchange_in_both_languages(page, server, live_app):
    deal = _booked(live_app)
    browser_sign_in(page, server, "mill@example.com", PASSWORD)
    page.goto(f"{server.url}/factory/bookings/{deal['booking_id']}")
    page.get_by_label("Your message").fill("Is anodizing black or clear?")
    page.get_by_role("button", name="Send message").click()
    page.locator(".message-body", has_text="Is anodizing black or clear?").wait_for()
    shot(page, "notify-thread-factory-en")

    browser_sign_in(page, server, "buyer@example.com", PASSWORD)  # works in Chinese
    # the payment receipt, and the factory's message
    assert page.locator("#unread-badge").inner_text().strip().startswith("2")
    page.goto(f"{server.url}/orders/{deal['order_id']}")
    page.locator("#thread").wait_for()
    assert page.get_by_role("heading", name="消息").first.is_visible()
    page.locator("#thread nav.tabs a").nth(1).click()  # the mill's thread
    page.locator(".message-body", has_text="Is anodizing black or clear?").wait_for()
    page.get_by_label("您的消息").fill("黑色，谢谢。Black, please.")
    page.get_by_role("button", name="发送消息").click()
    page.locator(".message-body", has_text="Black, please.").wait_for()
    shot(page, "notify-thread-buyer-zh")
    page.set_viewport_size({"width": 390, "height": 800})
    shot(page, "notify-thread-buyer-zh-390")
    page.goto(f"{server.url}/notifications")
    assert page.get_by_role("heading", name="通知").is_visible()
    assert page.get_by_role("link", name=re.compile(r"订单 #\d+ .*有新消息")).is_visible()
    page.get_by_role("button", name="全部标记为已读").click()
    # the list comes back read, and the badge empties out of band
    expect(page.locator("#unread-badge")).to_have_text("")
    assert page.get_by_role("button", name=re.compile("标记为已读")).count() == 1  # "all" only
    shot(page, "notify-list-zh-390")

    browser_sign_in(page, server, "mill@example.com", PASSWORD)
    page.goto(f"{server.url}/notifications")
    assert page.get_by_role("link", name=re.compile(r"New message on order #\d+")).is_visible()
    page.get_by_role("link", name=re.compile(r"New message on order")).click()
    page.locator(".message-body", has_text="Black, please.").wait_for()
