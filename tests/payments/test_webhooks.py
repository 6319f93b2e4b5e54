# ruff: noqa: F811  (pytest fixtures imported from other test modules are parameters here)
"""Stripe, end to end against the local fake (the real SDK, no internet): PaymentIntents,
Connect onboarding, transfers per factory, refunds; webhooks signed, replayed 3 times, out
of order, unknown; faults (500 or a timeout) at each step leave a state a retry completes,
never a charge without a record nor a transfer twice."""

from __future__ import annotations

import json
import random
import time

import pytest
from sqlmodel import select

import market.payments.gateways
from market.deals import service as bookings
from market.deals import visibility
from market.deals.models import Booking
from market.orders.models import Order
from market.payments import charges as pay_charges
from market.payments import disputes as pay_disputes
from market.payments import ledger
from market.payments import payouts as pay_payouts
from market.payments import refunds as pay_refunds
from market.payments import service as pay
from market.payments.gateways import PaymentSettings
from market.payments.models import Payment, Payout, PayoutAccount, Refund, WebhookEvent
from tests.conftest import api_token
from tests.fakes.stripe import fake_stripe, sign  # noqa: F401
from tests.payments.conftest import account_of, assert_sound, make_quote, run_to_shipment

SECRET = "whsec_test_0123456789"


@pytest.fixture
def app_config(app_config, fake_stripe):  # noqa: F811
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1,
            "STRIPE_SECRET_KEY": "sk_test_fake", "STRIPE_PUBLISHABLE_KEY": "pk_test_fake",
            "STRIPE_WEBHOOK_SECRET": SECRET, "STRIPE_API_BASE": fake_stripe.url,
            "STRIPE_TIMEOUT_SECONDS": 1, "STRIPE_MAX_NETWORK_RETRIES": 0,
            "SUPPORTED_CURRENCIES": ("CNY",)}


@pytest.fixture
def cfg(app, monkeypatch) -> PaymentSettings:
    """Services called outside a request see the same Stripe settings as the app."""
    settings = PaymentSettings.from_config(app.config)
    monkeypatch.setattr(market.payments.gateways, "settings", lambda: settings)
    return settings


