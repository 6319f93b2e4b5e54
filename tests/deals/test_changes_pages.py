"""Change requests on the order's page: the buyer asks, sees the quote in yuan with what
accepting does in words, accepts or declines; operators see the requests; factories do not."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import select

from market.deals.models import ChangeRequest
from market.orders.models import Order
from tests.conftest import login, make_account
from tests.deals.test_changes_api import _state
from tests.deals.test_disruption import app_config, world  # noqa: F401 (fixtures)
from tests.deals.test_disruption_pages import EN, ZH, client_of


def test_the_buyer_asks_accepts_and_pays_the_difference_on_the_pages(app, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = client_of(app, users["buyer"])
    page = buyer.get(f"/orders/{order.id}", headers=EN)
    assert "Request a change" in page.text and 'name="quantity"' in page.text
    # the form sends the current due day and quantity: nothing asked is refused in words
    due_day = order.due_date.astimezone(ZoneInfo("Asia/Shanghai"))
    same = {"due_date": due_day.date().isoformat(), "quantity": str(order.quantity),
            "reason": "nothing"}
    r = buyer.post(f"/orders/{order.id}/change-requests", data=same, headers=EN,
                   follow_redirects=True)
    assert "Give a new due date, a new quantity, or both." in r.text
    assert session.exec(select(ChangeRequest)).all() == []
    asked = {**same, "quantity": "90", "reason": "A second assembly line"}
    r = buyer.post(f"/orders/{order.id}/change-requests", data=asked, headers=EN,
                   follow_redirects=True)
    assert "Change requested" in r.text
    change = session.exec(select(ChangeRequest)).one()
    assert change.due_date is None and change.quantity == 90  # the day was unchanged
    assert change.status == "quoted"
    assert "Accept the change" in r.text and "you pay this into escrow" in r.text
    assert f"{change.price_difference / 100:,.2f}" in r.text  # yuan, not fen
    assert "You pay ¥" in r.text and "more into escrow" in r.text  # the confirmation
    zh = buyer.get(f"/orders/{order.id}", headers=ZH).text
    assert "接受变更" in zh and "变更申请" in zh
    # operators see the request, without the buyer's buttons; factories do not see it
    ops = client_of(app, users["operator"]).get(f"/orders/{order.id}", headers=EN).text
    assert "A second assembly line" in ops and "Accept the change" not in ops
    run_page = client_of(app, users["operator"]).get(f"/operator/runs/{change.run_id}",
                                                      headers=EN).text
    assert "quotes a buyer's change request" in run_page and "Approve all" not in run_page
    assert "Reject proposal" not in run_page
    mill = client_of(app, users["mill1"]).get(f"/orders/{order.id}", headers=EN)
    assert "A second assembly line" not in mill.text
    other = login(app.test_client(), make_account(app, "buyer"))
    assert other.post(f"/change-requests/{change.id}/accept", headers=EN).status_code == 404
    r = buyer.post(f"/change-requests/{change.id}/accept", headers=EN)
    assert r.status_code == 302 and f"/orders/{order.id}/pay" in r.headers["Location"]
    session.expire_all()
    assert session.get(Order, order.id).quantity == 90
    page = buyer.get(f"/orders/{order.id}", headers=EN).text
    assert "Pay into escrow" in page and "replaced by a change" in page  # the old quote
    session.expire_all()
    new = session.get(ChangeRequest, change.id).quote_id
    assert buyer.get(f"/quotes/{new}", headers=EN).status_code == 200
    assert buyer.get(f"/quotes/{new}.pdf", headers=EN).status_code in (200, 503)  # no font


def test_declining_on_the_page_changes_nothing(app, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    buyer = client_of(app, users["buyer"])
    before = _state(session, order.id)
    r = buyer.post(f"/orders/{order.id}/change-requests",
                   data={"quantity": "40", "reason": "Fewer sold"}, headers=EN,
                   follow_redirects=True)
    change = session.exec(select(ChangeRequest)).one()
    assert change.status == "quoted" and change.price_difference < 0
    assert "refunded to you" in r.text and "is refunded to you from escrow" in r.text
    assert "Request a change" not in r.text  # one open request at a time
    r = buyer.post(f"/change-requests/{change.id}/decline", headers=EN, follow_redirects=True)
    assert "Change declined" in r.text and "Request a change" in r.text
    assert _state(session, order.id) == before
