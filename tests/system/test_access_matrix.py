"""The authorization matrix, generated from the URL map so that a new route cannot be left
out: every page and API route x every role (visitor, the buyer, another buyer, the factory
booked on the order, a factory not booked, a suspended company, an operator), with the ids of
one marketplace's objects. No answer is a 500; another party's object is a 404 (or a refusal
before it: sign in, role pages); no body a role may not read carries the buyer's money; and
no refused action changes anything."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlmodel import select

from market.accounts.models import ApiToken, Company, CompanyStatus
from market.capacity.models import CapacityWindow, Machine
from market.core.money import format_money
from market.deals import service as bookings
from market.deals import visibility
from market.deals.models import Booking, ChangeRequest
from market.notify.models import Message, MessageFile, Notification, WebhookEndpoint
from market.orders.models import Order
from market.payments.models import Payment
from tests.conftest import Account, api_token, login, make_account
from tests.fakes.orders import pay, seed_capacity, tiny_pdf
from tests.payments.conftest import account_of, make_quote, people  # noqa: F401

OUTSIDERS = ("other_buyer", "factory_other", "suspended")
SKIP = {"static", "main.healthz", "api.openapi_json"}
# Objects of the world whose id a route takes, and who owns them.
OWNER = {"order_id": "buyer", "quote_id": "buyer", "payment_id": "buyer",
         "attachment_id": "buyer", "token_id": "buyer", "booking_id": "factory_booked",
         "machine_id": "factory_booked", "plant_id": "factory_booked",
         "window_id": "factory_booked", "company_id": "operator", "run_id": "operator",
         "payout_id": "nobody", "dispute_id": "nobody", "notification_id": "buyer",
         "endpoint_id": "buyer", "file_id": "buyer",
         "refund_id": "nobody", "change_id": "buyer"}
FIXED = {"action": "accept", "code": "en", "status": "verified", "filename": "css/app.css"}


@pytest.fixture
def world(app, client, session, people):  # noqa: F811
    order, quote = make_quote(session, people)
    order.budget = 987_651
    session.add(order)
    session.commit()
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    roles: dict[str, Account | None] = {
        "visitor": None, "buyer": account_of(people, "buyer", app),
        "other_buyer": make_account(app, "buyer"),
        "factory_booked": account_of(people, "mill", app),
        "factory_other": make_account(app, "factory"),
        "suspended": make_account(app, "factory"),
        "operator": account_of(people, "operator", app)}
    seed_capacity(session, roles["factory_other"].company_id, days=1)
    suspended = session.get(Company, roles["suspended"].company_id)
    suspended.status = CompanyStatus.suspended.value
    session.add(suspended)
    session.commit()
    tokens = {name: api_token(client, account) for name, account in roles.items() if account}
    upload = client.post(f"/api/v1/orders/{order.id}/attachments", headers=tokens["buyer"],
                         data={"file": (io.BytesIO(tiny_pdf()), "drawing.pdf")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.json
    mine = [b for b in visibility.bookings_of_order(session, order.id)
            if b.factory_company_id == people["mill"].company_id][0]
    machine = session.get(Machine, mine.machine_id)
    window = session.exec(select(CapacityWindow).where(
        CapacityWindow.machine_id == machine.id)).first()
    endpoint = WebhookEndpoint(company_id=roles["buyer"].company_id, url="https://erp.example.com/",
                               events=["shipment_recorded"], secret="whsec_c2VjcmV0")
    session.add(endpoint)
    # a file of the buyer-operators thread (the bytes need not exist: outsiders get 404)
    message = Message(order_id=order.id, author_id=roles["buyer"].user_id, body="a question")
    session.add(message)
    session.flush()
    message_file = MessageFile(order_id=order.id, message_id=message.id, sha256="0" * 64,
                               uploaded_by_id=roles["buyer"].user_id, size=10, kind="pdf",
                               content_type="application/pdf", filename="q.pdf")
    session.add(message_file)
    # a quoted change request of the buyer (no run needed: outsiders never reach it)
    change = ChangeRequest(order_id=order.id, status="quoted", quantity=3, reason="more",
                           price_difference=4_321)
    session.add(change)
    session.commit()
    token = session.exec(select(ApiToken).where(
        ApiToken.user_id == roles["buyer"].user_id)).first()
    ids = {"order_id": order.id, "quote_id": quote.id, "booking_id": mine.id,
           "machine_id": machine.id, "plant_id": machine.plant_id, "window_id": window.id,
           "run_id": quote.run_id, "attachment_id": upload.json["id"], "token_id": token.id,
           "payment_id": session.exec(select(Payment.id)).first(),
           "company_id": roles["buyer"].company_id, "payout_id": 999_999,
           "dispute_id": 999_999,
           # the buyer's "payment received" (pay() above sends it)
           "notification_id": session.exec(select(Notification.id).where(
               Notification.user_id == roles["buyer"].user_id)).first(),
           "endpoint_id": endpoint.id, "file_id": message_file.id, "refund_id": 999_999,
           "change_id": change.id}
    return {"roles": roles, "tokens": tokens, "ids": ids, "quote": quote, "order": order}


def _routes(app) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, rule))
    return found


def _url(rule, ids: dict[str, Any]) -> str:
    values = {name: ids.get(name, FIXED.get(name)) for name in rule.arguments}
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        path = path.replace(f"<path:{name}>", str(value))
    return path


def _numbers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def _snapshot(session) -> tuple:
    session.expire_all()
    return (tuple(session.exec(select(Order.id, Order.status)).all()),
            tuple(session.exec(select(Booking.id, Booking.status)).all()),
            tuple(session.exec(select(Payment.id, Payment.status)).all()))


def test_every_route_for_every_role(app, session, world):
    clients = {name: (login(app.test_client(), account) if account else app.test_client())
               for name, account in world["roles"].items()}
    routes = _routes(app)
    assert len(routes) > 120  # the matrix sees the whole URL map
    quote, order = world["quote"], world["order"]
    money = {quote.price, quote.platform_fee, order.budget, 4_321}
    shown = {format_money(m) for m in money}  # as pages write it, "¥9,876.51"
    checked = 0
    before = _snapshot(session)
    for method, path, rule in routes:
        url = _url(rule, world["ids"])
        api = path.startswith("/api/")
        owners = {OWNER[name] for name in rule.arguments if name in OWNER}
        for role, page_client in clients.items():
            if method != "GET" and role not in OUTSIDERS + ("visitor",):
                continue  # the parties' own actions are the other tests' business
            kwargs: dict[str, Any] = {"headers": {"Accept-Language": "en"}}
            if api:
                web = app.test_client()
                if role in world["tokens"]:
                    kwargs["headers"] = {**kwargs["headers"], **world["tokens"][role]}
                if method in ("POST", "PUT", "PATCH"):
                    kwargs["json"] = {}
            else:
                web = page_client
            response = web.open(url, method=method, **kwargs)
            checked += 1
            where = f"{role} {method} {url}"
            assert response.status_code < 500, where
            if role in OUTSIDERS and owners and owners <= {"buyer", "factory_booked"}:
                # another party's object: not found (or refused before that)
                assert response.status_code in (302, 401, 403, 404, 405, 422, 429), (
                    where, response.status_code)
            if role == "visitor" and api and rule.endpoint not in (
                    "api.processes", "api.register", "api.create_token", "api.stripe_webhook"):
                assert response.status_code in (401, 404, 405), (where, response.status_code)
            if role in OUTSIDERS + ("factory_booked", "visitor") and response.status_code == 200:
                if response.is_json:
                    leaked = money & set(_numbers(response.get_json()))
                else:
                    text = response.get_data(as_text=True)
                    leaked = {m for m in shown if m in text}
                assert not leaked, (where, leaked)
    assert _snapshot(session) == before  # no refused action changed anything
    assert checked > 500
    print(f"access matrix: {len(routes)} route methods, {checked} requests")
