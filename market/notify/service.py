"""Notifications: made from `core.events.notable` in the sender's transaction (one per
recipient, in the recipient's language, with its mail in the outbox when the user wants
it), then read and marked read by their users; the users' mail settings."""

from __future__ import annotations

import contextlib
import logging
import weakref
from datetime import date, datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import force_locale, format_date, format_datetime, gettext
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from market.accounts.models import User, UserRole
from market.capacity.models import Machine
from market.catalog.models import Process
from market.core import events
from market.core.api import Page
from market.core.errors import N_, NotFound, ValidationError
from market.core.models import utcnow
from market.core.money import format_money
from market.deals.models import LIVE_BOOKING_STATES, Booking
from market.notify import mail, webhooks
from market.notify.kinds import KINDS, defaults, kind_of, plain_details
from market.notify.models import MessageFile, Notification, NotificationSettings
from market.orders.models import Order, OrderOperation

log = logging.getLogger(__name__)


# --- making notifications -------------------------------------------------------------------


# The apps by their database engine: a service called outside any app context (a script, a
# test, a Celery task that opened its own session) still renders texts in the app's
# languages and templates, found from the session's engine.
_APPS: weakref.WeakValueDictionary[int, Flask] = weakref.WeakValueDictionary()


def connect_receivers(app: Flask) -> None:
    _APPS[id(app.extensions["yunzao_db"])] = app
    events.notable.connect(on_notable)
    events.blob_in_use.connect(_message_file_uses)


def _message_file_uses(session: Session, sha256: str) -> bool:
    """Receiver of events.blob_in_use: a message file keeps bytes a removed drawing shared."""
    return session.exec(select(MessageFile.id).where(MessageFile.sha256 == sha256)
                        ).first() is not None


def app_context_for(session: Session) -> contextlib.AbstractContextManager[Any]:
    """The current app context, or one of the app whose engine `session` uses."""
    if has_app_context():
        return contextlib.nullcontext()
    app = _APPS.get(id(session.get_bind()))
    if app is None:
        raise RuntimeError("notify: no app for this session's engine")
    return app.app_context()


def on_notable(session: Session, kind: str, **details: Any) -> list[Notification]:
    """Receiver of `core.events.notable`: the notifications (and mails) of one event, in the
    sender's transaction; the sender commits."""
    from market.notify import account_mail

    if not has_app_context() and id(session.get_bind()) not in _APPS:
        # a script on an engine of its own (a benchmark's scratch database): no app, so
        # nothing to render or send with
        log.warning("notify: %s outside any app; not recorded", kind)
        return []
    with app_context_for(session):
        if account_mail.on_account_event(session, kind, **details):
            return []
        return notify(session, kind, **details)


def _objects(session: Session, details: dict[str, Any]) -> dict[str, Any]:
    """The order, booking, quote, payment and payout of an event, the order found from the
    others when the sender gave only them."""
    found = {name: details.get(name) for name in ("order", "booking", "quote", "payment",
                                                  "payout")}
    if found["order"] is None:
        for name in ("booking", "quote", "payment", "payout"):
            if found[name] is not None:
                found["order"] = session.get(Order, found[name].order_id)
                break
    return found


def _company_users(session: Session, company_ids: set[int]) -> list[User]:
    if not company_ids:
        return []
    return list(session.exec(select(User).where(
        col(User.company_id).in_(company_ids), col(User.is_active).is_(True))))


def _operators(session: Session) -> list[User]:
    return list(session.exec(select(User).where(
        User.role == UserRole.operator.value, col(User.is_active).is_(True))))


def recipients(session: Session, kind: str, objects: dict[str, Any],
               details: dict[str, Any]) -> list[User]:
    """Who hears of `kind`: see the audiences in `market.notify.kinds`; never the actor."""
    order, booking, payout = objects["order"], objects["booking"], objects["payout"]
    companies: set[int] = set()
    users: list[User] = []
    for audience in kind_of(kind).audiences:
        if audience == "buyer" and order is not None:
            companies.add(order.buyer_company_id)
        elif audience == "booking_factory" and booking is not None:
            companies.add(booking.factory_company_id)
        elif audience == "payout_factory" and payout is not None:
            companies.add(payout.factory_company_id)
        elif audience == "order_factories" and order is not None:
            companies.update(session.exec(select(Booking.factory_company_id).where(
                Booking.order_id == order.id,
                col(Booking.status).in_([s.value for s in LIVE_BOOKING_STATES]))))
        elif audience == "company":
            company_id = details.get("company_id") or details.get("factory_id")
            if company_id:
                companies.add(int(company_id))
        elif audience == "thread":
            companies.update(int(c) for c in details.get("company_ids") or [])
            if details.get("to_operators"):
                users.extend(_operators(session))
        elif audience == "operators":
            users.extend(_operators(session))
    users.extend(_company_users(session, companies))
    actor = details.get("actor")
    seen: set[int] = set()
    chosen = []
    for user in users:
        if user.id in seen or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)  # type: ignore[arg-type]
        chosen.append(user)
    return chosen


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(value, "medium") if isinstance(value, datetime) else "—"


