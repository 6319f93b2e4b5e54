"""Outbound webhooks (Standard Webhooks): endpoints per company with the kinds they want,
deliveries written in the event's transaction (`enqueue`, from `service.notify`) and sent
after the commit by a background job, retried on API.md's schedule (`deliver`,
`send_due`); an endpoint failing for 5 days is disabled and its company told.

The body is `{type, timestamp, data}`; `data` holds the event's objects as the API shows
them to the endpoint's company (see `_data`) and the plain values of the event. Headers
`webhook-id` (the same on every attempt, so a receiver drops duplicates),
`webhook-timestamp` and `webhook-signature`, signed by `standardwebhooks`.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from blinker import Signal
from flask import current_app
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from market.accounts.models import User
from market.core import events
from market.core.api import Page
from market.core.errors import N_, NotFound, PermissionDenied, ValidationError
from market.core.jobs import dispatch
from market.core.models import utcnow
from market.deals.schemas import BookingOut, QuoteOut
from market.notify.kinds import KINDS
from market.notify.models import MailStatus, WebhookDelivery, WebhookEndpoint
from market.payments.schemas import PayoutOut

log = logging.getLogger(__name__)

# After failed attempt n, the next waits RETRY_AFTER[n-1] (API.md); after the last, it fails.
RETRY_AFTER = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
               timedelta(hours=2), timedelta(hours=5), timedelta(hours=10), timedelta(hours=10))
TIMEOUT_SECONDS = 15
LEASE = timedelta(minutes=2)
DISABLE_AFTER = timedelta(days=5)
MAX_ENDPOINTS = 20

deliveries_committed = Signal("notify-webhooks-committed")


# --- endpoints ------------------------------------------------------------------------------


def _company_id(user: User) -> int:
    if user.company_id is None:
        raise PermissionDenied(N_("Webhooks belong to a company; operators have none."))
    return user.company_id


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def check_url(url: str, allow_private: bool | None = None) -> str:
    """The URL if it may be called: http(s), a host, and no private, loopback or link-local
    address behind it (a webhook must not reach our own network), unless
    WEBHOOKS_ALLOW_PRIVATE=1."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(N_("Give an http or https URL."), {"url": N_("Invalid URL.")})
    if allow_private is None:
        allow_private = bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))
    if allow_private:
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise ValidationError(N_("This host cannot be found."),
                              {"url": N_("Unknown host.")}) from None
    if any(_private(str(info[4][0]).split("%")[0]) for info in found):
        raise ValidationError(N_("Private and loopback addresses are not allowed."),
                              {"url": N_("Not a public address.")})
    return url


def create_endpoint(session: Session, user: User, url: str, kinds: list[str]
                    ) -> WebhookEndpoint:
    company_id = _company_id(user)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValidationError(N_("Unknown notification kind."),
                              {"events": N_("Use the notification kinds of the API.")})
    if not kinds:
        raise ValidationError(N_("Choose at least one event."), {"events": N_("Required.")})
    url = check_url(url)
    live = session.exec(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.company_id == company_id,
        col(WebhookEndpoint.deleted_at).is_(None))).one()
    if live >= MAX_ENDPOINTS:
        raise ValidationError(N_("A company has at most 20 webhook endpoints."),
                              {"url": N_("Delete one first.")})
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    endpoint = WebhookEndpoint(company_id=company_id, created_by_id=user.id, url=url,
                               events=sorted(set(kinds)), secret=secret)
    session.add(endpoint)
    session.commit()
    return endpoint


def list_endpoints(session: Session, user: User) -> list[WebhookEndpoint]:
    return list(session.exec(select(WebhookEndpoint).where(
        WebhookEndpoint.company_id == _company_id(user),
        col(WebhookEndpoint.deleted_at).is_(None)).order_by(col(WebhookEndpoint.id))))


