"""Quality in the JSON API: reviews after delivery, the factory directory with scorecards."""

from __future__ import annotations

from typing import Any

from flask import request

from market.core.api import current_api_user, route
from market.core.extensions import db
from market.core.models import utcnow
from market.quality import directory, reviews
from market.quality.models import Review
from market.quality.schemas import AnswerIn, FactoryOut, ReviewIn, ReviewOut


def review_out(r: Review) -> dict[str, Any]:
    return ReviewOut(id=r.id, order_id=r.order_id, factory_id=r.factory_company_id,  # type: ignore[arg-type]
                     quality=r.quality, on_time=r.on_time, communication=r.communication,
                     comment=r.comment, created_at=r.created_at, answer=r.answer,
                     answered_at=r.answered_at).model_dump(mode="json")


def factory_out(entry: directory.FactoryEntry) -> dict[str, Any]:
    card = entry.scorecard.as_dict()
    card.pop("risk_per_mille")  # the matching's weight, not part of the public record
    return FactoryOut(id=entry.company.id, name=entry.company.name,  # type: ignore[arg-type]
                      city=entry.cities[0] if entry.cities else None, cities=entry.cities,
                      processes=entry.processes, certifications=[],
                      scorecard=card).model_dump(mode="json")  # type: ignore[arg-type]


@route("POST", "/orders/<int:order_id>/reviews",
       summary="Review a factory of a delivered order (the buyer, once per factory)",
       body=ReviewIn, response=ReviewOut, status=201, tag="quality")
def post_review(order_id: int, data: ReviewIn) -> tuple[dict[str, Any], int]:
    row = reviews.post_review(db.session, current_api_user(), order_id, data.factory_id,
                              {"quality": data.quality, "on_time": data.on_time,
                               "communication": data.communication}, data.comment)
    return review_out(row), 201


@route("POST", "/reviews/<int:review_id>/answer",
       summary="Answer a review of your factory (once)", body=AnswerIn, response=ReviewOut,
       tag="quality")
def answer_review(review_id: int, data: AnswerIn) -> dict[str, Any]:
    return review_out(reviews.answer(db.session, current_api_user(), review_id, data.answer))


@route("GET", "/factories", summary="Verified factories with their scorecards",
       response=FactoryOut, tag="quality", paginated=True,
       query={"process": "a process code", "city": "a city"})
def list_factories() -> list[dict[str, Any]]:
    return [factory_out(e) for e in directory.directory(
        db.session, current_api_user(), utcnow(), request.args.get("process") or None,
        request.args.get("city") or None)]


@route("GET", "/factories/<int:company_id>", summary="One factory: processes, scorecard",
       response=FactoryOut, tag="quality")
def get_factory(company_id: int) -> dict[str, Any]:
    return factory_out(directory.profile(db.session, current_api_user(), company_id, utcnow()))
