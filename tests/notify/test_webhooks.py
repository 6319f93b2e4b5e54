"""Outbound webhooks to a real HTTP receiver (a thread on an ephemeral port): Standard
Webhooks headers checked with the specification's algorithm, retries of a failing receiver
that recovers, the endpoint disabled after 5 days of failures, the SSRF guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from market.core import events
from market.core.models import utcnow
from market.notify import webhooks
from market.notify.models import Notification, WebhookDelivery, WebhookEndpoint
from tests.conftest import api_token, login
from tests.payments.conftest import account_of, make_quote


class Receiver:
    """Collects the POSTs; answers `fail` (a status) to the next `failures` of them."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.failures, self.fail = 0, 500
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = 200
                if receiver.failures > 0:
                    receiver.failures -= 1
                    status = receiver.fail
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                          body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.thread.join(timeout=5)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The specification's check, written out: HMAC-SHA256 of `id.timestamp.body` with the
    secret's bytes (base64 after `whsec_`), base64, after `v1,`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(part.removeprefix("v1,"), expected)
               for part in headers["webhook-signature"].split(" ") if part.startswith("v1,"))


def _endpoint(app, client, people, receiver, role="buyer", events_=("shipment_recorded",)):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    token = api_token(client, account_of(people, role, app))
    made = client.post("/api/v1/webhook-endpoints", headers=token,
                       json={"url": receiver.url, "events": list(events_)})
    assert made.status_code == 201, made.json
    return made.json, token


def _ship(app, session, people, note="SF 77"):
    order, _quote = make_quote(session, people)
    with app.app_context():
        events.occurred(session, "shipment_recorded", order=order, actor=None, note=note)
    session.commit()
    return order


def test_a_signed_delivery_reaches_the_receiver(app, client, session, people, receiver):
    endpoint, token = _endpoint(app, client, people, receiver)
    assert endpoint["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhook-endpoints", headers=token).json
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    order = _ship(app, session, people)
    [(headers, body, status)] = receiver.requests
    assert status == 200 and verify(endpoint["secret"], headers, body)
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
    payload = json.loads(body)
    assert payload["type"] == "shipment_recorded"
    assert payload["data"]["order"]["id"] == order.id and payload["data"]["note"] == "SF 77"
    assert payload["data"]["order"]["status"] == order.status
    assert not verify(endpoint["secret"], headers, body + b" ")  # the check can fail
    log = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                     headers=token).json
    [item] = log["items"]
    assert item["attempt"] == 1 and item["status_code"] == 200 and item["delivered_at"]


def test_an_event_the_endpoint_did_not_choose_is_not_sent(app, client, session, people,
                                                          receiver):
    _endpoint(app, client, people, receiver, events_=("quote_offered",))
    _ship(app, session, people)
    assert receiver.requests == []


def test_a_failing_receiver_that_recovers_gets_one_delivery(app, client, session, people,
                                                            receiver):
    endpoint, token = _endpoint(app, client, people, receiver)
    receiver.failures = 2
    _ship(app, session, people)
    assert [r[2] for r in receiver.requests] == [500]
    now = utcnow()
    assert webhooks.send_due(session, now) == 0  # the retry waits about 5 s
    assert webhooks.send_due(session, now + timedelta(seconds=6)) == 0  # 500 again
    [row] = session.exec(select(WebhookDelivery)).all()
    session.refresh(row)
    assert row.attempt == 2 and row.next_attempt_at > now + timedelta(minutes=4)
    assert webhooks.send_due(session, now + timedelta(minutes=6)) == 1
    statuses = [r[2] for r in receiver.requests]
    assert statuses == [500, 500, 200]
    assert len({r[0]["webhook-id"] for r in receiver.requests}) == 1  # one message, 3 tries
    assert all(verify(endpoint["secret"], h, b) for h, b, _s in receiver.requests)
    assert webhooks.send_due(session, now + timedelta(days=2)) == 0
    [item] = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                        headers=token).json["items"]
    assert item["attempt"] == 3 and item["status_code"] == 200


