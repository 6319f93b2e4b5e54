"""The order list page reads `list_order_lines` (plain rows); it lists what `list_orders`
(whole ORM orders, the API's) lists, in the same order, with or without the status counts."""

from __future__ import annotations

import pytest

from market.orders import service as orders
from tests.fakes.orders import order_input, user


@pytest.fixture
def buyer_user(session, taxonomy, buyer):
    return user(session, buyer)


def _summary(order) -> tuple:
    return (order.id, order.title, order.quantity, order.due_date, order.budget,
            order.currency, order.status, tuple(op.process_code for op in order.operations))


def test_order_lines_are_the_orders_as_listed(session, buyer_user):
    made = [orders.create_draft(session, buyer_user, order_input(title=f"Part {i}"))
            for i in range(7)]
    for order in made[:3]:
        orders.submit(session, buyer_user, order.id)
    counts = orders.status_counts(session, buyer_user)
    for status, page in ((None, 1), (None, 2), ("open", 1), ("draft", 2), ("closed", 1)):
        whole, total = orders.list_orders(session, buyer_user, status, page, per_page=3)
        for given in (None, counts):
            lines, lines_total = orders.list_order_lines(session, buyer_user, status, page,
                                                         per_page=3, counts=given)
            assert lines_total == total, (status, page, given)
            assert [(line.id, line.title, line.quantity, line.due_date, line.budget,
                     line.currency, line.status, line.processes) for line in lines] == [
                _summary(o) for o in whole], (status, page)
    assert orders.list_order_lines(session, buyer_user, None, 1, 3)[0][0].processes == (
        "cnc_milling", "anodizing")
