"""Webhook pages: a company's endpoints (add, with the secret shown once; delete) and each
endpoint's delivery log."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from market.core.errors import ServiceError
from market.core.extensions import db
from market.core.pages import actor, error_message, on_service_error
from market.notify import webhooks
from market.notify.kinds import KINDS

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _page(new=None, errors: dict[str, str] | None = None, form: dict | None = None,
          status: int = 200):
    return render_template("notify/webhooks.html",
                           endpoints=webhooks.list_endpoints(db.session, actor()), kinds=KINDS,
                           new=new, errors=errors or {}, form=form or {}), status


@bp.get("")
@login_required
@on_service_error("main.dashboard")
def index():
    return _page()


@bp.post("")
@login_required
@on_service_error("main.dashboard")
def create():
    url = request.form.get("url", "")
    chosen = [kind for kind in KINDS if request.form.get(f"event-{kind}") == "on"]
    try:
        endpoint = webhooks.create_endpoint(db.session, actor(), url, chosen)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 403:
            raise
        flash(error_message(exc), "error")
        return _page(errors=exc.localized_fields, form={"url": url, "events": chosen},
                     status=422)
    return _page(new=endpoint, status=201)


@bp.post("/<int:endpoint_id>/delete")
@login_required
@on_service_error("webhooks.index")
def delete(endpoint_id: int):
    webhooks.delete_endpoint(db.session, actor(), endpoint_id)
    flash(_("The endpoint is deleted; it receives no more events."), "success")
    return redirect(url_for("webhooks.index"))


@bp.get("/<int:endpoint_id>")
@login_required
@on_service_error("webhooks.index")
def deliveries(endpoint_id: int):
    endpoint = webhooks.get_endpoint(db.session, actor(), endpoint_id)
    page = webhooks.deliveries(db.session, actor(), endpoint_id, 1, 100)
    return render_template("notify/webhook.html", endpoint=endpoint, page=page)
