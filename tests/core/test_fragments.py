"""Rows and fragments remembered by what they show (market.core.fragments): a template given
to `rows` or `fragment` may depend on its values, the reader's language and zone alone, and
a row that changed shows its new values on the next page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2 import meta

from market.core import fragments
from market.orders import service as orders
from market.orders.models import Order
from tests.fakes.orders import order_input, user

TEMPLATES = Path(__file__).resolve().parents[2] / "market" / "templates"
# what differs between readers of one language, or between requests: never in a remembered
# fragment (it would show one reader's token, name or page to the next)
PER_REQUEST = {"request", "session", "g", "current_user", "csrf_token",
               "get_flashed_messages", "unread_notifications", "config"}
CALL = re.compile(r"""\b(rows|fragment)\(\s*["']([^"']+)["'](.*?)\)\s*}}""", re.DOTALL)
STRING = re.compile(r"""["'](\w+)["']""")
KEYWORD = re.compile(r"(\w+)\s*=(?!=)")


def _remembered() -> dict[str, set[str]]:
    """Every template some page passes to rows() or fragment(), with the names its callers
    give it (a row's name, a fragment's keywords)."""
    found: dict[str, set[str]] = {}
    for path in TEMPLATES.rglob("*.html"):
        for kind, name, rest in CALL.findall(path.read_text(encoding="utf-8")):
            given = STRING.findall(rest)[-1:] if kind == "rows" else KEYWORD.findall(rest)
            found.setdefault(name, set()).update(given)
    return found


def test_pages_remember_their_rows_and_navigation():
    names = _remembered()
    assert {"orders/_order_row.html", "deals/_booking_row.html", "operator/_run_row.html",
            "operator/_order_pick.html", "_topbar.html"} <= set(names), names


@pytest.mark.parametrize("name", sorted(_remembered()))
def test_remembered_templates_read_nothing_of_the_request(app, name):
    env = app.jinja_env
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    used = meta.find_undeclared_variables(env.parse(source))
    assert not used & PER_REQUEST, (name, used & PER_REQUEST)
    # nothing from a context processor either (rows are rendered without them): only the
    # values the callers give and the environment's own globals
    unknown = {v for v in used if v not in env.globals}
    assert unknown <= _remembered()[name], (name, unknown)


def test_a_row_is_rendered_once_then_looked_up(app, buyer, monkeypatch):
    from market.orders.service import OrderLine

    line = OrderLine(7, "Bracket <b>", 1200, datetime(2026, 12, 24, 8, tzinfo=UTC), 150000,
                     "CNY", "open", ("cnc_milling",))
    calls = []
    real = app.jinja_env.get_template

    def counting(name, *args, **kwargs):
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(app.jinja_env, "get_template", counting)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        first = fragments.rows("orders/_order_row.html", [line], "o")
        again = fragments.rows("orders/_order_row.html", [line], "o")
        changed = fragments.rows("orders/_order_row.html", [line._replace(status="quoted")], "o")
    assert first == again and calls.count("orders/_order_row.html") == 2  # the first, the change
    assert "Bracket &lt;b&gt;" in first and "1,200" in first and "¥1,500.00" in first
    assert "order-open" in first and "order-quoted" in changed
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        chinese = fragments.rows("orders/_order_row.html", [line], "o")
    assert chinese != first  # the status label in the reader's language, not the first's
    assert calls.count("orders/_order_row.html") == 3


def test_the_memo_starts_afresh_when_full(app, monkeypatch):
    from market.orders.service import OrderLine

    monkeypatch.setattr(fragments, "MEMO_ROWS", 3)
    lines = [OrderLine(i, f"Part {i}", 1, datetime(2026, 12, 24, tzinfo=UTC), None, "CNY",
                       "open", ()) for i in range(10)]
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        html = fragments.rows("orders/_order_row.html", lines, "o")
        assert len(fragments._memo()) <= 3
    assert all(f"Part {i}<" in html for i in range(10))


def test_the_list_page_shows_a_changed_order_at_once(app, buyer_client, buyer, session,
                                                     taxonomy):
    order = orders.create_draft(session, user(session, buyer), order_input(title="Flange"))
    first = buyer_client.get("/orders/", headers={"Accept-Language": "en"}).get_data(True)
    assert "Flange" in first
    row = session.get(Order, order.id)
    row.title = "Flange, revised"
    session.add(row)
    session.commit()
    again = buyer_client.get("/orders/", headers={"Accept-Language": "en"}).get_data(True)
    assert "Flange, revised" in again


def test_the_navigation_marks_the_page_it_is_on(app, buyer_client):
    orders_page = buyer_client.get("/orders/").get_data(True)
    receipts = buyer_client.get("/payments/receipts").get_data(True)

    def current(html: str) -> list[str]:
        return re.findall(r'<a href="([^"]+)" aria-current="page"', html)

    assert current(orders_page) == ["/orders/"]
    assert current(receipts) != current(orders_page)
