"""Mails about the account itself: a password reset link and the confirmation of the email
address (mailed at registration, and again on request). Both go through the outbox like
every mail; their links are signed and short-lived, and a reset link works once (it names
the session version, which the new password bumps)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session, select

from market.accounts import service as accounts
from market.accounts.models import User
from market.core.errors import N_, ValidationError
from market.notify import mail

RESET_SECONDS = 60 * 60
CONFIRM_SECONDS = 7 * 24 * 60 * 60


def _signer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"yunzao-{purpose}")


def _queue(session: Session, user: User, subject: str, body: str, link: str) -> None:
    from market.notify.service import user_locale

    subject_, text, html = mail.compose(user, user_locale(user), subject, body, link)
    row = mail.queue(session, user, subject_, text, html)
    mail.send_after_commit(session, [row.id])  # type: ignore[list-item]


def queue_confirmation(session: Session, user: User) -> None:
    """The confirmation link to `user.email` (the caller commits)."""
    from market.notify.service import app_context_for, user_locale

    with app_context_for(session):
        token = _signer("confirm").dumps({"u": user.id, "e": user.email})
        with force_locale(user_locale(user)):
            subject = gettext("Confirm your email address")
            body = gettext("Please confirm that %(email)s is your address, so that Yunzao "
                           "may mail you what needs your answer. The link works for 7 days.",
                           email=user.email)
        _queue(session, user, subject, body, f"/auth/confirm/{token}")


def on_account_event(session: Session, kind: str, **details: Any) -> bool:
    """Handle the account kinds of `core.events.notable`; False for the others."""
    if kind == "email_confirmation" and details.get("user") is not None:
        queue_confirmation(session, details["user"])
        return True
    return False


def request_reset(session: Session, email: str) -> None:
    """Mail a reset link if an active account has this address; say nothing either way
    (the page answers the same, so addresses cannot be probed)."""
    email = accounts.normalise_email(email or "")
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or not user.is_active:
        return
    from market.notify.service import user_locale

    token = _signer("reset").dumps({"u": user.id, "v": user.session_version})
    with force_locale(user_locale(user)):
        subject = gettext("Reset your password")
        body = gettext("Someone asked to reset the password of your Yunzao account. Choose a "
                       "new one with the link below within an hour. If it was not you, ignore "
                       "this mail: your password stays as it is.")
    _queue(session, user, subject, body, f"/auth/reset/{token}")
    session.commit()


def _load(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    try:
        data = _signer(purpose).loads(token, max_age=max_age)
    except BadSignature:  # also SignatureExpired
        raise ValidationError(N_("This link is invalid or has expired; ask for a new one."),
                              {"token": N_("Invalid or expired.")}) from None
    if not isinstance(data, dict):
        raise ValidationError(N_("This link is invalid or has expired; ask for a new one."))
    return data


def user_for_reset(session: Session, token: str) -> User:
    data = _load("reset", token, RESET_SECONDS)
    user = session.get(User, data.get("u"))
    if user is None or not user.is_active or user.session_version != data.get("v"):
        raise ValidationError(N_("This link is invalid or has expired; ask for a new one."),
                              {"token": N_("Invalid or expired.")})
    return user


def reset_password(session: Session, token: str, password: str) -> User:
    return accounts.set_new_password(session, user_for_reset(session, token), password)


def confirm(session: Session, token: str) -> User:
    data = _load("confirm", token, CONFIRM_SECONDS)
    user = session.get(User, data.get("u"))
    if user is None:
        raise ValidationError(N_("This link is invalid or has expired; ask for a new one."))
    return accounts.confirm_email(session, user, str(data.get("e", "")))
