"""Browser: quality you can trust, in English and Chinese. The factories report progress,
hand the parts on and upload the certificate the order requires; the last one ships with a
tracking number; the buyer rejects the delivery; the operator refunds it. And: a delivered
order's buyer reviews a factory, whose profile and directory entry then show the review."""

from __future__ import annotations

import pytest

from market.orders.models import Order
from tests.browser.test_disruption import booked, lang, page, sign_in  # noqa: F401, F811
from tests.fakes.live_server import make_live_app, shot

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TEXT = {
    "en": {"start": "Mark started", "done": "Mark done", "carrier": "Carrier",
           "tracking": "Tracking number", "hand_on": "Send parts to the next plant",
           "handed": "Hand-off recorded", "ship": "Ship to the buyer",
           "missing": "requires these QC documents", "document": "Document",
           "file": "File (PDF, PNG or JPEG)", "upload": "Upload document",
           "uploaded": "Document uploaded", "coc": "certificate of conformity",
           "reject_open": "Reject the delivery", "what": "What is wrong with the parts?",
           "refund": "A full refund", "reject": "Reject delivery",
           "rejected": "Delivery rejected", "refund_all": "Refund everything to the buyer",
           "resolve": "Resolve", "resolved": "Dispute resolved.", "confirm": "Confirm delivery",
           "quality": "Quality", "publish": "Publish review", "thanks": "Thank you",
           "reviewed": "Clean anodizing"},
    "zh": {"start": "标记为开工", "done": "标记为完工", "carrier": "承运方",
           "tracking": "运单号", "hand_on": "将零件发往下一厂区", "handed": "转运已记录",
           "ship": "发货给采购方", "missing": "订单发货前需要以下质检文件",
           "document": "文件类型", "file": "文件（PDF、PNG 或 JPEG）", "upload": "上传文件",
           "uploaded": "文件已上传", "coc": "合格证明（CoC）", "reject_open": "拒收交付",
           "what": "零件有什么问题？", "refund": "全额退款", "reject": "拒收",
           "rejected": "已拒收", "refund_all": None, "resolve": None, "resolved": None,
           "confirm": "确认收货", "quality": "质量", "publish": None, "thanks": None,
           "reviewed": "Clean anodizing"},
}


@pytest.fixture
def live_app(tmp_path):
    return make_live_app(tmp_path, JOBS_MODE="sync", SOLVER_WORKERS=1)


def _require(live_app, order_id: int, kinds: list[str]) -> None:
    from market.core.extensions import db

    with live_app.app_context():
        order = db.session.get(Order, order_id)
        order.required_documents = kinds
        db.session.add(order)
        db.session.commit()


def _work(page, server, t, booking_id: int) -> None:  # noqa: F811
    page.goto(f"{server.url}/factory/bookings/{booking_id}")
    page.get_by_role("button", name=t["start"]).click()
    page.get_by_role("button", name=t["done"]).wait_for()
    page.get_by_role("button", name=t["done"]).click()
    page.get_by_role("button", name=t["done"]).wait_for(state="detached")


def test_documents_ship_reject_and_refund(page, server, live_app, lang, tmp_path):  # noqa: F811
    t, w = TEXT[lang], booked(live_app)
    _require(live_app, w["order_id"], ["coc"])
    sign_in(page, server, w["emails"][w["mill"]])
    _work(page, server, t, w["milling"])
    page.get_by_label(t["carrier"]).fill("own truck")
    page.get_by_role("button", name=t["hand_on"]).click()
    page.get_by_text(t["handed"]).wait_for()
    shot(page, f"80-handed-off-{lang}")
    sign_in(page, server, w["emails"]["anod"])
    _work(page, server, t, w["anod"])
    assert page.get_by_text(t["missing"]).first.is_visible()  # said before trying
    page.get_by_label(t["carrier"]).fill("SF Express")
    page.get_by_role("button", name=t["ship"]).click()
    page.get_by_text(t["missing"]).first.wait_for()  # refused, in the error style
    coc = tmp_path / "coc.pdf"
    coc.write_bytes(PDF)
    page.get_by_label(t["document"]).select_option("coc")
    page.get_by_label(t["file"]).set_input_files(str(coc))
    page.get_by_role("button", name=t["upload"]).click()
    page.get_by_text(t["uploaded"]).wait_for()
    page.get_by_label(t["carrier"]).fill("SF Express")
    page.get_by_label(t["tracking"]).fill("SF1234567890")
    page.get_by_role("button", name=t["ship"]).click()
    page.wait_for_load_state()
    shot(page, f"81-shipped-{lang}")
    sign_in(page, server, w["emails"]["buyer"])
    page.goto(f"{server.url}/orders/{w['order_id']}")
    page.get_by_text("SF1234567890").first.wait_for()
    assert page.get_by_role("link", name=t["coc"]).is_visible()  # the CoC under its step
    page.get_by_text(t["reject_open"]).click()
    page.get_by_label(t["what"]).fill("Anodizing peels off on 12 parts")
    page.get_by_label(t["refund"]).check()
    shot(page, f"82-reject-form-{lang}")
    page.get_by_role("button", name=t["reject"]).click()
    page.get_by_text(t["rejected"]).first.wait_for()
    assert page.get_by_text(t["confirm"]).count() == 0
    shot(page, f"83-rejected-{lang}")
    if lang == "zh":  # the operator's side once is enough
        return
    sign_in(page, server, w["emails"]["operator"])
    page.goto(f"{server.url}/operator/payments")
    page.get_by_text("Anodizing peels off on 12 parts").wait_for()
    page.get_by_label(t["refund_all"]).check()
    page.get_by_role("button", name=t["resolve"]).click()
    page.get_by_text(t["resolved"]).wait_for()
    shot(page, f"84-refunded-{lang}")
    with live_app.app_context():
        from market.core.extensions import db

        assert db.session.get(Order, w["order_id"]).status == "closed"


def test_review_reaches_the_profile_and_directory(page, server, live_app, lang):  # noqa: F811
    t, w = TEXT[lang], booked(live_app)
    sign_in(page, server, w["emails"][w["mill"]])
    _work(page, server, t, w["milling"])
    sign_in(page, server, w["emails"]["anod"])
    _work(page, server, t, w["anod"])
    page.get_by_label(t["carrier"]).fill("SF Express")
    page.get_by_role("button", name=t["ship"]).click()
    page.wait_for_load_state()
    sign_in(page, server, w["emails"]["buyer"])
    page.goto(f"{server.url}/orders/{w['order_id']}")
    page.get_by_role("button", name=t["confirm"]).click()
    page.locator("#reviews").wait_for()
    form = page.locator("#reviews form").filter(has_text="anod")
    form = form if form.count() else page.locator("#reviews form").first
    form.locator("textarea").fill(t["reviewed"])
    shot(page, f"85-review-{lang}")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{server.url}/factories")
    shot(page, f"86-directory-{lang}")
    links = page.locator("main a[href*='/factories/']")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs, "the directory lists the verified factories"
    found = False
    for href in hrefs:
        page.goto(server.url + href)
        if page.get_by_text(t["reviewed"]).count():
            found = True
            shot(page, f"87-profile-{lang}")
            break
    assert found, "the review is on the reviewed factory's profile"
