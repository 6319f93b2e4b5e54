"""Bodies of the quality API: reviews, factories and their scorecards."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from market.core.schemas import Id, Strict


class ReviewIn(Strict):
    factory_id: Id = Field(description="A factory that did work on the order")
    quality: StrictInt = Field(ge=1, le=5)
    on_time: StrictInt = Field(ge=1, le=5)
    communication: StrictInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class RejectIn(Strict):
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


class FactoryOut(BaseModel):
    id: int
    name: str
    city: str | None = Field(description="Where its plants are (the first)")
    cities: list[str]
    processes: list[str]
    certifications: list[str] = Field(description="Verified certifications (none yet: the "
                                      "certification upload is not built)")
    scorecard: ScorecardOut
