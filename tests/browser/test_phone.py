"""Browser: at 390 px (a phone) the pages fit the screen: no page wider than the viewport,
the calendar one day at a time, wide tables scroll inside their card; both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.capacity import equipment, publishing
from market.orders import service as orders
from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import order_input

pytestmark = pytest.mark.browser
LOCALES = {"en": "en-US", "zh": "zh-CN"}


@pytest.fixture(params=["en", "zh"])
def phone(browser, request, server):
    context = browser.new_context(locale=LOCALES[request.param],
                                  viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page, request.param
    context.close()


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at 390 px"


def test_factory_and_buyer_pages_fit_a_phone(phone, server, live_app):
    from market.core.extensions import db

    page, lang = phone
    make_account(live_app, "factory", "works@example.com")
    make_account(live_app, "buyer", "buyer@example.com")
    with live_app.app_context():
        factory = db.session.exec(select(User).where(User.email == "works@example.com")).one()
        plant = equipment.create_plant(db.session, factory, equipment.PlantInput(
            name="Kunshan plant", lat=31.38, lon=120.98, city="Kunshan"))
        machine = equipment.create_machine(db.session, factory, equipment.MachineInput(
            plant_id=plant.id, name="VF-2", capabilities=[equipment.CapabilityInput(
                process="cnc_milling", rate_per_hour=12000, setup_minutes=30)]))
        day = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                               microsecond=0)
        publishing.publish_window(db.session, factory, machine.id, day + timedelta(hours=1),
                                  day + timedelta(hours=9))
        buyer = db.session.exec(select(User).where(User.email == "buyer@example.com")).one()
        for i in range(3):
            orders.create_draft(db.session, buyer, order_input(title=f"Gimbal bracket {i}"))
        plant_id, machine_id = plant.id, machine.id

    browser_sign_in(page, server, "works@example.com", PASSWORD)
    page.goto(f"{server.url}/factory/plants/{plant_id}?week={day.date()}")
    fits(page)
    # the navigation sits behind a Menu button: the header is one row, not three
    menu = page.locator(".menu-toggle")
    nav = page.locator("#mainnav")
    assert menu.is_visible() and not nav.is_visible()
    assert page.locator(".topbar").bounding_box()["height"] < 80  # one row
    sign_out = "Sign out" if lang == "en" else "退出登录"
    assert not page.get_by_role("button", name=sign_out).is_visible()
    menu.click()
    assert nav.is_visible() and menu.get_attribute("aria-expanded") == "true"
    assert nav.get_by_role("button", name=sign_out).is_visible()  # signing out is in the menu
    shot(page, f"89-phone-menu-{lang}")
    menu.click()
    assert not nav.is_visible()
    day_view = page.locator(".calendar-day")
    assert day_view.is_visible() and not page.locator(".calendar-week").is_visible()
    # the day view starts on the day asked for, and its arrows move one day
    assert page.locator(".calendar-day .day-slot-published").count() == 1
    page.get_by_role("button", name="Next day" if lang == "en" else "后一天").click()
    page.locator(".calendar-day .day-slot-published").wait_for(state="detached")
    shot(page, f"90-phone-calendar-{lang}")
    page.goto(f"{server.url}/factory/machines/{machine_id}")
    fits(page)
    shot(page, f"91-phone-machine-{lang}")
    browser_sign_in(page, server, "buyer@example.com", PASSWORD)
    page.goto(f"{server.url}/orders/")
    fits(page)
    shot(page, f"92-phone-orders-{lang}")
