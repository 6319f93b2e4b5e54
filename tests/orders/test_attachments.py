"""Attachments: type by content, size limit, safe names, storage by hash, who may read."""

from __future__ import annotations

import io

import pytest
from sqlmodel import func, select

from market.core.errors import Conflict, NotFound, ValidationError
from market.orders import attachments
from market.orders import service as orders
from market.orders.models import Attachment
from tests.conftest import api_token, login, make_account
from tests.fakes.orders import (
    DXF,
    JPEG,
    PNG,
    STEP,
    STL_ASCII,
    book,
    order_input,
    stl_binary,
    tiny_pdf,
    user,
)


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "ATTACHMENT_DIR": str(tmp_path / "attachments"),
            "MAX_CONTENT_LENGTH": 2 * 1024 * 1024}


@pytest.fixture
def root(app):
    from pathlib import Path

    return Path(app.config["ATTACHMENT_DIR"])


@pytest.fixture
def buyer_user(session, taxonomy, buyer):
    return user(session, buyer)


@pytest.fixture
def order(session, buyer_user):
    return orders.create_draft(session, buyer_user, order_input())


def put(session, actor, order, data: bytes, name: str, root, max_bytes: int = 1024 * 1024):
    return attachments.store(session, actor, order.id, name, io.BytesIO(data), root=root,
                             max_bytes=max_bytes)


@pytest.mark.parametrize(
    "data, kind",
    [(tiny_pdf(), "pdf"), (PNG, "png"), (JPEG, "jpeg"), (STEP, "step"), (STL_ASCII, "stl"),
     (stl_binary(3), "stl"), (DXF, "dxf"), (b"\xef\xbb\xbf" + STEP, "step")],
)
def test_detect_kind_by_content(data, kind):
    assert attachments.detect_kind(data[:512], len(data), data[-64:]) == kind


@pytest.mark.parametrize(
    "data",
    [b"MZ\x90\x00 windows executable", b"<html><script>alert(1)</script></html>",
     b"just some text", stl_binary(3)[:-1], b"solid but nothing else", b"PK\x03\x04zip"],
)
def test_unknown_content_is_refused(data):
    assert attachments.detect_kind(data[:512], len(data), data[-64:]) is None


@pytest.mark.parametrize(
    "name, kind, expected",
    [("../../etc/passwd", "pdf", "passwd.pdf"),
     ("..\\..\\windows\\system32\\drawing.PDF", "pdf", "drawing.pdf"),
     ("part\x00.exe", "pdf", "part.exe.pdf"),
     ("bracket.step", "step", "bracket.step"),
     ("bracket.stp", "step", "bracket.stp"),
     ("photo.jpeg", "jpeg", "photo.jpeg"),
     ("evil\u202eexe.pdf", "pdf", "evilexe.pdf"),
     ("", "stl", "file.stl"),
     ("...", "dxf", "file.dxf"),
     (".hidden.dxf", "dxf", "hidden.dxf"),
     ("a" * 500 + ".pdf", "pdf", "a" * 116 + ".pdf"),
     ("图纸 v2.pdf", "pdf", "图纸 v2.pdf"),
     ('a<b>:c"|?*.png', "png", "a_b__c____.png")],
)
def test_sanitise_name(name, kind, expected):
    assert attachments.sanitise_name(name, kind) == expected


def test_store_by_hash_outside_web_root(session, buyer_user, order, root, app):
    pdf = tiny_pdf()
    row = put(session, buyer_user, order, pdf, "../../etc/passwd", root)
    assert row.kind == "pdf" and row.content_type == "application/pdf"
    assert row.filename == "passwd.pdf" and row.size == len(pdf)
    path = attachments.storage_path(root, row.sha256)
    assert path.read_bytes() == pdf
    assert path.parent.name == row.sha256[:2] and path.name == row.sha256[2:]
    assert not str(path).startswith(app.static_folder)
    # the same bytes again: one row, one file
    again = put(session, buyer_user, order, pdf, "other.pdf", root)
    assert again.id == row.id
    assert [p for p in root.rglob("*") if p.is_file()] == [path]
    kinds = [e.kind for e in orders.timeline(session, order)]
    assert kinds == ["created", "attachment_added"]


def test_wrong_type_and_empty_and_too_large(session, buyer_user, order, root):
    with pytest.raises(ValidationError, match="not accepted"):
        put(session, buyer_user, order, b"MZ\x90\x00" * 10, "drawing.pdf", root)
    with pytest.raises(ValidationError, match="empty"):
        put(session, buyer_user, order, b"", "drawing.pdf", root)
    with pytest.raises(attachments.TooLarge) as info:
        put(session, buyer_user, order, tiny_pdf() + b"0" * 2000, "big.pdf", root,
            max_bytes=1000)
    assert info.value.status == 413
    session.rollback()
    assert session.exec(select(func.count()).select_from(Attachment)).one() == 0
    assert not [p for p in root.rglob("*") if p.is_file()], "no temporary files left"


def test_no_attachments_on_cancelled_orders(session, buyer_user, order, root):
    orders.cancel(session, buyer_user, order.id)
    with pytest.raises(Conflict):
        put(session, buyer_user, order, PNG, "x.png", root)


