"""Drawings and models attached to orders.

* Files are stored once per content under `<root>/<sha256[:2]>/<sha256[2:]>` (root: the
  instance folder's `attachments/`, outside the web root), written to a temporary file first
  and renamed into place, so a half-written upload is never visible.
* The type is read from the bytes (magic numbers and text markers), never from the name.
* The displayed name is sanitised: no directories, no control characters, length-capped,
  and its extension made to match the detected type.
* Reading goes through `orders.can_read_order`; the URL carries the attachment's id only,
  and a refused reader gets NotFound, the same answer as for an id that does not exist.
* The buyer may remove a wrong file until the order is shared with a factory (`remove`);
  its bytes go when nothing else (another order's file, a message file) names them.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, col, select

from market.accounts.models import User
from market.core import audit, events
from market.core.errors import (
    N_,
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationError,
)
from market.orders import service as orders
from market.orders.models import Attachment, Order, OrderEvent, OrderStatus

CHUNK = 1024 * 1024
MAX_NAME = 120
ACCEPTED = "PDF, STEP, STL, DXF, PNG or JPEG"

# kind -> (content type, extensions the name may keep)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", (".pdf",)),
    "png": ("image/png", (".png",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "step": ("model/step", (".step", ".stp")),
    "stl": ("model/stl", (".stl",)),
    "dxf": ("image/vnd.dxf", (".dxf",)),
}


class TooLarge(ServiceError):
    code = "too_large"
    status = 413


def detect_kind(head: bytes, size: int, tail: bytes = b"") -> str | None:
    """The file's type from its first bytes (and its size and last bytes where the format
    needs them), or None when it is not one of the accepted kinds."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    # Binary STL: 80-byte header, uint32 triangle count, 50 bytes a triangle. Checked before
    # ASCII STL because binary headers often begin with "solid" too.
    if size >= 84 and len(head) >= 84:
        (triangles,) = struct.unpack_from("<I", head, 80)
        if triangles > 0 and size == 84 + 50 * triangles:
            return "stl"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"ISO-10303-21;"):
        return "step"
    if text.startswith(b"solid") and (b"facet" in head or b"endsolid" in tail):
        return "stl"
    if head.startswith(b"AutoCAD Binary DXF\r\n\x1a\x00"):
        return "dxf"
    # ASCII DXF: group code 0 then SECTION on the next line; the file ends with "0 / EOF".
    lines = text.splitlines()
    if len(lines) >= 2 and lines[0].strip() == b"0" and lines[1].strip() == b"SECTION":
        return "dxf"
    return None


def sanitise_name(name: str | None, kind: str) -> str:
    """A safe display name: the last path component only, printable characters, no leading
    dots, at most MAX_NAME characters, with an extension that matches the detected type."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\s+", " ", text).strip().lstrip(".").strip()
    text = re.sub(r'[<>:"|?*]', "_", text)  # characters Windows refuses in file names
    extensions = KINDS[kind][1]
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if f".{ext.lower()}" not in extensions:
        stem = text  # keep a misleading extension visible in the stem, add the real one
        ext = extensions[0].lstrip(".")
    stem = stem[: MAX_NAME - len(ext) - 1].rstrip() or "file"
    return f"{stem}.{ext.lower()}"


def storage_path(root: Path, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a SHA-256 hex digest")
    return root / sha256[:2] / sha256[2:]


def write_blob(stream: BinaryIO, *, root: Path, max_bytes: int) -> tuple[str, int, str]:
    """Store a stream's bytes under their SHA-256 in `root`, checked like every upload (not
    empty, at most `max_bytes`, a known file type by content); return (sha256, size, kind).
    Streams to a temporary file while hashing and counting, so a too-large upload stops at
    the limit instead of filling memory. Drawings and message files both come through here."""
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=root)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(
                        N_("The file is larger than %(mb)s MB."), {"file": N_("Too large.")},
                        {"mb": max_bytes // (1024 * 1024)})
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                tail = (tail + chunk)[-64:]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationError("The file is empty.", {"file": "Choose a file."})
        kind = detect_kind(head, size, tail)
        if kind is None:
            raise ValidationError(
                "This file type is not accepted; upload a PDF, STEP, STL, DXF, PNG or JPEG "
                "file.", {"file": N_("Not a PDF, STEP, STL, DXF, PNG or JPEG file.")})
        sha = digest.hexdigest()
        target = storage_path(root, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            tmp.unlink()
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return sha, size, kind


def store(
    session: Session,
    actor: User,
    order_id: int,
    filename: str | None,
    stream: BinaryIO,
    *,
    root: Path,
    max_bytes: int,
) -> Attachment:
    """Attach the stream's bytes to the order (stored by `write_blob`)."""
    order = orders.get_order(session, actor, order_id)
    if not orders.can_edit_order(actor, order):
        raise PermissionDenied("Only the buyer's company can attach files to this order.")
    if order.status in (OrderStatus.cancelled, OrderStatus.closed):
        raise Conflict("The order is %(status)s; no more files can be attached.",
                       params={"status": order.status})
    sha, size, kind = write_blob(stream, root=root, max_bytes=max_bytes)
    existing = session.exec(
        select(Attachment).where(Attachment.order_id == order.id, Attachment.sha256 == sha)
    ).first()
    if existing is not None:
        return existing  # the same bytes again: idempotent, keep the first name
    attachment = Attachment(
        order_id=order.id, uploaded_by_id=actor.id, sha256=sha, size=size, kind=kind,  # type: ignore[arg-type]
        content_type=KINDS[kind][0], filename=sanitise_name(filename, kind),
    )
    session.add(attachment)
    session.flush()
    orders.add_event(session, order, actor, "attachment_added", name=attachment.filename,
                     size=size, file_type=kind)
    audit.record(session, actor.id, "attachment.added", attachment, order.buyer_company_id,
                 order_id=order.id, sha256=sha)
    session.commit()
    return attachment