def _operation(session: Session, booking: Booking | None, locale: str) -> str:
    if booking is None:
        return "—"
    op = session.get(OrderOperation, booking.operation_id)
    if op is None:
        return "—"
    process = session.get(Process, op.process_code)
    name = op.process_code
    if process is not None:
        name = (process.name_zh if locale.startswith("zh") and process.name_zh
                else process.name_en) or op.process_code
    return f"{op.seq}. {name}"


def _params(session: Session, objects: dict[str, Any], details: dict[str, Any],
            locale: str) -> dict[str, Any]:
    """The values the texts name, formatted for the recipient (called under its locale)."""
    order, booking, quote = objects["order"], objects["booking"], objects["quote"]
    payment, payout = objects["payment"], objects["payout"]
    machine = session.get(Machine, booking.machine_id) if booking is not None else None
    currency = order.currency if order is not None else "CNY"
    amount = (payout.amount if payout is not None else payment.amount if payment is not None
              else booking.amount if booking is not None else details.get("amount"))
    params: dict[str, Any] = {
        "order": f"#{order.id} {order.title}" if order is not None else "—",
        "operation": _operation(session, booking, locale),
        "machine": details.get("machine_name") or (machine.name if machine else "—"),
        "machine_name": details.get("machine_name") or (machine.name if machine else "—"),
        "amount": format_money(amount, currency) if amount is not None else "—",
        "price": format_money(quote.price, quote.currency) if quote is not None else "—",
        "start": _when(details.get("start") or (booking.start if booking else None)),
        "end": _when(details.get("end") or (booking.end if booking else None)),
        "respond_by": _when(booking.respond_by if booking else None),
        "delivery_date": _when(details.get("delivery_date")
                               or (quote.delivery_date if quote else None)),
        "expires_at": _when(quote.expires_at if quote else None),
        "reason": str(details.get("reason") or (booking.decline_reason if booking else "")
                      or "—"),
        "note": str(details.get("note") or "—"),
        "run_id": details.get("run_id", "—"),
        "status": str(details.get("status", "—")),
        "price_difference": (format_money(details["price_difference_minor"], currency)
                             if details.get("price_difference_minor") is not None else "—"),
        "author": str(details.get("author") or "—"),
        "excerpt": str(details.get("excerpt") or ""),
        "url": str(details.get("url") or "—"),
        "details": plain_details(details) or "—",
        "carrier": str(details.get("carrier") or "—"),
        "tracking_number": str(details.get("tracking_number") or "—"),
        "inspection_days": details.get("inspection_days", "—"),
        "from_seq": details.get("from_seq", "—"),
        "certification": str(details.get("certification") or "—"),
        "number": str(details.get("number") or "—"),
        "company_name": str(details.get("company_name") or "—"),
        "valid_until": (format_date(details["valid_until"], "medium")
                        if isinstance(details.get("valid_until"), date) else "—"),
    }
    return params


def link_for(kind: str, user: User, objects: dict[str, Any]) -> str:
    """Where the notification leads: the booking for its factory, the order otherwise."""
    urls = current_app.url_map.bind("")
    booking, order = objects["booking"], objects["order"]
    if kind == "payout_paid":
        return urls.build("payments.payouts")
    if kind.startswith("certification_"):
        return urls.build("quality.certifications_review" if user.is_operator
                          else "quality.certifications")
    if kind == "message_received" and order is not None:
        thread = ({"factory_id": objects["factory_id"]}
                  if objects.get("factory_id") and user.company_id != objects["factory_id"]
                  else {})
        return urls.build("messages.thread", {"order_id": order.id, **thread})
    if booking is not None and booking.factory_company_id == user.company_id:
        return urls.build("bookings.booking", {"booking_id": booking.id})
    if order is not None and (user.is_operator or order.buyer_company_id == user.company_id
                              or kind == "message_received"):
        return urls.build("orders.show", {"order_id": order.id})
    if order is not None:
        own = next((b for b in (objects.get("factory_bookings") or [])
                    if b.factory_company_id == user.company_id), None)
        if own is not None:
            return urls.build("bookings.booking", {"booking_id": own.id})
        return urls.build("orders.show", {"order_id": order.id})
    return ""


