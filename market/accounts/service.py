"""Registration, sign-in, company vetting and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, func, select

from market.accounts.loading import USER_EXTRAS, load_user  # noqa: F401  (the login's)
from market.accounts.models import ApiToken, Company, CompanyKind, CompanyStatus, User, UserRole
from market.catalog import places
from market.core import audit, events
from market.core.db import write_lock
from market.core.errors import (
    N_,
    AuthenticationFailed,
    Conflict,
    FieldMessage,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from market.core.models import utcnow

# Argon2id with the library's defaults (RFC 9106 "low memory" profile).
_hasher = PasswordHasher()
# A verify against this keeps the time of a login for an unknown email close to a real one.
_DUMMY_HASH = _hasher.hash("yunzao-timing-equaliser")

MIN_PASSWORD = 10
MAX_PASSWORD = 256
_COMMON = {
    "password123", "1234567890", "qwertyuiop", "iloveyou12", "password12", "0123456789",
    "abcdefghij", "passw0rd123", "qwerty1234", "1q2w3e4r5t", "letmein123", "welcome123",
    "admin12345", "yunzao1234", "a123456789", "woaini1314", "1234qwer!@#$",
}
TOKEN_PREFIX = "yz_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str = "") -> str | None:
    """Why a password is too weak, or None. Length beats composition rules (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "This password is too common or too simple."
    local = email.split("@", 1)[0].lower()
    if local and len(local) >= 4 and local in lowered:
        return "The password must not contain your email address."
    return None


def normalise_email(email: str) -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError("Invalid email address.", {"email": str(exc)}) from None
    return result.normalized.lower()


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60]


def _unique_slug(session: Session, name: str) -> str:
    base = slugify(name) or "company"
    slug = base
    while session.exec(select(Company.id).where(Company.slug == slug)).first() is not None:
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


@dataclass
class Registration:
    email: str
    password: str
    company_name: str
    company_kind: str
    country: str = "CN"
    city: str = ""
    name: str = ""
    locale: str | None = None


def validate_registration(data: Registration) -> dict[str, str]:
    fields: dict[str, str] = {}
    if not data.company_name.strip():
        fields["company_name"] = N_("Enter the company's name.")
    elif len(data.company_name) > 200:
        fields["company_name"] = N_("At most 200 characters.")
    if data.company_kind not in {k.value for k in CompanyKind}:
        fields["company_kind"] = N_("Choose buyer, factory or both.")
    if not places.is_country(data.country):
        fields["country"] = N_("Choose a country or region from the list.")
    if len(data.city) > 120:
        fields["city"] = N_("At most 120 characters.")
    try:
        email = normalise_email(data.email)
    except ValidationError as exc:
        fields.update(exc.fields)
        email = data.email
    problem = password_problem(data.password, email)
    if problem:
        fields["password"] = problem
    return fields