def deliver(client, event: dict, secret: str = SECRET, signature: str | None = None):
    payload = json.dumps(event).encode()
    return client.post("/api/v1/webhooks/stripe", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": signature or sign(payload, secret)})


def deliver_all(client, events: list[dict]) -> None:
    for event in events:
        response = deliver(client, event)
        assert response.status_code == 200, response.json


def onboard(session, fake, user, cfg) -> str:
    url = pay_payouts.stripe_onboarding_link(session, user, "http://t/refresh",
                                             "http://t/return", cfg)
    account = pay_payouts.payout_account(session, user.company_id)
    assert url.endswith(account.stripe_account_id) and not account.stripe_ready
    # asked again: the same account, never a second one
    pay_payouts.stripe_onboarding_link(session, user, "http://t/refresh", "http://t/return", cfg)
    assert len(fake.of_type("account")) in (1, 2)
    fake.activate(account.stripe_account_id)
    return account.stripe_account_id


def paid_with_stripe(client, session, people, fake, cfg):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    fake.succeed(payment.provider_id)
    deliver_all(client, fake.events)
    session.expire_all()
    return order, quote, session.get(Payment, payment.id)


# --- the happy path, then every event again ------------------------------------------------

def released(session, order) -> list[Payout]:
    """The payouts confirm_delivery released, fresh from the database."""
    session.expire_all()
    return list(session.exec(select(Payout).where(Payout.order_id == order.id)
                             .order_by(Payout.id)))


def test_stripe_loop_and_replayed_events(client, session, people, seam, fake_stripe, cfg):  # noqa: F811
    fake = fake_stripe
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    assert payment.gateway == "stripe" and payment.client_secret.startswith(payment.provider_id)
    [create] = fake.calls("/v1/payment_intents")
    assert create.params["amount"] == str(quote.price) and create.params["currency"] == "cny"
    assert create.params["transfer_group"] == f"order-{order.id}"
    assert create.idempotency_key == f"payment-{quote.id}"
    assert create.params["metadata"]["payment_id"] == str(payment.id)
    # asking again does not create a second intent
    again = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    assert again.provider_id == payment.provider_id
    assert len(fake.calls("/v1/payment_intents")) == 1

    fake.decline(payment.provider_id)  # a first card fails, the second works
    fake.succeed(payment.provider_id)
    mill = onboard(session, fake, people["mill"], cfg)
    anod = onboard(session, fake, people["anod"], cfg)
    deliver_all(client, fake.events)
    session.expire_all()
    assert session.get(Payment, payment.id).status == "succeeded"
    assert len(visibility.bookings_of_order(session, order.id)) == 2
    assert all(a.stripe_ready for a in session.exec(select(PayoutAccount)))

    run_to_shipment(session, people, order)
    bookings.confirm_delivery(session, people["buyer"], order.id, payments_config=cfg)
    payouts = released(session, order)
    assert {p.status for p in payouts} == {"paid"}
    transfers = {c.params["destination"]: c for c in fake.calls("/v1/transfers")}
    assert set(transfers) == {mill, anod}
    assert transfers[mill].params["amount"] == "12345"
    assert transfers[anod].params["amount"] == "6789"
    for call in transfers.values():
        assert call.params["currency"] == "cny"
        assert call.params["transfer_group"] == f"order-{order.id}"
        assert call.idempotency_key.startswith(f"payout-{payment.id}-")
    deliver_all(client, fake.events)
    clean = ledger.snapshot(session)
    assert_sound(session)
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == 0

    # every event three more times, shuffled, plus one of a type we do not use
    replay = fake.events * 3
    random.Random(7).shuffle(replay)
    replay.insert(5, {"id": "evt_unknown_1", "object": "event", "type": "customer.created",
                      "created": int(time.time()), "data": {"object": {"id": "cus_1"}}})
    deliver_all(client, replay)
    session.expire_all()
    assert ledger.snapshot(session) == clean
    assert len(session.exec(select(Booking)).all()) == 2
    assert len(session.exec(select(Payout)).all()) == 2
    assert len(fake.calls("/v1/transfers")) == 2
    rows = session.exec(select(WebhookEvent)).all()
    assert len(rows) == len(fake.events) + 1
    assert all(r.processed_at is not None for r in rows)
    assert all(r.deliveries >= 4 for r in rows if r.event_id != "evt_unknown_1")
    unknown = session.exec(select(WebhookEvent).where(
        WebhookEvent.event_id == "evt_unknown_1")).one()
    assert unknown.result.startswith("ignored")


def test_events_out_of_order_from_the_start(client, session, people, seam, fake_stripe, cfg):  # noqa: F811
    fake = fake_stripe
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    fake.succeed(payment.provider_id)
    fake.decline(payment.provider_id, "late, stale failure")  # Stripe's view is now failed
    fake.succeed(payment.provider_id)
    events = list(reversed(fake.events))  # succeeded first, created last
    deliver_all(client, events)
    deliver_all(client, events[::2] * 3)
    session.expire_all()
    row = session.get(Payment, payment.id)
    assert row.status == "succeeded"
    assert ledger.balances(session) == {"CNY": {"buyer_cash": -quote.price,
                                                "escrow": quote.price}}
    assert len(visibility.bookings_of_order(session, order.id)) == 2


# --- signatures ---------------------------------------------------------------------------

def test_signatures_are_checked_on_the_raw_body(client, session, people, seam, fake_stripe,  # noqa: F811
                                                 cfg):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    fake_stripe.succeed(payment.provider_id)
    event = fake_stripe.events[-2]
    assert event["type"] == "payment_intent.succeeded"
    payload = json.dumps(event).encode()

    def post(body: bytes, headers: dict):
        return client.post("/api/v1/webhooks/stripe", data=body,
                           content_type="application/json", headers=headers)

    bad = [
        post(payload, {}),
        post(payload, {"Stripe-Signature": "garbage"}),
        post(payload, {"Stripe-Signature": sign(payload, "whsec_wrong")}),
        post(payload + b" ", {"Stripe-Signature": sign(payload, SECRET)}),  # tampered
        post(json.dumps(event, indent=2).encode(), {"Stripe-Signature": sign(payload, SECRET)}),
        post(payload, {"Stripe-Signature": sign(payload, SECRET, int(time.time()) - 3600)}),
        post(b"not json", {"Stripe-Signature": sign(b"not json", SECRET)}),
        post(b'{"type": "x"}', {"Stripe-Signature": sign(b'{"type": "x"}', SECRET)}),
    ]
    for response in bad:
        assert response.status_code == 400, response.json
        assert response.json["error"]["code"] == "bad_request"
    session.expire_all()
    assert session.exec(select(WebhookEvent)).all() == []
    assert session.get(Payment, payment.id).status == "pending"
    ok = post(payload, {"Stripe-Signature": sign(payload, SECRET)})
    assert ok.status_code == 200 and ok.json["event_id"] == event["id"]
    session.expire_all()
    assert session.get(Payment, payment.id).status == "succeeded"


# --- faults -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["500", "hang"])
def test_fault_creating_the_intent(client, app, session, people, seam, fake_stripe, cfg, mode):  # noqa: F811
    fake = fake_stripe
    order, quote = make_quote(session, people)
    buyer_h = api_token(client, account_of(people, "buyer", app))
    assert client.post(f"/api/v1/quotes/{quote.id}/accept", headers=buyer_h).status_code == 200
    fake.fault("/v1/payment_intents", mode)
    failed = client.post(f"/api/v1/orders/{order.id}/payment", headers=buyer_h)
    assert failed.status_code == 503
    assert failed.json["error"]["code"] == "payment_provider_unavailable"
    session.expire_all()
    payment = session.exec(select(Payment)).one()  # the record is there, before any charge
    assert payment.provider_id is None and payment.last_error
    if mode == "hang":
        # Stripe made the intent; its webhook tells us which one it is
        assert len(fake.of_type("payment_intent")) == 1
        deliver_all(client, fake.events)
        session.expire_all()
        assert session.get(Payment, payment.id).provider_id == fake.of_type(
            "payment_intent")[0]["id"]
    body = client.post(f"/api/v1/orders/{order.id}/payment", headers=buyer_h).json
    assert body["client_secret"] and body["publishable_key"] == "pk_test_fake"
    assert len(fake.of_type("payment_intent")) == 1  # never a second intent
    assert {c.idempotency_key for c in fake.calls("/v1/payment_intents")} == {
        f"payment-{quote.id}"}
    fake.succeed(fake.of_type("payment_intent")[0]["id"])
    deliver_all(client, fake.events)
    session.expire_all()
    assert session.get(Payment, payment.id).status == "succeeded"
    assert_sound(session)


def test_fault_looking_up_the_intent_during_a_webhook(client, session, people, seam,
                                                       fake_stripe, cfg):  # noqa: F811
    fake = fake_stripe
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = pay_charges.start_payment(session, people["buyer"], order.id, cfg)
    fake.succeed(payment.provider_id)
    event = fake.events[-2]
    fake.fault("/v1/payment_intents/*", "500")
    first = deliver(client, event)
    assert first.status_code == 503  # Stripe will deliver it again
    session.expire_all()
    assert session.get(Payment, payment.id).status == "pending"
    stored = session.exec(select(WebhookEvent)).one()
    assert stored.processed_at is None
    assert deliver(client, event).status_code == 200
    session.expire_all()
    assert session.get(Payment, payment.id).status == "succeeded"
    assert len(ledger.entries(session)) == 2


@pytest.mark.parametrize("mode", ["500", "hang"])
def test_fault_transferring_to_a_factory(client, session, people, seam, fake_stripe, cfg,  # noqa: F811
                                         mode):
    fake = fake_stripe
    order, quote, payment = paid_with_stripe(client, session, people, fake, cfg)
    onboard(session, fake, people["mill"], cfg)
    onboard(session, fake, people["anod"], cfg)
    run_to_shipment(session, people, order)
    fake.fault("/v1/transfers", mode)
    bookings.confirm_delivery(session, people["buyer"], order.id, payments_config=cfg)
    payouts = released(session, order)
    assert sorted(p.status for p in payouts) == ["paid", "pending"]
    stuck = next(p for p in payouts if p.status == "pending")
    assert stuck.last_error and stuck.provider_transfer_id is None
    assert_sound(session)  # released to factory_payable, not yet paid: still balanced
    if mode == "hang":
        # Stripe did transfer; its event arrives before our retry and settles the payout
        deliver_all(client, fake.events)
        session.expire_all()
        assert session.get(Payout, stuck.id).status == "paid"
    counts = pay.housekeeping(session, config=cfg)
    assert counts["payouts_retried"] == (1 if mode == "500" else 0)
    session.expire_all()
    rows = session.exec(select(Payout)).all()
    assert {p.status for p in rows} == {"paid"}
    transfers = fake.of_type("transfer")
    assert len(transfers) == 2  # one per factory, never twice
    assert {p.provider_transfer_id for p in rows} == {t["id"] for t in transfers}
    deliver_all(client, fake.events * 2)
    assert pay.housekeeping(session, config=cfg)["payouts_retried"] == 0
    assert len(fake.of_type("transfer")) == 2
    bal = ledger.balances(session, order.id)["CNY"]
    assert bal["escrow"] == 0 and bal["factory_paid"] == quote.production_cost
    assert_sound(session)


@pytest.mark.parametrize("mode", ["500", "hang"])
def test_fault_refunding(client, session, people, seam, fake_stripe, cfg, mode):  # noqa: F811
    fake = fake_stripe
    order, quote, payment = paid_with_stripe(client, session, people, fake, cfg)
    row = session.get(Order, order.id)
    row.status = "cancelled"
    session.add(row)
    session.commit()
    fake.fault("/v1/refunds", mode)
    [refund] = pay_refunds.on_order_cancelled(session, row, cfg)
    assert refund.status == "pending" and refund.last_error
    assert ledger.balances(session, order.id)["CNY"]["escrow"] == quote.price
    if mode == "hang":
        deliver_all(client, fake.events)  # refund.created tells us it happened
        session.expire_all()
        assert session.get(Refund, refund.id).status == "succeeded"
    pay.housekeeping(session, config=cfg)
    session.expire_all()
    assert session.get(Refund, refund.id).status == "succeeded"
    assert len(fake.of_type("refund")) == 1
    [call] = {c.idempotency_key: c for c in fake.calls("/v1/refunds")}.values()
    assert call.params["amount"] == str(quote.price)
    assert call.params["payment_intent"] == payment.provider_id
    deliver_all(client, fake.events * 3)
    bal = ledger.balances(session, order.id)["CNY"]
    assert bal["escrow"] == 0 and bal["refunds"] == quote.price
    assert_sound(session)


def test_connect_onboarding_api_and_unready_accounts(client, session, people, seam,  # noqa: F811
                                                     fake_stripe, cfg):
    fake = fake_stripe
    order, quote, payment = paid_with_stripe(client, session, people, fake, cfg)
    run_to_shipment(session, people, order)
    pay_payouts.stripe_onboarding_link(session, people["mill"], "http://t/r", "http://t/b", cfg)
    bookings.confirm_delivery(session, people["buyer"], order.id, payments_config=cfg)
    # neither factory has finished onboarding: the payouts wait, no transfer is tried
    payouts = released(session, order)
    assert {p.status for p in payouts} == {"pending"}
    assert fake.calls("/v1/transfers") == []
    # onboarding finished, but its webhook is lost: housekeeping asks Stripe and pays
    fake.activate(pay_payouts.payout_account(session, people["mill"].company_id).stripe_account_id)
    onboard(session, fake, people["anod"], cfg)
    pay.housekeeping(session, config=cfg)
    session.expire_all()
    assert {p.status for p in session.exec(select(Payout))} == {"paid"}
    assert len(fake.of_type("transfer")) == 2
    assert_sound(session)


def test_stripe_pages(app, session, people, seam, fake_stripe, cfg):
    from tests.conftest import login

    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    buyer = login(app.test_client(), account_of(people, "buyer", app))
    page = buyer.get(f"/orders/{order.id}/payment", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    payment = session.exec(select(Payment)).one()
    assert f'data-client-secret="{payment.client_secret}"' in page.text
    assert 'data-publishable-key="pk_test_fake"' in page.text
    assert "https://js.stripe.com/v3/" in page.text
    assert "https://js.stripe.com" in page.headers["Content-Security-Policy"]
    fake_stripe.succeed(payment.provider_id)
    # back from Stripe.js: we ask Stripe, not the query string
    back = buyer.get(f"/orders/{order.id}/payment/return", headers={"Accept-Language": "en"},
                     follow_redirects=True)
    assert "Payment received" in back.text
    session.expire_all()
    assert session.get(Payment, payment.id).status == "succeeded"

    mill = login(app.test_client(), people["accounts"]["mill"])
    start = mill.post("/factory/payout-account/stripe")
    assert start.status_code == 302
    assert start.headers["Location"].startswith("https://connect.stripe.test/setup/")
    fake_stripe.activate(pay_payouts.payout_account(session, people["mill"].company_id)
                         .stripe_account_id)
    assert mill.get("/factory/payout-account/stripe/return").status_code == 302
    session.expire_all()
    assert pay_payouts.payout_account(session, people["mill"].company_id).stripe_ready
    assert "is ready" in mill.get("/factory/payout-account",
                                  headers={"Accept-Language": "en"}).text


def test_dispute_part_refund_through_stripe(client, session, people, seam, fake_stripe, cfg):
    fake = fake_stripe
    order, quote, payment = paid_with_stripe(client, session, people, fake, cfg)
    onboard(session, fake, people["mill"], cfg)
    onboard(session, fake, people["anod"], cfg)
    deliver_all(client, fake.events)
    run_to_shipment(session, people, order)
    dispute = pay_disputes.open_dispute(session, people["buyer"], order.id, "Two parts scratched")
    # held: nothing moves while the dispute is open
    assert pay.housekeeping(session, config=cfg)["released"] == 0
    assert fake.calls("/v1/transfers") == [] and fake.calls("/v1/refunds") == []
    pay_disputes.resolve_dispute(session, people["operator"], dispute.id, "refund_part",
                                 amount=2_001,
                                 config=cfg)
    [refund] = fake.calls("/v1/refunds")
    assert refund.params["amount"] == "2001"
    assert refund.idempotency_key == f"refund-{payment.id}-1"
    transfers = fake.calls("/v1/transfers")
    assert len(transfers) == 2
    payouts = session.exec(select(Payout)).all()
    assert sum(int(t.params["amount"]) for t in transfers) == sum(p.amount for p in payouts)
    assert sum(p.refund_share for p in payouts) < 2_001  # the platform's share took the rest
    deliver_all(client, fake.events * 2)
    bal = ledger.balances(session, order.id)["CNY"]
    assert bal["escrow"] == 0 and bal["refunds"] == 2_001
    assert bal["platform_fee"] + bal["factory_paid"] + bal["refunds"] == quote.price
    assert_sound(session)


def test_an_event_stripe_then_refuses_to_explain_is_stored_not_retried(
        client, session, people, seam, fake_stripe, cfg):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    payment = session.exec(select(Payment)).one()
    payment.provider_id = "pi_from_elsewhere"  # Stripe answers 404 for it
    session.add(payment)
    session.commit()
    event = {"id": "evt_orphan", "object": "event", "type": "payment_intent.succeeded",
             "created": int(time.time()), "data": {"object": {"id": "pi_from_elsewhere"}}}
    response = deliver(client, event)
    assert response.status_code == 200 and response.json["result"].startswith("error:")
    assert deliver(client, event).status_code == 200
    session.expire_all()
    assert session.get(Payment, payment.id).status == "pending"
    assert ledger.entries(session) == []
