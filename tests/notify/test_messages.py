"""Messages on orders: the buyer-operators thread and one thread per booked factory; a
factory never sees another's (404); bodies are text; files are checked and stay in their
thread; each message tells the other side."""

from __future__ import annotations

import io

from sqlmodel import select

from market.deals import service as bookings
from market.notify.models import Notification
from tests.conftest import api_token, login
from tests.fakes.orders import pay, tiny_pdf
from tests.payments.conftest import account_of, make_quote


def _booked(session, people):
    order, quote = make_quote(session, people)
    bookings.accept_quote(session, people["buyer"], quote.id)
    pay(session, people["operator"].id, order.id)
    return order


def _tokens(app, client, people):
    return {role: api_token(client, account_of(people, role, app))
            for role in ("buyer", "mill", "anod", "operator")}


def _told(session, user, kind="message_received"):
    session.expire_all()
    return list(session.exec(select(Notification).where(Notification.user_id == user.id,
                                                        Notification.kind == kind)))


def test_threads_per_factory_and_who_sees_them(app, client, session, people):
    order = _booked(session, people)
    t = _tokens(app, client, people)
    mill_id = people["mill"].company_id
    url = f"/api/v1/orders/{order.id}/messages"
    wrote = client.post(url, headers=t["mill"], json={"body": "Is 6061-T6 fine?"})
    assert wrote.status_code == 201, wrote.json
    assert wrote.json["factory_id"] == mill_id
    assert wrote.json["author"]["company"] == "Factory Test Co" or wrote.json["author"]["name"]
    # the buyer reads the mill's thread by choosing it; its own default is the platform's
    assert client.get(url, headers=t["buyer"]).json["total"] == 0
    mine = client.get(f"{url}?factory_id={mill_id}", headers=t["buyer"]).json
    assert [m["body"] for m in mine["items"]] == ["Is 6061-T6 fine?"]
    reply = client.post(f"{url}?factory_id={mill_id}", headers=t["buyer"],
                        json={"body": "Yes, T6."})
    assert reply.status_code == 201
    # the other factory sees only its own (empty) thread, and never the mill's
    assert client.get(url, headers=t["anod"]).json["total"] == 0
    assert client.get(f"{url}?factory_id={mill_id}", headers=t["anod"]).status_code == 404
    # operators see every thread
    seen = client.get(f"{url}?factory_id={mill_id}", headers=t["operator"]).json
    assert seen["total"] == 2
    # the other side was told, the author not
    assert len(_told(session, people["buyer"])) == 1
    assert len(_told(session, people["mill"])) == 1
    assert _told(session, people["anod"]) == []
    assert "Yes, T6." in _told(session, people["mill"])[0].body


def test_the_buyer_operators_thread_and_strangers(app, client, session, people):
    order, _quote = make_quote(session, people)  # before any booking
    t = _tokens(app, client, people)
    url = f"/api/v1/orders/{order.id}/messages"
    assert client.post(url, headers=t["buyer"], json={"body": "Can you expedite?"}
                       ).status_code == 201
    assert len(_told(session, people["operator"])) == 1
    assert client.post(url, headers=t["operator"], json={"body": "We will try."}
                       ).status_code == 201
    assert len(_told(session, people["buyer"])) == 1
    # no booking on the order: a factory has no thread here
    assert client.get(url, headers=t["mill"]).status_code == 404
    assert client.post(url, headers=t["mill"], json={"body": "hi"}).status_code == 404
    assert client.get(f"{url}?factory_id=99999", headers=t["buyer"]).status_code == 404
    assert client.get(f"{url}?factory_id=abc", headers=t["buyer"]).status_code == 422
    assert client.post(url, headers=t["buyer"], json={"body": "  "}).status_code == 422


def test_files_belong_to_their_thread(app, client, session, people):
    order = _booked(session, people)
    t = _tokens(app, client, people)
    mill_id = people["mill"].company_id
    up = client.post(f"/api/v1/orders/{order.id}/message-files?factory_id={mill_id}",
                     headers=t["buyer"], content_type="multipart/form-data",
                     data={"file": (io.BytesIO(tiny_pdf()), "rev-b.pdf")})
    assert up.status_code == 201, up.json
    bad = client.post(f"/api/v1/orders/{order.id}/message-files?factory_id={mill_id}",
                      headers=t["buyer"], content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"MZ not a drawing"), "x.exe")})
    assert bad.status_code == 422
    file_id = up.json["id"]
    # not in another thread, and not by someone else
    assert client.post(f"/api/v1/orders/{order.id}/messages", headers=t["buyer"],
                       json={"body": "see", "attachment_ids": [file_id]}).status_code == 422
    sent = client.post(f"/api/v1/orders/{order.id}/messages?factory_id={mill_id}",
                       headers=t["buyer"], json={"body": "Rev B", "attachment_ids": [file_id]})
    assert sent.status_code == 201 and sent.json["attachments"][0]["filename"] == "rev-b.pdf"
    got = client.get(f"/api/v1/message-files/{file_id}", headers=t["mill"])
    assert got.status_code == 200 and got.data.startswith(b"%PDF")
    assert client.get(f"/api/v1/message-files/{file_id}", headers=t["anod"]).status_code == 404


def test_pages_escape_bodies_and_exchange_messages(app, session, people):
    order = _booked(session, people)
    mill_id = people["mill"].company_id
    buyer = login(app.test_client(), account_of(people, "buyer", app))
    mill = login(app.test_client(), account_of(people, "mill", app))
    anod = login(app.test_client(), account_of(people, "anod", app))
    sent = mill.post(f"/orders/{order.id}/messages", headers={"HX-Request": "true"},
                     data={"body": "<script>alert(1)</script> ready?"})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ready?" in html and "<script>alert" not in html
    page = buyer.get(f"/orders/{order.id}/messages?factory_id={mill_id}").get_data(as_text=True)
    assert "ready?" in page
    assert anod.get(f"/orders/{order.id}/messages?factory_id={mill_id}").status_code == 404
    assert "ready?" not in anod.get(f"/orders/{order.id}/messages").get_data(as_text=True)
    # the order and booking pages load the thread
    assert f"/orders/{order.id}/messages" in buyer.get(f"/orders/{order.id}").get_data(
        as_text=True)
    empty = mill.post(f"/orders/{order.id}/messages", data={"body": ""})
    assert empty.status_code == 422
