"""Browser: a buyer asks for a change of a booked order (a larger quantity), sees the re-plan's
quote (the difference in yuan, the new delivery date), accepts it after a confirmation that
says what happens, and is taken to pay the difference; in English and Chinese."""

from __future__ import annotations

import pytest
from sqlmodel import select

from market.deals.models import ChangeRequest
from market.orders.models import Order
from tests.browser.test_disruption import booked, lang, live_app, page, sign_in  # noqa: F401
from tests.fakes.live_server import shot

pytestmark = pytest.mark.browser

TEXT = {
    "en": {"open": "Request a change", "quantity": "New quantity", "why": "Why?",
           "send": "Request the change", "requested": "Change requested",
           "quoted": "quoted", "pay_more": "you pay this into escrow",
           "accept": "Accept the change", "accepted": "Change accepted",
           "pay": "Pay into escrow"},
    "zh": {"open": "申请变更", "quantity": "新数量", "why": "原因？",
           "send": "提交变更申请", "requested": "变更申请已提交", "quoted": "已报价",
           "pay_more": "由您付至平台托管", "accept": "接受变更", "accepted": "变更已接受",
           "pay": "付款至平台托管"},
}


def test_the_buyer_requests_a_change_and_accepts_its_quote(page, server, live_app, lang):  # noqa: F811
    from market.core.extensions import db

    t, w = TEXT[lang], booked(live_app)
    sign_in(page, server, w["emails"]["buyer"])
    page.goto(f"{server.url}/orders/{w['order_id']}")
    form = page.locator("details.change-form")
    if form.get_attribute("open") is None:
        page.get_by_text(t["open"], exact=True).click()
    page.get_by_label(t["quantity"]).fill("80")
    page.get_by_label(t["why"]).fill("A second assembly line")
    shot(page, f"77-change-request-form-{lang}")
    page.get_by_role("button", name=t["send"]).click()
    page.get_by_text(t["requested"]).wait_for()  # the re-plan ran in the request (sync jobs)
    card = page.locator("#changes")
    assert t["quoted"] in card.inner_text() and t["pay_more"] in card.inner_text()
    with live_app.app_context():
        change = db.session.exec(select(ChangeRequest)).one()
        assert change.status == "quoted" and change.price_difference > 0
        yuan = f"{change.price_difference / 100:,.2f}"
    assert yuan in card.inner_text()  # yuan on the page, not fen
    confirm = card.get_by_role("button", name=t["accept"]).get_attribute("data-confirm")
    assert "80" in confirm and yuan in confirm  # says what will happen, in words
    shot(page, f"78-change-request-quoted-{lang}")
    card.get_by_role("button", name=t["accept"]).click()  # the page fixture says yes
    page.get_by_text(t["accepted"]).wait_for()
    shot(page, f"79-change-accepted-pay-{lang}")
    with live_app.app_context():
        assert db.session.get(Order, w["order_id"]).quantity == 80
        assert db.session.get(ChangeRequest, change.id).status == "accepted"
    page.goto(f"{server.url}/orders/{w['order_id']}")
    assert page.get_by_role("link", name=t["pay"]).is_visible()  # the difference is due
