"""Browser tests of accounts: registration, sign-in, verification, errors, phone width.

Screenshots of every step land in test-artifacts/screenshots (the path is printed at the end
of the run) so a person can look at the pages; failures save one named after the test."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import shot

pytestmark = pytest.mark.browser


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
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm: yes
    page.goto(server.url + "/auth/register")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    shot(page, "09-register-mobile")
    context.close()
