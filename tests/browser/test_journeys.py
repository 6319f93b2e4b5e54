"""Browser journeys per role, each at 1366 px and 390 px, in English and Chinese: a factory
registers and publishes capacity, a buyer takes an order from draft to delivery and its
receipt, an operator reviews and approves a matching run. Every step is screenshotted and
checked by axe-core (`shot`), and no page is wider than the screen. The steps find controls
by name and id, so one script walks both languages; the words checked are per language."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from market.accounts.models import User
from market.core.extensions import db
from market.deals import service as deals
from market.deals import visibility
from market.orders import service as orders
from market.orders.models import Order
from tests.conftest import PASSWORD, make_account
from tests.fakes.capacity import future_monday
from tests.fakes.live_server import SHOTS, make_live_app, shot, watch
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import PNG, firm_quote, order_input, pay, seed_capacity, tiny_pdf

pytestmark = pytest.mark.browser
LOCALES = {"en": "en-US", "zh": "zh-CN"}
WIDTHS = (1366, 390)


@pytest.fixture
def live_app(tmp_path):
    return make_live_app(tmp_path, JOBS_MODE="thread", SOLVER_WORKERS=1,
                         ATTACHMENT_DIR=str(tmp_path / "attachments"))


@pytest.fixture(params=[(w, lang) for w in WIDTHS for lang in LOCALES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def viewer(browser, request, server):
    width, lang = request.param
    context = browser.new_context(locale=LOCALES[lang],
                                  viewport={"width": width, "height": 900},
                                  is_mobile=width < 500)
    page = context.new_page()
    errors = watch(page)
    yield page, width, lang
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"browser console errors: {errors}"


def look(page, width: int, name: str) -> None:
    """The page fits the screen, passes axe-core, and is saved for a person to look at."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name}: the page is {scroll} px wide at {width} px"
    # the header is one row at both widths (the phone's navigation behind its Menu button)
    header = page.locator(".topbar").bounding_box()["height"]
    assert header < 80, f"{name}: the header is {header} px high at {width} px"
    shot(page, name)


def settled(page) -> None:
    """htmx has finished swapping the routing editor (new rows get their listeners while
    settling, a few ms after they appear)."""
    expect(page.locator("#routing")).not_to_have_class(re.compile(r"htmx-(added|settling)"))
    page.wait_for_timeout(50)


def submit(page, form_selector: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form_selector} button[type=submit]").last.click()


def flash(page, lang: str, en: str, zh: str) -> None:
    expect(page.locator(".flash-success").first).to_contain_text(en if lang == "en" else zh)


# --- the factory -------------------------------------------------------------------------

def test_factory_registers_and_publishes_capacity(viewer, server, live_app):
    page, width, lang = viewer
    tag = f"{width}-{lang}"
    page.goto(server.url + "/auth/register")
    page.locator("#company_name").fill("Kunshan Precision Works")
    page.locator("#company_kind").select_option("factory")
    # the country is a list named in the reader's language, China first
    assert page.locator("#country").input_value() == "CN"
    assert page.locator("#country option").first.inner_text() == (
        "China" if lang == "en" else "中国")
    page.locator("#city").fill("昆山")
    page.locator("#name").fill("Wang Li")
    page.locator("#email").fill("plant.manager@example.com")
    page.locator("#password").fill(PASSWORD)
    look(page, width, f"J1-factory-register-{tag}")
    submit(page, "main form")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    look(page, width, f"J1-factory-dashboard-{tag}")

    # a plant placed with the city picker: a city, then a district (htmx), fills the point
    page.goto(server.url + "/factory/")
    page.locator("#plant-name").fill("Kunshan plant")
    page.locator("#plant-place").select_option("320500")
    district = page.locator("#plant-place_district")
    expect(district.locator('option[value="320583"]')).to_have_count(1)
    district.select_option("320583")
    expect(page.locator("#plant-lat")).to_have_value("31.385597")
    expect(page.locator("#plant-lon")).to_have_value("120.980736")
    expect(page.locator("#plant-city")).to_have_value("Suzhou" if lang == "en" else "苏州市")
    look(page, width, f"J1-factory-plant-picker-{tag}")
    submit(page, "form[action$='/factory/plants']")
    page.wait_for_url(re.compile(r".*/factory/plants/\d+$"))
    plant_url = page.url

    page.locator("#machine-name").fill("Haas VF-2 #1")
    page.locator("#machine-kind").fill("3-axis machining centre")
    page.locator("#process-0").select_option("cnc_milling")
    page.locator("#materials-0 input[value=al6061]").check()
    page.locator("#rate-0").fill("150")
    look(page, width, f"J1-factory-add-machine-{tag}")
    submit(page, "form:has(#machine-name)")
    page.wait_for_url(re.compile(r".*/factory/machines/\d+$"))

    monday = future_monday().date()
    page.locator("#rule-start").fill("08:00")
    page.locator("#rule-end").fill("18:00")
    page.locator("#rule-from").fill(monday.isoformat())
    page.locator("#rule-until").fill((monday + timedelta(days=4)).isoformat())
    submit(page, "form:has(#rule-start)")
    flash(page, lang, "50.0 hours of idle time published", "50.0")
    look(page, width, f"J1-factory-shift-rule-{tag}")

    page.goto(f"{plant_url}?week={monday}")
    view = ".calendar-day" if width < 640 else ".calendar-week"
    expect(page.locator(f"#calendar {view} .slot-published, "
                        f"#calendar {view} .day-slot-published").first).to_be_visible()
    look(page, width, f"J1-factory-calendar-{tag}")


