"""Certifications: a factory uploads, an operator verifies or rejects, housekeeping expires
them and tells the factory; orders require them and only plants holding them verified and
unexpired are matched, quoted and found (service, API, pages, the matching)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlmodel import select

from market.capacity import availability
from market.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.core.models import utcnow
from market.notify.models import Notification
from market.orders import service as orders
from market.quality import certifications
from market.quality.models import Certification
from market.runs import instant_quote as quotes
from market.runs import planning
from market.runs.models import PlannedOperation, RunOrder
from tests.conftest import api_token, make_account
from tests.deals.test_disruption_pages import client_of
from tests.fakes.orders import STEP, api_body, order_input, seed_capacity, tiny_pdf, user
from tests.fakes.quality import certify, run_matching

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1,
            "ATTACHMENT_DIR": str(tmp_path / "files"),
            "PROBATION_MAX_AMOUNT": 2_000_000}  # on, as deployed (the directory shows it)


@pytest.fixture
def shops(app, session, taxonomy, operator):
    """A cheap uncertified shop and a dear one that will hold ISO 13485, both milling and
    anodizing near Suzhou."""
    cheap = make_account(app, "factory", "cheap@example.com")
    medical = make_account(app, "factory", "medical@example.com")
    machines = {"cheap": seed_capacity(session, cheap.company_id, rate=10_000),
                "medical": seed_capacity(session, medical.company_id, rate=30_000)}
    return {"cheap": user(session, cheap), "medical": user(session, medical),
            "operator": user(session, operator), "machines": machines}


def test_upload_is_checked_and_an_operator_decides(session, shops, buyer, tmp_path):
    medical, cheap, op = shops["medical"], shops["cheap"], shops["operator"]
    today = utcnow().date()

    def upload(who, kind="iso13485", number="CN-1", day=None, data=None):
        return certifications.upload(session, who, kind, number,
                                     day or (today + timedelta(days=400)).isoformat(),
                                     "scan.pdf", io.BytesIO(data or tiny_pdf()), root=tmp_path,
                                     max_bytes=10**6)

    with pytest.raises(ValidationError) as exc:
        upload(medical, kind="iso9999", number=" ", day="31/12/2027")
    assert set(exc.value.fields) == {"kind", "number", "valid_until"}
    with pytest.raises(ValidationError) as exc:  # expired already
        upload(medical, day=(today - timedelta(days=1)).isoformat())
    assert "valid_until" in exc.value.fields
    with pytest.raises(ValidationError) as exc:  # a drawing is not a certificate
        upload(medical, data=STEP)
    assert "file" in exc.value.fields
    with pytest.raises(PermissionDenied):  # buyers hold no certifications
        upload(user(session, buyer))
    assert session.exec(select(Certification)).all() == []

    row = upload(medical)
    assert (row.status, row.kind, row.file_kind) == ("pending", "iso13485", "pdf")
    assert row.expires_at > utcnow() + timedelta(days=399)
    assert certifications.valid_kinds(session, [medical.company_id], utcnow()) == {
        medical.company_id: []}  # pending does not count
    with pytest.raises(PermissionDenied):  # its own factory cannot verify it
        certifications.verify(session, medical, row.id)
    with pytest.raises(NotFound):  # another factory does not learn it exists
        certifications.verify(session, cheap, row.id)
    with pytest.raises(ValidationError):
        certifications.reject(session, op, row.id, "  ")
    row = certifications.verify(session, op, row.id)
    assert row.status == "verified" and row.verified_by_id == op.id
    with pytest.raises(Conflict):
        certifications.verify(session, op, row.id)
    assert certifications.valid_kinds(session, [medical.company_id], utcnow()) == {
        medical.company_id: ["iso13485"]}
    # an operator withdraws a verified certificate: it stops counting at once
    certifications.reject(session, op, row.id, "Withdrawn by the registrar")
    assert certifications.valid_kinds(session, [medical.company_id], utcnow()) == {
        medical.company_id: []}
    told = session.exec(select(Notification).where(
        Notification.user_id == medical.id)).all()
    assert {n.kind for n in told} >= {"certification_verified", "certification_rejected"}


def test_housekeeping_warns_then_expires_and_the_certificate_stops_counting(
        app, session, shops, tmp_path):
    from market.core.jobs import run_housekeeping

    medical, op = shops["medical"], shops["operator"]
    row = certify(session, medical, op, "iso9001", tmp_path,
                  valid_until=utcnow().date() + timedelta(days=10))
    now = utcnow()
    with app.app_context():  # the scheduled housekeeping runs the step
        assert run_housekeeping(session)["certifications"] == {
            "certifications_expired": 0, "certifications_warned": 1}
    assert certifications.expire_and_warn(session, now)["certifications_warned"] == 0  # once
    later = row.expires_at + timedelta(minutes=1)
    # past its day it counts no more, whether or not housekeeping has run yet
    assert certifications.valid_kinds(session, [medical.company_id], later) == {
        medical.company_id: []}
    assert certifications.expire_and_warn(session, later)["certifications_expired"] == 1
    assert certifications.expire_and_warn(session, later)["certifications_expired"] == 0
    session.expire_all()
    assert session.get(Certification, row.id).status == "expired"
    kinds = [n.kind for n in session.exec(select(Notification).where(
        Notification.user_id == medical.id).order_by(Notification.id))]
    assert kinds.count("certification_expiring") == 1
    assert kinds.count("certification_expired") == 1
    expired = session.exec(select(Notification).where(
        Notification.kind == "certification_expired")).one()
    assert "ISO 9001" in expired.subject


def test_an_order_requiring_iso13485_is_planned_only_on_the_certified_plant(
        app, session, shops, buyer, tmp_path):
    medical, op = shops["medical"], shops["operator"]
    buyer_user = user(session, buyer)
    with pytest.raises(ValidationError) as exc:
        orders.create_draft(session, buyer_user,
                            order_input(required_certifications=["iso13485", "iso1"]))
    assert "required_certifications" in exc.value.fields
    order = orders.create_draft(session, buyer_user,
                                order_input(quantity=20, required_certifications=["iso13485"]))
    assert order.required_certifications == ["iso13485"]
    engine = quotes.order_to_matching(order, utcnow(), utcnow())
    assert engine["certifications"] == ["iso13485"]

    # nobody holds it yet: the quote says so, the run leaves the order unserved and says why
    result = quotes.instant_quote(session, buyer_user, order.id)
    assert result.price is None and result.reason_code == "no_certification"
    assert result.reason == "No factory holding ISO 13485 currently offers CNC milling (3-axis)."
    orders.submit(session, buyer_user, order.id)
    first = run_matching(app, session, op)
    outcome = session.exec(select(RunOrder).where(RunOrder.run_id == first.id)).one()
    assert not outcome.served and "iso13485" in outcome.reason
    operator_page = client_of(app, op)
    page = operator_page.get(f"/operator/runs/{first.id}", headers=EN).text
    assert "No factory holds a verified ISO 13485 certification." in page
    page = operator_page.get(f"/operator/runs/{first.id}", headers=ZH).text
    assert "ISO 13485" in page and "No factory holds" not in page

    # a pending certificate does not count; a verified one does
    pending = certify(session, medical, None, "iso13485", tmp_path)
    problem, _index = planning.build_problem(session, start=utcnow(), minutes=60 * 24 * 7,
                                             orders=[])
    assert all("iso13485" not in p.get("certifications", []) for p in problem["plants"])
    certifications.verify(session, op, pending.id)
    second = run_matching(app, session, op)
    planned = session.exec(select(PlannedOperation).where(
        PlannedOperation.run_id == second.id)).all()
    medical_machines = {m.id for m in shops["machines"]["medical"]}
    assert planned and {p.machine_id for p in planned} <= medical_machines
    # the same order without the requirement goes to the cheap shop
    plain = orders.create_draft(session, buyer_user, order_input(quantity=20))
    quote = quotes.instant_quote(session, buyer_user, plain.id)
    assert set(quote.machines) <= {m.id for m in shops["machines"]["cheap"]}
    quote = quotes.instant_quote(session, buyer_user, order.id)
    assert quote.price is not None and set(quote.machines) <= medical_machines

    # expired: it stops counting in the problem (the matching reads the day, not a flag)
    row = session.get(Certification, pending.id)
    problem, _index = planning.build_problem(session, start=row.expires_at + timedelta(hours=1),
                                             minutes=60 * 24, orders=[])
    assert all("iso13485" not in p.get("certifications", []) for p in problem["plants"])


def test_capacity_search_filters_by_certification(session, shops, buyer, tmp_path):
    certify(session, shops["medical"], shops["operator"], "iso13485", tmp_path)
    start, end = utcnow(), utcnow() + timedelta(days=5)
    viewer = user(session, buyer)

    def found(**kw):
        return {h.company.id for h in availability.search_capacity(
            session, viewer, "cnc_milling", "al6061", start, end, **kw)}

    assert found() == {shops["cheap"].company_id, shops["medical"].company_id}
    assert found(certifications=["iso13485"]) == {shops["medical"].company_id}
    assert found(certifications=["iso13485", "as9100"]) == set()
    with pytest.raises(ValidationError):
        found(certifications=["nope"])


def test_api(app, client, session, shops, buyer):
    medical, cheap = shops["medical"], shops["cheap"]
    accounts = {name: api_token(client, _account(u)) for name, u in
                (("medical", medical), ("cheap", cheap), ("operator", shops["operator"]))}
    buyer_headers = api_token(client, buyer)
    day = (utcnow() + timedelta(days=300)).date().isoformat()

    def post(headers, **form):
        data = {"kind": "iso13485", "number": "CN-9", "valid_until": day,
                "file": (io.BytesIO(tiny_pdf()), "iso.pdf"), **form}
        return client.post("/api/v1/certifications", data=data, headers=headers,
                           content_type="multipart/form-data")

    bad = post(accounts["medical"], kind="iso1", valid_until="soon")
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) >= {"kind", "valid_until"}
    assert client.post("/api/v1/certifications", json={"kind": "iso13485"},
                       headers=accounts["medical"]).status_code == 400
    assert post(buyer_headers).status_code == 403
    made = post(accounts["medical"])
    assert made.status_code == 201, made.json
    cert = made.json
    assert (cert["status"], cert["counts"], cert["valid_until"]) == ("pending", False, day)
    mine = client.get("/api/v1/certifications", headers=accounts["medical"]).json["items"]
    assert [c["id"] for c in mine] == [cert["id"]]
    assert client.get("/api/v1/certifications", headers=accounts["cheap"]).json["items"] == []
    queue = client.get("/api/v1/certifications?status=pending",
                       headers=accounts["operator"]).json["items"]
    assert [c["id"] for c in queue] == [cert["id"]]

    # the file: its factory and the operators; anyone else gets 404
    url = cert["url"]
    for reader in ("medical", "operator"):
        with client.get(url, headers=accounts[reader]) as got:
            assert got.status_code == 200 and got.data == tiny_pdf()
            assert got.headers["Content-Disposition"].startswith("attachment")
    assert client.get(url, headers=accounts["cheap"]).status_code == 404
    assert client.get(url, headers=buyer_headers).status_code == 404
    assert client.get("/api/v1/certifications/999999/file",
                      headers=accounts["cheap"]).status_code == 404

    verify = f"/api/v1/certifications/{cert['id']}/verify"
    assert client.post(verify, headers=accounts["medical"]).status_code == 403
    assert client.post(verify, headers=accounts["cheap"]).status_code == 404
    done = client.post(verify, headers=accounts["operator"])
    assert done.status_code == 200 and done.json["counts"] is True
    assert client.post(verify, headers=accounts["operator"]).status_code == 409

    listed = client.get("/api/v1/factories?certification=iso13485", headers=buyer_headers).json
    assert [f["id"] for f in listed["items"]] == [medical.company_id]
    assert listed["items"][0]["certifications"] == ["iso13485"]
    assert listed["items"][0]["certificates"] == [{"kind": "iso13485", "valid_until": day}]
    assert client.get("/api/v1/factories?certification=iso1",
                      headers=buyer_headers).status_code == 422
    one = client.get(f"/api/v1/factories/{cheap.company_id}", headers=buyer_headers).json
    assert one["certifications"] == [] and one["on_probation"] is True

    # orders carry the requirement in and out; an unknown kind is a clear 422
    body = api_body(required_certifications=["iso13485", "iso9001", "iso13485"])
    r = client.post("/api/v1/orders", json=body, headers=buyer_headers)
    assert r.status_code == 201, r.json
    assert r.json["required_certifications"] == ["iso9001", "iso13485"]
    r = client.post("/api/v1/orders", json=api_body(required_certifications=["iso27001"]),
                    headers=buyer_headers)
    assert r.status_code == 422, r.json
    assert "iso13485" in r.json["error"]["fields"]["required_certifications"]

    rejected = client.post(f"/api/v1/certifications/{cert['id']}/reject",
                           json={"reason": "Forged"}, headers=accounts["operator"])
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert client.get("/api/v1/factories?certification=iso13485",
                      headers=buyer_headers).json["items"] == []


def _account(u):
    from tests.conftest import Account

    return Account(u.id, u.company_id, u.email)


def test_pages(app, session, shops, buyer):
    medical, cheap, op = shops["medical"], shops["cheap"], shops["operator"]
    factory = client_of(app, medical)
    page = factory.get("/factory/certifications", headers=EN)
    assert page.status_code == 200 and "Upload a certificate" in page.text
    day = (utcnow() + timedelta(days=200)).date().isoformat()
    bad = factory.post("/factory/certifications", data={
        "kind": "iso13485", "number": "", "valid_until": day,
        "file": (io.BytesIO(tiny_pdf()), "iso.pdf")}, headers=EN,
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "Enter the certificate" in bad.text
    ok = factory.post("/factory/certifications", data={
        "kind": "iso13485", "number": "MD-77", "valid_until": day,
        "file": (io.BytesIO(tiny_pdf()), "iso.pdf")}, headers=EN,
        content_type="multipart/form-data", follow_redirects=True)
    assert ok.status_code == 200 and "MD-77" in ok.text and "pending" in ok.text
    row = session.exec(select(Certification)).one()
    with factory.get(f"/certifications/{row.id}/file") as got:
        assert got.status_code == 200 and got.data == tiny_pdf()
    assert client_of(app, cheap).get(f"/certifications/{row.id}/file").status_code == 404
    assert client_of(app, cheap).get("/operator/certifications").status_code == 403

    operator = client_of(app, op)
    queue = operator.get("/operator/certifications", headers=EN).text
    assert "MD-77" in queue and "Verify certificate" in queue
    company = operator.get(f"/operator/companies/{medical.company_id}", headers=EN).text
    assert "MD-77" in company and "ISO 13485" in company
    done = operator.post(f"/operator/certifications/{row.id}/verify",
                         data={"next": f"/operator/companies/{medical.company_id}"},
                         headers=EN, follow_redirects=True)
    assert done.status_code == 200 and "certificate MD-77 verified" in done.text
    # a reject without a reason is refused in words, nothing changes
    operator.post(f"/operator/certifications/{row.id}/reject", data={"reason": ""},
                  headers=EN)
    session.expire_all()
    assert session.get(Certification, row.id).status == "verified"

    reader = client_of(app, user(session, buyer))
    listed = reader.get("/factories?certification=iso13485", headers=EN).text
    assert f"/factories/{medical.company_id}" in listed
    assert f"/factories/{cheap.company_id}" not in listed
    profile = reader.get(f"/factories/{medical.company_id}", headers=EN).text
    assert "ISO 13485" in profile and f"valid until {day}" in profile
    assert "on probation" in profile

    # the order form: the certifications as checkboxes, stored on the draft
    form = reader.get("/orders/new", headers=EN).text
    assert 'name="certifications"' in form and "ISO 13485" in form
    from tests.orders.test_service import _form

    made = reader.post("/orders/new", data=_form(certifications=["iso13485", "as9100"]))
    assert made.status_code == 302, made.text[:2000]
    from market.orders.models import Order

    order = session.exec(select(Order)).one()
    assert order.required_certifications == ["iso13485", "as9100"]
    edit = reader.get(f"/orders/{order.id}/edit", headers=EN).text
    assert ('checked id="certifications-2" name="certifications" type="checkbox" '
            'value="iso13485"') in edit
    refused = reader.post("/orders/new", data=_form(certifications=["iso1"]), headers=EN)
    assert refused.status_code in (200, 422) and "Unknown certification" in refused.text
