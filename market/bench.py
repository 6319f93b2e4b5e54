"""Marketplace benchmarks (`make bench` runs them after the engine's):

    python -m market.bench pages [--seconds 10]          (market/page_bench.py)
    python -m market.bench capacity [--machines 1000] [--windows 200000] [--queries 300]
                                    [--database-url URL] [--write docs/benchmarks.md]

The capacity benchmark fills a scratch PostgreSQL database (created and dropped here unless
--database-url is given) with factories, machines and idle windows, then times capacity
searches through the service layer, as the page and the API run them."""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import SQLModel

from market.accounts.models import Company, User
from market.capacity.models import Capability, CapacityWindow, Machine, Plant
from market.core.db import Session, make_engine

ADMIN_URL = os.environ.get("YUNZAO_BENCH_PG_ADMIN_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
H_CAPACITY = "## Capacity search (PostgreSQL)"
H_QUOTE_HTTP = "## Instant quote through HTTP (PostgreSQL)"


def scratch_database() -> tuple[str, str]:
    name = f"yunzao_bench_{uuid.uuid4().hex[:8]}"
    engine = make_engine(ADMIN_URL)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name, name


def drop_database(name: str) -> None:
    engine = make_engine(ADMIN_URL)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def fill(session: Session, machines: int, windows: int, seed: int,
         start: datetime) -> list[tuple[str, list[str]]]:
    """Factories with `machines` machines and `windows` published windows in total, spread
    as 1-3 shifts a day from `start`. Returns the (process, materials) pairs in use."""
    from seed import taxonomy
    from seed.loader import load_taxonomy

    rng = random.Random(seed)
    load_taxonomy(session)
    processes = [(p["code"], p["materials"]) for p in taxonomy.PROCESSES]
    companies = max(1, machines // 10)
    conn = session.connection()
    conn.execute(insert(Company), [
        {"id": i + 1, "slug": f"bench-{i}", "name": f"Bench factory {i}", "kind": "factory",
         "status": "verified", "country": "CN", "city": "Suzhou", "address": "",
         "description": "", "website": "", "phone": "", "status_reason": "",
         "created_at": start} for i in range(companies)])
    conn.execute(insert(Plant), [
        {"id": i + 1, "company_id": i + 1, "name": f"Plant {i}", "address": "", "city": "",
         "lat": 22 + rng.random() * 10, "lon": 110 + rng.random() * 10,
         "timezone": "Asia/Shanghai", "created_at": start} for i in range(companies)])
    machine_rows, cap_rows = [], []
    for i in range(machines):
        machine_rows.append({"id": i + 1, "plant_id": i % companies + 1, "name": f"M{i}",
                             "kind": "", "status": "active", "created_at": start})
        for code, materials in rng.sample(processes, rng.randint(1, 3)):
            chosen = rng.sample(materials, min(len(materials), rng.randint(1, 4)))
            cap_rows.append({"machine_id": i + 1, "process_code": code, "materials": chosen,
                             "rate_per_hour": rng.randint(5000, 30000), "setup_minutes": 30,
                             "speed": 1.0})
    conn.execute(insert(Machine), machine_rows)
    conn.execute(insert(Capability), cap_rows)
    per_machine = windows // machines
    batch: list[dict] = []
    for i in range(machines):
        day, made = 0, 0
        while made < per_machine:
            for shift in range(rng.choice((1, 2, 3))):
                if made == per_machine:
                    break
                s = start + timedelta(days=day, hours=8 * shift)
                batch.append({"machine_id": i + 1, "start": s, "end": s + timedelta(hours=8),
                              "status": rng.choice(("published",) * 8 + ("booked", "held")),
                              "source": "bench", "created_at": start})
                made += 1
            day += 1
        if len(batch) >= 20000:
            conn.execute(insert(CapacityWindow), batch)
            batch = []
    if batch:
        conn.execute(insert(CapacityWindow), batch)
    session.commit()
    for table in ("company", "plant", "machine", "capability", "capacity_window"):
        conn = session.connection()
        conn.execute(text(f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(select max(id) from {table}))"))
    session.commit()
    session.connection().execute(text("ANALYZE"))
    return processes


def bench_capacity(url: str | None, machines: int, windows: int, queries: int,
                   seed: int) -> str:
    from market.capacity import availability

    name = None
    if url is None:
        url, name = scratch_database()
    engine = make_engine(url)
    try:
        SQLModel.metadata.create_all(engine)
        start = datetime(2027, 1, 4, tzinfo=UTC)
        t0 = time.perf_counter()
        with Session(engine) as session:
            processes = fill(session, machines, windows, seed, start)
            fill_seconds = time.perf_counter() - t0
            viewer = User(id=0, email="bench@example.com", password_hash="x",
                            role="operator")
            rng = random.Random(seed + 1)
            span_days = windows // machines // 2
            timings, hits = [], []
            for _ in range(20):  # warm the caches and the connection pool
                availability.search_capacity(session, viewer, "cnc_milling", None, start,
                                         start + timedelta(days=7))
            for _ in range(queries):
                code, materials = rng.choice(processes)
                material = rng.choice(materials) if materials and rng.random() < 0.7 else None
                a = start + timedelta(days=rng.randint(0, max(1, span_days - 28)))
                b = a + timedelta(days=rng.choice((7, 14, 28)))
                q0 = time.perf_counter()
                found = availability.search_capacity(session, viewer, code, material, a, b,
                                                 min_hours=rng.choice((0, 8, 40)))
                timings.append((time.perf_counter() - q0) * 1000)
                hits.append(len(found))
        timings.sort()
        p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))]  # noqa: E731
        table = "\n".join([
            "| machines | windows | queries | p50 ms | p95 ms | p99 ms | max ms | mean hits |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {machines:,} | {windows:,} | {queries} | {p(0.5):.1f} | {p(0.95):.1f} | "
            f"{p(0.99):.1f} | {timings[-1]:.1f} | {statistics.mean(hits):.0f} |",
        ])
        with engine.connect() as conn:
            version = conn.execute(text("show server_version")).scalar()
        return (f"Command: `python -m market.bench capacity --machines {machines} --windows "
                f"{windows} --queries {queries}`  \nDate: "
                f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC  \nMachine: {os.cpu_count()} cores, "
                f"{platform.machine()}, Python {platform.python_version()}, PostgreSQL "
                f"{version} on 127.0.0.1\n\nEach query: `availability.search_capacity` for a "
                f"random "
                f"process (70% with a material), a 7/14/28-day range and a minimum of 0/8/40 "
                f"hours, as an operator (prices shown). Indexes: capability(process_code), "
                f"capacity_window(machine_id, start), capacity_window(start, end), the GiST "
                f"exclusion index. Target p95 <= 50 ms. Filling the database took "
                f"{fill_seconds:.0f} s.\n\n{table}\n")
    finally:
        engine.dispose()
        if name:
            drop_database(name)


