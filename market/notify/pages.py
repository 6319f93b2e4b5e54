"""Notification pages: the list with mark-read (htmx), opening one (marks it read and goes
to its object), the "will it ship on time?" answer, and the mail settings."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    g,
    has_app_context,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from market.core.extensions import db
from market.core.pages import actor, on_service_error
from market.notify import reminders, service
from market.notify.kinds import KINDS

bp = Blueprint("notify", __name__, url_prefix="/notifications")

PER_PAGE = 30


def _htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        return 1


def _list_context() -> dict[str, Any]:
    unread = request.args.get("unread") == "1"
    page = service.list_for(db.session, actor(), unread, _page_number(), PER_PAGE)
    return {"page": page, "unread_only": unread,
            "pages": max(1, -(-page.total // PER_PAGE))}


@bp.get("")
@login_required
def index():
    return render_template("notify/page.html", **_list_context())


@bp.get("/<int:notification_id>")
@login_required
@on_service_error()
def open_notification(notification_id: int):
    note = service.mark_read(db.session, actor(), notification_id)
    return redirect(note.link or url_for("notify.index"))


@bp.post("/<int:notification_id>/read")
@login_required
@on_service_error()
def read(notification_id: int):
    note = service.mark_read(db.session, actor(), notification_id)
    if _htmx():
        return render_template("notify/_read.html", note=note,
                               unread=service.unread_count(db.session, actor()))
    return redirect(url_for("notify.index"))


@bp.post("/read-all")
@login_required
def read_all():
    service.mark_all_read(db.session, actor())
    if _htmx():
        return render_template("notify/_list.html", **_list_context(), unread=0)
    flash(_("All notifications are marked read."), "success")
    return redirect(url_for("notify.index"))


@bp.post("/<int:notification_id>/answer")
@login_required
@on_service_error()
def answer(notification_id: int):
    on_time = request.form.get("on_time") == "yes"
    reminders.answer_on_time(db.session, actor(), notification_id, on_time,
                             request.form.get("note", ""))
    flash(_("Thank you: the buyer and the operators have your answer."), "success")
    return redirect(url_for("notify.index"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
@on_service_error("notify.settings")
def settings():
    if request.method == "POST":
        chosen = {kind: request.form.get(f"email-{kind}") == "on" for kind in KINDS}
        service.save_email_settings(db.session, actor(), chosen)
        flash(_("Your mail settings are saved."), "success")
        return redirect(url_for("notify.settings"))
    return render_template("notify/settings.html",
                           email=service.email_settings(db.session, actor()), kinds=KINDS)


def unread_badge() -> dict[str, Any]:
    """The navigation's unread count (a context processor: every template, so the count is
    a function the layout calls, and a fragment or a mail that does not show it costs no
    query)."""
    return {"unread_notifications": _unread}


def _unread() -> int:
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return 0  # a mail rendered by a job, a visitor
    if "notify_unread" not in g:  # once a request, however many templates show it
        # read with the user (accounts' USER_EXTRAS) unless the request has written since
        known = g.get("user_extras", {}).get("notify_unread")
        g.notify_unread = known if known is not None else service.unread_count(db.session,
                                                                                actor())
    return g.notify_unread


@event.listens_for(OrmSession, "after_commit")
def _forget_preloaded_count(_session: OrmSession) -> None:
    # a notification read or made in this request: the count read with the user is stale
    if has_app_context():
        g.get("user_extras", {}).pop("notify_unread", None)
