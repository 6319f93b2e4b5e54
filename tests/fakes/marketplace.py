"""A marketplace with real objects in every state an API route acts on, for the fuzzer: the
buyer's orders from draft to delivered and disputed, the booked factory's plant, machines,
windows, shift rule, bookings, QC document and certification, the operator's runs,
payouts, refund and disputes, and another buyer's and another factory's objects that the
three roles must not see.

`Marketplace.ids(role, name)` gives the ids of path parameter `name` (`order_id`, ...) the
role can see, `foreign(role, name)` those it cannot (its answer must be the one for an id
that does not exist). Built through the services and the API, as the parties would."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from market.accounts.models import ApiToken, User
from market.capacity import publishing
from market.core.models import utcnow
from market.deals import changes, visibility
from market.deals import service as bookings
from market.deals.models import Booking
from market.notify.models import Notification, WebhookEndpoint
from market.orders import service as orders
from market.payments import disputes
from market.payments.models import Payment, Payout, Refund
from market.quality import reviews
from tests.conftest import Account, api_token, make_account
from tests.fakes.orders import order_input, pay, seed_capacity, tiny_pdf
from tests.payments.conftest import make_quote, run_to_shipment

ROLES = ("buyer", "factory", "operator")
# A user's notifications and a company's webhook endpoints: foreign to operators too (who
# may revoke anyone's token, though: a leaked token is theirs to stop).
PERSONAL = {"notification_id", "endpoint_id"}


@dataclass
class Marketplace:
    tokens: dict[str, dict[str, str]]  # role -> Authorization header
    # path parameter -> [(id, roles that may read it)]
    objects: dict[str, list[tuple[int, frozenset[str]]]] = field(default_factory=dict)

    def add(self, name: str, value: int | None, *seen_by: str) -> None:
        assert value is not None, name
        self.objects.setdefault(name, []).append((value, frozenset(seen_by)))

    def ids(self, role: str, name: str) -> list[int]:
        return [value for value, seen in self.objects.get(name, []) if role in seen]

    def foreign(self, role: str, name: str) -> list[int]:
        """Ids of objects of another party the role may not read (operators read every
        company's objects, not another user's tokens or notifications)."""
        if role == "operator" and name not in PERSONAL:
            return []
        return [value for value, seen in self.objects.get(name, []) if role not in seen]

    def missing_id(self) -> int:
        """An id no object has."""
        return 10 * max((v for rows in self.objects.values() for v, _ in rows), default=1) + 7


def _upload(client, url: str, headers: dict[str, str], **form: Any) -> int:
    data = {"file": (io.BytesIO(tiny_pdf()), "report.pdf"), **form}
    response = client.post(url, headers=headers, data=data, content_type="multipart/form-data")
    assert response.status_code == 201, (url, response.json)
    return int(response.json["id"])


def _token_id(session: Session, user_id: int) -> int:
    """A second token of the user (the fuzzer may revoke it; the first one stays in use)."""
    rows = session.exec(select(ApiToken.id).where(ApiToken.user_id == user_id)
                        .order_by(ApiToken.id.desc())).all()  # type: ignore[union-attr]
    return int(rows[0])


def build(app, client, session: Session, people: dict[str, Any]) -> Marketplace:  # type: ignore[no-untyped-def]
    """The marketplace of `people` (tests/payments/conftest.py: buyer, operator, the mill
    and the anodizer, each factory with two days of capacity); the mill is the factory."""
    buyer, operator, mill, anod = (people[k] for k in ("buyer", "operator", "mill", "anod"))
    accounts = {"buyer": Account(buyer.id, buyer.company_id, buyer.email),
                "factory": Account(mill.id, mill.company_id, mill.email),
                "operator": Account(operator.id, None, operator.email)}
    world = Marketplace(tokens={role: api_token(client, a) for role, a in accounts.items()})
    everyone, buyer_side, factory_side = ROLES, ("buyer", "operator"), ("factory", "operator")
    for role, account in accounts.items():  # a spare token, the one a fuzzed DELETE revokes
        api_token(client, account)
        world.add("token_id", _token_id(session, account.user_id), role, "operator")

    # the buyer's orders, one in each state
    draft = orders.create_draft(session, buyer, order_input(title="Draft bracket"))
    world.add("order_id", draft.id, *buyer_side)
    submitted = orders.create_draft(session, buyer, order_input(title="Open bracket"))
    orders.submit(session, buyer, submitted.id)
    world.add("order_id", submitted.id, *buyer_side)
    quoted, quote = make_quote(session, people)
    world.add("order_id", quoted.id, *buyer_side)
    world.add("quote_id", quote.id, *buyer_side)
    world.add("run_id", quote.run_id, "operator")
    paid = _paid(session, people, world)  # bookings proposed to the mill and the anodizer
    started = _paid(session, people, world)
    mine = _bookings_of(session, started.id, mill.company_id)
    bookings.accept_booking(session, mill, mine.id)
    bookings.report_progress(session, mill, mine.id, "started")
    delivered = _paid(session, people, world)
    run_to_shipment(session, people, delivered)
    bookings.confirm_delivery(session, buyer, delivered.id)
    review = reviews.post_review(session, buyer, delivered.id, mill.company_id,
                                 {"quality": 4, "on_time": 5, "communication": 4}, "Good")
    world.add("review_id", review.id, *everyone)
    disputed = _paid(session, people, world)
    run_to_shipment(session, people, disputed)
    dispute = disputes.open_dispute(session, buyer, disputed.id, "Scratched parts")
    world.add("dispute_id", dispute.id, "operator")
    refunded = _paid(session, people, world)
    run_to_shipment(session, people, refunded)
    settled = disputes.open_dispute(session, buyer, refunded.id, "Wrong alloy")
    disputes.resolve_dispute(session, operator, settled.id, "refund_all", note="Agreed")
    session.expire_all()
    for payout in session.exec(select(Payout)).all():
        world.add("payout_id", payout.id, "operator")
    for refund in session.exec(select(Refund)).all():
        world.add("refund_id", refund.id, "operator")
    for order in (paid, started, delivered, disputed, refunded):
        world.add("order_id", order.id, *everyone)  # the mill is booked on each

    # files: a drawing, a message's file, a QC document, a certification
    tokens = world.tokens
    world.add("attachment_id", _upload(client, f"/api/v1/orders/{started.id}/attachments",
                                       tokens["buyer"]), *everyone)
    world.add("attachment_id", _upload(client, f"/api/v1/orders/{draft.id}/attachments",
                                       tokens["buyer"]), *buyer_side)
    file_id = _upload(client, f"/api/v1/orders/{started.id}/message-files", tokens["factory"])
    sent = client.post(f"/api/v1/orders/{started.id}/messages", headers=tokens["factory"],
                       json={"body": "The inspection plan", "attachment_ids": [file_id]})
    assert sent.status_code == 201, sent.json
    world.add("file_id", file_id, *everyone)
    booking = _bookings_of(session, started.id, mill.company_id)
    world.add("document_id", _upload(client, f"/api/v1/bookings/{booking.id}/documents",
                                     tokens["factory"], kind="inspection_report"), *everyone)
    valid_until = (utcnow() + timedelta(days=300)).date().isoformat()
    world.add("certification_id", _upload(client, "/api/v1/certifications", tokens["factory"],
                                          kind="iso9001", number="CN-9001",
                                          valid_until=valid_until), *factory_side)

    # the mill's equipment
    machine = people["machines"][0]
    world.add("machine_id", machine.id, *factory_side)
    spare = seed_capacity(session, mill.company_id, processes=(("cnc_turning", ["al6061"]),),
                          days=3)[0]
    world.add("machine_id", spare.id, *factory_side)
    for window in publishing.list_windows(session, mill, spare.id, None, None)[:2]:
        world.add("window_id", window.id, *factory_side)
    monday = utcnow().date() + timedelta(days=7 - utcnow().weekday())
    rule, _ = publishing.add_shift_rule(session, mill, spare.id, publishing.ShiftRuleInput(
        weekdays=[0, 2], start_time="08:00", end_time="16:00", valid_from=monday,
        valid_until=monday + timedelta(days=13)))
    world.add("rule_id", rule.id, *factory_side)
    world.add("company_id", mill.company_id, *everyone)
    world.add("company_id", anod.company_id, *everyone)

    # a change of the paid order, quoted by its re-plan (run at once: JOBS_MODE=sync)
    with app.app_context():
        change = changes.request_change(session, buyer, paid.id, quantity=240,
                                        reason="A second batch")
    session.refresh(change)
    assert change.status in ("quoted", "impossible"), change.status
    world.add("change_id", change.id, *buyer_side)

    # notifications and webhook endpoints
    for role, account in accounts.items():
        note = session.exec(select(Notification.id).where(
            Notification.user_id == account.user_id)).first()
        if note is not None:
            world.add("notification_id", note, role)
        if account.company_id is not None:
            endpoint = WebhookEndpoint(company_id=account.company_id,
                                       url="https://erp.example.com/hooks",
                                       events=["shipment_recorded"], secret="whsec_c2VjcmV0")
            session.add(endpoint)
            session.flush()
            world.add("endpoint_id", endpoint.id, role)
    session.commit()
    _strangers(app, client, session, world)
    return world


def _paid(session: Session, people: dict[str, Any], world: Marketplace) -> Any:
    """An order whose quote the buyer accepted and paid: both factories have a proposed
    booking (the mill's listed as the factory's)."""
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    world.add("quote_id", quote.id, "buyer", "operator")
    world.add("run_id", quote.run_id, "operator")
    for row in visibility.bookings_of_order(session, order.id):
        seen = ("factory", "operator") if row.factory_company_id == people["mill"].company_id \
            else ("operator",)
        world.add("booking_id", row.id, *seen)
    for payment_id in session.exec(select(Payment.id).where(Payment.order_id == order.id)):
        world.add("payment_id", payment_id, "buyer", "operator")
    return session.get(type(order), order.id)


def _bookings_of(session: Session, order_id: int, company_id: int) -> Booking:
    session.expire_all()
    return [b for b in visibility.bookings_of_order(session, order_id)
            if b.factory_company_id == company_id][0]


def _strangers(app, client, session: Session, world: Marketplace) -> None:  # type: ignore[no-untyped-def]
    """Another buyer's and another factory's objects: none of the three roles' business
    (except operators', for company objects)."""
    other_buyer = make_account(app, "buyer")
    other_factory = make_account(app, "factory")
    stranger = session.get(User, other_buyer.user_id)
    order = orders.create_draft(session, stranger, order_input(title="Someone else's"))
    world.add("order_id", order.id, "operator")
    headers = api_token(client, other_buyer)
    world.add("attachment_id", _upload(client, f"/api/v1/orders/{order.id}/attachments",
                                       headers), "operator")
    world.add("token_id", _token_id(session, other_buyer.user_id), "operator")
    factory_headers = api_token(client, other_factory)
    world.add("token_id", _token_id(session, other_factory.user_id), "operator")
    machines = seed_capacity(session, other_factory.company_id, days=1)
    world.add("machine_id", machines[0].id, "operator")
    owner = session.get(User, other_factory.user_id)
    window = publishing.list_windows(session, owner, machines[0].id, None, None)[0]
    world.add("window_id", window.id, "operator")
    valid_until = (utcnow() + timedelta(days=300)).date().isoformat()
    world.add("certification_id", _upload(client, "/api/v1/certifications", factory_headers,
                                          kind="iso14001", number="CN-14001",
                                          valid_until=valid_until), "operator")
    endpoint = WebhookEndpoint(company_id=other_buyer.company_id,
                               url="https://erp.example.com/other",
                               events=["shipment_recorded"], secret="whsec_b3RoZXI=")
    session.add(endpoint)
    session.commit()
    world.add("endpoint_id", endpoint.id)
    world.add("company_id", other_buyer.company_id, "operator")
