"""Benchmark: instant-quote latency through the HTTP endpoint with 10,000 booked windows.

Run by hand (not a test):

    .venv/bin/python -m market.bench_quote                  # temporary SQLite file
    .venv/bin/python -m market.bench_quote --postgres       # temporary PostgreSQL database
    .venv/bin/python -m market.bench_quote --machines 250 --days 40 --requests 50

It builds a world of verified factories (one plant per 10 machines around the Yangtze
delta), every machine with a booked 08:00-12:00 and a published 12:00-20:00 window (UTC) a
day, so machines x days booked windows, then posts instant quotes for a two-step order
(60 parts: CNC milling then anodizing; each step fits in one afternoon, because an operation
cannot run across a booking) through the Flask test client with a bearer token and prints
p50/p95/max. The issue's target: p95 <= 500 ms."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import SQLModel

import market.models  # noqa: F401  (registers the tables for create_all)
from market import create_app
from market.db import make_engine

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def build_world(app, machines: int, days: int) -> dict[str, str]:
    from market.extensions import db
    from market.models import (
        Capability,
        CapacityWindow,
        Company,
        CompanyStatus,
        Machine,
        Plant,
        WindowStatus,
    )
    from market.services import accounts
    from seed.loader import load_taxonomy

    with app.app_context():
        session = db.session
        load_taxonomy(session)
        password = "bench horse battery staple"
        buyer = accounts.register(session, accounts.Registration(
            email="bench-buyer@example.com", password=password, company_name="Bench Buyer",
            company_kind="buyer"))
        day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = []
        plant = None
        for i in range(machines):
            if i % 10 == 0:
                company = Company(slug=f"bench-f{i}", name=f"Bench factory {i // 10}",
                                  kind="factory", status=CompanyStatus.verified.value)
                session.add(company)
                session.flush()
                plant = Plant(company_id=company.id, name="Plant", lat=30.5 + (i % 37) / 20,
                              lon=119.5 + (i % 41) / 20)
                session.add(plant)
                session.flush()
            process, materials = (("anodizing", []) if i % 5 == 4
                                  else ("cnc_milling", ["al6061", "al7075"]))
            machine = Machine(plant_id=plant.id, name=f"M{i}")  # type: ignore[union-attr]
            machine.capabilities = [Capability(process_code=process, materials=materials,
                                               rate_per_hour=12_000 + 100 * (i % 30),
                                               setup_minutes=30, speed=1.0 + (i % 3) / 10)]
            session.add(machine)
            session.flush()
            for d in range(days):
                start = day0 + timedelta(days=d, hours=8)
                rows.append(CapacityWindow(machine_id=machine.id, start=start,
                                           end=start + timedelta(hours=4),
                                           status=WindowStatus.booked.value))
                rows.append(CapacityWindow(machine_id=machine.id,
                                           start=start + timedelta(hours=4),
                                           end=start + timedelta(hours=12)))
        session.add_all(rows)
        session.commit()
        return {"email": buyer.email, "password": password}


def run(url: str, machines: int, days: int, requests: int) -> None:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench",
                      "ATTACHMENT_DIR": tempfile.mkdtemp()})
    t0 = time.perf_counter()
    login = build_world(app, machines, days)
    print(f"world: {machines} machines x {days} days = {machines * days} booked windows "
          f"(+ as many published), built in {time.perf_counter() - t0:.1f} s")
    client = app.test_client()
    token = client.post("/api/v1/tokens", json=login).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    due = (datetime.now(UTC) + timedelta(days=min(days, 30))).isoformat()
    order = client.post("/api/v1/orders", headers=headers, json={
        "title": "Bench bracket", "quantity": 60, "due_date": due,
        "delivery": {"address": "Shanghai", "lat": 31.23, "lon": 121.47},
        "operations": [{"process": "cnc_milling", "material": "al6061", "minutes_per_unit": 6},
                       {"process": "anodizing", "material": "al6061",
                        "minutes_per_unit": 0.8}]}).json
    times = []
    body = {}
    for _ in range(requests):
        start = time.perf_counter()
        response = client.post(f"/api/v1/orders/{order['id']}/instant-quote", headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        body = response.json
        assert response.status_code == 200, body
    times.sort()
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    print(f"quote: price {body['price']} {body['currency']}, delivery {body['delivery_date']}, "
          f"plants {body['plants']}, reason {body['reason']}")
    print(f"latency over {requests} requests: p50 {statistics.median(times):.0f} ms, "
          f"p95 {p95:.0f} ms, max {times[-1]:.0f} ms (target p95 <= 500 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="use a temporary PG database")
    parser.add_argument("--machines", type=int, default=250)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    if args.postgres:
        from sqlalchemy import text

        name = f"yunzao_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_ADMIN)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(PG_ADMIN.rsplit("/", 1)[0] + "/" + name, args.machines, args.days, args.requests)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args.machines, args.days,
                args.requests)


if __name__ == "__main__":
    main()
