"""No N+1 on the pages people open all day (issue "Locked doors", fast pages under load):
the buyer's order list, the factory's bookings and calendar, the operator's runs page cost
the same number of queries with one order in the book as with several."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from market.capacity.models import Machine
from market.catalog import service as catalog
from market.deals import service as bookings
from tests.conftest import login
from tests.fakes.orders import pay
from tests.payments.conftest import account_of, make_quote, people  # noqa: F401

PAGES = {"buyer": ["/orders/"], "mill": ["/factory/bookings", "/factory/plants/{plant}/calendar",
                                         "/factory/"],
         "operator": ["/operator/runs", "/operator/"]}
# queries per page, whatever the book holds: the signed-in user with its company and unread
# count (one), then the page's own; a page that asks more is a regression
EXPECTED = {"/orders/": 3,  # status counts, the page of orders joined to their routings
            "/factory/bookings": 3,  # what is due, the page of bookings joined
            "/factory/plants/{plant}/calendar": 3,  # plant with its machines, windows
            "/factory/": 3,
            "/operator/runs": 5,  # what is due (stale runs, overdue), runs, open orders, declines
            "/operator/": 12}


@pytest.fixture
def app_config(app_config):
    # background jobs (the mails of the setup's notifications) run at once, so none of
    # their queries lands in a page's count
    return {**app_config, "JOBS_MODE": "sync"}


def _count(app, client, url: str) -> int:
    engine = app.extensions["yunzao_db"]
    seen = [0]

    def before(*_args, **_kwargs) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        response = client.get(url, headers={"Accept-Language": "en"})
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert response.status_code == 200, (url, response.status_code)
    return seen[0]


def _add_booked_order(session, people) -> None:  # noqa: F811
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)


def test_query_counts_do_not_grow_with_the_book(app, session, people):  # noqa: F811
    clients = {role: login(app.test_client(), account_of(people, role, app))
               for role in PAGES}
    plant = session.get(Machine, people["machines"][0].id).plant_id
    counts = {}
    for size in (1, 4):
        while len(counts.get("orders", [])) < size:
            _add_booked_order(session, people)
            counts.setdefault("orders", []).append(size)
        # the taxonomy is read once per process (market.catalog.service), then kept: the
        # first page after a start pays for it, the steady state is what is counted
        catalog.forget()
        cold = _count(app, clients["buyer"], "/orders/")
        counts[size] = {url: _count(app, clients[role], url.format(plant=plant))
                        for role, urls in PAGES.items() for url in urls}
    print("query counts", counts[4])
    assert counts[1] == counts[4], counts
    assert cold == counts[4]["/orders/"] + 4, (cold, counts[4])  # its four tables, once
    assert counts[4] == EXPECTED, counts[4]
