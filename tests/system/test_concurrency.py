"""50 concurrent conflicting approvals and acceptances through HTTP: no overlap, no 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.capacity.models import CapacityWindow
from market.deals.models import Booking
from market.orders import service as orders
from market.orders import validation
from market.orders.models import Order, OrderOperation
from market.payments.models import Payment
from market.runs.models import MatchingRun, PlannedOperation, RunOrder
from tests.conftest import api_token, make_account
from tests.fakes.live_server import LiveServer
from tests.fakes.orders import order_input, seed_capacity

N = 50


def call(url: str, token: dict[str, str], body: dict | None = None) -> int:
    request = urllib.request.Request(url, method="POST", data=json.dumps(body or {}).encode(),
                                     headers={**token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def contested(app, client, session, taxonomy, factory, operator):
    """N orders of N buyers, each proposed by its own run on the same machine hours."""
    machine = seed_capacity(session, factory.company_id,
                            processes=(("cnc_milling", ["al6061"]),), days=3)[0]
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=1)
    runs, buyers = [], []
    from market.capacity.models import Machine

    plant_id = session.get(Machine, machine.id).plant_id
    for i in range(N):
        account = make_account(app, "buyer", f"buyer{i}@example.com")
        b = session.get(User, account.user_id)
        order = orders.create_draft(session, b, order_input(
            operations=[validation.OperationInput("cnc_milling", "al6061", 1.0, None, "")]))
        orders.submit(session, b, order.id)
        op = session.exec(select(OrderOperation).where(OrderOperation.order_id == order.id)).one()
        run = MatchingRun(status="done", time_limit_seconds=1, served=1, unserved=0)
        session.add(run)
        session.flush()
        start = day + timedelta(hours=9, minutes=i % 3 * 30)  # overlapping, not identical
        session.add(RunOrder(run_id=run.id, order_id=order.id, served=True, cost=30000,
                             transport_cost=0, completion=start + timedelta(hours=4),
                             lateness_minutes=0))
        session.add(PlannedOperation(run_id=run.id, order_id=order.id, operation_id=op.id,
                                     machine_id=machine.id, plant_id=plant_id, start=start,
                                     end=start + timedelta(hours=2), cost=30000))
        session.commit()  # SQLite: one writer at a time, and make_account writes next
        runs.append(run.id)
        buyers.append(account)
    return {"runs": runs, "buyers": buyers, "machine": machine.id,
            "op": api_token(client, operator)}


def no_overlap(session, machine_id: int) -> None:
    live = session.exec(select(CapacityWindow).where(
        CapacityWindow.machine_id == machine_id, CapacityWindow.status != "withdrawn")
        .order_by(CapacityWindow.start)).all()
    for a, b in zip(live, live[1:], strict=False):
        assert a.end <= b.start, f"overlap: {a.start}-{a.end} and {b.start}-{b.end}"


def test_concurrent_approvals_and_acceptances(app, client, session, contested):
    with LiveServer(app) as server, ThreadPoolExecutor(N) as pool:
        codes = list(pool.map(
            lambda run_id: call(f"{server.url}/api/v1/matching-runs/{run_id}/approve",
                                contested["op"]), contested["runs"]))
        assert all(code in (200, 409) for code in codes), codes
        session.expire_all()
        winners = session.exec(select(RunOrder).where(RunOrder.decision == "approved")).all()
        # 09:00-11:00, 09:30-11:30 and 10:00-12:00 all overlap each other: one wins
        assert len(winners) == 1
        no_overlap(session, contested["machine"])

        order_id = winners[0].order_id
        buyer = next(b for b in contested["buyers"]
                     if session.get(Order, order_id).buyer_company_id == b.company_id)
        token = api_token(client, buyer)
        quotes = client.get(f"/api/v1/orders/{order_id}/quotes", headers=token).json["items"]
        quote_id = quotes[0]["id"]
        codes = list(pool.map(
            lambda _: call(f"{server.url}/api/v1/quotes/{quote_id}/accept", token), range(N)))
        assert sorted(set(codes)) == [200, 409] and codes.count(200) == 1, codes
    session.expire_all()
    # one acceptance, so one escrow payment; no booking until the money arrives
    assert len(session.exec(select(Payment).where(Payment.order_id == order_id)).all()) == 1
    assert session.exec(select(Booking).where(Booking.order_id == order_id)).all() == []
    no_overlap(session, contested["machine"])
