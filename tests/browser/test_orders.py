"""Browser test of the buyer's journey: compose an order from a routing template, edit a
row, upload a drawing, submit, and get an instant quote (against capacity seeded in the
database). Screenshots land in test-artifacts/screenshots (orders-*.png)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import LiveServer, make_live_app, shot
from tests.fakes.orders import seed_capacity, tiny_pdf

pytestmark = pytest.mark.browser


def settled(page) -> None:
    """Wait until htmx has finished swapping the routing editor (new rows get their hx-*
    listeners during the settle step, a few ms after they appear)."""
    expect(page.locator("#routing")).not_to_have_class(re.compile(r"htmx-(added|settling)"))
    page.wait_for_timeout(50)


@pytest.fixture
def live_app(tmp_path):
    return make_live_app(tmp_path, ATTACHMENT_DIR=str(tmp_path / "attachments"))


@pytest.fixture
def server(live_app):
    with LiveServer(live_app) as srv:
        yield srv


@pytest.fixture
def page(browser, request, server):  # noqa: F811
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm: yes
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


def test_buyer_composes_uploads_submits_and_gets_a_quote(page, server, live_app, tmp_path):
    from market.core.extensions import db

    make_account(live_app, "buyer", "buyer@example.com")
    factory = make_account(live_app, "factory", "factory@example.com")
    with live_app.app_context():
        seed_capacity(db.session, factory.company_id, processes=(
            ("cnc_milling", ["al6061"]), ("deburring", []), ("anodizing", [])), days=30)

    page.goto(server.url + "/auth/login")
    page.get_by_label("Email").fill("buyer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    page.wait_for_url(re.compile(r".*/orders/$"))
    shot(page, "orders-01-empty-list")
    page.get_by_role("link", name="New order").click()
    page.wait_for_url(re.compile(r".*/orders/new$"))

    # a routing template fills the editor (htmx: the page does not reload)
    page.evaluate("window.__marker = 1")
    page.get_by_label("Routing template").select_option("machined_al_anodized")
    page.get_by_role("button", name="Use template").click()
    page.locator("#op-row-4").wait_for()
    assert page.locator("#op-process-1").input_value() == "cnc_milling"
    assert page.evaluate("window.__marker") == 1
    shot(page, "orders-02-template")

    # edit rows: drop the CMM step, override the deburring time, move anodizing up and back
    page.get_by_role("button", name="Remove step 4").click()
    page.locator("#op-row-4").wait_for(state="detached")
    page.locator("#op-minutes-2").fill("2.5")
    page.get_by_role("button", name="Move step 3 up").click()
    expect(page.locator("#op-process-2")).to_have_value("anodizing")
    page.get_by_role("button", name="Move step 2 down").click()
    expect(page.locator("#op-process-2")).to_have_value("deburring")
    assert page.locator("#op-minutes-2").input_value() == "2.5"
    # choosing a process narrows the materials and suggests its typical minutes
    page.get_by_role("button", name="Add operation").click()
    page.locator("#op-row-4").wait_for()
    settled(page)
    page.locator("#op-process-4").select_option("anodizing")
    expect(page.locator("#op-minutes-4")).to_have_value("0.8")
    materials = page.locator("#op-material-4 option").all_inner_texts()
    assert any("6061" in m for m in materials) and not any("PA12" in m for m in materials)
    page.get_by_role("button", name="Remove step 4").click()
    page.locator("#op-row-4").wait_for(state="detached")
    assert page.evaluate("window.__marker") == 1

    due = (datetime.now(UTC) + timedelta(days=28)).date().isoformat()
    page.get_by_label("Title", exact=True).fill("Sensor bracket, 6061 anodized")
    page.get_by_label("Quantity", exact=True).fill("40")
    page.get_by_label("Due date").fill(due)
    page.get_by_label("Delivery address").fill("88 Century Ave, Pudong, Shanghai")
    page.get_by_label("Latitude").fill("31.23")
    page.get_by_label("Longitude").fill("121.47")
    page.get_by_label("Budget (CNY, optional)").fill("20000")
    shot(page, "orders-03-editor-filled")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    assert page.get_by_text("Draft saved").is_visible()
    assert "Deburring" in page.locator(".routing-table").inner_text()
    assert "2.5" in page.locator(".routing-table").inner_text()

    # upload a drawing
    page.locator("#file").set_input_files(files=[{
        "name": "bracket-drawing.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf()}])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="bracket-drawing.pdf").is_visible()
    shot(page, "orders-04-draft-with-drawing")

    page.get_by_role("button", name="Submit order").click()
    page.wait_for_load_state()
    assert page.get_by_text("Order submitted.").is_visible()
    assert page.locator(".order-badge").inner_text() == "open"

    page.get_by_role("button", name="Get instant quote").click()
    page.locator(".quote-price").wait_for()
    price = page.locator(".quote-price").inner_text()
    assert re.search(r"¥[\d,]+\.\d\d", price), price
    assert page.locator(".quote-delivery").inner_text().strip()
    shot(page, "orders-05-quote")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    assert page.get_by_role("link", name="Sensor bracket, 6061 anodized").is_visible()
    shot(page, "orders-06-list")

    # the editor and the order page fit a phone without horizontal scrolling
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/orders/new?template=sheet_metal_enclosure")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "orders-07-editor-mobile")
    page.get_by_role("button", name="Menu").click()  # a phone's navigation is behind it
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    with page.expect_navigation():  # measure the order page, not the one being left
        page.get_by_role("link", name="Sensor bracket, 6061 anodized").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "orders-08-order-mobile")
