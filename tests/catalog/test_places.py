"""The pickers' data: countries from CLDR, Chinese cities and districts from the shipped
table, and the pages that use them (registration, plants, company profile, orders)."""

from __future__ import annotations

import csv

import pytest
from sqlmodel import select

from market.accounts.models import Company
from market.capacity.models import Plant
from market.catalog import places
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}


def test_the_table_has_every_prefecture_city_with_real_points():
    with places.DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cities = [r for r in rows if not r["district_zh"]]
    # 333 prefecture-level divisions, 4 municipalities, the province-administered
    # county-level cities, Hong Kong and Macao
    assert len(cities) > 340 and len(rows) > 3000
    assert len({r["code"] for r in rows}) == len(rows)
    for r in rows:  # all inside China's bounding box, none left blank
        assert 3.5 < float(r["lat"]) < 53.6 and 73.4 < float(r["lon"]) < 135.1, r
        assert r["city_en"] and (not r["district_zh"] or r["district_en"])
    # spot checks against the seat of government (GCJ-02, to about 0.01 degree)
    suzhou, dongguan, kunshan = places.get("320500"), places.get("441900"), places.get("320583")
    assert (round(suzhou.lat, 2), round(suzhou.lon, 2)) == (31.30, 120.59)
    assert (round(dongguan.lat, 2), round(dongguan.lon, 2)) == (23.02, 113.75)
    assert kunshan.city_code == "320500" and kunshan.label("en") == "Kunshan · 昆山市"
    assert places.get("110000").is_city and places.get("110108").city_code == "110000"
    assert "昆山市" in [d.district_zh for d in places.districts("320500")]
    assert places.districts("320583") == [] and places.districts("nope") == []


def test_chosen_keeps_a_district_only_inside_its_city():
    assert places.chosen("320500", "320583").code == "320583"
    assert places.chosen("440300", "320583").code == "440300"  # a stale district pick
    assert places.chosen("", "") is None and places.chosen("320583", "") is None


def test_fill_only_blank_coordinates():
    kunshan = places.get("320583")
    filled = places.fill({"lat": "", "lon": " ", "city": ""}, kunshan, "zh")
    assert filled == {"lat": "31.385597", "lon": "120.980736", "city": "苏州市"}
    typed = {"lat": "31.4", "lon": "121.0", "city": "Kunshan"}
    assert places.fill(typed, kunshan, "en") == typed
    assert places.fill({"address": ""}, kunshan, "en")["address"] == "Kunshan, Suzhou, Jiangsu"


def test_countries_in_both_languages():
    zh, en = dict(places.countries("zh")), dict(places.countries("en"))
    assert zh["CN"] == "中国" and en["CN"] == "China" and en["DE"] == "Germany"
    assert places.countries("en")[0][0] == "CN"
    # ISO 3166-1 has 249 codes; CLDR's regions (EU, UN) and test codes are not offered
    assert 245 <= len(en) <= 250 and "EU" not in en and "ZZ" not in en
    assert places.is_country("cn") and not places.is_country("China")
    assert not places.is_country("EU") and not places.is_country(None)


def test_register_with_a_country_select(app, client, session):
    page = client.get("/auth/register", headers=ZH).text
    assert '<select' in page and '<option selected value="CN">中国</option>' in page
    assert "德国" in page
    response = client.post("/auth/register", data={
        "company_name": "Berlin Parts", "company_kind": "buyer", "country": "DE",
        "city": "Berlin", "email": "b@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert session.exec(select(Company)).one().country == "DE"
    refused = app.test_client().post("/auth/register", data={
        "company_name": "Cut Short", "company_kind": "buyer", "country": "China",
        "email": "c@example.com", "password": PASSWORD}, headers=EN)
    assert refused.status_code == 422 and "Choose a country or region" in refused.text
    assert 'value="Cut Short"' in refused.text


def test_plant_from_the_city_picker_without_javascript(factory_client, session, taxonomy):
    page = factory_client.get("/factory/", headers=EN).text
    assert 'id="plant-place"' in page and 'label for="plant-place"' in page
    assert '<optgroup label="Jiangsu · 江苏省">' in page
    # no coordinates typed: the picked district's point, and its city's name
    response = factory_client.post("/factory/plants", data={
        "name": "Kunshan plant", "city": "", "lat": "", "lon": "", "timezone": "Asia/Shanghai",
        "plant-place": "320500", "plant-place_district": "320583"}, headers=EN)
    assert response.status_code == 302, response.text[:500]
    plant = session.exec(select(Plant)).one()
    assert (plant.lat, plant.lon, plant.city) == (31.385597, 120.980736, "Suzhou")
    # typed coordinates win over the pick
    factory_client.post("/factory/plants", data={
        "name": "Typed", "lat": "22.9", "lon": "113.9", "timezone": "Asia/Shanghai",
        "plant-place": "320500"})
    typed = session.exec(select(Plant).where(Plant.name == "Typed")).one()
    assert (typed.lat, typed.lon) == (22.9, 113.9)
    # nothing picked and nothing typed: refused in words, the pick kept on a refusal
    refused = factory_client.post("/factory/plants", data={
        "name": "Nowhere", "timezone": "Asia/Shanghai", "plant-place": "440300",
        "lat": "x"}, headers=EN)
    assert refused.status_code == 422 and 'value="440300" data-lat' in refused.text
    assert ('value="440300" data-lat="22.543527" data-lon="114.057939" data-city="Shenzhen"'
            ' selected') in refused.text


def test_district_options_for_htmx(client):
    html = client.get("/places/districts?plant-place=320500", headers=EN).text
    assert 'value="320583" data-lat="31.385597" data-lon="120.980736">Kunshan · 昆山市' in html
    assert client.get("/places/districts?plant-place=zzz").text.count("<option") == 1


def test_company_profile_from_the_picker(app, session, buyer_client, buyer):
    response = buyer_client.post("/company", data={
        "name": "Buyer Test Co", "city": "", "lat": "", "lon": "",
        "company-place": "440300", "company-place_district": "440306"})
    assert response.status_code == 302, response.text[:800]
    company = session.get(Company, buyer.company_id)
    assert (company.lat, company.lon) == (22.554996, 113.883802)
    assert company.city == "深圳市"  # the form's language when none is asked for


@pytest.mark.parametrize("headers", [EN, ZH])
def test_order_delivery_from_the_picker(session, taxonomy, buyer_client, headers):
    from market.orders.models import Order
    from tests.orders.test_service import _form

    page = buyer_client.get("/orders/new", headers=headers).text
    assert 'id="delivery-place"' in page
    data = {**_form(), "lat": "", "lon": "", "address": "", "delivery-place": "310000",
            "delivery-place_district": "310115"}
    response = buyer_client.post("/orders/new", data=data, headers=headers)
    assert response.status_code == 302, response.text[:800]
    order = session.exec(select(Order)).one()
    assert (order.delivery_lat, order.delivery_lon) == (31.221517, 121.544379)
    assert order.delivery_address == ("上海市浦东新区" if headers is ZH
                                      else "Pudong New Area, Shanghai")
