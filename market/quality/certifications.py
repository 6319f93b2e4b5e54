"""Certifications (API.md "Quality and trust"): a factory uploads a certificate (ISO 9001,
IATF 16949, ISO 13485, AS9100, ISO 14001) with its number, the day it is valid until and the
scanned file; an operator verifies or rejects it. Only a verified certificate whose day has
not passed counts: in the matching (`plant_certifications`, answering `events.
plant_certifications`), capacity search and the directory. Housekeeping marks a passed one
expired and tells the factory, after warning it EXPIRY_WARNING before.

The file goes through `orders.attachments.write_blob` like every upload (size, type by
content, content-addressed); certificates are PDF, PNG or JPEG. Only the factory's own users
and the operators read it; anyone else gets NotFound, as for an id that does not exist."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import update
from sqlmodel import Session, col, select

from market.accounts import service as accounts
from market.accounts.models import Company, User
from market.catalog.certifications import CERTIFICATION_KINDS
from market.core import audit, events
from market.core.dates import DEFAULT_ZONE, DateError, parse_day, parse_moment
from market.core.errors import N_, Conflict, NotFound, PermissionDenied, ValidationError
from market.core.models import utcnow
from market.orders.attachments import KINDS, sanitise_name, storage_path, write_blob
from market.quality.models import Certification, CertificationStatus

EXPIRY_WARNING = timedelta(days=30)
MAX_VALID_YEARS = 10  # certificates run three years; ten catches a mistyped year
FILE_KINDS = ("pdf", "png", "jpeg")  # a scan or a photo of the certificate


def expiry_of(valid_until: date) -> datetime:
    """The instant a certificate valid until `valid_until` stops counting: the end of that
    day in the platform's zone, in UTC."""
    return parse_moment(valid_until, day="until")


def today(now: datetime) -> date:
    return now.astimezone(DEFAULT_ZONE).date()


def _require_factory(session: Session, actor: User) -> Company:
    company = session.get(Company, actor.company_id) if actor.company_id else None
    if company is None or not company.is_factory:
        raise PermissionDenied("Only factories upload certifications.")
    accounts.require_active(session, actor)
    return company


def upload(session: Session, actor: User, kind: str, number: str, valid_until: object,
           filename: str | None, stream: BinaryIO, *, root: Path, max_bytes: int,
           now: datetime | None = None) -> Certification:
    """A new certificate of the actor's factory, pending an operator's check. The fields are
    checked before the file is stored, so a bad form stores nothing."""
    now = now or utcnow()
    company = _require_factory(session, actor)
    fields: dict[str, str] = {}
    kind = str(kind or "").strip()
    if kind not in CERTIFICATION_KINDS:
        fields["kind"] = N_("Choose ISO 9001, IATF 16949, ISO 13485, AS9100 or ISO 14001.")
    number = " ".join(str(number or "").split())
    if not number:
        fields["number"] = N_("Enter the certificate's number.")
    elif len(number) > 100:
        fields["number"] = N_("At most 100 characters.")
    day: date | None = None
    try:
        day = parse_day(valid_until)
    except DateError as exc:
        fields["valid_until"] = exc.message
    else:
        if day < today(now):
            fields["valid_until"] = N_("This certificate has expired already.")
        elif day > today(now) + timedelta(days=round(365.25 * MAX_VALID_YEARS)):
            fields["valid_until"] = N_("Certificates are valid for at most 10 years.")
    if fields:
        raise ValidationError("Please correct the certification.", fields)
    sha, size, file_kind = write_blob(stream, root=root, max_bytes=max_bytes)
    if file_kind not in FILE_KINDS:
        # the bytes stay in the content-addressed store: nothing refers to them
        raise ValidationError("Upload the certificate as a PDF, PNG or JPEG file.",
                              {"file": N_("Not a PDF, PNG or JPEG file.")})
    row = Certification(
        company_id=company.id, kind=kind, number=number, valid_until=day,  # type: ignore[arg-type]
        expires_at=expiry_of(day), uploaded_by_id=actor.id, sha256=sha, size=size,  # type: ignore[arg-type]
        file_kind=file_kind, content_type=KINDS[file_kind][0],
        filename=sanitise_name(filename, file_kind))
    session.add(row)
    session.flush()
    audit.record(session, actor.id, "certification.uploaded", row, company.id,
                 kind=kind, number=number)
    events.occurred(session, "certification_uploaded", actor=actor, company_id=company.id,
                    certification=CERTIFICATION_KINDS[kind], company_name=company.name)
    session.commit()
    return row


def list_own(session: Session, actor: User) -> list[Certification]:
    if actor.company_id is None:
        return []
    return of_company(session, actor.company_id)


def of_company(session: Session, company_id: int) -> list[Certification]:
    return list(session.exec(select(Certification).where(
        Certification.company_id == company_id).order_by(col(Certification.id).desc())))


def for_review(session: Session, actor: User, status: str | None = "pending"
               ) -> list[tuple[Certification, Company]]:
    """The operators' queue: certificates of `status` (None: all), oldest first."""
    _require_operator(actor)
    query = select(Certification, Company).join(
        Company, col(Company.id) == col(Certification.company_id))
    if status:
        query = query.where(Certification.status == status)
    return list(session.exec(query.order_by(col(Certification.id)).limit(500)).all())  # type: ignore[arg-type]


def _require_operator(actor: User) -> None:
    if not actor.is_operator:
        raise PermissionDenied("Only platform operators verify certifications.")


