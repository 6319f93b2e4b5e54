"""Account mail pages under /auth: forgot password, reset by link, confirm the address."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from market.core.errors import ServiceError
from market.core.extensions import db, limiter
from market.core.pages import actor, error_message
from market.notify import account_mail

bp = Blueprint("account_mail", __name__, url_prefix="/auth")


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def forgot():
    if request.method == "POST":
        account_mail.request_reset(db.session, request.form.get("email", ""))
        flash(_("If an account has this address, a link to choose a new password is on its "
                "way. It works for an hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("notify/forgot.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def reset(token: str):
    try:
        account_mail.user_for_reset(db.session, token)
    except ServiceError as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("account_mail.forgot"))
    if request.method == "POST":
        try:
            account_mail.reset_password(db.session, token, request.form.get("password", ""))
        except ServiceError as exc:
            db.session.rollback()
            return render_template("notify/reset.html", error=exc.localized), 422
        if current_user.is_authenticated:
            logout_user()
        flash(_("Your password is changed. Please sign in with it."), "success")
        return redirect(url_for("auth.login"))
    return render_template("notify/reset.html", error="")


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        account_mail.confirm(db.session, token)
    except ServiceError as exc:
        db.session.rollback()
        flash(error_message(exc), "error")
    else:
        flash(_("Thank you: your email address is confirmed."), "success")
    return redirect(url_for("main.dashboard" if current_user.is_authenticated
                            else "auth.login"))


@bp.post("/confirm")
@login_required
def send_confirmation():
    user = actor()
    account_mail.queue_confirmation(db.session, user)
    db.session.commit()
    flash(_("A confirmation link is on its way to %(email)s.", email=user.email), "info")
    return redirect(url_for("notify.settings"))
