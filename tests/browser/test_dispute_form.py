"""Browser: the operator's dispute resolution is a column of radio rows, each radio beside
its own words, at 1366 and 390 px, in English and Chinese, axe-clean."""

from __future__ import annotations

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.deals import service as deals
from market.payments import disputes
from tests.browser.test_payments import _deal
from tests.conftest import PASSWORD
from tests.fakes.live_server import shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import pay

pytestmark = pytest.mark.browser
LOCALES = {"en": "en-US", "zh": "zh-CN"}


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dispute_radios_sit_by_their_labels(browser, server, live_app, width, lang):
    from market.core.extensions import db

    deal = _deal(live_app)
    with live_app.app_context():
        s = db.session
        buyer = s.exec(select(User).where(User.email == "buyer@example.com")).one()
        ops = s.exec(select(User).where(User.email == "ops@example.com")).one()
        deals.accept_quote(s, buyer, deal["quote_id"])
        pay(s, ops.id, deal["order_id"])
        disputes.open_dispute(s, s.get(User, buyer.id), deal["order_id"],
                              "Two brackets arrived scratched")
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": width, "height": 900},
                                  is_mobile=width < 500)
    page = context.new_page()
    try:
        browser_sign_in(page, server, "ops@example.com", PASSWORD)
        page.goto(f"{server.url}/operator/payments")
        radios = page.locator('input[name="resolution"]')
        # release, refund part, refund all, remake
        assert radios.count() == 4
        rows = []
        for i in range(4):
            radio = radios.nth(i).bounding_box()
            label = radios.nth(i).locator("xpath=..").bounding_box()
            # the words start right after their radio, on the same line
            assert label["x"] <= radio["x"] and radio["x"] - label["x"] < 8
            assert label["y"] <= radio["y"] + 2 and radio["y"] + radio["height"] <= (
                label["y"] + label["height"] + 2)
            rows.append(radio)
        # one row each, the radios in one column
        assert len({round(r["x"]) for r in rows}) == 1
        assert rows[0]["y"] < rows[1]["y"] < rows[2]["y"] < rows[3]["y"]
        width_now = page.evaluate("document.documentElement.scrollWidth")
        assert width_now <= width
        page.locator(".dispute").first.scroll_into_view_if_needed()
        shot(page, f"66-operator-dispute-{width}-{lang}")
    finally:
        context.close()
