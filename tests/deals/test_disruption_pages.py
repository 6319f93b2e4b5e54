"""The breakdown story on the pages: the factory reports a machine down, the operator reviews
the re-plan as a diff and approves it, the factories see what moved."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from market.accounts.models import User
from market.deals.models import Booking
from tests.conftest import Account, login
from tests.deals.test_disruption import app_config, live, world  # noqa: F401 (fixtures)

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}


def client_of(app, user: User):
    return login(app.test_client(), Account(user.id, user.company_id, user.email))


def test_breakdown_reported_reviewed_and_approved_on_the_pages(app, session, world):  # noqa: F811
    users, machines, order = world["users"], world["machines"], world["order"]
    milling = next(b for b in live(session, order.id) if b.machine_id != machines["anod"].id)
    name = "mill1" if milling.machine_id == machines["mill1"].id else "mill2"
    factory = client_of(app, users[name])
    page = factory.get(f"/factory/machines/{milling.machine_id}", headers=EN)
    assert page.status_code == 200 and "Report a breakdown" in page.text
    zone = ZoneInfo("Asia/Shanghai")
    start = (milling.start - timedelta(hours=1)).astimezone(zone)
    end = (milling.end + timedelta(days=1)).astimezone(zone)
    form = {"down_start_day": start.date().isoformat(), "down_start_time": start.strftime("%H:%M"),
            "down_end_day": end.date().isoformat(), "down_end_time": end.strftime("%H:%M"),
            "reason": "Spindle bearing failed"}
    done = factory.post(f"/factory/machines/{milling.machine_id}/downtime", data=form,
                        headers=EN, follow_redirects=True)
    assert "Downtime recorded" in done.text and "1 booked operations" in done.text
    assert "Spindle bearing failed" in done.text  # listed under reported downtime
    booking_page = factory.get(f"/factory/bookings/{milling.id}", headers=EN)
    assert "reported down during this booking" in booking_page.text
    assert "at risk" in factory.get("/factory/bookings", headers=EN).text

    operator = client_of(app, users["operator"])
    session.expire_all()
    run_id = session.get(Booking, milling.id) and _replan_id(session)
    review = operator.get(f"/operator/runs/{run_id}", headers=EN)
    assert review.status_code == 200
    assert "Re-plan #" in review.text and "What this re-plan moves" in review.text
    assert "machine down" in review.text and machines[name].name in review.text
    before = operator.get(f"/operator/runs/{run_id}/orders/{order.id}/gantt?when=before",
                          headers=EN)
    after = operator.get(f"/operator/runs/{run_id}/orders/{order.id}/gantt", headers=EN)
    assert before.status_code == after.status_code == 200
    assert "before the re-plan" in before.text and "<svg" in before.text
    assert before.text != after.text  # the milling moved to the other plant
    zh = operator.get(f"/operator/runs/{run_id}", headers=ZH)
    assert "重新排产" in zh.text
    approved = operator.post(f"/operator/runs/{run_id}/approve", data={"all": "1"},
                             headers=EN, follow_redirects=True)
    assert approved.status_code == 200
    session.expire_all()
    assert session.get(Booking, milling.id).status == "replaced"
    assert "A re-plan moved this work" in factory.get(f"/factory/bookings/{milling.id}",
                                                      headers=EN).text


def test_bad_downtime_input_is_shown_in_place_and_kept(app, session, world):  # noqa: F811
    users, machines = world["users"], world["machines"]
    factory = client_of(app, users["mill1"])
    url = f"/factory/machines/{machines['mill1'].id}/downtime"
    page = factory.post(url, data={"down_start_day": "2030-01-02", "down_start_time": "08:00",
                                   "down_end_day": "2030-01-01", "down_end_time": "08:00",
                                   "reason": "Hydraulics"}, headers=EN)
    assert page.status_code == 422
    assert "The end must be after the start." in page.text
    assert 'value="Hydraulics"' in page.text  # what was typed is kept
    page = factory.post(url, data={"down_start_day": "", "down_start_time": "8",
                                   "down_end_day": "2030-01-01", "down_end_time": "08:00",
                                   "reason": ""}, headers=EN)
    assert page.status_code == 422 and "Give a day and a time" in page.text
    other = client_of(app, users["mill2"])
    assert other.post(url, data={}, headers=EN).status_code == 404


def _replan_id(session):
    from sqlmodel import select

    from market.runs.models import MatchingRun

    return session.exec(select(MatchingRun.id).where(MatchingRun.kind == "replan")).one()


def test_rush_from_the_runs_page(app, session, world):  # noqa: F811
    from datetime import UTC, datetime

    from market.orders import service as orders
    from tests.fakes.orders import order_input

    users = world["users"]
    rush = orders.create_draft(session, users["buyer"], order_input(
        title="Rush", quantity=20, due_date=datetime.now(UTC) + timedelta(days=2)))
    orders.submit(session, users["buyer"], rush.id)
    operator = client_of(app, users["operator"])
    page = operator.get("/operator/runs", headers=EN)
    assert "Rush the ticked orders" in page.text
    bad = operator.post("/operator/runs", data={"kind": "rush", "order_ids": [rush.id],
                                                 "time_limit_seconds": "lots"},
                        headers=EN, follow_redirects=True)
    assert "1 to 600 seconds" in bad.text
    done = operator.post("/operator/runs", data={"kind": "rush", "order_ids": [rush.id],
                                                  "time_limit_seconds": "2"},
                         headers=EN, follow_redirects=True)
    assert done.status_code == 200 and "Rush re-plan #" in done.text
    assert "What this re-plan moves" in done.text


def test_run_review_shows_each_orders_risk_cost(app, session, world):  # noqa: F811
    from sqlmodel import select

    from market.quality.scorecards import PRIOR_PER_MILLE
    from market.runs.instant_quote import RISK_COST
    from market.runs.models import MatchingRun

    first = session.exec(select(MatchingRun).where(MatchingRun.kind == "match")).first()
    order = world["order"]
    parts = first.stats["parts"][str(order.id)]
    # two operations by factories without a record: the prior risk on each
    assert parts["risk"] == 2 * round(RISK_COST * PRIOR_PER_MILLE / 1000)
    operator = client_of(app, world["users"]["operator"])
    page = operator.get(f"/operator/runs/{first.id}", headers=EN).text
    assert ">Risk<" in page and "¥{:,.2f}".format(parts["risk"] / 100) in page
