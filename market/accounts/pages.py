"""Sign up, sign in, sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from market.accounts import service as accounts
from market.accounts.forms import LoginForm, RegisterForm
from market.core.errors import AuthenticationFailed, ServiceError
from market.core.extensions import db, limiter
from market.core.pages import actor, on_service_error

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing tool.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.dashboard")


def _register_again(exc: ServiceError):
    """The sign-up form again, the service's messages on its fields."""
    form = RegisterForm()
    for field_name, message in exc.localized_fields.items():
        if field_name in form:
            form[field_name].errors = [*form[field_name].errors, message]
    return render_template("auth/register.html", form=form), 422 if form.errors else 200


@bp.route("/register", methods=["GET", "POST"])
@on_service_error(_register_again)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = accounts.register(
            db.session,
            accounts.Registration(
                email=form.email.data or "",
                password=form.password.data or "",
                company_name=form.company_name.data or "",
                company_kind=form.company_kind.data or "",
                country=form.country.data or "",
                city=form.city.data or "",
                name=form.name.data or "",
                locale=str(get_locale()),  # the language the form was shown in
            ),
        )
        login_user(user)
        flash(_("Welcome to Yunzao. An operator will verify your company shortly; "
                "meanwhile you can prepare your data."), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else (
        422 if form.errors else 200
    )


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                db.session, form.email.data or "", form.password.data or ""
            )
        except AuthenticationFailed as exc:
            flash(exc.localized, "error")
            status = 401
        else:
            login_user(user, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    accounts.sign_out_everywhere(db.session, actor())
    logout_user()
    flash(_("You have signed out on every device."), "info")
    return redirect(url_for("main.index"))
