"""Browser: the marketplace loop. The factory publishes capacity, the buyer submits an order,
the operator runs matching and approves, the buyer accepts the quote, the factory accepts its
bookings, and the order shows as scheduled with its Gantt."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from market.accounts.models import User
from market.capacity import equipment
from market.orders import service as orders
from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import make_live_app, shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import order_input

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(tmp_path):
    return make_live_app(tmp_path, JOBS_MODE="thread", SOLVER_WORKERS=1)


def sign_in(page, server, email: str) -> None:  # noqa: F811
    browser_sign_in(page, server, email, PASSWORD)


def test_marketplace_loop(page, server, live_app):  # noqa: F811
    from market.core.extensions import db

    make_account(live_app, "factory", "works@example.com")
    make_account(live_app, "buyer", "buyer@example.com")
    make_account(live_app, "operator", "ops@example.com")
    with live_app.app_context():
        factory = db.session.exec(
            select(User).where(User.email == "works@example.com")).one()
        plant = equipment.create_plant(db.session, factory, equipment.PlantInput(
            name="Kunshan plant", lat=31.38, lon=120.98, city="Kunshan"))
        for process in ("cnc_milling", "anodizing"):
            equipment.create_machine(db.session, factory, equipment.MachineInput(
                plant_id=plant.id, name=f"{process} cell", capabilities=[
                    equipment.CapabilityInput(process=process, rate_per_hour=12000,
                                             setup_minutes=30)]))
        buyer = db.session.exec(
            select(User).where(User.email == "buyer@example.com")).one()
        order = orders.create_draft(db.session, buyer, order_input(
            title="Gimbal bracket", quantity=50))
        order_id, plant_id = order.id, plant.id

    # the factory publishes idle time for the next days in its calendar
    sign_in(page, server, "works@example.com")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    page.goto(f"{server.url}/factory/plants/{plant_id}?week={tomorrow}")
    slots = page.locator("#calendar .calendar-week .slot-published")
    for machine in ("cnc_milling cell", "anodizing cell"):
        for d in range(3):
            before = slots.count()
            page.get_by_label("Machine", exact=True).select_option(label=machine)
            page.get_by_label("Day", exact=True).fill((tomorrow + timedelta(days=d)).isoformat())
            page.get_by_label("From", exact=True).fill("08:00")
            page.get_by_label("To", exact=True).fill("20:00")
            page.get_by_role("button", name="Publish idle time").click()
            # wait for this window's swap (the last one's message may still be showing)
            expect(slots).to_have_count(before + 1)
            page.get_by_text("Published 12.0 hours").wait_for()
    shot(page, "30-loop-factory-calendar")

    # the buyer submits the order
    sign_in(page, server, "buyer@example.com")
    page.goto(f"{server.url}/orders/{order_id}")
    page.get_by_role("button", name="Submit order").click()
    page.get_by_text("open", exact=True).first.wait_for()

    # the operator runs matching and approves
    sign_in(page, server, "ops@example.com")
    page.get_by_role("link", name="Matching").click()
    page.get_by_label("Time limit (s)").fill("3")
    page.get_by_role("button", name="Start matching").click()
    page.get_by_role("button", name="Approve all").wait_for(timeout=60_000)
    shot(page, "31-loop-run")
    page.get_by_role("button", name="Gantt").first.click()
    page.locator("#order-gantt svg").wait_for()
    page.locator("#plant-gantt svg").wait_for()
    shot(page, "32-loop-run-gantt")
    page.get_by_role("button", name="Approve all").click()
    page.get_by_text("1 order approved").wait_for()

    # the buyer accepts the quote
    sign_in(page, server, "buyer@example.com")
    page.goto(f"{server.url}/orders/{order_id}")
    page.locator("#quotes a").first.click()
    shot(page, "33-loop-quote")
    page.get_by_role("button", name="Accept quote").click()
    page.get_by_text("Quote accepted. Pay the price into escrow").wait_for()
    shot(page, "34-loop-payment-instructions")

    # the bank transfer arrives: an operator marks it received
    sign_in(page, server, "ops@example.com")
    page.get_by_role("link", name="Payments").click()
    page.get_by_role("button", name=re.compile(r"Mark YZ-\d+-\d+ received")).first.click()

    # the factory accepts its bookings
    sign_in(page, server, "works@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Bookings").click()
    links = page.locator("table a[href*='/factory/bookings/']")
    urls = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(urls) == 2
    for url in urls:
        page.goto(server.url + url)
        page.get_by_role("button", name="Accept booking").click()
        page.get_by_text("Booking accepted.").wait_for()
    shot(page, "35-loop-booking")

    # the buyer sees the order scheduled, with its Gantt
    sign_in(page, server, "buyer@example.com")
    page.goto(f"{server.url}/orders/{order_id}")
    assert page.get_by_text("scheduled", exact=True).first.is_visible()
    page.locator("#order-gantt svg").wait_for()
    shot(page, "36-loop-order-scheduled")
