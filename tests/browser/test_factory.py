"""Browser: a factory user adds a plant, a machine and a shift rule, sees the windows in the
week calendar and withdraws one without reloading the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, make_account
from tests.fakes.capacity import future_monday
from tests.fakes.live_server import shot
from tests.fakes.live_server import sign_in as browser_sign_in

pytestmark = pytest.mark.browser


def sign_in(page, server, email: str) -> None:  # noqa: F811
    browser_sign_in(page, server, email, PASSWORD)


def test_factory_publishes_capacity(page, server, live_app):  # noqa: F811
    make_account(live_app, "factory", "plant.manager@example.com")
    sign_in(page, server, "plant.manager@example.com")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Plants & capacity").click()
    page.get_by_label("Plant name").fill("Chang'an plant")
    page.get_by_label("City").fill("Dongguan")
    page.get_by_label("Latitude").fill("22.80")
    page.get_by_label("Longitude").fill("113.80")
    page.get_by_role("button", name="Add plant").click()
    page.wait_for_url(re.compile(r".*/factory/plants/\d+$"))

    page.get_by_label("Machine name").fill("Haas VF-2 #1")
    page.get_by_label("Kind").fill("3-axis machining centre")
    page.get_by_label("Process").select_option("cnc_milling")
    # choosing the process narrows the materials through htmx
    # the materials of the chosen process arrive as checkboxes (htmx)
    page.locator("#materials-0 input[value=al7075]").wait_for()
    page.locator("#materials-0 input[value=al6061]").check()
    page.locator("#materials-0 input[value=al7075]").check()
    page.get_by_label("Rate per hour (¥)").fill("150")
    shot(page, "20-factory-add-machine")
    page.get_by_role("button", name="Add machine").click()
    page.wait_for_url(re.compile(r".*/factory/machines/\d+$"))

    monday = future_monday().date()
    page.get_by_label("First day").fill(monday.isoformat())
    page.get_by_label("Last day").fill((monday + timedelta(days=6)).isoformat())
    page.get_by_label("From", exact=True).fill("22:00")
    page.get_by_label("To", exact=True).fill("06:00")
    page.get_by_role("button", name="Publish shifts").click()
    assert page.get_by_text("40.0 hours of idle time published").is_visible()
    shot(page, "21-factory-machine-rules")

    page.get_by_role("link", name="Chang'an plant").click()
    plant_url = page.url
    page.goto(f"{plant_url}?week={monday - timedelta(days=7)}")
    page.get_by_role("button", name="Next week").click()
    calendar = page.locator("#calendar")
    calendar.get_by_text("22:00–24:00").first.wait_for()
    slots = calendar.locator(".slot-published")
    before = slots.count()
    assert before == 5 * 2 + 1  # each night shift shows on two days, plus the legend
    shot(page, "22-factory-calendar")
    page.evaluate("window.__marker = 1")
    calendar.get_by_role("button", name="Withdraw 22:00–24:00").first.click()
    page.get_by_text("Withdrew 8.0 hours").wait_for()
    assert page.locator("#calendar .slot-published").count() == before - 2
    assert page.evaluate("window.__marker") == 1  # no reload
    shot(page, "23-factory-calendar-withdrawn")
