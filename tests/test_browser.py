"""Browser tests: Debian's chromium driven by Playwright against a live server.

Screenshots of every step land in test-artifacts/screenshots (the path is printed at the end
of the run) so a person can look at the pages; failures save one named after the test."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser_support import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    LiveServer,
    chromium_path,
    make_live_app,
)
from tests.conftest import PASSWORD, make_account, missing

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        missing("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_app(tmp_path):
    return make_live_app(tmp_path)


@pytest.fixture
def server(live_app) -> Iterator[LiveServer]:
    with LiveServer(live_app) as srv:
        yield srv


@pytest.fixture
def page(browser, request, server):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Failed HTTP statuses are asserted by the tests themselves; scripts must not fail.
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"browser console errors: {errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret injects a style that the CSP (rightly) refuses
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, caret="initial")


def test_register_logout_login(page, server):
    page.goto(server.url + "/")
    shot(page, "01-home")
    page.get_by_role("link", name="Register your company").first.click()
    page.get_by_label("Company name").fill("Dongguan Test Precision")
    page.get_by_label("Your company").select_option("factory")
    page.get_by_label("City").fill("Dongguan")
    page.get_by_label("Your name").fill("Chen Wei")
    page.get_by_label("Work email").fill("chen@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "02-register-filled")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))
    assert page.get_by_role("heading", name="Dongguan Test Precision").is_visible()
    assert page.get_by_text("waiting for verification").is_visible()
    shot(page, "03-dashboard-pending")

    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_text("You have signed out.").is_visible()

    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Email").fill("chen@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Wrong email or password.").is_visible()
    shot(page, "04-login-wrong-password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Remember me").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))
    cookies = {c["name"] for c in page.context.cookies()}
    assert "remember_token" in cookies


def test_operator_verifies_with_htmx(page, server, live_app):
    factory = make_account(live_app, "factory", "pending@example.com", verified=False)
    make_account(live_app, "operator", "ops@example.com")
    page.goto(server.url + "/auth/login")
    page.get_by_label("Email").fill("ops@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/operator/$"))
    assert page.get_by_role("heading", name="Market overview").is_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies").click()
    row = page.locator(f"#company-{factory.company_id}")
    assert "pending" in row.inner_text()
    shot(page, "05-operator-companies")
    page.evaluate("window.__marker = 1")  # survives only if the page does not reload
    row.get_by_role("button", name="Verify").click()
    # a locator wait, not wait_for_function: string evaluation trips the page's CSP
    row.locator(".badge-verified").wait_for()
    assert page.evaluate("window.__marker") == 1
    shot(page, "06-operator-verified")


def test_error_page_and_language(page, server):
    page.goto(server.url + "/does-not-exist")
    assert page.get_by_text("Page not found").is_visible()
    shot(page, "07-404")
    page.goto(server.url + "/")
    page.get_by_role("button", name="中文").click()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    shot(page, "08-home-zh")


def test_mobile_layout(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    page.goto(server.url + "/auth/register")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    shot(page, "09-register-mobile")
    context.close()