def get_endpoint(session: Session, user: User, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if (endpoint is None or endpoint.deleted_at is not None or user.company_id is None
            or endpoint.company_id != user.company_id):
        raise NotFound(N_("Webhook endpoint not found."))
    return endpoint


def delete_endpoint(session: Session, user: User, endpoint_id: int) -> WebhookEndpoint:
    """Kept as deleted (its delivery log stays), never called again."""
    endpoint = get_endpoint(session, user, endpoint_id)
    endpoint.deleted_at = utcnow()
    session.add(endpoint)
    session.execute(update(WebhookDelivery).where(
        col(WebhookDelivery.endpoint_id) == endpoint.id,
        col(WebhookDelivery.status) == MailStatus.pending)
        .values(status=MailStatus.failed, next_attempt_at=None, last_error="endpoint deleted"))
    session.commit()
    return endpoint


def deliveries(session: Session, user: User, endpoint_id: int, page: int = 1,
               per_page: int = 50) -> Page:
    endpoint = get_endpoint(session, user, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    items = session.exec(query.order_by(col(WebhookDelivery.id).desc())
                         .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(items), page, per_page, total)


# --- writing deliveries (in the event's transaction) -----------------------------------------


def _dump(schema: Any, obj: Any) -> dict[str, Any]:
    return schema.model_validate(obj, from_attributes=True).model_dump(mode="json")


def _data(objects: dict[str, Any], details: dict[str, Any], company_id: int) -> dict[str, Any]:
    """The event's objects as the API shows them to `company_id`: the order's summary to
    whoever hears of it, quotes and payments to its buyer only, a booking and a payout to
    their factory only; then the event's plain values."""
    order, booking, quote = objects["order"], objects["booking"], objects["quote"]
    payment, payout = objects["payment"], objects["payout"]
    data: dict[str, Any] = {}
    if order is not None:
        data["order"] = {"id": order.id, "title": order.title, "status": order.status,
                         "quantity": order.quantity, "due_date": order.due_date.isoformat()}
        buyer = order.buyer_company_id == company_id
        if quote is not None and buyer:
            data["quote"] = _dump(QuoteOut, quote)
        if payment is not None and buyer:
            data["payment"] = {"id": payment.id, "status": payment.status,
                               "amount": payment.amount, "currency": payment.currency}
    if booking is not None and booking.factory_company_id == company_id:
        data["booking"] = _dump(BookingOut, booking)
    if payout is not None and payout.factory_company_id == company_id:
        data["payout"] = _dump(PayoutOut, payout)
    skip = {"company_ids", "to_operators", "factory_bookings"}
    for key, value in details.items():
        if key in skip:
            continue
        if isinstance(value, str | int | float | bool) or value is None:
            data[key] = value
        elif isinstance(value, datetime):
            data[key] = value.isoformat()
    return data


def enqueue(session: Session, kind: str, company_ids: set[int], objects: dict[str, Any],
            details: dict[str, Any]) -> list[int]:
    """One delivery per live endpoint of `company_ids` that wants `kind`, written in the
    caller's transaction; they are sent after its commit."""
    if not company_ids:
        return []
    endpoints = [e for e in session.exec(select(WebhookEndpoint).where(
        col(WebhookEndpoint.company_id).in_(company_ids),
        col(WebhookEndpoint.deleted_at).is_(None), col(WebhookEndpoint.disabled_at).is_(None)))
        if kind in e.events]
    now = utcnow()
    made = []
    for endpoint in endpoints:
        data = _data(objects, details, endpoint.company_id)
        body = json.dumps({"type": kind, "timestamp": now.isoformat(), "data": data},
                          separators=(",", ":"), sort_keys=True)
        delivery = WebhookDelivery(endpoint_id=endpoint.id, event=kind,  # type: ignore[arg-type]
                                   message_id=f"msg_{secrets.token_hex(16)}", body=body,
                                   created_at=now, next_attempt_at=now + LEASE)
        session.add(delivery)
        made.append(delivery)
    session.flush()
    ids = [d.id for d in made]
    if ids:
        events.publish(session, deliveries_committed, delivery_ids=ids)
    return ids  # type: ignore[return-value]


@deliveries_committed.connect
def _dispatch(session: Any, delivery_ids: list[int]) -> None:
    from market.notify.service import app_context_for

    try:
        with app_context_for(session):
            dispatch("deliver_webhooks", delivery_ids=delivery_ids)
    except Exception:  # the broker is down: housekeeping sends them once they are due
        log.exception("could not dispatch webhook deliveries %s", delivery_ids)


# --- sending ----------------------------------------------------------------------------------


def signed_headers(endpoint: WebhookEndpoint, delivery: WebhookDelivery,
                   now: datetime) -> dict[str, str]:
    signature = Webhook(endpoint.secret).sign(delivery.message_id, now, delivery.body)
    return {"webhook-id": delivery.message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature, "content-type": "application/json",
            "user-agent": "Yunzao-Webhooks/1"}


def _claim(session: Session, delivery_id: int, now: datetime) -> bool:
    result = session.execute(update(WebhookDelivery).where(
        col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.status) == MailStatus.pending,
        or_(col(WebhookDelivery.attempt) == 0, col(WebhookDelivery.next_attempt_at) <= now))
        .values(attempt=WebhookDelivery.attempt + 1, next_attempt_at=now + LEASE))
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime
          ) -> tuple[int | None, str]:
    """(status code, error); the URL is checked again, as its DNS may have changed."""
    try:
        check_url(endpoint.url)
        response = requests.post(endpoint.url, data=delivery.body.encode(),
                                 headers=signed_headers(endpoint, delivery, now),
                                 timeout=TIMEOUT_SECONDS, allow_redirects=False)
    except ValidationError as exc:
        return None, exc.message
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def deliver(session: Session, delivery_id: int, now: datetime | None = None) -> bool:
    """One attempt at one delivery; True when the receiver took it (2xx)."""
    from market.notify.service import app_context_for

    now = now or utcnow()
    with app_context_for(session):
        if not _claim(session, delivery_id, now):
            return False
        delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)  # type: ignore[union-attr]
        assert delivery is not None and endpoint is not None
        code, error = _post(endpoint, delivery, now)
        delivery.status_code, delivery.last_error = code, error
        if not error:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                MailStatus.sent, utcnow(), None)
            endpoint.failing_since = None
        else:
            if endpoint.failing_since is None:
                endpoint.failing_since = now
            if delivery.attempt > len(RETRY_AFTER):
                delivery.status, delivery.next_attempt_at = MailStatus.failed, None
            else:
                delivery.next_attempt_at = now + RETRY_AFTER[delivery.attempt - 1]
            if now - endpoint.failing_since >= DISABLE_AFTER and endpoint.disabled_at is None:
                _disable(session, endpoint, now)
        session.add_all([delivery, endpoint])
        session.commit()
        return not error


def _disable(session: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.disabled_at = now
    session.execute(update(WebhookDelivery).where(
        col(WebhookDelivery.endpoint_id) == endpoint.id,
        col(WebhookDelivery.status) == MailStatus.pending)
        .values(status=MailStatus.failed, next_attempt_at=None,
                last_error="endpoint disabled after 5 days of failures"))
    events.occurred(session, "webhook_disabled", actor=None, company_id=endpoint.company_id,
                    url=endpoint.url, endpoint_id=endpoint.id)
    log.warning("webhook endpoint %s disabled after failing since %s", endpoint.id,
                endpoint.failing_since)


def send_due(session: Session, now: datetime | None = None, limit: int = 100) -> int:
    now = now or utcnow()
    due = session.exec(select(WebhookDelivery.id).where(
        WebhookDelivery.status == MailStatus.pending,
        col(WebhookDelivery.next_attempt_at) <= now)
        .order_by(col(WebhookDelivery.id)).limit(limit)).all()
    session.commit()
    return sum(1 for delivery_id in due if deliver(session, delivery_id, now))  # type: ignore[arg-type]
