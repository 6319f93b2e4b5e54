"""Browser, at phone width in both languages: a factory uploads its ISO 13485 certificate, an
operator verifies it from the queue, and a buyer finds the factory in the directory by it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import tiny_pdf

pytestmark = pytest.mark.browser
LOCALES = {"en": "en-US", "zh": "zh-CN"}
WORDS = {"en": {"upload": "Upload", "verify": "Verify certificate", "filter": "Filter",
                "uploaded": "Certificate uploaded", "verified": "verified."},
         "zh": {"upload": "上传", "verify": "核验证书", "filter": "筛选",
                "uploaded": "证书已上传", "verified": "已核验。"}}


@pytest.fixture(params=["en", "zh"])
def lang(request):
    return request.param


@pytest.fixture
def page(browser, server, lang):
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"


def test_upload_verify_and_find(page, server, live_app, lang, tmp_path):
    words = WORDS[lang]
    make_account(live_app, "factory", "quality@example.com")
    make_account(live_app, "operator", "ops@example.com")
    make_account(live_app, "buyer", "buyer@example.com")
    scan = tmp_path / "iso13485.pdf"
    scan.write_bytes(tiny_pdf())

    browser_sign_in(page, server, "quality@example.com", PASSWORD)
    page.goto(server.url + "/factory/certifications")
    page.locator("#c-kind").select_option("iso13485")
    page.locator("#c-number").fill("MD-2026-0042")
    page.locator("#c-valid").fill("2028-06-30")
    page.locator("#c-file").set_input_files(str(scan))
    shot(page, f"90-certification-upload-{lang}")
    page.get_by_role("button", name=words["upload"], exact=True).click()
    page.wait_for_url(re.compile(r".*/factory/certifications$"))
    assert page.get_by_text(words["uploaded"]).is_visible()
    assert page.get_by_role("cell", name="MD-2026-0042").is_visible()
    shot(page, f"91-certification-pending-{lang}")

    browser_sign_in(page, server, "ops@example.com", PASSWORD)
    page.goto(server.url + "/operator/certifications")
    shot(page, f"92-certifications-queue-{lang}")
    page.get_by_role("button", name=words["verify"], exact=True).click()
    assert page.get_by_text(words["verified"], exact=False).first.is_visible()

    browser_sign_in(page, server, "buyer@example.com", PASSWORD)
    page.goto(server.url + "/factories")
    page.locator("#f-cert").select_option("iso13485")
    page.get_by_role("button", name=words["filter"], exact=True).click()
    page.wait_for_url(re.compile(r".*certification=iso13485.*"))
    assert page.get_by_role("cell", name=re.compile("ISO 13485")).is_visible()
    shot(page, f"93-directory-certified-{lang}")
