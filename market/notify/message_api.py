"""Messages API: the threads of an order (`?factory_id=` chooses one for the buyer and the
operators; a factory always gets its own), posting, and files for messages."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from market.core.api import ApiError, current_api_user, route
from market.core.extensions import db
from market.notify import messages
from market.notify.models import Message, MessageFile
from market.notify.schemas import MessageFileOut, MessageIn, MessageOut
from market.orders.files import api_upload, attachment_root, file_response, upload_limit
from market.orders.schemas import FileUpload

THREAD_QUERY = {"factory_id": "the factory's thread (buyer, operators); none: buyer-operators"}


def _factory_id() -> int | None:
    raw = request.args.get("factory_id", "")
    if raw in ("", "null"):
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise ApiError(422, "validation_error", "Please correct the listed fields.",
                       {"factory_id": "A company id."})
    return int(raw)


def file_out(row: MessageFile) -> dict[str, Any]:
    return {"id": row.id, "filename": row.filename, "kind": row.kind, "size": row.size,
            "url": url_for("api.get_message_file", file_id=row.id)}


def messages_out(thread: messages.Thread, rows: list[Message]) -> list[dict[str, Any]]:
    session = db.session
    authors = messages.authors_of(session, rows)
    files = messages.files_of(session, rows)
    return [{"id": m.id, "author": authors.get(m.author_id, {"name": "", "company": ""}),
             "body": m.body, "attachments": [file_out(f) for f in files.get(m.id, [])],  # type: ignore[arg-type]
             "factory_id": m.factory_company_id, "created_at": m.created_at} for m in rows]


@route("GET", "/orders/<int:order_id>/messages", summary="A thread of the order, oldest first",
       response=MessageOut, tag="messages", paginated=True, query=THREAD_QUERY)
def list_order_messages(order_id: int) -> list[dict[str, Any]]:
    thread = messages.thread_for(db.session, current_api_user(), order_id, _factory_id())
    return messages_out(thread, messages.list_messages(db.session, thread))


@route("POST", "/orders/<int:order_id>/messages", summary="Write to a thread of the order",
       body=MessageIn, response=MessageOut, status=201, tag="messages", query=THREAD_QUERY)
def post_order_message(order_id: int, data: MessageIn) -> dict[str, Any]:
    user = current_api_user()
    thread = messages.thread_for(db.session, user, order_id, _factory_id())
    row = messages.post(db.session, user, thread, data.body, data.attachment_ids)
    return messages_out(thread, [row])[0]


@route("POST", "/orders/<int:order_id>/message-files",
       summary="Upload a file for a message (multipart/form-data, field 'file'; the types "
               "drawings take); name its id in the message's attachment_ids",
       response=MessageFileOut, status=201, tag="messages", query=THREAD_QUERY,
       form=FileUpload)
def upload_message_file(order_id: int) -> dict[str, Any]:
    user = current_api_user()
    thread = messages.thread_for(db.session, user, order_id, _factory_id())
    upload = api_upload(user)
    row = messages.store_file(db.session, user, thread, upload.filename, upload.stream,
                              root=attachment_root(), max_bytes=upload_limit())
    return file_out(row)


@route("GET", "/message-files/<int:file_id>", summary="Download a message's file (its thread)",
       tag="messages")
def get_message_file(file_id: int) -> Any:
    row, path = messages.file_for_reading(db.session, current_api_user(), file_id,
                                          attachment_root())
    return file_response(row, path)
