"""Reviews after delivery, scorecards from the record, the risk they put into the matching,
and the factory directory (service, API and pages)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.core.errors import Conflict, NotFound, ValidationError
from market.core.models import utcnow
from market.deals import service as bookings
from market.deals.models import Booking
from market.quality import reviews, scorecards
from market.runs import planning
from tests.conftest import Account, api_token
from tests.deals.test_disruption import app_config, in_app, live, owner, world  # noqa: F401
from tests.deals.test_disruption_pages import client_of

EN = {"Accept-Language": "en"}


def deliver(session, world):  # noqa: F811
    users, machines, order = world["users"], world["machines"], world["order"]
    made = live(session, order.id)
    for b in made:
        bookings.report_progress(session, owner(users, machines, b), b.id, "done")
    last = max(made, key=lambda b: b.start)
    bookings.ship(session, owner(users, machines, last), last.id, "SF1")
    bookings.confirm_delivery(session, users["buyer"], order.id)
    return made


@pytest.mark.usefixtures("in_app")
def test_reviews_once_per_factory_after_delivery(session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    anod = users["anod"].company_id
    scores = {"quality": 5, "on_time": 4, "communication": 5}
    with pytest.raises(Conflict):  # not delivered yet
        reviews.post_review(session, users["buyer"], order.id, anod, scores)
    deliver(session, world)
    with pytest.raises(ValidationError) as exc:
        reviews.post_review(session, users["buyer"], order.id, anod, {**scores, "quality": 9})
    assert "quality" in exc.value.fields
    with pytest.raises(ValidationError):  # did no work on the order
        reviews.post_review(session, users["buyer"], order.id, users["buyer"].company_id, scores)
    with pytest.raises(NotFound):  # only the order's buyer
        reviews.post_review(session, users["anod"], order.id, anod, scores)
    review = reviews.post_review(session, users["buyer"], order.id, anod, scores, "Clean parts")
    assert round(review.rating, 2) == 4.67
    with pytest.raises(Conflict):
        reviews.post_review(session, users["buyer"], order.id, anod, scores)
    with pytest.raises(NotFound):  # another factory cannot answer
        reviews.answer(session, users["mill1"], review.id, "Thanks")
    reviews.answer(session, users["anod"], review.id, "Thank you")
    with pytest.raises(Conflict):
        reviews.answer(session, users["anod"], review.id, "Again")


@pytest.mark.usefixtures("in_app")
def test_scorecards_count_jobs_late_work_and_ratings(session, world):  # noqa: F811
    users = world["users"]
    anod = users["anod"].company_id
    now = utcnow()
    card = scorecards.scorecard(session, anod, now)
    assert card.jobs_counted == 0 and card.on_time_rate is None  # a new factory
    assert card.risk_per_mille == scorecards.PRIOR_PER_MILLE
    # three jobs done, one of them two days late
    for i in range(3):
        session.add(Booking(quote_id=1, order_id=world["order"].id, operation_id=1,
                            planned_operation_id=1, factory_company_id=anod,
                            machine_id=world["machines"]["anod"].id,
                            start=now - timedelta(days=10 + i), end=now - timedelta(days=9 + i),
                            amount=1000, status="done", respond_by=now,
                            created_at=now - timedelta(days=12 + i),
                            responded_at=now - timedelta(days=12 + i, hours=-3),
                            done_at=now - timedelta(days=9 + i - (2 if i == 0 else 0))))
    session.commit()
    card = scorecards.scorecard(session, anod, now)
    assert card.jobs_counted == 3
    assert card.on_time_rate == round(2 / 3, 3) and card.defect_rate == 0
    assert card.response_hours_median == 3.0 and card.acceptance_rate == 1.0
    # one problem in three jobs, smoothed with the prior: (1000 + 100 * 5) / 8
    assert card.risk_per_mille == round((1000 + 100 * 5) / 8)


@pytest.mark.usefixtures("in_app")
def test_scorecards_of_many_factories_cost_four_queries(session, world):  # noqa: F811
    """Capacity search and run review show a record a factory: one batch, not four queries
    a factory (and the same cards as one at a time)."""
    from sqlalchemy import event

    users = world["users"]
    now = utcnow()
    anod = users["anod"].company_id
    for i in range(3):  # a record for one of them, so every query is asked
        session.add(Booking(quote_id=1, order_id=world["order"].id, operation_id=1,
                            planned_operation_id=1, factory_company_id=anod,
                            machine_id=world["machines"]["anod"].id,
                            start=now - timedelta(days=10 + i), end=now - timedelta(days=9 + i),
                            amount=1000, status="done", respond_by=now, done_at=now))
    session.commit()
    ids = {u.company_id for name, u in users.items() if name != "buyer"}
    assert len(ids) >= 3
    seen = []
    engine = session.get_bind()
    listen = lambda *_a, **_k: seen.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        cards = scorecards.for_companies(session, ids, now)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(seen) == 4, len(seen)
    assert cards == {c: scorecards.scorecard(session, c, now) for c in ids}
    assert cards[anod].jobs_counted == 3


@pytest.mark.usefixtures("in_app")
def test_the_record_goes_into_the_matching_problem(session, world):  # noqa: F811
    problem, index = planning.build_problem(session, start=utcnow(), minutes=7 * 24 * 60,
                                            orders=[])
    risks = {p["id"]: p.get("risk_per_mille") for p in problem["plants"]}
    assert risks and set(risks.values()) == {scorecards.PRIOR_PER_MILLE}


def test_api_and_pages(app, client, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    with app.app_context():
        deliver(session, world)
    buyer = users["buyer"]
    headers = api_token(client, Account(buyer.id, buyer.company_id, buyer.email))
    anod = users["anod"].company_id
    r = client.post(f"/api/v1/orders/{order.id}/reviews", json={
        "factory_id": anod, "quality": 4, "on_time": 5, "communication": 3,
        "comment": "Good"}, headers=headers)
    assert r.status_code == 201, r.json
    assert client.post(f"/api/v1/orders/{order.id}/reviews", json={
        "factory_id": anod, "quality": 4, "on_time": 5, "communication": 3},
        headers=headers).status_code == 409
    factories = client.get("/api/v1/factories?process=anodizing", headers=headers).json
    assert [f["id"] for f in factories["items"]] == [anod]
    one = client.get(f"/api/v1/factories/{anod}", headers=headers).json
    assert set(one["scorecard"]) == {"jobs_counted", "window_days", "on_time_rate",
                                     "defect_rate", "acceptance_rate",
                                     "response_hours_median", "rating"}
    assert one["scorecard"]["on_time_rate"] is None  # fewer than 3 jobs
    assert client.get(f"/api/v1/factories/{buyer.company_id}",
                      headers=headers).status_code == 404
    page = client_of(app, buyer)
    show = page.get(f"/orders/{order.id}", headers=EN).text
    assert "Review the factories" in show  # the mills are still to review
    profile = page.get(f"/factories/{anod}", headers=EN).text
    assert "Good" in profile and "A new factory" in profile
    assert "Factories" in page.get("/factories", headers=EN).text
