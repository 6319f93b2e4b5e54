"""The buyer's receipt PDF: in the reader's language with the Chinese font embedded, amounts
in yuan, refunds listed; only for the buyer's company and operators, once money arrived."""

from __future__ import annotations

import io

import pypdf
from sqlmodel import select

from market.core.models import utcnow
from market.payments.models import Payment, Refund
from tests.deals.test_disruption import app_config, world  # noqa: F401 (fixtures)
from tests.deals.test_disruption_pages import client_of

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}


def text_of(data: bytes) -> str:
    """The PDF's text as pypdf reads it through the font's ToUnicode map. fpdf2 maps glyph 0
    to U+0000 and pypdf then puts a NUL before every character: dropped here."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\x00", "")


def yuan(minor: int) -> str:
    return f"¥{minor / 100:,.2f}"


def test_receipt_pdf_in_both_languages(app, session, world):  # noqa: F811
    order = world["order"]
    payment = session.exec(select(Payment).where(Payment.order_id == order.id)).one()
    # a part refund already made from this payment is listed and netted
    session.add(Refund(order_id=order.id, payment_id=payment.id, amount=1_000,
                       status="succeeded", reason="one part short", idempotency_key="r-1",
                       succeeded_at=utcnow()))
    session.commit()
    buyer = client_of(app, world["users"]["buyer"])
    listing = buyer.get("/payments/receipts", headers=EN).text
    url = f"/payments/receipts/{payment.id}.pdf"
    assert url in listing
    got = buyer.get(url, headers=EN)
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert "attachment" in got.headers["Content-Disposition"]
    assert b"/FontFile" in got.data and b"NotoSansCJK" in got.data
    text = text_of(got.data)
    assert f"Receipt R-{payment.id}" in text and payment.reference in text
    assert f"Order #{order.id}" in text
    assert yuan(payment.amount) in text and yuan(payment.platform_fee) in text
    assert "one part short" in text and yuan(payment.amount - 1_000) in text
    assert "not a VAT invoice" in text
    zh = text_of(buyer.get(url, headers=ZH).data)
    assert f"收款凭证 R-{payment.id}" in zh and "退款" in zh and yuan(payment.amount) in zh
    assert "增值税发票" in zh
    # operators may fetch it; a factory on the order or another buyer may not
    assert client_of(app, world["users"]["operator"]).get(url).status_code == 200
    assert client_of(app, world["users"]["anod"]).get(url).status_code == 404


def test_no_receipt_before_the_money_arrives(app, session, world):  # noqa: F811
    payment = session.exec(select(Payment)).one()
    payment.succeeded_at = None
    session.add(payment)
    session.commit()
    buyer = client_of(app, world["users"]["buyer"])
    assert buyer.get(f"/payments/receipts/{payment.id}.pdf").status_code == 404
    assert buyer.get("/payments/receipts/999999.pdf").status_code == 404
