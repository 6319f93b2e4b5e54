"""Removing a wrong file: the buyer may, until a factory has been given the order; its bytes
go when nothing else names them; timeline and audit say so; pages and API."""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from market.core.audit import AuditEvent
from market.core.errors import Conflict, NotFound, PermissionDenied
from market.notify.models import MessageFile
from market.orders import attachments, lifecycle
from market.orders import service as orders
from market.orders.attachments import storage_path
from market.orders.models import Attachment, Order, OrderStatus
from tests.conftest import api_token, login, make_account
from tests.fakes.orders import PNG, book, order_input, tiny_pdf, user
from tests.orders.test_attachments import app_config, buyer_user, order, root  # noqa: F401

EN = {"Accept-Language": "en"}


def put(session, actor, order, data: bytes, name: str, root):  # noqa: F811
    return attachments.store(session, actor, order.id, name, io.BytesIO(data), root=root,
                             max_bytes=1024 * 1024)


def share(session, order, factory_company_id: int) -> None:  # noqa: F811
    """What accepting a quote does: the order accepted, bookings proposed to factories."""
    book(session, order, factory_company_id, "proposed")
    order = session.get(Order, order.id)
    lifecycle.move(order, OrderStatus.open)
    lifecycle.move(order, OrderStatus.quoted)
    lifecycle.move(order, OrderStatus.accepted)
    orders.add_event(session, order, None, "bookings_proposed", bookings=1)
    session.add(order)
    session.commit()


def test_remove_before_sharing_deletes_row_and_bytes(session, buyer_user, order, root):  # noqa: F811
    row = put(session, buyer_user, order, tiny_pdf(), "wrong.pdf", root)
    blob = storage_path(root, row.sha256)
    assert blob.is_file()
    attachments.remove(session, buyer_user, row.id, root=root)
    assert session.get(Attachment, row.id) is None and not blob.exists()
    kinds = [e.kind for e in orders.timeline(session, order)]
    assert kinds[-1] == "attachment_removed"
    assert orders.timeline(session, order)[-1].details["name"] == "wrong.pdf"
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "attachment.removed")).one()
    assert audit.details["order_id"] == order.id
    with pytest.raises(NotFound):
        attachments.remove(session, buyer_user, row.id, root=root)


def test_shared_bytes_stay_while_another_file_names_them(session, buyer_user, order, root):  # noqa: F811
    other = orders.create_draft(session, buyer_user, order_input(title="Second"))
    first = put(session, buyer_user, order, PNG, "a.png", root)
    second = put(session, buyer_user, other, PNG, "b.png", root)
    assert first.sha256 == second.sha256
    blob = storage_path(root, first.sha256)
    attachments.remove(session, buyer_user, first.id, root=root)
    assert blob.is_file()  # the other order's file still needs them
    # a message file with the same content keeps them too (notify answers blob_in_use)
    session.add(MessageFile(order_id=other.id, uploaded_by_id=buyer_user.id,
                            sha256=second.sha256, size=second.size, kind="png",
                            content_type="image/png", filename="b.png"))
    session.commit()
    attachments.remove(session, buyer_user, second.id, root=root)
    assert blob.is_file()
    session.delete(session.exec(select(MessageFile)).one())
    session.commit()
    third = put(session, buyer_user, other, PNG, "c.png", root)
    attachments.remove(session, buyer_user, third.id, root=root)
    assert not blob.exists()


def test_after_sharing_removal_is_a_conflict(app, session, buyer_user, order, root):  # noqa: F811
    row = put(session, buyer_user, order, PNG, "x.png", root)
    factory = make_account(app, "factory")
    share(session, order, factory.company_id)
    with pytest.raises(Conflict) as refused:
        attachments.remove(session, buyer_user, row.id, root=root)
    assert refused.value.params == {"name": "x.png"}
    assert session.get(Attachment, row.id) is not None
    assert storage_path(root, row.sha256).is_file()
    # the factory reads it but may not remove it; a stranger cannot tell it exists
    with pytest.raises(PermissionDenied):
        attachments.remove(session, user(session, factory), row.id, root=root)
    stranger = make_account(app, "buyer")
    with pytest.raises(NotFound):
        attachments.remove(session, user(session, stranger), row.id, root=root)


def test_a_declined_booking_still_counts_as_shared(app, session, buyer_user, order, root):  # noqa: F811
    """A factory may have downloaded the file while its booking was proposed: once the order
    was accepted, the files stay even if it is open again."""
    row = put(session, buyer_user, order, PNG, "x.png", root)
    orders.add_event(session, order, None, "quote_accepted", quote_id=1, price=1)
    session.commit()
    assert order.status == OrderStatus.draft
    with pytest.raises(Conflict):
        attachments.remove(session, buyer_user, row.id, root=root)


def test_api_delete(app, client, session, buyer, buyer_user, order, root):  # noqa: F811
    row = put(session, buyer_user, order, PNG, "x.png", root)
    headers = api_token(client, buyer)
    other = api_token(client, make_account(app, "buyer"))
    assert client.delete(f"/api/v1/attachments/{row.id}", headers=other).status_code == 404
    response = client.delete(f"/api/v1/attachments/{row.id}", headers=headers)
    assert response.status_code == 204 and response.data == b""
    assert client.get(f"/api/v1/attachments/{row.id}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/attachments/{row.id}", headers=headers).status_code == 404
    session.expunge_all()  # SQLite may give the next file the removed one's id
    again = put(session, buyer_user, order, PNG, "y.png", root)
    share(session, order, make_account(app, "factory").company_id)
    refused = client.delete(f"/api/v1/attachments/{again.id}", headers={**headers, **EN})
    assert refused.status_code == 409
    assert "has been shared with the factories" in refused.json["error"]["message"]
    doc = client.get("/api/v1/openapi.json").json
    assert "delete" in doc["paths"]["/api/v1/attachments/{attachment_id}"]


def test_page_remove_button_and_refusal(app, session, buyer, buyer_user, order, root):  # noqa: F811
    row = put(session, buyer_user, order, PNG, "wrong.png", root)
    row_id = row.id
    page = login(app.test_client(), buyer)
    html = page.get(f"/orders/{order.id}", headers=EN).text
    action = f'/orders/{order.id}/files/{row.id}/remove'
    assert action in html and 'data-confirm="Remove wrong.png from this order?' in html
    response = page.post(action, headers=EN, follow_redirects=True)
    assert response.status_code == 200 and "Removed wrong.png." in response.text
    assert "File removed" in response.text  # the timeline's sentence
    session.expunge_all()
    assert session.get(Attachment, row_id) is None
    # shared: no button, and a post anyway is refused in words, the file kept
    order = session.get(Order, order.id)
    kept = put(session, buyer_user, order, tiny_pdf(), "drawing.pdf", root)
    share(session, order, make_account(app, "factory").company_id)
    html = page.get(f"/orders/{order.id}", headers=EN).text
    assert "/remove" not in html and "drawing.pdf" in html
    refused = page.post(f"/orders/{order.id}/files/{kept.id}/remove", headers=EN,
                        follow_redirects=True)
    assert "has been shared with the factories on this order" in refused.text
    session.expire_all()
    assert session.get(Attachment, kept.id) is not None
    # a file of another order under this order's URL is not found
    other = orders.create_draft(session, buyer_user, order_input(title="Other"))
    foreign = put(session, buyer_user, other, PNG, "other.png", root)
    assert page.post(f"/orders/{order.id}/files/{foreign.id}/remove").status_code == 404
