"""Browser: the operator's run form says what it will do: ticking orders switches the scope
to the ticked orders, the approve buttons ask first."""

from __future__ import annotations

import pytest
from sqlmodel import select

from market.accounts.models import User
from market.orders import service as orders
from tests.conftest import PASSWORD, make_account
from tests.fakes.live_server import shot
from tests.fakes.live_server import sign_in as browser_sign_in
from tests.fakes.orders import order_input

pytestmark = pytest.mark.browser


def test_ticking_orders_switches_the_scope(page, server, live_app):
    from market.core.extensions import db

    make_account(live_app, "operator", "ops@example.com")
    make_account(live_app, "buyer", "buyer@example.com")
    with live_app.app_context():
        buyer = db.session.exec(select(User).where(User.email == "buyer@example.com")).one()
        ids = []
        for title in ("Bracket", "Flange"):
            order = orders.create_draft(db.session, buyer, order_input(title=title))
            orders.submit(db.session, buyer, order.id)
            ids.append(order.id)
    browser_sign_in(page, server, "ops@example.com", PASSWORD)
    page.goto(f"{server.url}/operator/runs")
    scope_all = page.locator('input[name="scope"][value="all"]')
    scope_selected = page.locator('input[name="scope"][value="selected"]')
    assert scope_all.is_checked()
    page.get_by_text("Choose orders").click()
    page.locator(f"#pick-{ids[0]}").check()
    assert scope_selected.is_checked()
    page.locator(f"#pick-{ids[0]}").uncheck()
    assert scope_all.is_checked()
    # the radio sits beside its label, not across the form
    radio, label = scope_all.bounding_box(), page.get_by_text("Only the orders ticked below")
    assert label.bounding_box()["x"] - radio["x"] < 60
    shot(page, "80-operator-run-form")


def test_the_accessibility_check_finds_problems(page, server):
    """The axe-core check run on every screenshot can fail: an unlabeled field and text too
    faint to read are reported."""
    from tests.fakes.live_server import accessibility_problems

    page.goto(f"{server.url}/auth/login")
    page.evaluate("""() => {
        const input = document.createElement('input');
        document.querySelector('main').append(input);
        const faint = document.createElement('p');
        faint.textContent = 'faint';
        faint.style.color = '#eeeeee';
        document.querySelector('main').append(faint);
    }""")
    problems = " ".join(accessibility_problems(page))
    assert "label" in problems and "color-contrast" in problems