# --- the buyer ---------------------------------------------------------------------------

def _quote_for(app, order_id: int, machines) -> int:
    """A firm quote for the order (made directly, as the payments journey does: the solver's
    part is the operator's journey)."""

    with app.app_context():
        return firm_quote(db.session, db.session.get(Order, order_id), machines).id


def _factories_do_the_work(app, order_id: int) -> None:
    """The bank transfer arrives, each factory accepts, starts and finishes its step, and
    the last one ships (services: the factories' pages have their own tests)."""

    with app.app_context():
        s = db.session
        ops = s.exec(select(User).where(User.email == "ops@example.com")).one()
        pay(s, ops.id, order_id)
        made = sorted(visibility.bookings_of_order(s, order_id), key=lambda b: b.start)
        owners = {b.id: s.exec(select(User).where(
            User.company_id == b.factory_company_id)).first() for b in made}
        for b in made:
            deals.accept_booking(s, owners[b.id], b.id)
        for b in made:
            deals.report_progress(s, owners[b.id], b.id, "started")
            deals.report_progress(s, owners[b.id], b.id, "done")
        deals.ship(s, owners[made[-1].id], made[-1].id, "SF Express 1234")


def _people(app, *factories: str) -> list:
    """The buyer and the operator of the journeys, and the factories named."""
    make_account(app, "buyer", "buyer@example.com")
    make_account(app, "operator", "ops@example.com")
    return [make_account(app, "factory", f"{name}@example.com") for name in factories]


