"""Bodies of the quality API: reviews, factories and their scorecards."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from market.catalog.certifications import CERTIFICATION_KINDS
from market.core.schemas import Id, Strict
from market.orders.models import DOCUMENT_KINDS
from market.orders.schemas import FileUpload


class DocumentUpload(FileUpload):
    kind: str = Field(json_schema_extra={"enum": list(DOCUMENT_KINDS)})


class CertificationUpload(FileUpload):
    """The certificate: a scan or photo (PDF, PNG or JPEG), its kind, number and expiry."""

    kind: str = Field(json_schema_extra={"enum": list(CERTIFICATION_KINDS)})
    number: str = Field(min_length=1, max_length=100)
    valid_until: date = Field(description="YYYY-MM-DD, at most 10 years ahead")


class ReviewIn(Strict):
    factory_id: Id = Field(description="A factory that did work on the order")
    quality: StrictInt = Field(ge=1, le=5)
    on_time: StrictInt = Field(ge=1, le=5)
    communication: StrictInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class DeliveryRejectIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    remedy: Literal["remake", "refund", "partial_refund"]
    attachment_ids: list[Id] = Field(
        default_factory=list, max_length=20,
        description="The order's files showing the problem (upload photos first: POST "
                    "/orders/{id}/attachments)")


class AnswerIn(Strict):
    answer: str = Field(min_length=1, max_length=2000)


class ReviewOut(BaseModel):
    id: int
    order_id: int
    factory_id: int
    quality: int
    on_time: int
    communication: int
    comment: str
    created_at: datetime
    answer: str
    answered_at: datetime | None


class ScorecardOut(BaseModel):
    jobs_counted: int
    window_days: int
    on_time_rate: float | None = Field(description="Null until the factory has 3 jobs")
    defect_rate: float | None
    acceptance_rate: float | None
    response_hours_median: float | None
    rating: float | None


class CertificateOut(BaseModel):
    kind: str
    valid_until: date


class FactoryOut(BaseModel):
    id: int
    name: str
    city: str | None = Field(description="Where its plants are (the first)")
    cities: list[str]
    processes: list[str]
    certifications: list[str] = Field(
        description="Verified, unexpired certifications (iso9001, iatf16949, iso13485, "
                    "as9100, iso14001)")
    certificates: list[CertificateOut] = Field(
        default_factory=list, description="The same with the day each is valid until")
    on_probation: bool = Field(
        default=False, description="Fewer than 3 jobs: one live job at a time, small orders")
    scorecard: ScorecardOut


class CertificationOut(BaseModel):
    """A factory's certificate as the factory and the operators see it."""

    id: int
    company_id: int
    kind: str
    number: str
    valid_until: date = Field(description="The day printed on the certificate (inclusive)")
    status: str = Field(description="pending | verified | rejected | expired")
    counts: bool = Field(description="Verified and not expired: it counts in matching")
    filename: str
    size: int
    created_at: datetime
    verified_at: datetime | None
    rejected_reason: str
    url: str = Field(description="Download address (the factory and operators only)")


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=500)
