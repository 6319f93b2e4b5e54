"""Quality in the JSON API: QC documents, delivery rejection, reviews after delivery, the
factory directory with scorecards."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from market.core import events
from market.core.api import current_api_user, route
from market.core.extensions import db
from market.core.models import utcnow
from market.orders.files import api_upload, attachment_root, file_response, upload_limit
from market.orders.models import Order
from market.orders.schemas import DocumentOut
from market.payments.api import dispute_out
from market.payments.schemas import DisputeOut
from market.quality import directory, documents, inspection, reviews
from market.quality.models import BookingDocument, Review
from market.quality.schemas import AnswerIn, FactoryOut, RejectIn, ReviewIn, ReviewOut


def review_out(r: Review) -> dict[str, Any]:
    return ReviewOut(id=r.id, order_id=r.order_id, factory_id=r.factory_company_id,  # type: ignore[arg-type]
                     quality=r.quality, on_time=r.on_time, communication=r.communication,
                     comment=r.comment, created_at=r.created_at, answer=r.answer,
                     answered_at=r.answered_at).model_dump(mode="json")


def factory_out(entry: directory.FactoryEntry) -> dict[str, Any]:
    card = entry.scorecard.as_dict()
    card.pop("risk_per_mille")  # the matching's weight, not part of the public record
    return FactoryOut(id=entry.company.id, name=entry.company.name,  # type: ignore[arg-type]
                      city=entry.cities[0] if entry.cities else None, cities=entry.cities,
                      processes=entry.processes, certifications=[],
                      scorecard=card).model_dump(mode="json")  # type: ignore[arg-type]


@route("POST", "/orders/<int:order_id>/reviews",
       summary="Review a factory of a delivered order (the buyer, once per factory)",
       body=ReviewIn, response=ReviewOut, status=201, tag="quality")
def post_review(order_id: int, data: ReviewIn) -> tuple[dict[str, Any], int]:
    row = reviews.post_review(db.session, current_api_user(), order_id, data.factory_id,
                              {"quality": data.quality, "on_time": data.on_time,
                               "communication": data.communication}, data.comment)
    return review_out(row), 201


@route("POST", "/reviews/<int:review_id>/answer",
       summary="Answer a review of your factory (once)", body=AnswerIn, response=ReviewOut,
       tag="quality")
def answer_review(review_id: int, data: AnswerIn) -> dict[str, Any]:
    return review_out(reviews.answer(db.session, current_api_user(), review_id, data.answer))


@route("GET", "/factories", summary="Verified factories with their scorecards",
       response=FactoryOut, tag="quality", paginated=True,
       query={"process": "a process code", "city": "a city"})
def list_factories() -> list[dict[str, Any]]:
    return [factory_out(e) for e in directory.directory(
        db.session, current_api_user(), utcnow(), request.args.get("process") or None,
        request.args.get("city") or None)]


@route("GET", "/factories/<int:company_id>", summary="One factory: processes, scorecard",
       response=FactoryOut, tag="quality")
def get_factory(company_id: int) -> dict[str, Any]:
    return factory_out(directory.profile(db.session, current_api_user(), company_id, utcnow()))


def document_out(row: BookingDocument) -> dict[str, Any]:
    return DocumentOut(id=row.id, booking_id=row.booking_id, kind=row.kind,  # type: ignore[arg-type]
                       filename=row.filename, file_type=row.file_type, size=row.size,
                       created_at=row.created_at,
                       url=url_for("api.get_document", document_id=row.id)
                       ).model_dump(mode="json")


@route("POST", "/bookings/<int:booking_id>/documents",
       summary="Upload a QC document for your booking (multipart/form-data: 'file' and "
               "'kind': inspection_report, coc, material_cert, photo, fai or other; the types "
               "drawings take)", response=DocumentOut, status=201, tag="quality")
def upload_document(booking_id: int) -> tuple[dict[str, Any], int]:
    user = current_api_user()
    upload = api_upload(user)
    row = documents.upload(db.session, user, booking_id, request.form.get("kind", ""),
                           upload.filename, upload.stream, root=attachment_root(),
                           max_bytes=upload_limit())
    return document_out(row), 201


@route("GET", "/documents/<int:document_id>",
       summary="Download a QC document (its factory, the order's buyer, operators)",
       tag="quality")
def get_document(document_id: int) -> Any:
    row, path = documents.for_reading(db.session, current_api_user(), document_id,
                                      attachment_root())
    return file_response(row, path)  # type: ignore[arg-type]


@route("POST", "/orders/<int:order_id>/reject-delivery",
       summary="The buyer rejects the delivery within the inspection window, with the reason, "
               "photos (the order's files) and the remedy asked: it opens a dispute",
       body=RejectIn, response=DisputeOut, status=201, tag="quality")
def reject_delivery(order_id: int, data: RejectIn) -> tuple[dict[str, Any], int]:
    row = inspection.reject_delivery(
        db.session, current_api_user(), order_id, data.reason, data.remedy,
        list(data.attachment_ids), int(current_app.config["INSPECTION_DAYS"]))
    return dispute_out(row), 201


def _order_api(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_api: each operation's QC documents the viewer may read."""
    if viewer is None:
        return {}
    found = documents.by_operation(session, viewer, order)
    return {"documents_by_operation": {op: [document_out(r) for r in rows]
                                       for op, rows in found.items()}}


events.order_api.connect(_order_api)
