"""The orders service on SQLite and PostgreSQL: validation, drafts, transitions, access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from market.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.orders import lifecycle, validation
from market.orders import service as orders
from market.orders.models import Order, OrderEvent, OrderOperation, OrderStatus
from tests.conftest import make_account
from tests.fakes.orders import order_input, user


@pytest.fixture
def buyer_client(buyer_client):
    """Pages in English: the messages the tests look for (the default locale is zh)."""
    buyer_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return buyer_client


@pytest.fixture
def buyer_user(session, taxonomy, buyer):
    return user(session, buyer)


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_create_draft_stores_routing_and_timeline(session, buyer_user):
    order = orders.create_draft(session, buyer_user, order_input())
    assert order.status == OrderStatus.draft
    assert order.buyer_company_id == buyer_user.company_id
    assert [(op.seq, op.process_code, op.material_code) for op in order.operations] == [
        (1, "cnc_milling", "al6061"), (2, "anodizing", "al6061")]
    assert order.due_date.tzinfo is not None
    assert [e.kind for e in orders.timeline(session, order)] == ["created"]


def test_missing_minutes_take_the_typical_value(session, buyer_user):
    data = order_input(operations=[validation.OperationInput("cnc_milling", "al6061", None)])
    order = orders.create_draft(session, buyer_user, data)
    assert order.operations[0].minutes_per_unit == orders.suggested_minutes(session,
                                                                            "cnc_milling")


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"due_date": datetime.now(UTC) - timedelta(days=1)}, "due_date"),
        ({"due_date": "2030-01-01T00:00:00"}, "due_date"),  # no offset
        ({"due_date": "next tuesday"}, "due_date"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"delivery_lat": 100}, "delivery.lat"),
        ({"delivery_lon": -181}, "delivery.lon"),
        ({"delivery_lat": None}, "delivery.lat"),
        ({"delivery_lat": float("nan")}, "delivery.lat"),
        ({"budget": -1}, "budget"),
        ({"budget": 10.5}, "budget"),
        ({"currency": "USD"}, "currency"),
        ({"operations": []}, "operations"),
        ({"operations": [validation.OperationInput("teleportation", "al6061", 1)]},
         "operations.0.process"),
        ({"operations": [validation.OperationInput("", "al6061", 1)]}, "operations.0.process"),
        ({"operations": [validation.OperationInput("anodizing", "pa12", 1)]},
         "operations.0.material"),
        ({"operations": [validation.OperationInput("cnc_milling", None, 1)]},
         "operations.0.material"),
        ({"operations": [validation.OperationInput("cnc_milling", "unobtainium", 1)]},
         "operations.0.material"),
        ({"operations": [validation.OperationInput("cnc_milling", "al6061", 0)]},
         "operations.0.minutes_per_unit"),
        ({"operations": [validation.OperationInput("cnc_milling", "al6061", 1, -0.1)]},
         "operations.0.tolerance_mm"),
        ({"operations": [validation.OperationInput("cnc_milling", "al6061", 1)] * 31},
         "operations"),
    ],
)
def test_validation_errors_name_the_field_and_save_nothing(session, buyer_user, overrides,
                                                           field):
    with pytest.raises(ValidationError) as info:
        orders.create_draft(session, buyer_user, order_input(**overrides))
    assert field in info.value.fields, info.value.fields
    assert info.value.fields[field]
    session.rollback()
    assert count(session, Order) == 0
    assert count(session, OrderOperation) == 0


def test_every_problem_is_reported_at_once(session, buyer_user):
    with pytest.raises(ValidationError) as info:
        orders.create_draft(session, buyer_user, order_input(quantity=0, delivery_lat=100,
                                                             budget=-1, operations=[]))
    assert {"quantity", "delivery.lat", "budget", "operations"} <= set(info.value.fields)


def test_process_without_materials_accepts_any_or_none(session, buyer_user):
    data = order_input(operations=[validation.OperationInput("cmm_inspection", None, 10),
                                   validation.OperationInput("manual_assembly", "pa12", 2)])
    order = orders.create_draft(session, buyer_user, data)
    assert [op.material_code for op in order.operations] == [None, "pa12"]


def test_only_buyers_post_orders(app, session, taxonomy):
    factory = make_account(app, "factory")
    with pytest.raises(PermissionDenied):
        orders.create_draft(session, user(session, factory), order_input())
    both = make_account(app, "both")
    assert orders.create_draft(session, user(session, both), order_input()).id
    operator = make_account(app, "operator")
    with pytest.raises(PermissionDenied):
        orders.create_draft(session, user(session, operator), order_input())


def test_unverified_buyer_can_draft_and_submit_but_is_not_offered(app, session, taxonomy):
    pending = user(session, make_account(app, "buyer", verified=False))
    order = orders.create_draft(session, pending, order_input())
    orders.submit(session, pending, order.id)
    assert order.status == OrderStatus.open
    assert not orders.is_offered(session, order)
    assert orders.offered_orders(session) == []
    submitted = [e for e in orders.timeline(session, order) if e.kind == "submitted"][0]
    assert submitted.details == {"offered": False}
    pending.company.status = "verified"
    session.add(pending.company)
    session.commit()
    assert orders.is_offered(session, order)
    assert [o.id for o in orders.offered_orders(session)] == [order.id]


def test_suspended_buyer_cannot_submit(session, buyer_user):
    order = orders.create_draft(session, buyer_user, order_input())
    buyer_user.company.status = "suspended"
    session.add(buyer_user.company)
    session.commit()
    with pytest.raises(PermissionDenied, match="suspended"):
        orders.submit(session, buyer_user, order.id)
    with pytest.raises(PermissionDenied, match="suspended"):
        orders.create_draft(session, buyer_user, order_input())
    session.rollback()
    assert session.get(Order, order.id).status == "draft"


def test_update_draft_replaces_routing(session, buyer_user):
    order = orders.create_draft(session, buyer_user, order_input())
    data = order_input(title="Bracket v2", quantity=50, operations=[
        validation.OperationInput("anodizing", "al6061", 1.0),
        validation.OperationInput("cnc_milling", "al6061", 5.0),
        validation.OperationInput("deburring", "al6061", 1.5),
    ])
    order = orders.update_draft(session, buyer_user, order.id, data)
    assert order.title == "Bracket v2" and order.quantity == 50
    assert [op.process_code for op in order.operations] == ["anodizing", "cnc_milling",
                                                            "deburring"]
    assert count(session, OrderOperation) == 3
    assert [e.kind for e in orders.timeline(session, order)] == ["created", "updated"]


def test_bad_update_keeps_the_draft(session, buyer_user):
    order = orders.create_draft(session, buyer_user, order_input())
    with pytest.raises(ValidationError):
        orders.update_draft(session, buyer_user, order.id, order_input(quantity=0))
    session.rollback()
    again = session.get(Order, order.id)
    assert again.quantity == 200 and len(again.operations) == 2


def test_transitions(session, buyer_user):
    order = orders.create_draft(session, buyer_user, order_input())
    orders.submit(session, buyer_user, order.id)
    assert order.status == "open" and order.submitted_at is not None
    with pytest.raises(Conflict, match="already submitted"):
        orders.submit(session, buyer_user, order.id)
    with pytest.raises(Conflict, match="Only drafts can be edited"):
        orders.update_draft(session, buyer_user, order.id, order_input())
    orders.cancel(session, buyer_user, order.id, "Design changed")
    assert order.status == "cancelled" and order.cancel_reason == "Design changed"
    with pytest.raises(Conflict, match="already cancelled"):
        orders.cancel(session, buyer_user, order.id)
    with pytest.raises(Conflict, match="Only drafts can be submitted"):
        orders.submit(session, buyer_user, order.id)
    kinds = [e.kind for e in orders.timeline(session, order)]
    assert kinds == ["created", "submitted", "cancelled"]


@pytest.mark.parametrize("status", ["in_production", "shipped", "delivered", "closed",
                                    "disputed"])
def test_cancel_refused_once_in_production(session, buyer_user, status):
    order = orders.create_draft(session, buyer_user, order_input())
    order.status = status
    session.add(order)
    session.commit()
    with pytest.raises(Conflict) as info:
        orders.cancel(session, buyer_user, order.id)
    assert info.value.status == 409 and "cancel" in info.value.message


def test_every_lifecycle_state_has_an_entry():
    assert set(lifecycle.TRANSITIONS) == {s.value for s in OrderStatus}
    for targets in lifecycle.TRANSITIONS.values():
        assert targets <= {s.value for s in OrderStatus}


def test_submit_rechecks_the_due_date(session, buyer_user):
    order = orders.create_draft(session, buyer_user, order_input())
    later = order.due_date + timedelta(days=1)
    with pytest.raises(ValidationError) as info:
        orders.submit(session, buyer_user, order.id, now=later)
    assert "due_date" in info.value.fields
    session.rollback()
    assert session.get(Order, order.id).status == "draft"


def test_other_companies_get_not_found(app, session, buyer_user):
    order = orders.create_draft(session, buyer_user, order_input())
    other = user(session, make_account(app, "buyer"))
    factory = user(session, make_account(app, "factory"))
    for outsider in (other, factory, None):
        with pytest.raises(NotFound):
            orders.get_order(session, outsider, order.id)
    for outsider in (other, factory):
        with pytest.raises(NotFound):
            orders.submit(session, outsider, order.id)
        with pytest.raises(NotFound):
            orders.cancel(session, outsider, order.id)
        with pytest.raises(NotFound):
            orders.update_draft(session, outsider, order.id, order_input())
        assert orders.list_orders(session, outsider)[1] == 0
    with pytest.raises(NotFound):
        orders.get_order(session, buyer_user, 999999)
    operator = user(session, make_account(app, "operator"))
    assert orders.get_order(session, operator, order.id).id == order.id
    assert orders.list_orders(session, operator)[1] == 1


def test_list_filters_by_status(session, buyer_user):
    a = orders.create_draft(session, buyer_user, order_input(title="A"))
    orders.create_draft(session, buyer_user, order_input(title="B"))
    orders.submit(session, buyer_user, a.id)
    rows, total = orders.list_orders(session, buyer_user, status="open")
    assert total == 1 and rows[0].title == "A"
    assert orders.list_orders(session, buyer_user)[1] == 2
    assert orders.status_counts(session, buyer_user) == {"draft": 1, "open": 1}
    with pytest.raises(ValidationError):
        orders.list_orders(session, buyer_user, status="bogus")
    assert count(session, OrderEvent) == 3


def test_materials_for_narrows_by_process(session, taxonomy):
    anodizing = {m.code for m in orders.materials_for(session, "anodizing")}
    assert "al6061" in anodizing and "pa12" not in anodizing
    everything = {m.code for m in orders.materials_for(session, "cmm_inspection")}
    assert {"al6061", "pa12"} <= everything


def test_routing_templates_are_valid(session, buyer_user):
    for template in orders.routing_templates():
        ops = [validation.OperationInput(o["process"], o.get("material"), o["minutes_per_unit"],
                                     o.get("tolerance_mm")) for o in template["operations"]]
        validation.validate(session, order_input(operations=ops))


# --- pages -------------------------------------------------------------------------------

def _form(**overrides):
    data = {
        "title": "Bracket", "description": "", "quantity": "200",
        "due_date": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
        "address": "Shanghai", "lat": "31.23", "lon": "121.47", "budget": "15000.50",
        "op-process": ["cnc_milling", "anodizing"], "op-material": ["al6061", "al6061"],
        "op-minutes": ["6", "0.8"], "op-tolerance": ["0.05", ""], "op-notes": ["", ""],
        "op-suggested": ["", ""],
    }
    data.update(overrides)
    return data


def test_pages_create_show_edit_submit_cancel(app, session, taxonomy, buyer_client):
    assert buyer_client.get("/orders/").status_code == 200
    page = buyer_client.get("/orders/new?template=machined_al_anodized")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="cnc_milling" selected' in html and 'id="op-process-4"' in html
    response = buyer_client.post("/orders/new", data=_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    order = session.exec(select(Order)).one()
    assert order.budget == 1_500_050 and order.quantity == 200
    # the due date is the end of that day in Shanghai
    assert order.due_date.astimezone().utcoffset() is not None
    assert order.due_date.hour == 10  # 18:00 +08:00
    show = buyer_client.get(f"/orders/{order.id}")
    assert show.status_code == 200
    text = show.get_data(as_text=True)
    assert "Bracket" in text and "Submit" in text or "提交" in text
    edit = buyer_client.post(f"/orders/{order.id}/edit", data=_form(title="Bracket v2"))
    assert edit.status_code == 302
    session.expire_all()
    assert session.get(Order, order.id).title == "Bracket v2"
    assert buyer_client.post(f"/orders/{order.id}/submit").status_code == 302
    session.expire_all()
    assert session.get(Order, order.id).status == "open"
    # editing an open order is refused with a message, not an error page
    again = buyer_client.get(f"/orders/{order.id}/edit", follow_redirects=True)
    assert again.status_code == 200
    # a second submit: a clear message
    resubmit = buyer_client.post(f"/orders/{order.id}/submit", follow_redirects=True)
    assert resubmit.status_code == 200
    assert buyer_client.post(f"/orders/{order.id}/cancel",
                             data={"reason": "No longer needed"}).status_code == 302
    session.expire_all()
    assert session.get(Order, order.id).status == "cancelled"
    listing = buyer_client.get("/orders/?status=cancelled").get_data(as_text=True)
    assert "Bracket v2" in listing
    partial = buyer_client.get("/orders/?status=draft", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides, message",
    [({"quantity": "0"}, "quantity must be between"),
     ({"due_date": "2020-01-01"}, "must be in the future"),
     ({"lat": "100"}, "latitude must be between"),
     ({"budget": "-1"}, "cannot be negative"),
     ({"budget": "12.345"}, "amount in yuan"),
     ({"op-process": ["teleportation", "anodizing"]}, "Unknown process"),
     ({"op-material": ["al6061", "pa12"]}, "not offered for pa12"),
     ({"op-process": [], "op-material": [], "op-minutes": [], "op-tolerance": [],
       "op-notes": [], "op-suggested": []}, "at least one operation")],
)
def test_page_errors_keep_the_input(session, taxonomy, buyer_client, overrides, message):
    response = buyer_client.post("/orders/new", data=_form(title="Keep me", **overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html, html[html.find('class="error"') - 200:][:800]
    assert 'value="Keep me"' in html
    assert count(session, Order) == 0


def test_routing_editor_actions(taxonomy, buyer_client):
    def act(action, **overrides):
        response = buyer_client.post("/orders/routing", data={**_form(**overrides),
                                                              "action": action},
                                     headers={"HX-Request": "true"})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    html = act("add")
    assert 'id="op-row-3"' in html and "<html" not in html
    html = act("remove:0")
    assert 'id="op-row-2"' not in html and 'value="anodizing" selected' in html
    html = act("down:0")
    assert html.index('value="anodizing" selected') < html.index('value="cnc_milling" selected')
    html = act("up:1")
    assert html.index('value="anodizing" selected') < html.index('value="cnc_milling" selected')
    # choosing a process narrows the materials and suggests the typical work content
    html = act("process:0", **{"op-process": ["anodizing", "anodizing"],
                               "op-material": ["ss304", "al6061"], "op-minutes": ["", "0.8"]})
    first = html[html.index('id="op-row-1"'):html.index('id="op-row-2"')]
    assert 'value="pa12"' not in first and 'value="ss304" selected' not in first
    assert 'id="op-minutes-1" name="op-minutes" value="0.8"' in first
    # a value the buyer typed stays
    html = act("process:0", **{"op-process": ["anodizing", "anodizing"],
                               "op-minutes": ["9", "0.8"], "op-suggested": ["6", ""]})
    assert 'id="op-minutes-1" name="op-minutes" value="9"' in html
    html = act("template", template="pcb_assembly")
    assert 'value="smt_assembly" selected' in html
    # nonsense actions change nothing and do not fail
    assert 'id="op-row-2"' in act("up:99") and 'id="op-row-2"' in act("bogus:x")


def test_routing_actions_without_javascript(taxonomy, buyer_client):
    response = buyer_client.post("/orders/new", data={**_form(), "action": "add"})
    assert response.status_code == 200
    assert 'id="op-row-3"' in response.get_data(as_text=True)


def test_pages_authorization(app, session, taxonomy, buyer, buyer_client):
    order = orders.create_draft(session, user(session, buyer), order_input())
    other = app.test_client()
    from tests.conftest import login
    login(other, make_account(app, "buyer"))
    factory = login(app.test_client(), make_account(app, "factory"))
    anonymous = app.test_client()
    for client in (other, factory, anonymous):
        assert client.get(f"/orders/{order.id}").status_code == 404
    for client in (other, factory):
        assert client.get(f"/orders/{order.id}/edit").status_code == 404
        assert client.post(f"/orders/{order.id}/submit").status_code == 404
        assert client.post(f"/orders/{order.id}/cancel").status_code == 404
        assert client.post(f"/orders/{order.id}/quote").status_code == 404
    assert factory.get("/orders/new").status_code == 403
    assert anonymous.get("/orders/").status_code == 302
    session.expire_all()
    assert session.get(Order, order.id).status == "draft"
    assert buyer_client.get("/orders/999999").status_code == 404


def test_unverified_buyer_sees_not_offered_notice(app, session, taxonomy):
    from tests.conftest import login
    pending = make_account(app, "buyer", verified=False)
    client = login(app.test_client(), pending)
    order = orders.create_draft(session, user(session, pending), order_input())
    assert client.post(f"/orders/{order.id}/submit").status_code == 302
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "not yet offered to factories" in html or "尚未" in html


def test_cancelling_a_quoted_order_releases_the_held_capacity(app, session, buyer_user):
    from market.capacity.models import CapacityWindow
    from market.deals.models import Quote
    from market.runs.models import MatchingRun, PlannedOperation
    from tests.fakes.orders import seed_capacity

    factory = make_account(app, "factory")
    machine = seed_capacity(session, factory.company_id, days=1)[0]
    order = orders.create_draft(session, buyer_user, order_input())
    orders.submit(session, buyer_user, order.id)
    run = MatchingRun()
    session.add(run)
    session.flush()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    planned = PlannedOperation(run_id=run.id, order_id=order.id,
                               operation_id=order.operations[0].id, machine_id=machine.id,
                               plant_id=machine.plant_id, start=start,
                               end=start + timedelta(hours=3), cost=50_000)
    session.add(planned)
    session.flush()
    held = CapacityWindow(machine_id=machine.id, start=planned.start, end=planned.end,
                          status="held", planned_operation_id=planned.id)
    quote = Quote(order_id=order.id, run_id=run.id, production_cost=50_000, platform_fee=4_000,
                  price=54_000, delivery_date=start + timedelta(days=1),
                  expires_at=datetime.now(UTC) + timedelta(hours=24))
    order.status = "quoted"
    session.add_all([held, quote, order])
    session.commit()

    orders.cancel(session, buyer_user, order.id, "Found another supplier")
    session.expire_all()
    assert session.get(Order, order.id).status == "cancelled"
    assert session.get(Quote, quote.id).status == "declined"
    window = session.get(CapacityWindow, held.id)
    assert window.status == "published" and window.planned_operation_id is None


def test_order_page_shows_firm_quotes_bookings_and_schedule(session, buyer_user,
                                                            buyer_client):
    from tests.fakes.orders import book

    factory = make_account(buyer_client.application, "factory")
    order = orders.create_draft(session, buyer_user, order_input())
    html = buyer_client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="quotes"' not in html and "order-gantt" not in html
    booking = book(session, order, factory.company_id, "accepted")
    html = buyer_client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="quotes"' in html and f"/quotes/{booking.quote_id}" in html
    assert 'id="bookings"' in html
    assert 'id="order-gantt"' in html and "<svg" in html
    # the booked factory reads the order, but the buyer's deals are not its business
    from tests.conftest import login
    factory_page = login(buyer_client.application.test_client(), factory)
    html = factory_page.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="quotes"' not in html and "Cancel order" not in html


def test_page_part_size_and_operation_quantity(session, taxonomy, buyer_client):
    response = buyer_client.post("/orders/new", data=_form(
        part_size="120 x 80 × 30", **{"op-quantity": ["", "5"]}))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    order = session.exec(select(Order)).one()
    assert order.part_size_mm == [120.0, 80.0, 30.0]
    assert [op.quantity for op in order.operations] == [None, 5]
    edit = buyer_client.get(f"/orders/{order.id}/edit").get_data(as_text=True)
    assert 'value="120 x 80 x 30"' in edit and 'name="op-quantity" value="5"' in edit
    bad = buyer_client.post("/orders/new", data=_form(part_size="120 by 80",
                                                       **{"op-quantity": ["", "900"]}))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "three sizes in mm" in html and "own quantity is from 1" in html
    assert 'value="120 by 80"' in html  # kept as typed