def register(session: Session, data: Registration) -> User:
    """Create a company (pending verification) and its first user, an admin of it."""
    fields = validate_registration(data)
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    email = normalise_email(data.email)
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(
            "An account with this email already exists.", {"email": N_("Already registered.")}
        )
    company = Company(
        slug=_unique_slug(session, data.company_name),
        name=data.company_name.strip(),
        kind=data.company_kind,
        country=data.country.upper(),
        city=data.city.strip(),
    )
    user = User(
        email=email,
        name=data.name.strip(),
        password_hash=hash_password(data.password),
        company=company,
        role=UserRole.admin.value,
        locale=data.locale,
    )
    session.add(company)
    session.add(user)
    try:
        session.flush()
        audit.record(session, user.id, "company.registered", company, company.id, kind=company.kind)
        events.occurred(session, "email_confirmation", user=user)  # notify mails the link
        session.commit()
    except IntegrityError:
        # Two registrations racing for one email: the unique index decides.
        session.rollback()
        raise Conflict(
            "An account with this email already exists.", {"email": N_("Already registered.")}
        ) from None
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    try:
        email = normalise_email(email)
    except ValidationError:
        email = email.strip().lower()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        check_password(_DUMMY_HASH, password)
        raise AuthenticationFailed("Wrong email or password.")
    if not check_password(user.password_hash, password):
        raise AuthenticationFailed("Wrong email or password.")
    if not user.is_active:
        raise AuthenticationFailed("This account is disabled.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.add(user)
    session.commit()
    return user


def create_operator(session: Session, email: str, password: str, name: str = "") -> User:
    email = normalise_email(email)
    problem = password_problem(password, email)
    if problem:
        raise ValidationError(problem, {"password": problem})
    existing = session.exec(select(User).where(User.email == email)).first()
    if existing is not None:
        raise Conflict("A user with email %(email)s already exists.", params={"email": email})
    user = User(
        email=email,
        name=name or "Operator",
        password_hash=hash_password(password),
        role=UserRole.operator.value,
    )
    session.add(user)
    session.flush()
    audit.record(session, None, "user.operator_created", user)
    session.commit()
    return user


def get_company(session: Session, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound("Company not found.")
    return company


def list_companies(
    session: Session,
    status: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Company], int]:
    query = select(Company)
    if status:
        query = query.where(Company.status == status)
    if kind:
        query = query.where(Company.kind == kind)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            col(Company.name).ilike(like) | col(Company.name_zh).ilike(like)
            | col(Company.city).ilike(like)
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Company.created_at).desc(), col(Company.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), int(total)


def set_company_status(
    session: Session, actor: User, company_id: int, status: str, reason: str = ""
) -> Company:
    """Operators verify or suspend companies; every change is audited."""
    if not actor.is_operator:
        raise PermissionDenied("Only platform operators can verify or suspend companies.")
    if status not in {s.value for s in CompanyStatus}:
        raise ValidationError("Unknown status %(value)s.", {"status": N_("Unknown status.")},
                              {"value": repr(status)})
    company = get_company(session, company_id)
    if status == CompanyStatus.suspended and not reason.strip():
        raise ValidationError(
            "Give a reason for the suspension.", {"reason": N_("Required when suspending.")}
        )
    previous = company.status
    company.status = status
    company.status_reason = reason.strip()[:500]
    if status == CompanyStatus.verified:
        company.verified_at = utcnow()
    session.add(company)
    audit.record(
        session, actor.id, f"company.{status}", company, company.id,
        previous=previous, reason=company.status_reason,
    )
    session.commit()
    return company


PROFILE_FIELDS = ("name", "name_zh", "city", "address", "description", "website", "phone")


def update_company_profile(
    session: Session, actor: User, company_id: int, changes: dict[str, object]
) -> Company:
    company = get_company(session, company_id)
    if not actor.is_operator and (actor.company_id != company.id):
        raise NotFound("Company not found.")
    if not actor.is_operator and actor.role != UserRole.admin:
        raise PermissionDenied("Only the company's administrators can edit its profile.")
    fields: dict[str, str] = {}
    clean: dict[str, object] = {}
    for key, value in changes.items():
        if key not in PROFILE_FIELDS + ("lat", "lon"):
            continue
        if key in ("lat", "lon"):
            if value in (None, ""):
                clean[key] = None
                continue
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                fields[key] = N_("Enter a number.")
                continue
            limit = 90 if key == "lat" else 180
            if not -limit <= number <= limit:
                fields[key] = FieldMessage("Must be between %(lo)s and %(hi)s.", lo=-limit,
                                            hi=limit)
                continue
            clean[key] = number
        else:
            text = "" if value is None else str(value).strip()
            if key == "name" and not text:
                fields[key] = N_("Enter the company's name.")
            clean[key] = text or (None if key == "name_zh" else "")
    if fields:
        raise ValidationError("Please correct the highlighted fields.", fields)
    changed = {k: v for k, v in clean.items() if getattr(company, k) != v}
    for key, value in changed.items():
        setattr(company, key, value)
    if changed:
        session.add(company)
        audit.record(session, actor.id, "company.updated", company, company.id,
                     fields=sorted(changed))
    session.commit()
    return company


