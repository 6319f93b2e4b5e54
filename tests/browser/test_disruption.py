"""Browser: the week that does not go to plan, in English and Chinese. A factory starts
before the others accept and the order still ships; a factory declines one step and only
that step is re-planned; a machine breaks, the operator reviews the re-plan and approves."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.deals import offers, visibility
from market.deals import service as bookings
from market.orders import service as orders
from market.runs import service as matching_runs
from market.runs.models import MatchingRun
from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import make_live_app, shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import order_input, pay, seed_capacity

pytestmark = pytest.mark.browser

# what the tests look for, per language (the pages' own words)
TEXT = {
    "en": {"accept": "Accept booking", "accepted": "Booking accepted.",
           "start": "Mark started", "done": "Mark done", "ship": "Ship to the buyer",
           "carrier": "Carrier",
           "shipped": "Shipment recorded", "decline": "Decline booking",
           "reason": "Reason for declining", "step_only": "re-planned and the other",
           "hint_step": "the other factories keep their bookings",
           "report": "Report downtime", "what": "What happened", "recorded": "Downtime recorded",
           "moves": "What this re-plan moves", "machine_down": "machine down",
           "approve_all": "Approve all", "at_risk": "reported down during this booking",
           "replaced": "A re-plan moved this work", "confirm": "Confirm delivery"},
    "zh": {"accept": "接受预订", "accepted": "预订已接受。", "start": "标记为开工",
           "done": "标记为完工", "ship": "发货给采购方", "carrier": "承运方",
           "shipped": "发货信息已记录",
           "decline": "拒绝预订", "reason": "拒绝原因", "step_only": "该工序将重新排产",
           "hint_step": "其他工厂的预订保持不变", "report": "报告停机",
           "what": "发生了什么", "recorded": "已记录停机", "moves": "本次重新排产的改动",
           "machine_down": "设备停机", "approve_all": "全部批准",
           "at_risk": "该设备在此预订期间已报停机", "replaced": "重新排产已改派此工作",
           "confirm": "确认收货"},
}
LOCALES = {"en": "en-US", "zh": "zh-CN"}


@pytest.fixture
def live_app(tmp_path):
    # jobs run in the request that queues them: a re-plan is done when the page answers
    return make_live_app(tmp_path, JOBS_MODE="sync", SOLVER_WORKERS=1)


@pytest.fixture(params=["en", "zh"])
def lang(request):
    return request.param


@pytest.fixture
def page(browser, request, server, lang):  # the same as conftest's, in the language asked
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"


def booked(live_app, accepted=("mill1", "mill2", "anod")):
    """Two milling factories and an anodizer; an order matched, approved, paid; the bookings
    accepted by the factories named in `accepted`. Returns emails, machine and booking ids."""
    from market.core.extensions import db

    emails = {"mill1": "mill1@example.com", "mill2": "mill2@example.com",
              "anod": "anod@example.com", "buyer": "buyer@example.com",
              "operator": "ops@example.com"}
    accounts = {k: make_account(live_app, "operator" if k == "operator" else
                                "buyer" if k == "buyer" else "factory", e)
                for k, e in emails.items()}
    with live_app.app_context():
        s = db.session
        machines = {}
        for i, name in enumerate(("mill1", "mill2")):
            machines[name] = seed_capacity(s, accounts[name].company_id,
                                           processes=(("cnc_milling", ["al6061"]),), days=20,
                                           rate=15000 + 2000 * i)[0].id
        machines["anod"] = seed_capacity(s, accounts["anod"].company_id,
                                         processes=(("anodizing", []),), days=20)[0].id
        users = {k: s.get(User, a.user_id) for k, a in accounts.items()}
        order = orders.create_draft(s, users["buyer"], order_input(title="Gimbal bracket",
                                                                   quantity=50))
        orders.submit(s, users["buyer"], order.id)
        run = matching_runs.start_run(s, users["operator"], 2)
        matching_runs.execute(live_app, run.id, "test")
        report = offers.approve(s, users["operator"], run.id)
        bookings.accept_quote(s, users["buyer"], report.quotes[0].id)
        pay(s, users["operator"].id, order.id)
        by_machine = {b.machine_id: b.id for b in visibility.bookings_of_order(s, order.id)}
        owner = {m: k for k, m in machines.items()}
        for machine_id, booking_id in by_machine.items():
            if owner[machine_id] in accepted:
                bookings.accept_booking(s, users[owner[machine_id]], booking_id)
        milling = next(b for m, b in by_machine.items() if m != machines["anod"])
        return {"emails": emails, "machines": machines, "order_id": order.id,
                "milling": milling, "anod": by_machine[machines["anod"]],
                "mill": owner[next(m for m in by_machine if m != machines["anod"])]}


def sign_in(page, server, email):
    browser_sign_in(page, server, email, PASSWORD)


def test_early_start_still_ships(page, server, live_app, lang):
    t, w = TEXT[lang], booked(live_app, accepted=())
    sign_in(page, server, w["emails"][w["mill"]])
    page.goto(f"{server.url}/factory/bookings/{w['milling']}")
    page.get_by_role("button", name=t["accept"]).click()
    page.get_by_text(t["accepted"]).wait_for()
    page.get_by_role("button", name=t["start"]).click()  # before the anodizer has answered
    page.get_by_role("button", name=t["done"]).click()
    page.get_by_role("button", name=t["done"]).wait_for(state="detached")
    shot(page, f"70-early-start-{lang}")
    sign_in(page, server, w["emails"]["anod"])
    page.goto(f"{server.url}/factory/bookings/{w['anod']}")
    page.get_by_role("button", name=t["accept"]).click()
    page.get_by_role("button", name=t["start"]).click()
    page.get_by_role("button", name=t["done"]).click()
    page.get_by_label(t["carrier"]).fill("SF Express")
    page.get_by_role("button", name=t["ship"]).click()  # the action is there: not stuck
    page.get_by_text(t["shipped"]).wait_for()
    sign_in(page, server, w["emails"]["buyer"])
    page.goto(f"{server.url}/orders/{w['order_id']}")
    assert page.get_by_role("button", name=t["confirm"]).is_visible()
    shot(page, f"71-early-start-buyer-{lang}")


def test_one_step_declined_replans_that_step(page, server, live_app, lang):
    from market.core.extensions import db

    t, w = TEXT[lang], booked(live_app)
    sign_in(page, server, w["emails"]["anod"])
    page.goto(f"{server.url}/factory/bookings/{w['anod']}")
    assert page.get_by_text(t["hint_step"]).is_visible()  # says what declining does
    page.get_by_label(t["reason"]).fill("Tank being cleaned")
    page.get_by_role("button", name=t["decline"]).click()
    page.get_by_text(t["step_only"]).wait_for()
    shot(page, f"72-declined-step-{lang}")
    with live_app.app_context():
        run_id = db.session.exec(select(MatchingRun.id).where(
            MatchingRun.kind == "replan")).one()
    sign_in(page, server, w["emails"]["operator"])
    page.goto(f"{server.url}/operator/runs/{run_id}")
    page.get_by_role("heading", name=t["moves"]).wait_for()
    shot(page, f"73-declined-replan-review-{lang}")
    page.get_by_role("button", name=t["approve_all"]).click()
    page.wait_for_load_state()
    # the milling factory's booking was never touched; the anodizer gets a new proposal
    sign_in(page, server, w["emails"]["anod"])
    page.goto(f"{server.url}/factory/bookings")
    links = page.locator("table a[href*='/factory/bookings/']")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert len(hrefs - {f"/factory/bookings/{w['anod']}"}) == 1, hrefs
    page.goto(server.url + (hrefs - {f"/factory/bookings/{w['anod']}"}).pop())
    page.get_by_role("button", name=t["accept"]).click()
    page.get_by_text(t["accepted"]).wait_for()


def test_breakdown_replanned_and_approved(page, server, live_app, lang):
    from market.core.extensions import db
    from market.deals.models import Booking

    t, w = TEXT[lang], booked(live_app)
    with live_app.app_context():
        b = db.session.get(Booking, w["milling"])
        zone = ZoneInfo("Asia/Shanghai")
        start = (b.start - timedelta(hours=1)).astimezone(zone)
        end = (b.end + timedelta(days=1)).astimezone(zone)
        machine_id = b.machine_id
    sign_in(page, server, w["emails"][w["mill"]])
    page.goto(f"{server.url}/factory/machines/{machine_id}")
    page.locator("#down-start-day").fill(start.date().isoformat())
    page.locator("#down-start-time").fill(start.strftime("%H:%M"))
    page.locator("#down-end-day").fill(end.date().isoformat())
    page.locator("#down-end-time").fill(end.strftime("%H:%M"))
    page.get_by_label(t["what"]).fill("Spindle bearing failed")
    page.get_by_role("button", name=t["report"]).click()
    page.get_by_text(t["recorded"]).wait_for()
    shot(page, f"74-breakdown-reported-{lang}")
    page.goto(f"{server.url}/factory/bookings/{w['milling']}")
    page.get_by_text(t["at_risk"]).wait_for()
    with live_app.app_context():
        run_id = db.session.exec(select(MatchingRun.id).where(
            MatchingRun.kind == "replan")).one()
    sign_in(page, server, w["emails"]["operator"])
    page.goto(f"{server.url}/operator/runs/{run_id}")
    page.get_by_role("heading", name=t["moves"]).wait_for()
    assert page.get_by_text(t["machine_down"]).first.is_visible()
    shot(page, f"75-breakdown-review-{lang}")
    page.get_by_role("button", name=t["approve_all"]).click()
    page.wait_for_load_state()
    sign_in(page, server, w["emails"][w["mill"]])
    page.goto(f"{server.url}/factory/bookings/{w['milling']}")
    page.get_by_text(t["replaced"]).wait_for()
    shot(page, f"76-breakdown-replaced-{lang}")
