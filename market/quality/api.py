"""Quality in the JSON API: QC documents, delivery rejection, reviews after delivery, the
factory directory with scorecards, certifications (a factory uploads, an operator verifies
or rejects)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from market.catalog.certifications import CERTIFICATION_KINDS
from market.core import events
from market.core.api import ApiError, current_api_user, route
from market.core.extensions import db
from market.core.models import utcnow
from market.orders.files import api_upload, attachment_root, file_response, upload_limit
from market.orders.models import Order
from market.orders.schemas import DocumentOut
from market.payments.api import dispute_out
from market.payments.schemas import DisputeOut
from market.quality import certifications, directory, documents, inspection, reviews
from market.quality.models import BookingDocument, Certification, Review
from market.quality.schemas import (
    AnswerIn,
    CertificationOut,
    CertificationUpload,
    DeliveryRejectIn,
    DocumentUpload,
    FactoryOut,
    RejectIn,
    ReviewIn,
    ReviewOut,
)


def probation_limit() -> int:
    return int(current_app.config.get("PROBATION_MAX_AMOUNT", 0) or 0)


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
                      processes=entry.processes, certifications=entry.certifications,
                      certificates=[{"kind": c.kind, "valid_until": c.valid_until}
                                    for c in entry.certificates],  # type: ignore[misc]
                      on_probation=entry.on_probation,
                      scorecard=card).model_dump(mode="json")  # type: ignore[arg-type]


def certification_out(row: Certification, now: Any = None) -> dict[str, Any]:
    now = now or utcnow()
    return CertificationOut(
        id=row.id, company_id=row.company_id, kind=row.kind, number=row.number,  # type: ignore[arg-type]
        valid_until=row.valid_until, status=row.status,
        counts=row.status == "verified" and row.expires_at > now, filename=row.filename,
        size=row.size, created_at=row.created_at, verified_at=row.verified_at,
        rejected_reason=row.rejected_reason,
        url=url_for("api.get_certification_file", certification_id=row.id),
    ).model_dump(mode="json")


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
       query={"process": "a process code", "city": "a city",
              "certification": "a certification kind the factory holds (verified, valid)"})
def list_factories() -> list[dict[str, Any]]:
    wanted = request.args.get("certification") or None
    if wanted is not None and wanted not in CERTIFICATION_KINDS:
        raise ApiError(422, "validation_error", "Unknown certification kind.",
                       {"certification": "One of " + ", ".join(CERTIFICATION_KINDS) + "."})
    return [factory_out(e) for e in directory.directory(
        db.session, current_api_user(), utcnow(), request.args.get("process") or None,
        request.args.get("city") or None, wanted, probation_limit())]


@route("GET", "/factories/<int:company_id>", summary="One factory: processes, scorecard",
       response=FactoryOut, tag="quality")
def get_factory(company_id: int) -> dict[str, Any]:
    return factory_out(directory.profile(db.session, current_api_user(), company_id, utcnow(),
                                         probation_limit()))


def document_out(row: BookingDocument) -> dict[str, Any]:
    return DocumentOut(id=row.id, booking_id=row.booking_id, kind=row.kind,  # type: ignore[arg-type]
                       filename=row.filename, file_type=row.file_type, size=row.size,
                       created_at=row.created_at,
                       url=url_for("api.get_document", document_id=row.id)
                       ).model_dump(mode="json")


@route("POST", "/bookings/<int:booking_id>/documents",
       summary="Upload a QC document for your booking (multipart/form-data: 'file' and "
               "'kind': inspection_report, coc, material_cert, photo, fai or other; the types "
               "drawings take)", response=DocumentOut, status=201, tag="quality",
       form=DocumentUpload)
def upload_document(booking_id: int) -> tuple[dict[str, Any], int]:
    user = current_api_user()
    documents.upload_target(db.session, user, booking_id)  # 404 before reading the upload
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
       body=DeliveryRejectIn, response=DisputeOut, status=201, tag="quality")
def reject_delivery(order_id: int, data: DeliveryRejectIn) -> tuple[dict[str, Any], int]:
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


@route("POST", "/certifications",
       summary="Upload a certification (the factory; multipart/form-data: kind, number, "
               "valid_until YYYY-MM-DD, file: PDF, PNG or JPEG); an operator verifies it",
       response=CertificationOut, status=201, tag="quality", form=CertificationUpload)
def post_certification() -> dict[str, Any]:
    user = current_api_user()
    upload = api_upload(user)  # the uploads' rate limit, multipart, size: as every upload
    form = request.form
    row = certifications.upload(
        db.session, user, form.get("kind", ""), form.get("number", ""),
        form.get("valid_until", ""), upload.filename, upload.stream, root=attachment_root(),
        max_bytes=upload_limit())
    return certification_out(row)


@route("GET", "/certifications",
       summary="Your company's certifications (operators: ?status=pending, every company's)",
       response=CertificationOut, tag="quality", paginated=True,
       query={"status": "operators: pending | verified | rejected | expired"})
def list_certifications() -> list[dict[str, Any]]:
    user = current_api_user()
    now = utcnow()
    if user.is_operator:
        status = request.args.get("status") or None
        return [certification_out(row, now)
                for row, _company in certifications.for_review(db.session, user, status)]
    return [certification_out(row, now) for row in certifications.list_own(db.session, user)]


@route("POST", "/certifications/<int:certification_id>/verify",
       summary="Verify a pending certification (operators)", response=CertificationOut,
       tag="quality")
def verify_certification(certification_id: int) -> dict[str, Any]:
    return certification_out(certifications.verify(db.session, current_api_user(),
                                                   certification_id))


@route("POST", "/certifications/<int:certification_id>/reject",
       summary="Reject a certification, or withdraw a verified one, with a reason (operators)",
       body=RejectIn, response=CertificationOut, tag="quality")
def reject_certification(certification_id: int, data: RejectIn) -> dict[str, Any]:
    return certification_out(certifications.reject(db.session, current_api_user(),
                                                   certification_id, data.reason))


@route("GET", "/certifications/<int:certification_id>/file",
       summary="Download a certification's file (its factory and operators)", tag="quality")
def get_certification_file(certification_id: int) -> Any:
    row, path = certifications.file_for_reading(db.session, current_api_user(),
                                                certification_id, attachment_root())
    return file_response(row, path)
