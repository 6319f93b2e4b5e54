"""Materials along the routing: a step whose process depends on the material (anodizing)
takes the part's material from the step before when left at "Any / not applicable"; the
editor starts new steps with it; a due date with a two-digit year is refused in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from market.core.errors import ValidationError
from market.orders import validation
from market.orders.models import Order
from tests.fakes.orders import api_body, order_input
from tests.orders.test_api import headers  # noqa: F401 (fixture)
from tests.orders.test_service import _form, buyer_client  # noqa: F401 (fixture)

Op = validation.OperationInput


def _ops(session, *ops):
    return validation.validate(session, order_input(operations=list(ops))).operations


def test_anodizing_takes_the_material_of_the_step_before(session, taxonomy):
    ops = _ops(session, Op("cnc_milling", "al6061", 6), Op("cmm_inspection", None, 2),
               Op("anodizing", None, 0.8))
    # inspection takes any material and stays "any"; anodizing is of the milled 6061
    assert [op.material for op in ops] == ["al6061", None, "al6061"]


def test_no_material_anywhere_is_refused_in_words(session, taxonomy):
    with pytest.raises(ValidationError) as refused:
        _ops(session, Op("anodizing", None, 0.8))
    assert refused.value.fields == {
        "operations.0.material": "Choose the material: this process depends on it, and no "
                                 "step before names one."}
    # a material the step before names but the process does not take: its own message
    with pytest.raises(ValidationError) as steel:
        _ops(session, Op("cnc_milling", "steel_45", 6), Op("anodizing", None, 0.8))
    assert "not offered for steel_45" in steel.value.fields["operations.1.material"]


def test_api_accepts_any_material_after_a_named_one(client, headers):  # noqa: F811
    body = api_body(operations=[
        {"process": "cnc_milling", "material": "al7075", "minutes_per_unit": 6.0},
        {"process": "anodizing", "minutes_per_unit": 0.8}])
    response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 201, response.json
    assert [op["material"] for op in response.json["operations"]] == ["al7075", "al7075"]


def test_editor_carries_the_material_to_new_steps(taxonomy, buyer_client):  # noqa: F811
    def act(action, **overrides):
        response = buyer_client.post("/orders/routing", data={**_form(**overrides),
                                                              "action": action},
                                     headers={"HX-Request": "true"})
        assert response.status_code == 200
        return response.text

    one_step = {"op-process": ["cnc_milling"], "op-material": ["al7075"], "op-minutes": ["6"],
                "op-tolerance": [""], "op-notes": [""], "op-suggested": [""]}
    html = act("add", **one_step)
    row2 = html[html.index('id="op-row-2"'):]
    assert 'value="al7075" selected' in row2
    # choosing anodizing on a step left empty takes the material from the step before
    two = {"op-process": ["cnc_milling", "anodizing"], "op-material": ["al7075", ""],
           "op-minutes": ["6", ""], "op-tolerance": ["", ""], "op-notes": ["", ""],
           "op-suggested": ["", ""]}
    row2 = act("process:1", **two)
    row2 = row2[row2.index('id="op-row-2"'):]
    assert 'value="al7075" selected' in row2 and "As the step before" in row2
    # a material the new process does not take is not carried (steel cannot be anodized)
    steel = {**two, "op-material": ["steel_45", ""]}
    row2 = act("process:1", **steel)
    row2 = row2[row2.index('id="op-row-2"'):]
    assert " selected" not in row2.split('name="op-material"')[1].split("</select>")[0]


def test_order_page_saves_anodizing_with_any_material(session, taxonomy,
                                                      buyer_client):  # noqa: F811
    response = buyer_client.post("/orders/new", data=_form(**{"op-material": ["al6061", ""]}))
    assert response.status_code == 302, response.text[:1500]
    order = session.exec(select(Order)).one()
    assert [op.material_code for op in order.operations] == ["al6061", "al6061"]


@pytest.mark.parametrize("typed", ["0026-12-20", "0099-01-31"])
def test_a_two_digit_year_is_refused_in_words_on_the_page(session, taxonomy, buyer_client,  # noqa: F811
                                                          typed):
    response = buyer_client.post("/orders/new", data=_form(title="Keep me", due_date=typed))
    assert response.status_code == 422
    assert "Write the year with four digits, such as 2026." in response.text
    assert 'value="Keep me"' in response.text and f'value="{typed}"' in response.text
    zh = buyer_client.post("/orders/new", data=_form(due_date=typed),
                           headers={"Accept-Language": "zh"})
    assert "年份请写四位数" in zh.text


@pytest.mark.parametrize("typed, message", [
    ("0026-12-20", "Write the year with four digits"),
    ("26-12-20", "Use a date such as 2026-12-20"),
    ("9999-12-31", "Use a date between 2000 and 2100"),
])
def test_a_two_digit_year_is_refused_by_the_api(client, headers, typed, message):  # noqa: F811
    response = client.post("/api/v1/orders", json=api_body(due_date=typed),
                           headers={**headers, "Accept-Language": "en"})
    assert response.status_code == 422
    assert message in response.json["error"]["fields"]["due_date"], response.json


def test_a_four_digit_year_still_reads(session, taxonomy):
    day = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    assert validation.validate(session, order_input(due_date=day)).due_date.year >= 2026


def test_order_form_errors_read_in_chinese(app, session, taxonomy):
    """Field messages, with their values, in the reader's language (FieldMessage)."""
    from market.core.errors import ValidationError
    from market.orders import validation

    data = validation.OrderInput(title="", quantity=None, due_date=None, delivery_lat=None,
                                 delivery_lon=None, operations=[
                                     validation.OperationInput("no_such_process", None, None,
                                                               None, "", None)])
    with pytest.raises(ValidationError) as exc:
        validation.validate(session, data)
    assert exc.value.fields["operations.0.process"] == "Unknown process 'no_such_process'."
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        shown = exc.value.localized_fields
    assert shown["title"] == "请填写订单标题。" and shown["quantity"] == "请填写数量。"
    assert shown["operations.0.process"] == "未知工艺 'no_such_process'。"