def test_buyer_orders_and_takes_delivery(viewer, server, live_app):
    page, width, lang = viewer
    tag = f"{width}-{lang}"
    mill, anod = _people(live_app, "mill", "anodizer")
    with live_app.app_context():
        machines = [seed_capacity(db.session, mill.company_id,
                                  processes=(("cnc_milling", ["al6061"]),), days=3)[0],
                    seed_capacity(db.session, anod.company_id,
                                  processes=(("anodizing", []),), days=3)[0]]

    browser_sign_in(page, server, "buyer@example.com", PASSWORD)
    page.goto(server.url + "/orders/new")
    page.locator("#title").fill("Gimbal bracket 云台支架")
    page.locator("#quantity").fill("50")
    due = (datetime.now(UTC) + timedelta(days=28)).date().isoformat()
    page.locator("#due_date").fill(due)
    # the delivery place from the city picker: Shanghai, Pudong
    page.locator("#address").fill("")
    page.locator("#delivery-place").select_option("310000")
    expect(page.locator('#delivery-place_district option[value="310115"]')).to_have_count(1)
    page.locator("#delivery-place_district").select_option("310115")
    expect(page.locator("#lat")).to_have_value("31.221517")
    # routing: milling 6061, then anodizing: the new step starts with the material of step 1
    page.locator("#op-process-1").select_option("cnc_milling")
    expect(page.locator("#op-row-1 .hint")).to_be_visible()  # the swap that suggests minutes
    settled(page)
    page.locator("#op-material-1").select_option("al6061")
    page.locator("button[name=action][value=add]").click()
    page.locator("#op-row-2").wait_for()
    expect(page.locator("#op-material-2")).to_have_value("al6061")
    settled(page)
    page.locator("#op-process-2").select_option("anodizing")
    expect(page.locator("#op-minutes-2")).to_have_value("0.8")
    expect(page.locator("#op-material-2")).to_have_value("al6061")
    look(page, width, f"J2-buyer-order-form-{tag}")
    submit(page, "form.order-form")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    order_id = int(page.url.rsplit("/", 1)[1])

    # a wrong file, removed before any factory has it; then the right one
    page.locator("#file").set_input_files(files=[{
        "name": "old-revision.png", "mimeType": "image/png", "buffer": PNG}])
    submit(page, "form.upload-form")
    expect(page.locator("#files form.inline-action")).to_have_count(1)
    look(page, width, f"J2-buyer-wrong-file-{tag}")
    submit(page, "#files form.inline-action")
    flash(page, lang, "Removed old-revision.png.", "已删除 old-revision.png。")
    page.locator("#file").set_input_files(files=[{
        "name": "bracket-rev-b.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf()}])
    submit(page, "form.upload-form")
    submit(page, f"form[action$='/orders/{order_id}/submit']")
    flash(page, lang, "Order submitted.", "订单已提交")
    look(page, width, f"J2-buyer-order-submitted-{tag}")

    quote_id = _quote_for(live_app, order_id, machines)
    page.goto(f"{server.url}/quotes/{quote_id}")
    look(page, width, f"J2-buyer-quote-{tag}")
    submit(page, f"form[action$='/quotes/{quote_id}/accept']")
    page.wait_for_url(re.compile(rf".*/orders/{order_id}/payment$"))
    look(page, width, f"J2-buyer-pay-{tag}")
    # the drawing is in the factories' hands now: it stays
    page.goto(f"{server.url}/orders/{order_id}")
    expect(page.locator("#files form.inline-action")).to_have_count(0)

    _factories_do_the_work(live_app, order_id)
    page.goto(f"{server.url}/orders/{order_id}")
    look(page, width, f"J2-buyer-shipped-{tag}")
    submit(page, f"form[action$='/orders/{order_id}/confirm-delivery']")
    flash(page, lang, "Delivery confirmed", "已确认收货")
    look(page, width, f"J2-buyer-delivered-{tag}")

    page.goto(server.url + "/payments/receipts")
    link = page.locator("a[href$='.pdf'][href*='/payments/receipts/']")
    expect(link).to_have_count(1)
    look(page, width, f"J2-buyer-receipts-{tag}")
    got = page.request.get(server.url + link.get_attribute("href"))
    assert got.status == 200 and got.headers["content-type"] == "application/pdf"


# --- the operator ------------------------------------------------------------------------

def test_operator_reviews_and_approves_a_run(viewer, server, live_app):
    page, width, lang = viewer
    (works,) = _people(live_app, "works")
    tag = f"{width}-{lang}"
    with live_app.app_context():
        seed_capacity(db.session, works.company_id, days=10)
        buyer = db.session.exec(select(User).where(User.email == "buyer@example.com")).one()
        for title in ("Gimbal bracket", "Sensor flange"):
            order = orders.create_draft(db.session, buyer, order_input(title=title,
                                                                       quantity=20))
            orders.submit(db.session, buyer, order.id)

    browser_sign_in(page, server, "ops@example.com", PASSWORD)
    page.goto(server.url + "/operator/runs")
    page.locator("#time-limit").fill("3")
    look(page, width, f"J3-operator-runs-{tag}")
    with page.expect_navigation():
        page.locator("form[action$='/operator/runs'] button[type=submit]:not([name])").click()
    approve_all = page.locator("#approve-form button[name=all]")
    approve_all.wait_for(timeout=60_000)
    look(page, width, f"J3-operator-run-review-{tag}")
    # the review shows each order's plan on a Gantt, on request (htmx)
    page.locator("#approve-form button[hx-get*='gantt']").first.click()
    page.locator("#order-gantt svg").wait_for()
    look(page, width, f"J3-operator-run-gantt-{tag}")
    with page.expect_navigation():
        approve_all.click()  # asks first (data-confirm, answered yes)
    flash(page, lang, "2 orders approved", "2")
    # decided: no approve button is left to press twice
    expect(page.locator("#approve-form button[type=submit]")).to_have_count(0)
    look(page, width, f"J3-operator-run-approved-{tag}")
