"""Messages on orders (API.md "Messages"): the buyer-operators thread (`factory_id` None)
and one thread per factory booked on the order (the buyer, the operators and that factory).
A factory only ever sees its own thread; another thread, or an order it has no booking on,
is a 404. Messages are kept as written; files are stored like drawings (the same directory
and type checks) but readable only by their thread. Each message notifies the other side."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import Company, User
from market.core import events
from market.core.errors import N_, Conflict, NotFound, ValidationError
from market.core.extensions import check_rate
from market.deals.models import Booking
from market.notify.models import Message, MessageFile
from market.orders.attachments import ACCEPTED, KINDS, sanitise_name, storage_path, write_blob
from market.orders.models import Order

MAX_BODY = 4000
MAX_FILES = 10


@dataclass
class Thread:
    order: Order
    factory_id: int | None
    factory_name: str | None  # shown to the buyer and the operators only


def _booked_factories(session: Session, order_id: int) -> list[int]:
    return sorted(set(session.exec(select(Booking.factory_company_id).where(
        Booking.order_id == order_id))))


def _is_buyer(user: User, order: Order) -> bool:
    return user.company_id is not None and user.company_id == order.buyer_company_id


def thread_for(session: Session, user: User, order_id: int,
               factory_id: int | None = None) -> Thread:
    """The thread `user` asks for, if they may read it; NotFound otherwise (a factory gets
    its own thread whatever it asks, and nothing on an order it has no booking on)."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(N_("Order not found."))
    booked = _booked_factories(session, order.id)  # type: ignore[arg-type]
    if user.is_operator or _is_buyer(user, order):
        if factory_id is not None and factory_id not in booked:
            raise NotFound(N_("No such thread."))
    elif user.company_id is not None and user.company_id in booked:
        if factory_id not in (None, user.company_id):
            raise NotFound(N_("No such thread."))
        factory_id = user.company_id
    else:
        raise NotFound(N_("Order not found."))
    name = None
    if factory_id is not None and (user.is_operator or _is_buyer(user, order)):
        company = session.get(Company, factory_id)
        name = company.name if company else None
    return Thread(order, factory_id, name)


def threads_of(session: Session, user: User, order_id: int) -> list[Thread]:
    """The threads `user` may choose among on an order (a factory: only its own)."""
    first = thread_for(session, user, order_id)
    if not (user.is_operator or _is_buyer(user, first.order)):
        return [first]
    return [first] + [thread_for(session, user, order_id, f)
                      for f in _booked_factories(session, order_id)]


def _in_thread(thread: Thread) -> Any:
    if thread.factory_id is None:
        return col(Message.factory_company_id).is_(None)
    return Message.factory_company_id == thread.factory_id


def list_messages(session: Session, thread: Thread) -> list[Message]:
    return list(session.exec(select(Message).where(
        Message.order_id == thread.order.id, _in_thread(thread))
        .order_by(col(Message.created_at), col(Message.id))))


def files_of(session: Session, messages: list[Message]) -> dict[int, list[MessageFile]]:
    found: dict[int, list[MessageFile]] = {}
    ids = [m.id for m in messages]
    if ids:
        for row in session.exec(select(MessageFile).where(col(MessageFile.message_id).in_(ids))
                                .order_by(col(MessageFile.id))):
            found.setdefault(row.message_id, []).append(row)  # type: ignore[arg-type]
    return found


def authors_of(session: Session, messages: list[Message]) -> dict[int, dict[str, str]]:
    """{user id: {name, company}} as the thread shows them (operators as the platform)."""
    shown: dict[int, dict[str, str]] = {}
    for user_id in {m.author_id for m in messages}:
        user = session.get(User, user_id)
        if user is None:
            continue
        company = user.company.name if user.company is not None else "Yunzao"
        shown[user_id] = {"name": user.name or user.email.split("@")[0], "company": company}
    return shown