# A factory reads an order's files as soon as it holds a live booking, and bookings are
# proposed when the buyer accepts a quote: from that moment (even if every booking is later
# declined) a factory may have the files, so they stay.
SHARED_FROM = (OrderStatus.accepted, OrderStatus.scheduled, OrderStatus.in_production,
               OrderStatus.shipped, OrderStatus.delivered, OrderStatus.closed,
               OrderStatus.disputed)
SHARING_EVENTS = ("quote_accepted", "bookings_proposed")


def shared_with_factories(session: Session, order: Order) -> bool:
    """Whether any factory has (or had) the order's files: it is or was accepted."""
    if order.status in SHARED_FROM:
        return True
    return session.exec(select(OrderEvent.id).where(
        OrderEvent.order_id == order.id, col(OrderEvent.kind).in_(SHARING_EVENTS))
    ).first() is not None


def remove(session: Session, actor: User, attachment_id: int, *, root: Path,
           order_id: int | None = None) -> Attachment:
    """Take a wrong file off the order, before any factory has been given it (then a
    Conflict: it may already be in a factory's hands). Its bytes are deleted after the
    commit when no other file, of any order or message, has the same content."""
    attachment = session.get(Attachment, attachment_id)
    order = session.get(Order, attachment.order_id) if attachment is not None else None
    if (attachment is None or order is None or not orders.can_read_order(actor, order)
            or order_id not in (None, order.id)):
        raise NotFound("File not found.")
    if not orders.can_edit_order(actor, order):
        raise PermissionDenied("Only the buyer's company can remove files from this order.")
    if shared_with_factories(session, order):
        raise Conflict("%(name)s has been shared with the factories on this order and stays; "
                       "attach a corrected file, and tell them in a message which one counts.",
                       params={"name": attachment.filename})
    sha = attachment.sha256
    orders.add_event(session, order, actor, "attachment_removed", name=attachment.filename,
                     size=attachment.size, file_type=attachment.kind)
    audit.record(session, actor.id, "attachment.removed", attachment, order.buyer_company_id,
                 order_id=order.id, sha256=sha, name=attachment.filename)
    session.delete(attachment)
    session.commit()
    _forget_blob(session, root, sha)
    return attachment


def _forget_blob(session: Session, root: Path, sha: str) -> None:
    """Delete stored bytes nothing names any more (after the commit that dropped the last
    name: a crash in between leaves an unnamed file, never a name without its file). An
    upload of the same bytes in the instant between the check and the unlink would find its
    file gone; its download then answers that the content is missing, and a new upload
    restores it."""
    if session.exec(select(Attachment.id).where(Attachment.sha256 == sha)).first() is not None:
        return
    if events.granted(events.blob_in_use, session, sha256=sha):
        return  # a message file (notify) has the same bytes
    path = storage_path(root, sha)
    path.unlink(missing_ok=True)


def list_for(session: Session, order: Order) -> list[Attachment]:
    return list(session.exec(
        select(Attachment).where(Attachment.order_id == order.id).order_by(col(Attachment.id))
    ))


def get_for_reading(
    session: Session, user: object, attachment_id: int, root: Path
) -> tuple[Attachment, Path]:
    """The attachment and its file if `user` may read the order; NotFound otherwise."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("File not found.")
    order = session.get(Order, attachment.order_id)
    if order is None or not orders.can_read_order(user, order):
        raise NotFound("File not found.")
    path = storage_path(root, attachment.sha256)
    if not path.is_file():
        raise NotFound("The file's content is missing from storage.")
    return attachment, path
