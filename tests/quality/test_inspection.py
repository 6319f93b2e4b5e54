"""QC documents, progress with quantity and pass/fail, hand-offs and the shipment with carrier
and tracking, the buyer's inspection (confirm, reject -> dispute -> refund or remake, or
accepted when the window ends), and what each party sees of it (service, API and pages)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlmodel import select

from market.core.errors import Conflict, NotFound, ValidationError
from market.core.models import utcnow
from market.deals import production
from market.deals import service as bookings
from market.deals.models import Booking
from market.orders.models import Attachment, Order
from market.payments import disputes
from market.payments.models import Dispute, Payout
from market.quality import documents, inspection, scorecards
from tests.conftest import Account, api_token
from tests.deals.test_disruption import in_app, live, owner, world  # noqa: F401
from tests.deals.test_disruption_pages import client_of

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def chain(session, world):  # noqa: F811
    """The order's live bookings in routing order, with the user of each one's factory."""
    users, machines, order = world["users"], world["machines"], world["order"]
    seq = {op.id: op.seq for op in session.get(Order, order.id).operations}
    made = sorted(live(session, order.id), key=lambda b: seq[b.operation_id])
    return [(b, owner(users, machines, b)) for b in made]


def upload(session, app, user, booking, kind="coc", data=PDF, name="coc.pdf"):
    return documents.upload(session, user, booking.id, kind, name, io.BytesIO(data),
                            root=app.config["ATTACHMENT_DIR_PATH"], max_bytes=1 << 20)


@pytest.fixture
def app_config(app_config, tmp_path):  # noqa: F811
    # as the disruption world's (jobs run at once), with the files in the test's folder
    return {**app_config, "JOBS_MODE": "sync", "SOLVER_WORKERS": 1,
            "ATTACHMENT_DIR": str(tmp_path / "files"), "ATTACHMENT_DIR_PATH": tmp_path / "files"}


def ship_all(session, app, world, carrier="SF Express", tracking="SF1234567"):  # noqa: F811
    steps = chain(session, world)
    for i, (b, user) in enumerate(steps):
        bookings.report_progress(session, user, b.id, "done")
        bookings.ship(session, user, b.id, "", carrier=carrier if i == len(steps) - 1 else
                      "own truck", tracking_number=tracking if i == len(steps) - 1 else "")
    return steps


@pytest.mark.usefixtures("in_app")
def test_progress_carries_quantity_and_qc_and_follows_the_routing(session, world):  # noqa: F811
    (first, f1), (second, f2) = chain(session, world)[:2]
    with pytest.raises(Conflict):  # the step before is not done
        bookings.report_progress(session, f2, second.id, "done")
    bookings.report_progress(session, f1, first.id, "started", quantity_done=10)
    with pytest.raises(ValidationError) as exc:
        bookings.report_progress(session, f1, first.id, "started", quantity_done=10_000)
    assert "quantity_done" in exc.value.fields
    with pytest.raises(ValidationError):
        bookings.report_progress(session, f1, first.id, "started", qc_result="maybe")
    row = bookings.report_progress(session, f1, first.id, "started", quantity_done=20,
                                   qc_result="fail")
    assert row.status == "in_progress" and row.quantity_done == 20 and row.qc_failed_at
    with pytest.raises(Conflict):  # failed QC: no "done" until it passes
        bookings.report_progress(session, f1, first.id, "done")
    with pytest.raises(Conflict):  # not all parts
        bookings.report_progress(session, f1, first.id, "done", quantity_done=30,
                                 qc_result="pass")
    row = bookings.report_progress(session, f1, first.id, "done", qc_result="pass")
    quantity = production.operation_quantity(session, row)
    assert row.status == "done" and row.quantity_done == quantity and row.qc_result == "pass"
    assert row.qc_failed_at is not None  # the failure stays on the record


@pytest.mark.usefixtures("in_app")
def test_hand_off_then_shipment_with_carrier_and_required_documents(app, session, world):  # noqa: F811
    order = world["order"]
    row = session.get(Order, order.id)
    row.required_documents = ["coc", "fai"]
    session.add(row)
    session.commit()
    steps = chain(session, world)
    (first, f1), (last, fl) = steps[0], steps[-1]
    with pytest.raises(Conflict):  # not done yet
        bookings.ship(session, f1, first.id, carrier="own truck")
    for b, user in steps:
        bookings.report_progress(session, user, b.id, "done")
    bookings.ship(session, f1, first.id, carrier="own truck", tracking_number="")
    session.refresh(first)
    assert first.shipped_at is not None and first.carrier == "own truck"
    assert session.get(Order, order.id).status == "in_production"  # a hand-off, not shipped
    with pytest.raises(Conflict):
        bookings.ship(session, f1, first.id, carrier="again")
    with pytest.raises(Conflict) as exc:  # CoC and FAI missing
        bookings.ship(session, fl, last.id, carrier="SF Express", tracking_number="SF1")
    assert exc.value.params["kinds"] == ["coc", "fai"]
    with app.test_request_context(headers=EN):  # the reader sees the kinds in words
        assert "certificate of conformity, first-article inspection" in exc.value.localized
    upload(session, app, fl, last, "coc")
    with pytest.raises(NotFound):  # only the booked factory adds documents to its booking
        upload(session, app, f1, last, "fai")
    with pytest.raises(ValidationError):
        upload(session, app, fl, last, "fai", data=b"not a pdf")
    upload(session, app, fl, last, "fai", name="fai.pdf")
    assert documents.missing(session, session.get(Order, order.id)) == []
    bookings.ship(session, fl, last.id, carrier="SF Express", tracking_number="SF1")
    shipped = session.get(Order, order.id)
    assert shipped.status == "shipped" and shipped.shipped_at is not None


@pytest.mark.usefixtures("in_app")
def test_rejected_delivery_opens_a_dispute_resolved_by_refund(app, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    steps = ship_all(session, app, world)
    photo = Attachment(order_id=order.id, sha256="a" * 64, size=10, kind="png",
                       content_type="image/png", filename="crack.png")
    session.add(photo)
    session.commit()
    with pytest.raises(NotFound):  # a factory cannot reject
        inspection.reject_delivery(session, steps[0][1], order.id, "bad", "refund")
    with pytest.raises(ValidationError) as exc:
        inspection.reject_delivery(session, users["buyer"], order.id, "", "money back", [999])
    assert set(exc.value.fields) == {"reason", "remedy", "attachment_ids"}
    with pytest.raises(ValidationError) as exc:  # an id past 64 bits: refused, not a 500
        inspection.reject_delivery(session, users["buyer"], order.id, "Cracks", "refund",
                                   [10**30])
    assert set(exc.value.fields) == {"attachment_ids"}
    later = utcnow() + timedelta(days=8)
    with pytest.raises(Conflict):  # the window has passed
        inspection.reject_delivery(session, users["buyer"], order.id, "Cracks", "refund",
                                   now=later)
    dispute = inspection.reject_delivery(session, users["buyer"], order.id,
                                         "Cracks on 3 parts", "partial_refund", [photo.id])
    assert dispute.remedy == "partial_refund" and dispute.attachment_ids == [photo.id]
    assert session.get(Order, order.id).status == "disputed"
    resolved = disputes.resolve_dispute(session, users["operator"], dispute.id, "refund_part",
                                        5000, "three parts")
    assert resolved.refund_amount == 5000
    assert session.get(Order, order.id).status == "closed"
    # a rejection the operators upheld is a defect on every factory that worked on it
    card = scorecards.scorecard(session, steps[0][1].company_id, utcnow())
    assert card.jobs_counted == 1 and card.risk_per_mille > scorecards.PRIOR_PER_MILLE


@pytest.mark.usefixtures("in_app")
def test_a_remake_puts_the_work_back_in_production_and_money_stays(app, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    steps = ship_all(session, app, world)
    dispute = inspection.reject_delivery(session, users["buyer"], order.id, "Wrong thread",
                                         "remake")
    with pytest.raises(ValidationError):
        disputes.resolve_dispute(session, users["operator"], dispute.id, "remake",
                                 from_seq=99)
    disputes.resolve_dispute(session, users["operator"], dispute.id, "remake",
                             from_seq=len(steps))
    session.expire_all()
    assert session.get(Order, order.id).status == "in_production"
    last, fl = steps[-1]
    again = session.get(Booking, last.id)
    assert again.status == "in_progress" and again.shipped_at is None
    assert session.get(Booking, steps[0][0].id).status == "done"  # earlier steps stand
    assert not session.exec(select(Payout).where(Payout.order_id == order.id)).all()
    bookings.report_progress(session, fl, last.id, "done")
    bookings.ship(session, fl, last.id, carrier="SF Express", tracking_number="SF2")
    bookings.confirm_delivery(session, users["buyer"], order.id)
    session.expire_all()
    assert session.get(Order, order.id).status == "delivered"
    assert session.exec(select(Payout).where(Payout.order_id == order.id)).all()


@pytest.mark.usefixtures("in_app")
def test_without_an_answer_the_delivery_is_accepted_when_the_window_ends(app, session, world):  # noqa: F811
    order = world["order"]
    ship_all(session, app, world)
    assert bookings.close_delivered(session, utcnow() + timedelta(days=6)) == {
        "accepted": 0, "closed": 0}
    assert bookings.close_delivered(session, utcnow() + timedelta(days=7, minutes=5)) == {
        "accepted": 1, "closed": 1}
    session.expire_all()
    row = session.get(Order, order.id)
    assert row.status == "closed" and row.delivered_at is not None
    assert session.exec(select(Payout).where(Payout.order_id == order.id)).all()
    assert not session.exec(select(Dispute).where(Dispute.order_id == order.id)).all()


def test_documents_and_shipment_through_the_api_each_party_sees_its_part(app, session, world):  # noqa: F811
    users, order = world["users"], world["order"]
    steps = chain(session, world)
    (first, f1), (last, fl) = steps[0], steps[-1]
    client = app.test_client()
    tokens = {name: api_token(client, Account(u.id, u.company_id, u.email))
              for name, u in (("buyer", users["buyer"]), ("f1", f1), ("fl", fl),
                              ("operator", users["operator"]))}

    def call(method, url, who, **kw):
        return client.open(url, method=method, headers=tokens[who], **kw)

    got = call("POST", f"/api/v1/bookings/{first.id}/progress", "f1",
               json={"status": "started", "quantity_done": 5, "qc_result": "pass"})
    assert got.status_code == 200, got.json
    assert got.json["quantity_done"] == 5 and got.json["qc_result"] == "pass"
    got = call("POST", f"/api/v1/bookings/{first.id}/documents", "f1",
               data={"kind": "inspection_report", "file": (io.BytesIO(PDF), "report.pdf")},
               content_type="multipart/form-data")
    assert got.status_code == 201, got.json
    doc = got.json
    assert call("POST", f"/api/v1/bookings/{first.id}/documents", "fl",
                data={"kind": "coc", "file": (io.BytesIO(PDF), "x.pdf")},
                content_type="multipart/form-data").status_code == 404
    assert call("POST", f"/api/v1/bookings/{first.id}/documents", "f1",
                data={"kind": "selfie", "file": (io.BytesIO(PDF), "x.pdf")},
                content_type="multipart/form-data").status_code == 422
    body = call("GET", f"/api/v1/orders/{order.id}", "buyer").json
    docs = [d for op in body["operations"] for d in op["documents"]]
    assert [d["id"] for d in docs] == [doc["id"]]
    assert call("GET", doc["url"], "buyer").status_code == 200
    assert call("GET", doc["url"], "operator").status_code == 200
    if fl.company_id != f1.company_id:  # another factory of the order: not its document
        assert call("GET", doc["url"], "fl").status_code == 404
        theirs = call("GET", f"/api/v1/orders/{order.id}", "fl").json
        assert not [d for op in theirs["operations"] for d in op["documents"]]
    for b, user in steps:
        bookings.report_progress(session, user, b.id, "done")
    for b, who in ((first, "f1"), (last, "fl")):
        got = call("POST", f"/api/v1/bookings/{b.id}/ship", who,
                   json={"carrier": "SF Express", "tracking_number": "SF99", "note": ""})
        assert got.status_code == 200, got.json
    body = call("GET", f"/api/v1/orders/{order.id}", "buyer").json
    assert body["status"] == "shipped"
    assert body["shipment"]["carrier"] == "SF Express"
    assert body["shipment"]["tracking_number"] == "SF99"
    assert body["shipment"]["inspection_ends_at"]
    assert call("GET", f"/api/v1/orders/{order.id}", "fl").json["shipment"] is None
    got = call("POST", f"/api/v1/orders/{order.id}/reject-delivery", "buyer",
               json={"reason": "Burrs", "remedy": "remake"})
    assert got.status_code == 201 and got.json["remedy"] == "remake"
    assert call("POST", f"/api/v1/orders/{order.id}/reject-delivery", "buyer",
                json={"reason": "Burrs", "remedy": "remake"}).status_code == 409


@pytest.mark.parametrize("lang", [EN, ZH])
def test_booking_and_order_pages_show_progress_documents_and_inspection(app, session, world,  # noqa: F811
                                                                        lang):
    users, order = world["users"], world["order"]
    steps = chain(session, world)
    first, f1 = steps[0]
    factory = client_of(app, f1)
    page = factory.get(f"/factory/bookings/{first.id}", headers=lang)
    assert page.status_code == 200 and 'name="quantity_done"' in page.text
    assert 'id="documents"' in page.text and 'id="handoff"' in page.text
    csrf = ""  # CSRF is off in tests (tests/conftest.py)
    got = factory.post(f"/factory/bookings/{first.id}/documents", headers=lang, data={
        "csrf_token": csrf, "kind": "photo", "file": (io.BytesIO(PNG), "part.png")},
        content_type="multipart/form-data")
    assert got.status_code == 302
    for b, user in steps:
        bookings.report_progress(session, user, b.id, "done")
        bookings.ship(session, user, b.id, carrier="SF Express", tracking_number="SF77")
    buyer = client_of(app, users["buyer"])
    page = buyer.get(f"/orders/{order.id}", headers=lang).text
    assert "SF77" in page and 'id="reject-delivery"' in page and "part.png" not in page
    assert ("photo" if lang is EN else "照片") in page  # the document, by kind, in the table
    got = buyer.post(f"/orders/{order.id}/reject-delivery", headers=lang, data={
        "csrf_token": csrf, "reason": "Scratches", "remedy": "refund",
        "attachment_ids": "9" * 30})  # a forged id: said in words, nothing lost
    assert got.status_code in (302, 422) and session.get(Order, order.id).status == "shipped"
    got = buyer.post(f"/orders/{order.id}/reject-delivery", headers=lang, data={
        "csrf_token": csrf, "reason": "Scratches", "remedy": "refund"})
    assert got.status_code == 302
    page = buyer.get(f"/orders/{order.id}", headers=lang).text
    assert 'id="reject-delivery"' not in page and "Scratches" in page


def test_capacity_search_shows_each_factorys_record(app, session, world, monkeypatch):  # noqa: F811
    users = world["users"]
    buyer = client_of(app, users["buyer"])
    day = utcnow().date().isoformat()
    url = f"/capacity?process=cnc_milling&from={day}&to={day}"
    page = buyer.get(url, headers=EN).text
    assert "new: fewer than 3 jobs" in page  # one job each in this world: no figures yet
    record = scorecards.Scorecard(12, 90, 0.917, 0.083, 1.0, 2.5, 4.5, 80)
    monkeypatch.setattr(scorecards, "for_companies",
                        lambda _session, ids, _now: {c: record for c in ids})
    page = buyer.get(url, headers=ZH).text
    assert "92% 准时" in page and "★ 4.5" in page