# --- API tokens ---------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user: User, name: str = "", days: int = 90
) -> tuple[ApiToken, str]:
    """Return the stored row and the token in clear, which is shown once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,  # type: ignore[arg-type]
        token_hash=_token_hash(raw),
        prefix=raw[:10],
        name=name[:120],
        expires_at=utcnow() + timedelta(days=days) if days > 0 else None,
    )
    session.add(token)
    session.flush()
    audit.record(session, user.id, "token.issued", token, user.company_id)
    session.commit()
    return token, raw


def user_for_token(session: Session, raw: str, now: datetime | None = None) -> User:
    if not raw.startswith(TOKEN_PREFIX):
        raise AuthenticationFailed("Invalid token.")
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw))).first()
    now = now or utcnow()
    if token is None:
        raise AuthenticationFailed("Invalid token.")
    if token.revoked_at is not None:
        raise AuthenticationFailed("This token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationFailed("This token has expired.")
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("Invalid token.")
    # Write last-use at most once a minute to keep API reads from writing every time.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Under the writers' lock: on SQLite, many requests with one token would otherwise
        # race the approvals' write transactions for the database lock (seen as a 30 s stall
        # in the 50-request concurrency test). Best effort: a lost update only dates last use.
        # End the read first: a request waiting for the lock must not hold a pooled connection.
        session.commit()
        with write_lock(session):
            token.last_used_at = now
            session.add(token)
            try:
                session.commit()
            except OperationalError:
                session.rollback()
    return user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.exec(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(col(ApiToken.created_at).desc())
        )
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not user.is_operator):
        raise NotFound("Token not found.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(session, user.id, "token.revoked", token, user.company_id)
        session.commit()
    return token


def sign_out_everywhere(session: Session, user: User) -> None:
    user.session_version += 1
    session.add(user)
    session.commit()


def set_auto_accept(session: Session, actor: User, value: bool) -> Company:
    """A factory's choice to accept the bookings the platform proposes without a click."""
    company = actor.company
    if company is None or not company.is_factory:
        raise PermissionDenied("Only factories take bookings.")
    if actor.role != UserRole.admin:
        raise PermissionDenied("Only the company's administrators change this.")
    if company.auto_accept_bookings != value:
        company.auto_accept_bookings = value
        session.add(company)
        audit.record(session, actor.id, "company.auto_accept", company, company.id, value=value)
    session.commit()
    return company


def require_active(session: Session, actor: User) -> None:
    """A suspended company can sign in and read its history, but cannot accept, start,
    ship, quote or post (API.md "Confidentiality"). Operators are never suspended."""
    if actor.is_operator or actor.company_id is None:
        return
    company = session.get(Company, actor.company_id)
    if company is not None and company.status == CompanyStatus.suspended:
        raise PermissionDenied("Your company is suspended: you can read your history, but "
                               "not accept, start, ship, quote or post. Contact the platform.")


def set_locale(session: Session, user: User, locale: str) -> User:
    """Remember the user's language (the language switch): mails and notifications use it."""
    if user.locale != locale:
        user.locale = locale
        session.add(user)
        session.commit()
    return user


def set_new_password(session: Session, user: User, password: str) -> User:
    """A new password (a reset by mail): every session and remember-me cookie ends."""
    problem = password_problem(password, user.email)
    if problem:
        raise ValidationError(problem, {"password": problem})
    user.password_hash = hash_password(password)
    user.session_version += 1
    session.add(user)
    audit.record(session, user.id, "user.password_reset", user, user.company_id)
    session.commit()
    return user


def confirm_email(session: Session, user: User, email: str) -> User:
    """The user opened the link mailed to `email`: confirmed, if it is still their address."""
    if normalise_email(email) != user.email:
        raise Conflict(N_("This link is for an address the account no longer has."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        session.add(user)
        session.commit()
    return user
