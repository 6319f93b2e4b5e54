"""The order page's files: upload drawings, remove a wrong one before it is shared, and
download (the buyer, operators, factories booked on the order). Routes of the orders
blueprint, kept apart from the editor and the order page (pages.py) for length."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from market.core.errors import ServiceError
from market.core.extensions import check_rate, db
from market.core.pages import actor, attempt, on_service_error
from market.orders import attachments
from market.orders import service as orders
from market.orders.files import attachment_root, file_response, upload_limit
from market.orders.pages import _readable_or_404, _render_show, bp


@bp.post("/<int:order_id>/attachments")
@login_required
def upload(order_id: int):
    _readable_or_404(order_id)
    try:
        files = [f for f in request.files.getlist("file") if f and f.filename]
    except RequestEntityTooLarge:
        abort(413)
    if not files:
        flash(_("Choose a file to upload."), "error")
        return redirect(url_for("orders.show", order_id=order_id))
    user = actor()
    limited = attempt(check_rate, "upload", "UPLOAD_RATE_LIMIT",
                      user.company_id or f"user-{user.id}")
    if not limited.ok:
        flash(limited.message, "error")
        return redirect(url_for("orders.show", order_id=order_id))
    for upload in files:
        stored = attempt(attachments.store, db.session, user, order_id, upload.filename,
                         upload.stream, root=attachment_root(), max_bytes=upload_limit())
        if stored.status == 413:
            abort(413)
        if stored.error is not None:
            # on the order page after the file's name (its field message only repeats it)
            flash(_("%(name)s: %(message)s", name=upload.filename,
                    message=stored.error.localized), "error")
            return _render_show(orders.get_order(db.session, user, order_id), stored.status)
        flash(_("Attached %(name)s.", name=stored.value.filename), "success")
    return redirect(url_for("orders.show", order_id=order_id))


def _back_to_order(exc: ServiceError):
    return redirect(url_for("orders.show", order_id=(request.view_args or {})["order_id"],
                            _anchor="files"))


@bp.post("/<int:order_id>/files/<int:attachment_id>/remove")
@login_required
@on_service_error(_back_to_order)
def remove_file(order_id: int, attachment_id: int):
    removed = attachments.remove(db.session, actor(), attachment_id, root=attachment_root(),
                                 order_id=order_id)
    flash(_("Removed %(name)s.", name=removed.filename), "success")
    return redirect(url_for("orders.show", order_id=order_id, _anchor="files"))


@bp.get("/files/<int:attachment_id>")
def download(attachment_id: int):
    found = attempt(attachments.get_for_reading, db.session, current_user, attachment_id,
                    attachment_root())
    if not found.ok:
        abort(404)
    return file_response(*found.value)


