"""Message pages: an order's thread (a page of its own, and the fragment the order and
booking pages load with htmx), writing with an optional file, and downloading a file."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from market.core.errors import NotFound, ServiceError
from market.core.extensions import check_rate, db
from market.core.pages import actor, attempt, error_message
from market.notify import messages
from market.orders.files import attachment_root, file_response, upload_limit

bp = Blueprint("messages", __name__)


def _factory_id() -> int | None:
    raw = request.values.get("factory_id", "")
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 2**31 - 1:
        abort(404)
    return int(raw)


def _context(thread: messages.Thread, error: str = "", body: str = "") -> dict[str, Any]:
    rows = messages.list_messages(db.session, thread)
    return {"thread": thread, "messages": rows,
            "authors": messages.authors_of(db.session, rows),
            "files": messages.files_of(db.session, rows), "error": error, "draft": body,
            "threads": messages.threads_of(db.session, actor(), thread.order.id)}


def thread_html(order: Any, factory_id: int | None = None) -> Markup:
    """The thread, rendered into the order and booking pages (a template global): in the
    page itself, so it shows without script and costs no second request."""
    if not current_user.is_authenticated:
        return Markup("")
    try:
        thread = messages.thread_for(db.session, actor(), order.id, factory_id)
    except NotFound:
        return Markup("")
    return Markup(render_template("notify/_thread.html", **_context(thread)))


def _render(thread: messages.Thread, error: str = "", status: int = 200, body: str = ""):
    context = _context(thread, error, body)
    if request.headers.get("HX-Request"):
        return render_template("notify/_thread.html", **context), status
    return render_template("notify/thread.html", **context), status


@bp.get("/orders/<int:order_id>/messages")
@login_required
def thread(order_id: int):
    found = attempt(messages.thread_for, db.session, actor(), order_id, _factory_id())
    return _render(found.value)


@bp.post("/orders/<int:order_id>/messages")
@login_required
def write(order_id: int):
    user = actor()
    chosen = attempt(messages.thread_for, db.session, user, order_id, _factory_id())
    current = chosen.value
    body = request.form.get("body", "")
    try:
        file_ids = []
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            check_rate("upload", "UPLOAD_RATE_LIMIT", user.company_id or f"user-{user.id}")
            stored = messages.store_file(db.session, user, current, upload.filename,
                                         upload.stream, root=attachment_root(),
                                         max_bytes=upload_limit())
            file_ids.append(stored.id)
        messages.post(db.session, user, current, body, file_ids)  # type: ignore[arg-type]
    except ServiceError as exc:
        db.session.rollback()
        return _render(current, error_message(exc), exc.status, body)
    if request.headers.get("HX-Request"):
        return _render(current)
    return redirect(url_for("messages.thread", order_id=order_id,
                            factory_id=current.factory_id if user.is_operator or (
                                user.company_id == current.order.buyer_company_id) else None)
                    + "#messages")


@bp.get("/message-files/<int:file_id>")
@login_required
def download(file_id: int):
    found = attempt(messages.file_for_reading, db.session, actor(), file_id, attachment_root())
    return file_response(*found.value)
