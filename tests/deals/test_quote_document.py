"""The buyer's firm quote, line by line on its page and as a PDF with the Chinese font."""

from __future__ import annotations

import pytest
from sqlmodel import select

from market.core import pdf
from market.deals import quote_lines
from market.deals.models import Quote
from tests.deals.test_disruption import app_config, world  # noqa: F401 (fixtures)
from tests.deals.test_disruption_pages import client_of

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}


def test_lines_add_up_to_the_price(session, world):  # noqa: F811
    order = world["order"]
    quote = session.exec(select(Quote).where(Quote.order_id == order.id)).one()
    lines = quote_lines.lines_of(session, quote, order)
    assert [op.seq for op in lines.operations] == [1, 2]
    assert (sum(op.amount for op in lines.operations) + lines.transport + lines.other
            + lines.platform_fee) == quote.price == lines.total
    assert lines.per_unit == round(quote.price / order.quantity)


def test_quote_page_and_pdf(app, session, world):  # noqa: F811
    order = world["order"]
    quote = session.exec(select(Quote).where(Quote.order_id == order.id)).one()
    buyer = client_of(app, world["users"]["buyer"])
    page = buyer.get(f"/quotes/{quote.id}", headers=EN).text
    assert "What the price is made of" in page and "Transport between plants" in page
    assert "exclude VAT" in page and "Per unit" in page
    got = buyer.get(f"/quotes/{quote.id}.pdf", headers=ZH)
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    # the Chinese font embedded (a subset), so the quote reads the same on any machine
    assert got.data.startswith(b"%PDF") and b"/FontFile" in got.data and b"NotoSansCJK" in got.data
    assert "attachment" in got.headers["Content-Disposition"]
    # a factory or another buyer gets nothing
    factory = client_of(app, world["users"]["anod"])
    assert factory.get(f"/quotes/{quote.id}.pdf").status_code == 404


def test_a_missing_font_is_a_clear_503(monkeypatch):
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", (("/nowhere/font.ttc", 0),))
    monkeypatch.delenv("PDF_FONT", raising=False)
    with pytest.raises(pdf.Unavailable):
        pdf.render(pdf.Document(title="x"))
