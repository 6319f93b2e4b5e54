"""Pages of quality and trust: QC documents on the booking and order pages, the buyer's
delivery inspection (reject with reason, photos and remedy), the factory directory, a
factory's profile with its scorecard, certifications and reviews, the buyer's review of each
factory on a delivered order (on the order page), a factory's certifications (upload) and
the operators' queue to verify them (also on the operators' company page)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from sqlmodel import select
from werkzeug.exceptions import RequestEntityTooLarge

from market.accounts.models import Company
from market.catalog import service as taxonomy
from market.catalog.certifications import CERTIFICATION_KINDS
from market.core import events
from market.core.errors import NotFound, ServiceError
from market.core.extensions import check_rate, db
from market.core.models import utcnow
from market.core.pages import actor, attempt, factory_required, on_service_error, operator_required
from market.deals.models import Booking
from market.deals.production import inspection_ends
from market.orders.files import attachment_root, file_response, upload_limit
from market.orders.models import DOCUMENT_KINDS, Attachment, Order
from market.payments.models import DisputeStatus
from market.quality import certifications, directory, documents, inspection, reviews
from market.quality.models import CERTIFICATION_STATUSES, Review

bp = Blueprint("quality", __name__)


def _probation_limit() -> int:
    return int(current_app.config.get("PROBATION_MAX_AMOUNT", 0) or 0)


@bp.get("/factories")
@login_required
def factories():
    process = request.args.get("process") or None
    city = request.args.get("city") or None
    certification = request.args.get("certification") or None
    if certification not in (None, *CERTIFICATION_KINDS):
        certification = None  # an unknown kind in the address: the unfiltered list
    entries = directory.directory(db.session, actor(), utcnow(), process, city, certification,
                                  _probation_limit())
    return render_template("quality/factories.html", entries=entries, process=process or "",
                           city=city or "", certification=certification or "",
                           kinds=CERTIFICATION_KINDS, processes=taxonomy.processes(db.session))


@bp.get("/factories/<int:company_id>")
@login_required
def factory(company_id: int):
    try:
        entry = directory.profile(db.session, actor(), company_id, utcnow(), _probation_limit())
    except NotFound:
        abort(404)
    return render_template("quality/factory.html", entry=entry)


# --- certifications -------------------------------------------------------------------------

def _certifications_page(status: int = 200, errors: dict[str, str] | None = None) -> Any:
    return render_template("quality/certifications.html",
                           rows=certifications.list_own(db.session, actor()),
                           kinds=CERTIFICATION_KINDS, errors=errors or {},
                           values=request.form if request.method == "POST" else {},
                           now=utcnow()), status


@bp.get("/factory/certifications", endpoint="certifications")
@factory_required
def certifications_page():
    return _certifications_page()


@bp.post("/factory/certifications")
@factory_required
@on_service_error(lambda exc: _certifications_page(exc.status, exc.localized_fields))
def upload_certification():
    user = actor()
    check_rate("upload", "UPLOAD_RATE_LIMIT", user.company_id or f"user-{user.id}")
    try:
        upload = request.files.get("file")
        form = request.form
    except RequestEntityTooLarge:
        abort(413)
    if upload is None or not upload.filename:
        flash(_("Choose the certificate's file."), "error")
        return _certifications_page(422, {"file": _("Choose a file.")})
    certifications.upload(db.session, user, form.get("kind", ""), form.get("number", ""),
                          form.get("valid_until", ""), upload.filename, upload.stream,
                          root=attachment_root(), max_bytes=upload_limit())
    flash(_("Certificate uploaded: it counts once an operator has verified it."), "success")
    return redirect(url_for("quality.certifications"))


@bp.get("/certifications/<int:certification_id>/file")
@login_required
def certification_file(certification_id: int):
    try:
        row, path = certifications.file_for_reading(db.session, actor(), certification_id,
                                                    attachment_root())
    except ServiceError:
        abort(404)  # another company's certificate, or none: the same answer
    return file_response(row, path)


@bp.get("/operator/certifications")
@operator_required
def certifications_review():
    status = request.args.get("status", "pending")
    if status not in (*CERTIFICATION_STATUSES, ""):
        status = "pending"
    rows = certifications.for_review(db.session, actor(), status or None)
    return render_template("quality/review_certifications.html", rows=rows, status=status,
                           statuses=CERTIFICATION_STATUSES, now=utcnow())


def _back_to_review() -> Any:
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("quality.certifications_review")
    return redirect(target)


@bp.post("/operator/certifications/<int:certification_id>/verify")
@operator_required
@on_service_error(lambda _exc: _back_to_review())
def verify_certification(certification_id: int):
    row = certifications.verify(db.session, actor(), certification_id)
    flash(_("%(kind)s certificate %(number)s verified.", kind=CERTIFICATION_KINDS[row.kind],
            number=row.number), "success")
    return _back_to_review()


@bp.post("/operator/certifications/<int:certification_id>/reject")
@operator_required
@on_service_error(lambda _exc: _back_to_review())
def reject_certification(certification_id: int):
    row = certifications.reject(db.session, actor(), certification_id,
                                request.form.get("reason", ""))
    flash(_("%(kind)s certificate %(number)s rejected.", kind=CERTIFICATION_KINDS[row.kind],
            number=row.number), "success")
    return _back_to_review()


def _company_page(session: Any, company: Company, viewer: Any) -> dict[str, Any]:
    """Receiver of events.company_page: the operators see the company's certificates."""
    if not getattr(viewer, "is_operator", False) or not company.is_factory:
        return {}
    return {"company_certifications": certifications.of_company(session, company.id),  # type: ignore[arg-type]
            "now": utcnow()}


