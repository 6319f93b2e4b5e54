"""A small fake of the parts of Stripe's HTTP API Yunzao calls, served on a free local port
so the real `stripe` SDK talks to it (StripeClient base addresses -> STRIPE_API_BASE).

- Form-encoded POSTs to /v1/payment_intents, /v1/transfers, /v1/refunds, /v1/accounts,
  /v1/account_links; GET /v1/payment_intents/<id>, /v1/accounts/<id>, /v1/transfers/<id>.
- Stripe-shaped JSON objects; errors in Stripe's {"error": {...}} shape.
- Idempotency-Key: the same key on the same path answers the first object again (and a
  different body with a used key is a 400 idempotency_error, as in Stripe).
- Every request is recorded (method, path, nested params, headers) for assertions.
- Faults for the next call to a path: "500" (nothing done, an error answered) or "hang"
  (the work is done, then the answer is delayed past the client's timeout: the case where
  we cannot know whether Stripe acted). Injected 500s are not stored under the idempotency
  key: they model a failure in front of Stripe's API, before the request ran.
- Events: every state change appends a Stripe event (payment_intent.created/succeeded/
  payment_failed, transfer.created, refund.created, charge.refunded, account.updated) that
  tests sign and deliver to the webhook endpoint."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    """Stripe's form encoding (metadata[order_id]=1, a[b][c]=x) back into nested dicts."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class FakeStripe:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    hang_seconds: float = 2.5
    _idem: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- test controls -------------------------------------------------------------------
    def fault(self, path: str, mode: str = "500", times: int = 1) -> None:
        """The next `times` calls to `path` (e.g. "/v1/transfers") fail with `mode`."""
        assert mode in ("500", "hang")
        self.faults.setdefault(path, []).extend([mode] * times)

    def calls(self, path: str, method: str = "POST") -> list[Recorded]:
        return [r for r in self.requests if r.path == path and r.method == method]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["object"] == kind]

    def succeed(self, pi_id: str) -> dict[str, Any]:
        """The buyer completed the payment with Stripe.js."""
        with self._lock:
            pi = self.objects[pi_id]
            pi["status"], pi["last_payment_error"] = "succeeded", None
            pi["latest_charge"] = f"ch_{next(self._ids)}"
            self._event("payment_intent.succeeded", pi)
            self._event("charge.succeeded", {"id": pi["latest_charge"], "object": "charge",
                                             "payment_intent": pi_id, "amount": pi["amount"]})
            return pi

    def decline(self, pi_id: str, message: str = "Your card was declined.") -> dict[str, Any]:
        with self._lock:
            pi = self.objects[pi_id]
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {"code": "card_declined", "message": message}
            self._event("payment_intent.payment_failed", pi)
            return pi

    def activate(self, account_id: str) -> dict[str, Any]:
        """The factory finished Connect onboarding."""
        with self._lock:
            account = self.objects[account_id]
            account["capabilities"] = {"transfers": "active"}
            account["payouts_enabled"] = True
            self._event("account.updated", account)
            return account

    # --- the HTTP side -------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def _event(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.append({
            "id": self._new_id("evt"), "object": "event", "type": kind,
            "api_version": "2025-01-01", "created": int(time.time()), "livemode": False,
            "data": {"object": json.loads(json.dumps(obj))}, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        })

    @staticmethod
    def _error(status: int, kind: str, message: str, code: str = "") -> Response:
        body = {"error": {"type": kind, "message": message, **({"code": code} if code else {})}}
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        params = _nest(request.form.to_dict()) if request.method == "POST" else _nest(
            request.args.to_dict())
        headers = {k: v for k, v in request.headers.items()
                   if k in ("Idempotency-Key", "Authorization", "Stripe-Version",
                            "Stripe-Account")}
        path = request.path
        with self._lock:
            self.requests.append(Recorded(request.method, path, params, headers))
            mode = None
            queue = self.faults.get(path) or self.faults.get(path.rsplit("/", 1)[0] + "/*")
            if queue:
                mode = queue.pop(0)
        if not headers.get("Authorization", "").startswith("Bearer sk_"):
            return self._error(401, "invalid_request_error", "Invalid API Key provided.")
        if mode == "500":
            return self._error(500, "api_error", "Something went wrong on Stripe's end.")
        response = self._handle(request.method, path, params, headers.get("Idempotency-Key"))
        if mode == "hang":
            time.sleep(self.hang_seconds)  # the work is done; the client gives up first
        return response

    def _handle(self, method: str, path: str, params: dict[str, Any],
                key: str | None) -> Response:
        with self._lock:
            if method == "POST" and key:
                seen = self._idem.get((path, key))
                if seen is not None:
                    body_hash, obj = seen
                    if body_hash != json.dumps(params, sort_keys=True):
                        return self._error(400, "idempotency_error",
                                           "Keys for idempotent requests can only be used "
                                           "with the same parameters they were first used "
                                           "with.")
                    return Response(json.dumps(obj), mimetype="application/json")
            try:
                obj = self._route(method, path, params)
            except KeyError as exc:
                return self._error(404, "invalid_request_error", f"No such object: {exc}",
                                   "resource_missing")
            except ValueError as exc:
                return self._error(400, "invalid_request_error", str(exc), "parameter_invalid")
            if method == "POST" and key:
                self._idem[(path, key)] = (json.dumps(params, sort_keys=True), obj)
            return Response(json.dumps(obj), mimetype="application/json")

    def _route(self, method: str, path: str, p: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if parts[0] != "v1" or len(parts) < 2:
            raise KeyError(path)
        kind = parts[1]
        if method == "GET" and len(parts) == 3:
            obj = self.objects[parts[2]]
            return obj
        if method != "POST" or len(parts) != 2:
            raise KeyError(path)
        now = int(time.time())
        if kind == "payment_intents":
            amount = int(p["amount"])
            if amount <= 0:
                raise ValueError("amount must be positive")
            pid = self._new_id("pi")
            obj = {"id": pid, "object": "payment_intent", "amount": amount,
                   "currency": p["currency"], "status": "requires_payment_method",
                   "client_secret": f"{pid}_secret_{hashlib.sha1(pid.encode()).hexdigest()[:8]}",
                   "transfer_group": p.get("transfer_group"), "metadata": p.get("metadata", {}),
                   "last_payment_error": None, "latest_charge": None, "livemode": False,
                   "created": now}
            self.objects[pid] = obj
            self._event("payment_intent.created", obj)
            return obj
        if kind == "transfers":
            destination = p.get("destination", "")
            account = self.objects.get(destination)
            if account is None or account["object"] != "account":
                raise ValueError(f"No such destination: {destination}")
            if account["capabilities"].get("transfers") != "active":
                raise ValueError("The destination account needs the transfers capability.")
            tid = self._new_id("tr")
            obj = {"id": tid, "object": "transfer", "amount": int(p["amount"]),
                   "currency": p["currency"], "destination": destination,
                   "transfer_group": p.get("transfer_group"), "metadata": p.get("metadata", {}),
                   "reversed": False, "created": now}
            self.objects[tid] = obj
            self._event("transfer.created", obj)
            return obj
        if kind == "refunds":
            pi = self.objects[p["payment_intent"]]
            amount = int(p.get("amount") or pi["amount"])
            refunded = sum(o["amount"] for o in self.of_type("refund")
                           if o["payment_intent"] == pi["id"])
            if pi["status"] != "succeeded" or refunded + amount > pi["amount"]:
                raise ValueError("Refund amount is greater than the unrefunded amount.")
            rid = self._new_id("re")
            obj = {"id": rid, "object": "refund", "amount": amount,
                   "currency": pi["currency"], "payment_intent": pi["id"],
                   "status": "succeeded", "metadata": p.get("metadata", {}), "created": now}
            self.objects[rid] = obj
            self._event("refund.created", obj)
            self._event("charge.refunded", {"id": pi.get("latest_charge"), "object": "charge",
                                            "payment_intent": pi["id"],
                                            "amount_refunded": refunded + amount})
            return obj
        if kind == "accounts":
            aid = self._new_id("acct")
            obj = {"id": aid, "object": "account", "type": p.get("type", "express"),
                   "email": p.get("email"), "country": p.get("country"),
                   "capabilities": {"transfers": "inactive"}, "payouts_enabled": False,
                   "metadata": p.get("metadata", {}), "created": now}
            self.objects[aid] = obj
            return obj
        if kind == "account_links":
            account = self.objects[p["account"]]
            return {"object": "account_link", "created": now, "expires_at": now + 300,
                    "url": f"https://connect.stripe.test/setup/e/{account['id']}"}
        raise KeyError(path)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's webhook signature header: t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<payload>")."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # the recorder is the log
        pass


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = make_server("127.0.0.1", 0, fake, threaded=True, request_handler=_Quiet)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
