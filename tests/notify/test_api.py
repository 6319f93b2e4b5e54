"""The notifications API: the caller's own list (paged, unread filter), marking read, and
the mail settings; another user's notification is a 404."""

from __future__ import annotations

from market.core import events
from tests.conftest import api_token
from tests.payments.conftest import account_of, make_quote


def _two_notices(app, session, people):
    order, _quote = make_quote(session, people)
    with app.app_context():
        events.occurred(session, "shipment_recorded", order=order, actor=None, note="one")
        events.occurred(session, "order_replanned", order=order, actor=None, run_id=9)
    session.commit()
    return order


def test_list_read_and_read_all(app, client, session, people):
    order = _two_notices(app, session, people)
    buyer = api_token(client, account_of(people, "buyer", app))
    body = client.get("/api/v1/notifications?unread=1&per_page=1", headers=buyer).json
    assert body["total"] == 2 and body["per_page"] == 1 and len(body["items"]) == 1
    item = body["items"][0]
    assert set(item) >= {"id", "kind", "subject", "body", "order_id", "booking_id",
                         "created_at", "read_at"}
    assert item["order_id"] == order.id and item["read_at"] is None
    read = client.post(f"/api/v1/notifications/{item['id']}/read", headers=buyer)
    assert read.status_code == 200 and read.json["read_at"] is not None
    assert client.get("/api/v1/notifications?unread=1", headers=buyer).json["total"] == 1
    assert client.post("/api/v1/notifications/read-all", headers=buyer).json == {"marked": 1}
    assert client.get("/api/v1/notifications?unread=1", headers=buyer).json["total"] == 0
    assert client.get("/api/v1/notifications", headers=buyer).json["total"] == 2


def test_another_users_notification_is_not_found(app, client, session, people):
    _two_notices(app, session, people)
    buyer = api_token(client, account_of(people, "buyer", app))
    mill = api_token(client, account_of(people, "mill", app))
    note_id = client.get("/api/v1/notifications", headers=buyer).json["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{note_id}/read", headers=mill).status_code == 404
    assert client.get("/api/v1/notifications", headers=mill).json["total"] == 0
    assert client.get("/api/v1/notifications").status_code == 401


def test_mail_settings_default_to_what_needs_an_answer(app, client, session, people):
    mill = api_token(client, account_of(people, "mill", app))
    email = client.get("/api/v1/me/notification-settings", headers=mill).json["email"]
    assert email["booking_proposed"] is True and email["quote_offered"] is True
    assert email["payment_received"] is False and email["payout_paid"] is False
    changed = client.put("/api/v1/me/notification-settings", headers=mill,
                         json={"email": {"payout_paid": True, "booking_proposed": False}})
    assert changed.status_code == 200
    assert changed.json["email"]["payout_paid"] is True
    assert changed.json["email"]["booking_proposed"] is False
    again = client.get("/api/v1/me/notification-settings", headers=mill).json["email"]
    assert again == changed.json["email"]
    wrong = client.put("/api/v1/me/notification-settings", headers=mill,
                       json={"email": {"no_such_kind": True}})
    assert wrong.status_code == 422 and "email.no_such_kind" in wrong.json["error"]["fields"]
    not_bool = client.put("/api/v1/me/notification-settings", headers=mill,
                          json={"email": {"payout_paid": "yes"}})
    assert not_bool.status_code == 422