@bp.post("/orders/<int:order_id>/reviews")
@login_required
@on_service_error()
def post_review(order_id: int):
    form = request.form
    reviews.post_review(db.session, actor(), order_id, form.get("factory_id", type=int) or 0,
                        {k: form.get(k, type=int) for k in ("quality", "on_time",
                                                            "communication")},
                        form.get("comment", ""))
    flash(_("Thank you: your review is on the factory's profile."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@bp.post("/reviews/<int:review_id>/answer")
@login_required
@on_service_error()
def answer(review_id: int):
    row = reviews.answer(db.session, actor(), review_id, request.form.get("answer", ""))
    flash(_("Your answer is published under the review."), "success")
    return redirect(url_for("quality.factory", company_id=row.factory_company_id))


@bp.post("/factory/bookings/<int:booking_id>/documents")
@login_required
def upload_document(booking_id: int):
    to_booking = redirect(url_for("bookings.booking", booking_id=booking_id) + "#documents")
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        upload = None
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "error")
        return to_booking
    done = attempt(documents.upload, db.session, actor(), booking_id,
                   request.form.get("kind", ""), upload.filename, upload.stream,
                   root=attachment_root(), max_bytes=upload_limit())
    if done.ok:
        flash(_("Document uploaded: the buyer and the operators can read it."), "success")
    else:
        flash(done.error.localized, "error")
    return to_booking


@bp.get("/documents/<int:document_id>")
@login_required
def download_document(document_id: int):
    found = attempt(documents.for_reading, db.session, actor(), document_id,
                    attachment_root())
    if not found.ok:
        abort(404)
    row, path = found.value
    return file_response(row, path)


@bp.post("/orders/<int:order_id>/reject-delivery")
@login_required
@on_service_error()
def reject_delivery(order_id: int):
    form = request.form
    inspection.reject_delivery(
        db.session, actor(), order_id, form.get("reason", ""), form.get("remedy", ""),
        [int(i) for i in form.getlist("attachment_ids") if i.isdigit()],
        int(current_app.config["INSPECTION_DAYS"]))
    flash(_("Delivery rejected: the money stays in escrow and the operators will contact "
            "you about the remedy."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


def _booking_page(session: Any, booking: Booking, order: Order, viewer: Any
                  ) -> dict[str, Any]:
    """Receiver of events.booking_page: the booking's QC documents, what the order needs."""
    found = documents.by_operation(session, viewer, order).get(booking.operation_id, [])
    return {"documents": [d for d in found if d.booking_id == booking.id],
            "document_kinds": DOCUMENT_KINDS,
            "required_documents": list(order.required_documents or []),
            "missing_documents": documents.missing(session, order)}


def _inspection(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """The delivery, what the buyer may do about it, and a rejection under way."""
    found = documents.by_operation(session, viewer, order)
    out: dict[str, Any] = {"documents_by_operation": found,
                           "required_documents": list(order.required_documents or []),
                           "missing_documents": documents.missing(session, order)}
    if order.shipped_at is not None:
        out["inspection_ends"] = inspection_ends(
            order, int(current_app.config["INSPECTION_DAYS"]))
        out["shipment"] = session.exec(select(Booking).where(
            Booking.order_id == order.id, Booking.shipped_at == order.shipped_at)).first()
    if viewer.company_id == order.buyer_company_id and order.status == "shipped":
        out["photo_files"] = [a for a in session.exec(select(Attachment).where(
            Attachment.order_id == order.id)) if a.kind in ("png", "jpeg", "pdf")]
    rejected = [d for d in inspection.disputes_of(session, order.id) if d.remedy]  # type: ignore[arg-type]
    if rejected:
        out["rejection"] = rejected[0]
        out["rejection_open"] = rejected[0].status == DisputeStatus.open
    return out


def _order_page(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_page: documents and inspection for those who may see them
    (the buyer, operators; a booked factory its own documents), and the factories the buyer
    may still review."""
    if not viewer.is_authenticated:
        return {}
    out = _inspection(session, order, viewer)
    if (viewer.company_id != order.buyer_company_id
            or order.status not in reviews.REVIEWABLE):
        return out
    done = set(session.exec(select(Review.factory_company_id).where(
        Review.order_id == order.id)))
    names = {c.id: c.name for c in session.exec(select(Company).where(
        Company.id.in_(reviews.factories_of(session, order.id) or [0])))}  # type: ignore[attr-defined]
    out["review_factories"] = [(fid, name) for fid, name in sorted(names.items())
                               if fid not in done]
    return out


events.order_page.connect(_order_page)
events.booking_page.connect(_booking_page)
events.company_page.connect(_company_page)