def test_outsiders_cannot_attach_or_read(app, session, buyer_user, order, root):
    row = put(session, buyer_user, order, PNG, "x.png", root)
    other = user(session, make_account(app, "buyer"))
    factory = user(session, make_account(app, "factory"))
    for outsider in (other, factory):
        with pytest.raises(NotFound):
            put(session, outsider, order, JPEG, "y.jpg", root)
        with pytest.raises(NotFound):
            attachments.get_for_reading(session, outsider, row.id, root)
    with pytest.raises(NotFound):
        attachments.get_for_reading(session, None, row.id, root)
    operator = user(session, make_account(app, "operator"))
    assert attachments.get_for_reading(session, operator, row.id, root)[0].id == row.id


# --- over HTTP: pages and API ------------------------------------------------------------

def test_page_upload_and_download(app, session, buyer, buyer_user, order, root):
    client = login(app.test_client(), buyer)
    response = client.post(f"/orders/{order.id}/attachments", data={
        "file": (io.BytesIO(tiny_pdf()), "../../etc/passwd")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    row = session.exec(select(Attachment)).one()
    download = client.get(f"/orders/files/{row.id}")
    assert download.status_code == 200
    assert download.data == tiny_pdf()
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "passwd.pdf" in download.headers["Content-Disposition"]
    assert "no-store" in download.headers["Cache-Control"]


def test_page_upload_wrong_type_and_oversize(app, session, buyer, buyer_user, order):
    client = login(app.test_client(), buyer)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(f"/orders/{order.id}/attachments", data={
        "file": (io.BytesIO(b"<html></html>"), "drawing.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 422
    assert b"not accepted" in response.data
    big = client.post(f"/orders/{order.id}/attachments", data={
        "file": (io.BytesIO(b"%PDF-" + b"0" * (3 * 1024 * 1024)), "big.pdf")},
        content_type="multipart/form-data")
    assert big.status_code == 413
    assert session.exec(select(func.count()).select_from(Attachment)).one() == 0


def test_api_upload_and_download(app, client, session, buyer, buyer_user, order):
    headers = api_token(client, buyer)
    response = client.post(f"/api/v1/orders/{order.id}/attachments", headers=headers,
                           data={"file": (io.BytesIO(STEP), "bracket\x00.step")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["filename"] == "bracket.step" and body["kind"] == "step"
    download = client.get(f"/api/v1/attachments/{body['id']}", headers=headers)
    assert download.status_code == 200 and download.data == STEP
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "data, status, code",
    [(lambda: {"file": (io.BytesIO(b"MZ\x90\x00"), "x.pdf")}, 422, "validation_error"),
     (lambda: {"other": "x"}, 400, "bad_request"),
     (lambda: {"file": (io.BytesIO(b"%PDF-" + b"0" * (3 * 1024 * 1024)), "big.pdf")}, 413,
      "too_large")],
)
def test_api_upload_errors(app, client, buyer, order, data, status, code):
    headers = api_token(client, buyer)
    data = data()
    response = client.post(f"/api/v1/orders/{order.id}/attachments", headers=headers,
                           data=data, content_type="multipart/form-data")
    assert response.status_code == status, response.data[:300]
    assert response.json["error"]["code"] == code


def test_api_upload_needs_multipart(app, client, buyer, order):
    headers = api_token(client, buyer)
    response = client.post(f"/api/v1/orders/{order.id}/attachments", headers=headers,
                           json={"file": "x"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"


def test_outsiders_get_404_for_files(app, client, session, buyer_user, order, root):
    row = put(session, buyer_user, order, PNG, "x.png", root)
    other_buyer = make_account(app, "buyer")
    factory = make_account(app, "factory")
    for account in (other_buyer, factory):
        page = login(app.test_client(), account)
        assert page.get(f"/orders/files/{row.id}").status_code == 404
        assert page.get(f"/orders/{order.id}").status_code == 404
        headers = api_token(client, account)
        assert client.get(f"/api/v1/attachments/{row.id}", headers=headers).status_code == 404
        assert client.post(f"/api/v1/orders/{order.id}/attachments", headers=headers,
                           data={"file": (io.BytesIO(PNG), "x.png")},
                           content_type="multipart/form-data").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(f"/orders/files/{row.id}").status_code == 404
    assert anonymous.get(f"/orders/{order.id}").status_code == 404
    assert anonymous.get(f"/api/v1/attachments/{row.id}").status_code == 404
    assert anonymous.get(f"/api/v1/orders/{order.id}").status_code == 404


def test_booked_factory_reads_the_order_and_its_files(app, client, session, buyer_user, order,
                                                      root):
    row = put(session, buyer_user, order, PNG, "x.png", root)
    booked = make_account(app, "factory")
    declined = make_account(app, "factory")
    book(session, order, booked.company_id, "accepted")
    book(session, order, declined.company_id, "declined")
    reader = user(session, booked)
    assert orders.can_read_order(reader, order)
    assert not orders.can_edit_order(reader, order)
    assert attachments.get_for_reading(session, reader, row.id, root)[0].id == row.id
    page = login(app.test_client(), booked)
    assert page.get(f"/orders/{order.id}").status_code == 200
    assert page.get(f"/orders/files/{row.id}").status_code == 200
    assert page.post(f"/orders/{order.id}/submit").status_code in (302, 403)
    headers = api_token(client, booked)
    assert client.get(f"/api/v1/attachments/{row.id}", headers=headers).status_code == 200
    # a declined booking gives no access
    outsider = login(app.test_client(), declined)
    assert outsider.get(f"/orders/{order.id}").status_code == 404
    assert outsider.get(f"/orders/files/{row.id}").status_code == 404
    session.expire_all()
    assert session.get(type(order), order.id).status == "draft"
