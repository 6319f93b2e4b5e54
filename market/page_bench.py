"""Page speed under load, through the product's own path (`python -m market.bench pages`):
gunicorn (4 workers) serving the app on a scratch PostgreSQL database, wrk (Debian's) with
32 connections from a second process, the same run measuring a bare Flask "hello" as the
yardstick. Signed in as the people who open these pages all day: the buyer's order list
(50 rows of a 200-order account), the factory's bookings, the operator's runs page, the
plant calendar."""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from typing import Any

H_PAGES = "## Pages under load (gunicorn on PostgreSQL)"
PASSWORD = "bench-password-2026"
AGENT = "yunzao-bench"
PAGES = [("buyer", "order list", "/orders/"), ("factory", "bookings", "/factory/bookings"),
         ("operator", "runs", "/operator/runs"),
         ("factory", "calendar", "/factory/plants/{plant}/calendar")]


def hello_app() -> Any:
    """The yardstick: the least a Flask app under gunicorn can do."""
    from flask import Flask

    app = Flask("hello")
    app.add_url_rule("/", "hello", lambda: "hello")
    return app


def fill(url: str, orders: int = 200, booked: int = 60) -> dict[str, Any]:
    """A buyer with `orders` open orders, `booked` of them booked on one factory's machines,
    and an operator; returns the logins and the plant id."""
    from sqlmodel import SQLModel

    from market import create_app, load_models
    from market.accounts import service as accounts
    from market.accounts.models import CompanyStatus, User
    from market.capacity.models import Capability, CapacityWindow, Machine, Plant
    from market.core.db import Session, make_engine
    from market.deals.models import Booking, Quote
    from market.orders import service as order_service
    from market.orders import validation
    from market.runs.models import MatchingRun, PlannedOperation
    from seed.loader import load_taxonomy

    load_models()
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        load_taxonomy(session)
        people = {}
        for role, kind in (("buyer", "buyer"), ("factory", "factory")):
            user = accounts.register(session, accounts.Registration(
                f"{role}@bench.example.com", PASSWORD, f"Bench {role}", kind, "CN", "Suzhou"))
            user.company.status = CompanyStatus.verified.value
            session.add(user.company)
            session.commit()
            people[role] = user
        people["operator"] = accounts.create_operator(session, "ops@bench.example.com",
                                                      PASSWORD, "Bench operator")
        plant = Plant(company_id=people["factory"].company_id, name="Bench plant", lat=31.3,
                      lon=120.6, city="Suzhou")
        session.add(plant)
        session.flush()
        machine = Machine(plant_id=plant.id, name="Mill 1")  # type: ignore[arg-type]
        machine.capabilities = [Capability(process_code="cnc_milling", materials=["al6061"],
                                           rate_per_hour=15000, setup_minutes=30)]
        session.add(machine)
        session.flush()
        day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for d in range(28):
            start = day0 + timedelta(days=d, hours=8)
            session.add(CapacityWindow(machine_id=machine.id, start=start,  # type: ignore[arg-type]
                                       end=start + timedelta(hours=10)))
        buyer = session.get(User, people["buyer"].id)
        data = validation.OrderInput(
            title="Bench bracket", quantity=100, due_date=day0 + timedelta(days=20),
            delivery_lat=31.2, delivery_lon=121.5,
            operations=[validation.OperationInput("cnc_milling", "al6061", 2.0)])
        for i in range(orders):
            order = order_service.create_draft(session, buyer, data)
            order_service.submit(session, buyer, order.id)
            if i >= booked:
                continue
            run = MatchingRun(status="approved", order_ids=[order.id])
            session.add(run)
            session.flush()
            start = day0 + timedelta(days=1 + i % 20, hours=8)
            planned = PlannedOperation(run_id=run.id, order_id=order.id,  # type: ignore[arg-type]
                                       operation_id=order.operations[0].id,  # type: ignore[arg-type]
                                       machine_id=machine.id, plant_id=plant.id,  # type: ignore[arg-type]
                                       start=start, end=start + timedelta(minutes=20),
                                       cost=10_000)
            quote = Quote(order_id=order.id, run_id=run.id, production_cost=10_000,  # type: ignore[arg-type]
                          platform_fee=800, price=10_800, status="accepted",
                          delivery_date=start + timedelta(days=2), expires_at=start)
            session.add_all([planned, quote])
            session.flush()
            session.add(Booking(quote_id=quote.id, order_id=order.id,  # type: ignore[arg-type]
                                operation_id=planned.operation_id,
                                planned_operation_id=planned.id,  # type: ignore[arg-type]
                                factory_company_id=people["factory"].company_id,  # type: ignore[arg-type]
                                machine_id=machine.id, start=planned.start,  # type: ignore[arg-type]
                                end=planned.end, amount=10_000, status="accepted",
                                respond_by=start))
        session.commit()
        return {"plant": plant.id, "emails": {r: u.email for r, u in people.items()}}