def test_five_days_of_failure_disable_the_endpoint_and_tell_its_company(
        app, client, session, people, receiver):
    endpoint, _token = _endpoint(app, client, people, receiver)
    receiver.failures = 1000
    _ship(app, session, people)
    row = session.get(WebhookEndpoint, endpoint["id"])
    session.refresh(row)
    assert row.failing_since is not None and row.disabled_at is None
    _ship(app, session, people, note="later")  # a new event days later still fails
    later = row.failing_since + timedelta(days=5, minutes=1)
    webhooks.send_due(session, later)
    session.expire_all()
    row = session.get(WebhookEndpoint, endpoint["id"])
    assert row.disabled_at is not None
    told = session.exec(select(Notification).where(
        Notification.user_id == people["buyer"].id,
        Notification.kind == "webhook_disabled")).all()
    assert len(told) == 1 and receiver.url in told[0].body
    before = len(receiver.requests)
    _ship(app, session, people, note="after")
    assert len(receiver.requests) == before  # a disabled endpoint is not called


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "http://localhost/x",
                                 "http://10.1.2.3/x", "http://169.254.169.254/latest",
                                 "http://[::1]/x", "ftp://example.com/x", "not a url"])
def test_private_and_odd_urls_are_refused(app, client, people, url):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    token = api_token(client, account_of(people, "buyer", app))
    refused = client.post("/api/v1/webhook-endpoints", headers=token,
                          json={"url": url, "events": ["shipment_recorded"]})
    assert refused.status_code == 422, refused.json
    assert "url" in refused.json["error"]["fields"]


def test_another_companys_endpoint_is_not_found(app, client, session, people, receiver):
    endpoint, _token = _endpoint(app, client, people, receiver)
    mill = api_token(client, account_of(people, "mill", app))
    assert client.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}",
                         headers=mill).status_code == 404
    assert client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                      headers=mill).status_code == 404
    operator = api_token(client, account_of(people, "operator", app))
    assert client.get("/api/v1/webhook-endpoints", headers=operator).status_code == 403


def test_the_pages_show_the_secret_once_and_the_log(app, session, people, receiver):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    buyer = login(app.test_client(), account_of(people, "buyer", app))
    made = buyer.post("/webhooks", data={"url": receiver.url,
                                         "event-shipment_recorded": "on"})
    html = made.get_data(as_text=True)
    assert made.status_code == 201 and 'id="new-secret">whsec_' in html
    assert "whsec_" not in buyer.get("/webhooks").get_data(as_text=True)
    _ship(app, session, people)
    endpoint = session.exec(select(WebhookEndpoint)).one()
    log = buyer.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "shipment_recorded" in log and "200" in log
    refused = buyer.post("/webhooks", data={"url": receiver.url})
    assert refused.status_code == 422
    gone = buyer.post(f"/webhooks/{endpoint.id}/delete")
    assert gone.status_code == 302
    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint.id).deleted_at is not None


def test_each_company_gets_the_objects_as_its_api_shows_them(app, client, session, people,
                                                             receiver):
    from market.deals import service as bookings
    from tests.fakes.orders import pay

    factory_hook, _t = _endpoint(app, client, people, receiver, role="mill",
                                 events_=("booking_proposed",))
    buyer_hook, _t = _endpoint(app, client, people, receiver, role="buyer",
                               events_=("payment_received",))
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    by_type = {json.loads(b)["type"]: (h, b) for h, b, _s in receiver.requests}
    headers, raw = by_type["booking_proposed"]
    assert verify(factory_hook["secret"], headers, raw)
    assert not verify(buyer_hook["secret"], headers, raw)  # each endpoint its own secret
    proposed = json.loads(raw)
    booking = proposed["data"]["booking"]
    assert booking["status"] == "proposed" and booking["amount"] == 12_345
    assert "quote" not in proposed["data"] and "payment" not in proposed["data"]
    assert str(quote.price) not in raw.decode()  # never the buyer's price
    _headers, raw = by_type["payment_received"]
    paid = json.loads(raw)
    assert paid["data"]["payment"]["amount"] == quote.price
    assert "booking" not in paid["data"]