def bench_quote_http(url: str | None, machines: int, windows: int, queries: int,
                     seed: int) -> str:
    """POST /api/v1/orders/{id}/instant-quote through the whole Flask stack (routing, auth,
    validation, the planning bridge, the engine, JSON), with the book full of bookings."""
    from market import create_app
    from market.accounts import service as accounts
    from market.orders import service as orders
    from market.orders import validation

    name = None
    if url is None:
        url, name = scratch_database()
    engine = make_engine(url)
    try:
        SQLModel.metadata.create_all(engine)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = now + timedelta(hours=1)
        with Session(engine) as session:
            fill(session, machines, windows, seed, start)
            booked = session.connection().execute(text(
                "select count(*) from capacity_window where status in ('booked', 'held')"
            )).scalar()
            buyer = accounts.register(session, accounts.Registration(
                email="bench.buyer@example.com", password="bench-password-2026",
                company_name="Bench buyer", company_kind="buyer"))
            buyer.company.status = "verified"
            session.add(buyer.company)
            session.commit()
            order_ids = []
            for i in range(5):
                ops = [validation.OperationInput(p, m, 2.0 + i, None, "") for p, m in (
                    ("cnc_milling", "al6061"), ("deburring", "al6061"), ("anodizing", "al6061"),
                    ("cmm_inspection", None))[: 3 + i % 2]]
                order = orders.create_draft(session, buyer, validation.OrderInput(
                    title=f"Bench order {i}", quantity=100 + 50 * i,
                    due_date=now + timedelta(days=20 + i), delivery_lat=31.2,
                    delivery_lon=121.5, operations=ops))
                order_ids.append(order.id)
            eligible = session.connection().execute(text(
                "select count(*) from capacity_window w join capability c on "
                "c.machine_id = w.machine_id where w.status in ('booked', 'held') and "
                "c.process_code in ('cnc_milling', 'deburring', 'anodizing', 'cmm_inspection')"
            )).scalar()
        app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False, "TESTING": True})
        client = app.test_client()
        token = client.post("/api/v1/tokens", json={"email": "bench.buyer@example.com",
                                                    "password": "bench-password-2026"}).json
        headers = {"Authorization": f"Bearer {token['token']}"}
        timings, found = [], 0
        for i in range(queries + 5):
            q0 = time.perf_counter()
            response = client.post(f"/api/v1/orders/{order_ids[i % 5]}/instant-quote",
                                   headers=headers)
            elapsed = (time.perf_counter() - q0) * 1000
            assert response.status_code == 200, response.get_data(as_text=True)
            if i >= 5:  # the first calls warm imports and caches
                timings.append(elapsed)
                found += response.json.get("price") is not None
        timings.sort()
        p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))]  # noqa: E731
        table = "\n".join([
            "| machines | windows | booked or held | on eligible machines | requests | quoted "
            "| p50 ms | p95 ms | max ms |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {machines:,} | {windows:,} | {booked:,} | {eligible:,} | {queries} | {found} | "
            f"{p(0.5):.0f} | {p(0.95):.0f} | {timings[-1]:.0f} |",
        ])
        return (f"Command: `python -m market.bench quote --machines {machines} --windows "
                f"{windows} --queries {queries}`  \nDate: {datetime.now(UTC):%Y-%m-%d %H:%M} "
                f"UTC  \nMachine: {os.cpu_count()} cores, {platform.machine()}, Python "
                f"{platform.python_version()}, PostgreSQL on 127.0.0.1\n\nEach request: the "
                f"Flask test client posts to `/api/v1/orders/<id>/instant-quote` for one of five "
                f"3-4 operation orders (milling, deburring, anodizing, inspection), bearer "
                f"token auth, against a book with the booked and held windows below. Target "
                f"p95 <= 500 ms.\n\n{table}\n")
    finally:
        engine.dispose()
        if name:
            drop_database(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m market.bench")
    parser.add_argument("what", choices=["capacity", "quote", "pages"])
    parser.add_argument("--seconds", type=int, default=10, help="pages: wrk time per page")
    parser.add_argument("--rounds", type=int, default=5, help="pages: rounds over the pages")
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url")
    parser.add_argument("--write", help="update this Markdown file's section")
    args = parser.parse_args(argv)
    if args.what == "pages":
        from market.page_bench import H_PAGES, bench_pages

        head, section = H_PAGES, bench_pages(args.database_url, args.seconds, args.rounds)
    elif args.what == "capacity":
        head = H_CAPACITY
        section = bench_capacity(args.database_url, args.machines, args.windows, args.queries,
                                 args.seed)
    else:
        head = H_QUOTE_HTTP
        section = bench_quote_http(args.database_url, args.machines, args.windows,
                                   args.queries, args.seed)
    print(section)
    if args.write:
        from matching.bench import update_sections

        update_sections(Path(args.write), {head: section})
    return 0


if __name__ == "__main__":
    sys.exit(main())
