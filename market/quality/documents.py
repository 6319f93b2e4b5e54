"""QC documents per booking: inspection reports, certificates of conformity, material
certificates, photos and first-article inspections, uploaded by the booked factory, checked
and stored like drawings (orders.attachments.write_blob), read by the buyer, the operators
and the factory itself. An order may require kinds of them: its last operation cannot ship
until each is there (the receiver of events.shipping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import User
from market.core import audit
from market.core.errors import N_, Conflict, NotFound, ValidationError
from market.deals.models import Booking, BookingStatus
from market.deals.visibility import get_booking
from market.orders.attachments import KINDS, sanitise_name, storage_path, write_blob
from market.orders.models import Order
from market.orders.service import add_event
from market.quality.models import DOCUMENT_KINDS, BookingDocument

# documents describe work under way or done, not work still to be agreed
OPEN_FOR_DOCUMENTS = (BookingStatus.accepted, BookingStatus.in_progress, BookingStatus.done)


def upload_target(session: Session, actor: User, booking_id: int) -> Booking:
    """The booking `actor` may add documents to (its own factory's); NotFound otherwise, so
    a stranger learns nothing, not even before the upload is read."""
    booking = get_booking(session, actor, booking_id)
    if actor.company_id != booking.factory_company_id:
        raise NotFound("Booking not found.")  # operators read documents, factories add them
    return booking


def upload(session: Session, actor: User, booking_id: int, kind: str, filename: str | None,
           stream: BinaryIO, *, root: Path, max_bytes: int) -> BookingDocument:
    booking = upload_target(session, actor, booking_id)
    accounts.require_active(session, actor)
    if kind not in DOCUMENT_KINDS:
        raise ValidationError("Choose what the document is.",
                              {"kind": N_("inspection_report, coc, material_cert, photo, fai "
                                          "or other")})
    if booking.status not in OPEN_FOR_DOCUMENTS:
        raise Conflict("This booking is %(status)s; documents go with accepted work.",
                       params={"status": booking.status})
    sha, size, file_type = write_blob(stream, root=root, max_bytes=max_bytes)
    row = BookingDocument(
        booking_id=booking.id, order_id=booking.order_id, operation_id=booking.operation_id,  # type: ignore[arg-type]
        factory_company_id=booking.factory_company_id, uploaded_by_id=actor.id, kind=kind,
        sha256=sha, size=size, file_type=file_type, content_type=KINDS[file_type][0],
        filename=sanitise_name(filename, file_type))
    session.add(row)
    session.flush()
    order = session.get(Order, booking.order_id)
    add_event(session, order, actor, "document_added", booking_id=booking.id,  # type: ignore[arg-type]
              document_kind=kind, name=row.filename)
    audit.record(session, actor.id, "document.added", row, booking.factory_company_id,
                 order_id=booking.order_id, kind=kind, sha256=sha)
    session.commit()
    return row


def may_read(session: Session, user: Any, row: BookingDocument) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_operator or user.company_id == row.factory_company_id:
        return True
    order = session.get(Order, row.order_id)
    return order is not None and user.company_id == order.buyer_company_id


def for_reading(session: Session, user: Any, document_id: int, root: Path
                ) -> tuple[BookingDocument, Path]:
    """The document and its file if `user` may read it; NotFound otherwise (the same answer
    as for an id that does not exist)."""
    row = session.get(BookingDocument, document_id)
    if row is None or not may_read(session, user, row):
        raise NotFound("File not found.")
    path = storage_path(root, row.sha256)
    if not path.is_file():
        raise NotFound("The file's content is missing from storage.")
    return row, path


def by_operation(session: Session, user: Any, order: Order) -> dict[int, list[BookingDocument]]:
    """The order's documents `user` may read, per operation (a factory: its own)."""
    query = select(BookingDocument).where(BookingDocument.order_id == order.id)
    if not (user.is_operator or user.company_id == order.buyer_company_id):
        query = query.where(BookingDocument.factory_company_id == user.company_id)
    out: dict[int, list[BookingDocument]] = {}
    for row in session.exec(query.order_by(col(BookingDocument.id))):
        out.setdefault(row.operation_id, []).append(row)
    return out


def missing(session: Session, order: Order) -> list[str]:
    """The kinds the order requires that no live booking of it has a document of."""
    have = set(session.exec(select(BookingDocument.kind).join(
        Booking, col(Booking.id) == col(BookingDocument.booking_id)).where(
        BookingDocument.order_id == order.id,
        col(Booking.status).in_([s.value for s in OPEN_FOR_DOCUMENTS]))))
    return [k for k in order.required_documents or [] if k not in have]


def check_shipping(session: Session, order: Order, booking: Booking) -> None:
    """Receiver of events.shipping: the order does not ship without its required documents."""
    lacking = missing(session, order)
    if lacking:
        raise Conflict("The order requires these QC documents before it ships: %(kinds)s. "
                       "Upload them under the operations.", {"kind": N_("Required.")},
                       {"kinds": lacking})