def _cookie(base: str, email: str) -> str:
    """Sign in through the login form (with its CSRF token) and return the Cookie header."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    # the session is bound to the client (flask-login "strong" protection): sign in with the
    # same User-Agent wrk sends, or every measured request would be a cheap login redirect
    opener.addheaders = [("User-Agent", AGENT)]
    page = opener.open(base + "/auth/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    fields = {"email": email, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
    opener.open(base + "/auth/login", urllib.parse.urlencode(fields).encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _check_page(url: str, cookie: str) -> int:
    """The page as the signed-in user sees it (a redirect to the login would measure the
    login redirect, not the page): its size in bytes."""
    request = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": AGENT})
    response = urllib.request.build_opener(_NoRedirect()).open(request)
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status} for the signed-in user")
    return len(body)


def _wrk(url: str, cookie: str | None, seconds: int, size: int = 0) -> tuple[float, float]:
    """(requests per second, p99 ms) from wrk with 32 connections; every answer must be the
    page itself (its average size checked against `size`), not a redirect."""
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H", f"User-Agent: {AGENT}",
           url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    read = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read", out)
    if size and read:
        total = float(read.group(2)) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30}[
            read.group(3)]
        if total / int(read.group(1)) < 0.8 * size:
            raise RuntimeError(f"{url}: answers smaller than the page (redirects?)\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    value, unit = float(p99.group(1)), p99.group(2)  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    return rate, value * scale


def _free_port() -> int:
    """A port nothing listens on: a fixed one could answer from a server left running by
    someone else, and the bench would measure that one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(target: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    # as README.md serves it: 4 sync workers (one request at a time each, the CPU-bound
    # case), the app in production settings (no debug, no template reloading)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "4", "--worker-class", "sync", "-b",
         f"127.0.0.1:{port}", "--log-level", "warning", target], env=env,
        start_new_session=True)
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn {target} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"gunicorn did not start {target}")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(10)


def bench_pages(database_url: str | None, seconds: int = 10, rounds: int = 5) -> str:
    """Each page is measured between two runs of hello of half its time, with both servers
    up, and compared to their mean: on a machine shared with other work the load changes
    from one minute to the next (a virtual machine's capacity within seconds), and a hello
    measured once at the start made the ratios swing from 2% to 10% between runs of the
    same code. `rounds` times over all pages: one round of the same code still moved a
    page's share by a tenth or more, so the table gives each page's median round and the
    range."""
    from market.bench import drop_database, scratch_database

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    load = os.getloadavg()[0]  # before this benchmark adds its own
    url, name = (database_url, None) if database_url else scratch_database()
    hello_port, app_port = _free_port(), _free_port()
    hello_url, base = f"http://127.0.0.1:{hello_port}/", f"http://127.0.0.1:{app_port}"
    try:
        world = fill(url)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 40,
               "YUNZAO_ENV": "production", "FLASK_DEBUG": "0", "JOBS_MODE": "sync",
               "SCHEDULE_IN_PROCESS": "0"}
        hello = _serve("market.page_bench:hello_app()", hello_port, env)
        app = None
        rows = []
        try:
            app = _serve("wsgi:app", app_port, env)
            cookies = {role: _cookie(base, email) for role, email in world["emails"].items()}
            _wrk(hello_url, None, 1)
            measured: dict[str, list[tuple[float, float, float, float]]] = {}
            sizes: dict[str, int] = {}
            for _round in range(rounds):
                for role, label, path in PAGES:
                    page = base + path.format(plant=world["plant"])
                    size = sizes[label] = _check_page(page, cookies[role])
                    # a second of load first, so that every worker has compiled its
                    # templates and read the taxonomy: the steady state is what is measured
                    _wrk(page, cookies[role], 1, size)
                    # hello just before and just after the page, averaged: this machine's
                    # capacity drifts within seconds (a virtual machine's neighbours)
                    before, before_p99 = _wrk(hello_url, None, max(1, seconds // 2))
                    rate, p99 = _wrk(page, cookies[role], seconds, size)
                    after, after_p99 = _wrk(hello_url, None, max(1, seconds // 2))
                    measured.setdefault(label, []).append(
                        (rate, p99, (before + after) / 2, max(before_p99, after_p99)))
            for _role, label, path in PAGES:
                runs = sorted(measured[label], key=lambda m: m[0] / m[2])
                rate, p99, hello_rate, hello_p99 = runs[len(runs) // 2]  # the median round
                shares = [100 * m[0] / m[2] for m in runs]
                rows.append((label, path, rate, p99, sizes[label], hello_rate, hello_p99,
                             shares[0], shares[-1]))
        finally:
            if app is not None:
                _stop(app)
            _stop(hello)
    finally:
        if name:
            drop_database(name)
    lines = [  # the heading is written by update_sections
        f"Command: `python -m market.bench pages --seconds {seconds} --rounds {rounds}`  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL on 127.0.0.1; gunicorn -w 4 (sync workers, "
        f"YUNZAO_ENV=production, no debug); wrk -t2 -c32, {seconds} s per page after 1 s of "
        f"warm-up, each page between two {max(1, seconds // 2)} s runs of hello (their mean is "
        f"its hello); signed in (a real session cookie); {rounds} rounds over the pages, "
        f"each page's median round shown with the range of its shares. Load average "
        f"before the run {load:.1f} (over about 1, other work shared the cores).", "",
        "World: a buyer with 200 orders (60 booked on one factory's machine), 28 days of "
        "idle windows. Target per page: at least 8% of hello's requests/s in the same run, "
        "p99 <= 150 ms.", "",
        "| page | path | bytes | requests/s | hello around it | % of hello | rounds' range "
        "% | p99 ms | hello p99 ms | target met |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |"]
    for label, path, rate, p99, size, hello_rate, hello_p99, low, high in rows:
        share = 100 * rate / hello_rate
        met = "yes" if share >= 8 and p99 <= 150 else "no"
        lines.append(f"| {label} | {path} | {size:,} | {rate:,.0f} | {hello_rate:,.0f} | "
                     f"{share:.1f} | {low:.1f}-{high:.1f} | {p99:.0f} | {hello_p99:.0f} | "
                     f"{met} |")
    return "\n".join(lines) + "\n"
