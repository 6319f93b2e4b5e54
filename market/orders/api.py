"""Buyer orders in the JSON API: drafts, submit, cancel, attachments, instant quotes.

Reading an order or a file of another company answers 404, and so does reading without a
token: an anonymous caller learns nothing about which ids exist."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request, url_for

from market.core import events
from market.core.api import Page, current_api_user, pagination, route
from market.core.extensions import db
from market.orders import attachments, validation
from market.orders import service as orders
from market.orders.files import api_upload, attachment_root, file_response, upload_limit
from market.orders.models import Attachment, Order
from market.orders.schemas import AttachmentOut, CancelIn, FileUpload, OrderIn, OrderOut


def order_input(data: OrderIn) -> validation.OrderInput:
    return validation.OrderInput(
        title=data.title, description=data.description, quantity=data.quantity,
        due_date=data.due_date, delivery_address=data.delivery.address,
        delivery_lat=data.delivery.lat, delivery_lon=data.delivery.lon, budget=data.budget,
        currency=data.currency, part_size_mm=data.part_size_mm,
        required_documents=list(data.required_documents),
        required_certifications=data.required_certifications,
        operations=[validation.OperationInput(op.process, op.material, op.minutes_per_unit,
                                          op.tolerance_mm, op.notes, op.quantity)
                    for op in data.operations],
    )


def attachment_out(row: Attachment) -> dict[str, Any]:
    return AttachmentOut(
        id=row.id, order_id=row.order_id, filename=row.filename, kind=row.kind,  # type: ignore[arg-type]
        content_type=row.content_type, size=row.size, sha256=row.sha256,
        created_at=row.created_at, url=url_for("api.get_attachment", attachment_id=row.id),
    ).model_dump(mode="json")


def order_out(order: Order, *, with_events: bool = False) -> dict[str, Any]:
    session = db.session
    # bookings, quotes and payments come from their domains, each showing what the reader
    # may see
    viewer = _reader()
    parts = events.collect(events.order_api, session, order=order, viewer=viewer)
    bookings_of = parts.get("bookings_by_operation", {})
    handoffs = parts.get("handoffs", {})
    documents_of = parts.get("documents_by_operation", {})
    # a booked factory sees the work, not the buyer's money (API.md "Confidentiality")
    buyer_side = orders.sees_commercials(viewer, order)
    delivery = {"address": order.delivery_address, "lat": order.delivery_lat,
                "lon": order.delivery_lon}
    body = {
        "id": order.id, "title": order.title, "description": order.description,
        "quantity": order.quantity, "due_date": order.due_date,
        "part_size_mm": order.part_size_mm,
        "required_documents": list(order.required_documents or []),
        "shipment": parts.get("shipment") if buyer_side else None,
        "required_certifications": list(order.required_certifications or []),
        "delivery": delivery if buyer_side or parts.get("ships_last") else None,
        "budget": order.budget if buyer_side else None, "currency": order.currency,
        "status": order.status,
        "offered": orders.is_offered(session, order),
        "created_at": order.created_at, "updated_at": order.updated_at,
        "submitted_at": order.submitted_at, "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason if buyer_side else "",
        "operations": [
            {"id": op.id, "seq": op.seq, "process": op.process_code,
             "material": op.material_code, "minutes_per_unit": op.minutes_per_unit,
             "tolerance_mm": op.tolerance_mm, "notes": op.notes,
             "quantity": op.quantity or order.quantity,
             "bookings": bookings_of.get(op.id, []), "handoff": handoffs.get(op.id),
             "documents": documents_of.get(op.id, [])}
            for op in order.operations
        ],
        "attachments": [attachment_out(a) for a in attachments.list_for(session, order)],
        "quotes": parts.get("quotes", []), "payments": parts.get("payments", []),
        "events": [{"at": e.at, "kind": e.kind, "details": e.details}
                   for e in orders.timeline(session, order)] if with_events and buyer_side
                  else [],
    }
    return OrderOut.model_validate(body).model_dump(mode="json")


def _reader() -> Any:
    """The token's user, or None for a call without a token (routes with auth='none')."""
    return g.get("api_user")


@route("POST", "/orders", summary="Create a draft order", body=OrderIn, response=OrderOut,
       status=201, tag="orders")
def create_order(data: OrderIn) -> dict[str, Any]:
    order = orders.create_draft(db.session, current_api_user(), order_input(data))
    return order_out(order, with_events=True)


@route("GET", "/orders", summary="My company's orders (operators: all)", response=OrderOut,
       tag="orders", query={"status": "draft|open|quoted|...|cancelled"}, paginated=True)
def list_orders() -> Page:
    page, per_page = pagination()
    rows, total = orders.list_orders(db.session, current_api_user(),
                                     request.args.get("status") or None, page, per_page)
    return Page([order_out(o) for o in rows], page, per_page, total)


@route("GET", "/orders/<int:order_id>",
       summary="An order: status, operations with their bookings, quotes, payments, timeline",
       response=OrderOut, auth="none", tag="orders")
def get_order(order_id: int) -> dict[str, Any]:
    return order_out(orders.get_order(db.session, _reader(), order_id), with_events=True)


@route("PUT", "/orders/<int:order_id>", summary="Replace a draft (same body as POST /orders)",
       body=OrderIn, response=OrderOut, tag="orders")
def update_order(order_id: int, data: OrderIn) -> dict[str, Any]:
    order = orders.update_draft(db.session, current_api_user(), order_id, order_input(data))
    return order_out(order, with_events=True)


@route("POST", "/orders/<int:order_id>/submit", summary="Submit a draft: draft -> open",
       response=OrderOut, tag="orders")
def submit_order(order_id: int) -> dict[str, Any]:
    return order_out(orders.submit(db.session, current_api_user(), order_id), with_events=True)


@route("POST", "/orders/<int:order_id>/cancel",
       summary="Cancel a draft, or an open or quoted order while nothing is accepted; "
               "optional JSON body {reason}", body=CancelIn, response=OrderOut, tag="orders")
def cancel_order(order_id: int, data: CancelIn) -> dict[str, Any]:
    order = orders.cancel(db.session, current_api_user(), order_id, data.reason)
    return order_out(order, with_events=True)


@route("POST", "/orders/<int:order_id>/attachments",
       summary="Attach a drawing or model (multipart/form-data, field 'file'; PDF, STEP, STL, "
               "DXF, PNG, JPEG; type read from the content)",
       response=AttachmentOut, status=201, tag="orders", form=FileUpload)
def upload_attachment(order_id: int) -> dict[str, Any]:
    user = current_api_user()
    orders.get_order(db.session, user, order_id)  # 404 before reading a stranger's upload
    upload = api_upload(user)
    row = attachments.store(db.session, user, order_id, upload.filename, upload.stream,
                            root=attachment_root(), max_bytes=upload_limit())
    return attachment_out(row)


@route("DELETE", "/attachments/<int:attachment_id>",
       summary="Remove a wrong file, while no factory has been given the order (afterwards "
               "409: it may be in a factory's hands)",
       status=204, tag="orders")
def delete_attachment(attachment_id: int) -> Response:
    attachments.remove(db.session, current_api_user(), attachment_id, root=attachment_root())
    return Response(status=204)


@route("GET", "/attachments/<int:attachment_id>",
       summary="Download an attachment (the buyer, operators, factories booked on the order)",
       auth="none", tag="orders")
def get_attachment(attachment_id: int) -> Any:
    row, path = attachments.get_for_reading(db.session, _reader(), attachment_id,
                                            attachment_root())
    return file_response(row, path)