def user_locale(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    return user.locale if user.locale in languages else current_app.config[
        "BABEL_DEFAULT_LOCALE"]


def render(session: Session, kind: str, user: User, objects: dict[str, Any],
           details: dict[str, Any]) -> tuple[str, str]:
    """Subject and body in `user`'s language."""
    spec = kind_of(kind)
    locale = user_locale(user)
    with force_locale(locale):
        params = _params(session, objects, details, locale)
        return gettext(spec.subject, **params)[:300], gettext(spec.body, **params)[:4000]


def notify(session: Session, kind: str, **details: Any) -> list[Notification]:
    """Store the notifications of `kind` for its recipients, and the mails of those who
    want them, in `session`'s transaction; the mails are sent after its commit."""
    objects = _objects(session, details)
    objects["factory_id"] = details.get("factory_id")
    order = objects["order"]
    if order is not None and kind in ("delivery_confirmed", "delivery_rejected",
                                      "delivery_accepted", "remake_ordered",
                                      "order_replanned"):
        objects["factory_bookings"] = list(session.exec(select(Booking).where(
            Booking.order_id == order.id)))
    made: list[Notification] = []
    people = recipients(session, kind, objects, details)
    for user in people:
        subject, body = render(session, kind, user, objects, details)
        note = Notification(
            user_id=user.id, kind=kind, subject=subject, body=body,  # type: ignore[arg-type]
            link=link_for(kind, user, objects),
            order_id=order.id if order is not None else None,
            booking_id=objects["booking"].id if objects["booking"] is not None else None)
        session.add(note)
        made.append(note)
    webhooks.enqueue(session, kind, {u.company_id for u in people if u.company_id}, objects,
                     details)
    if not made:
        return made
    session.flush()
    queued = [mail.queue_for(session, note, user)
              for note, user in zip(made, people, strict=True) if wants_mail(session, user, kind)]
    mail.send_after_commit(session, [m.id for m in queued])  # type: ignore[misc]
    return made


# --- reading --------------------------------------------------------------------------------


def list_for(session: Session, user: User, unread: bool = False, page: int = 1,
             per_page: int = 50) -> Page:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread:
        query = query.where(col(Notification.read_at).is_(None))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    items = session.exec(query.order_by(col(Notification.created_at).desc(),
                                        col(Notification.id).desc())
                         .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(items), page, per_page, total)


def unread_count_column() -> Any:
    """`unread_count` of the user a query selects, as a column (read with the user)."""
    return (select(func.count()).select_from(Notification)
            .where(col(Notification.user_id) == User.id, col(Notification.read_at).is_(None))
            .scalar_subquery())


def unread_count(session: Session, user: User) -> int:
    return session.exec(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, col(Notification.read_at).is_(None))).one()


def get_own(session: Session, user: User, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(N_("Notification not found."))
    return note


def mark_read(session: Session, user: User, notification_id: int) -> Notification:
    note = get_own(session, user, notification_id)
    if note.read_at is None:
        note.read_at = utcnow()
        session.add(note)
        session.commit()
    return note


def mark_all_read(session: Session, user: User) -> int:
    result = session.execute(update(Notification).where(
        col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow()))
    session.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]


# --- mail settings ----------------------------------------------------------------------------


def email_settings(session: Session, user: User) -> dict[str, bool]:
    """Every kind with whether it is mailed to `user` (the defaults where not chosen)."""
    chosen = session.get(NotificationSettings, user.id)
    merged = defaults()
    if chosen is not None:
        merged.update({k: bool(v) for k, v in chosen.email.items() if k in merged})
    return merged


def wants_mail(session: Session, user: User, kind: str) -> bool:
    return bool(user.email) and email_settings(session, user).get(kind, False)


def save_email_settings(session: Session, user: User, email: dict[str, Any]) -> dict[str, bool]:
    unknown = sorted(set(email) - set(KINDS))
    if unknown:
        raise ValidationError(N_("Unknown notification kind."),
                              {f"email.{name}": N_("Unknown kind.") for name in unknown})
    if any(not isinstance(v, bool) for v in email.values()):
        raise ValidationError(N_("Each kind takes true or false."),
                              {"email": N_("true or false")})
    row = session.get(NotificationSettings, user.id) or NotificationSettings(
        user_id=user.id)  # type: ignore[arg-type]
    row.email = {**row.email, **email}
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    return email_settings(session, user)