def _recipients(thread: Thread, author: User) -> tuple[list[int], bool]:
    """The companies (and whether the operators) to tell: the other side of the thread."""
    buyer = thread.order.buyer_company_id
    if thread.factory_id is None:
        return ([buyer], False) if author.is_operator else ([], True)
    if author.is_operator:
        return [buyer, thread.factory_id], False
    if author.company_id == thread.factory_id:
        return [buyer], False
    return [thread.factory_id], False


def post(session: Session, user: User, thread: Thread, body: str,
         file_ids: list[int] | None = None) -> Message:
    body = (body or "").strip()
    if not body:
        raise ValidationError(N_("Write a message."), {"body": N_("Required.")})
    if len(body) > MAX_BODY:
        raise ValidationError(N_("A message has at most 4,000 characters."),
                              {"body": N_("Too long.")})
    if not user.is_operator:
        accounts.require_active(session, user)
        # every message tells the other side, by mail too: a flood costs the platform its
        # mail reputation, so a company writes so many an hour (MESSAGE_RATE_LIMIT)
        check_rate("message", "MESSAGE_RATE_LIMIT", user.company_id or f"user-{user.id}")
    file_ids = list(dict.fromkeys(file_ids or []))
    if len(file_ids) > MAX_FILES:
        raise ValidationError(N_("At most 10 files a message."),
                              {"attachment_ids": N_("Too many.")})
    files = [session.get(MessageFile, i) for i in file_ids]
    if any(f is None or f.order_id != thread.order.id
           or f.factory_company_id != thread.factory_id
           or f.uploaded_by_id != user.id or f.message_id is not None for f in files):
        raise ValidationError(N_("Attach files you uploaded to this thread."),
                              {"attachment_ids": N_("Unknown file.")})
    message = Message(order_id=thread.order.id, factory_company_id=thread.factory_id,  # type: ignore[arg-type]
                      author_id=user.id, body=body)  # type: ignore[arg-type]
    session.add(message)
    session.flush()
    for f in files:
        f.message_id = message.id  # type: ignore[union-attr]
        session.add(f)
    companies, operators = _recipients(thread, user)
    author = authors_of(session, [message])[user.id]  # type: ignore[index]
    events.occurred(session, "message_received", order=thread.order, actor=user,
                    company_ids=companies, to_operators=operators,
                    factory_id=thread.factory_id, message_id=message.id,
                    author=f"{author['name']} ({author['company']})",
                    excerpt=body[:200] + ("…" if len(body) > 200 else ""))
    session.commit()
    return message


def store_file(session: Session, user: User, thread: Thread, filename: str | None,
               stream: BinaryIO, *, root: Path, max_bytes: int) -> MessageFile:
    """A file for a message of `thread`, checked and stored as drawings are (write_blob)."""
    if thread.order.status in ("cancelled",) and not user.is_operator:
        raise Conflict(N_("The order is cancelled; no more files can be attached."))
    sha, size, kind = write_blob(stream, root=root, max_bytes=max_bytes)
    row = MessageFile(order_id=thread.order.id, factory_company_id=thread.factory_id,  # type: ignore[arg-type]
                      uploaded_by_id=user.id, sha256=sha, size=size, kind=kind,  # type: ignore[arg-type]
                      content_type=KINDS[kind][0], filename=sanitise_name(filename, kind))
    session.add(row)
    session.commit()
    return row


def file_for_reading(session: Session, user: User, file_id: int, root: Path
                     ) -> tuple[MessageFile, Path]:
    """The file if `user` may read its thread (and it was sent, or is theirs)."""
    row = session.get(MessageFile, file_id)
    if row is None or (row.message_id is None and row.uploaded_by_id != user.id):
        raise NotFound(N_("File not found."))
    thread_for(session, user, row.order_id, row.factory_company_id)
    path = storage_path(root, row.sha256)
    if not path.is_file():
        raise NotFound(N_("File not found."))
    return row, path


__all__ = ["ACCEPTED", "Thread", "file_for_reading", "list_messages", "post", "store_file",
           "thread_for", "threads_of"]