def get_for(session: Session, actor: User, certification_id: int) -> Certification:
    """The certificate if `actor` may see it (its factory, the operators); NotFound else."""
    row = session.get(Certification, certification_id)
    if row is None or not (actor.is_authenticated and (
            actor.is_operator or actor.company_id == row.company_id)):
        raise NotFound("Certification not found.")
    return row


def verify(session: Session, actor: User, certification_id: int,
           now: datetime | None = None) -> Certification:
    now = now or utcnow()
    row = get_for(session, actor, certification_id)
    _require_operator(actor)
    if row.status != CertificationStatus.pending:
        raise Conflict("Only a pending certification can be verified; this one is "
                       "%(status)s.", params={"status": row.status})
    if row.expires_at <= now:
        raise Conflict("This certification has expired; it cannot be verified.")
    row.status, row.verified_by_id, row.verified_at = (CertificationStatus.verified.value,
                                                       actor.id, now)
    session.add(row)
    audit.record(session, actor.id, "certification.verified", row, row.company_id,
                 kind=row.kind)
    _tell(session, "certification_verified", row, actor)
    session.commit()
    return row


def reject(session: Session, actor: User, certification_id: int, reason: str,
           now: datetime | None = None) -> Certification:
    """Refuse a pending certificate, or withdraw a verified one (a forged or withdrawn
    certificate): it stops counting at once."""
    row = get_for(session, actor, certification_id)
    _require_operator(actor)
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > 500:
        raise ValidationError("Say why the certification is rejected.",
                              {"reason": N_("Write 1 to 500 characters.")})
    if row.status not in (CertificationStatus.pending, CertificationStatus.verified):
        raise Conflict("This certification is %(status)s already.",
                       params={"status": row.status})
    row.status, row.rejected_reason = CertificationStatus.rejected.value, reason
    row.verified_by_id, row.verified_at = actor.id, now or utcnow()
    session.add(row)
    audit.record(session, actor.id, "certification.rejected", row, row.company_id,
                 kind=row.kind, reason=reason)
    _tell(session, "certification_rejected", row, actor, reason=reason)
    session.commit()
    return row


def _tell(session: Session, kind: str, row: Certification, actor: User | None,
          **details: object) -> None:
    events.occurred(session, kind, actor=actor, company_id=row.company_id,
                    certification=CERTIFICATION_KINDS.get(row.kind, row.kind),
                    number=row.number, valid_until=row.valid_until, **details)


def file_for_reading(session: Session, actor: User, certification_id: int, root: Path
                     ) -> tuple[Certification, Path]:
    row = get_for(session, actor, certification_id)
    path = storage_path(root, row.sha256)
    if not path.is_file():
        raise NotFound("The file's content is missing from storage.")
    return row, path


# --- what counts --------------------------------------------------------------------------

def valid_kinds(session: Session, company_ids: set[int] | list[int], now: datetime
                ) -> dict[int, list[str]]:
    """Each company's verified certifications whose day has not passed at `now`, by kind
    in the catalogue's order (read from the dates, not from housekeeping having run)."""
    held: dict[int, set[str]] = {c: set() for c in company_ids}
    if not held:
        return {}
    for company_id, kind in session.exec(select(Certification.company_id, Certification.kind)
                                         .where(col(Certification.company_id).in_(list(held)),
                                                Certification.status == "verified",
                                                col(Certification.expires_at) > now)):
        held[company_id].add(kind)
    return {c: [k for k in CERTIFICATION_KINDS if k in kinds] for c, kinds in held.items()}


def valid_certificates(session: Session, company_id: int, now: datetime
                       ) -> list[Certification]:
    return list(session.exec(select(Certification).where(
        Certification.company_id == company_id, Certification.status == "verified",
        col(Certification.expires_at) > now).order_by(col(Certification.kind))))


def plant_certifications(session: Session, plant_companies: dict[int, int], now: datetime
                         ) -> dict[int, list[str]]:
    """Receiver of events.plant_certifications: each plant's company's valid kinds."""
    held = valid_kinds(session, set(plant_companies.values()), now)
    return {plant: held[company] for plant, company in plant_companies.items()
            if held.get(company)}


# --- housekeeping -------------------------------------------------------------------------

def expire_and_warn(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Mark certificates whose day has passed expired and tell their factories; warn once
    EXPIRY_WARNING before. Each change is a conditional update, so two housekeeping runs at
    once tell the factory once."""
    now = now or utcnow()
    counts = {"certifications_expired": 0, "certifications_warned": 0}
    due = session.exec(select(Certification).where(
        col(Certification.status).in_(["verified", "pending"]),
        col(Certification.expires_at) <= now)).all()
    for row in due:
        was = row.status
        changed = session.execute(update(Certification).where(
            col(Certification.id) == row.id, col(Certification.status) == was,
        ).values(status=CertificationStatus.expired.value, expired_at=now)).rowcount  # type: ignore[attr-defined]
        if changed:
            session.refresh(row)
            audit.record(session, None, "certification.expired", row, row.company_id,
                         kind=row.kind)
            _tell(session, "certification_expired", row, None)
            session.commit()
            counts["certifications_expired"] += 1
    soon = session.exec(select(Certification).where(
        Certification.status == "verified", col(Certification.warned_at).is_(None),
        col(Certification.expires_at) > now,
        col(Certification.expires_at) <= now + EXPIRY_WARNING)).all()
    for row in soon:
        changed = session.execute(update(Certification).where(
            col(Certification.id) == row.id, col(Certification.warned_at).is_(None),
        ).values(warned_at=now)).rowcount  # type: ignore[attr-defined]
        if changed:
            session.refresh(row)
            _tell(session, "certification_expiring", row, None)
            session.commit()
            counts["certifications_warned"] += 1
    session.commit()
    return counts
