"""Stripe, through the official SDK: separate charges and transfers (the buyer's
PaymentIntent lands in the platform balance; each factory gets a Transfer to its connected
account in the order's `transfer_group`), Refunds, Connect onboarding (Express accounts and
AccountLinks). The base address is configurable so tests exercise the real SDK against a
local fake server."""

from __future__ import annotations

from typing import Any

import stripe

from market.payments.gateways.base import (
    AccountState,
    GatewayError,
    GatewayRefused,
    GatewayUnavailable,
    IntentResult,
)

# Stripe's PaymentIntent statuses onto ours: everything before success is "pending" (a
# failed card puts the intent back to requires_payment_method and the buyer may retry).
_STATUS = {
    "succeeded": "succeeded",
    "canceled": "cancelled",
}


def _translate(exc: stripe.StripeError) -> GatewayError:
    message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return GatewayUnavailable(f"Stripe could not be reached: {message}")
    status = getattr(exc, "http_status", None)
    if isinstance(exc, stripe.APIError) or (status is not None and status >= 500):
        return GatewayUnavailable(f"Stripe had a problem: {message}")
    return GatewayRefused(f"Stripe refused: {message}")


class StripeGateway:
    name = "stripe"

    def __init__(self, secret_key: str, api_base: str = "", timeout: float = 30,
                 max_network_retries: int = 2) -> None:
        bases: dict[str, str] = {}
        if api_base:
            bases = {"api": api_base, "connect": api_base, "files": api_base}
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses=bases,  # type: ignore[arg-type]
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        # StripeObjects are not dicts in SDK 16; plain data is easier to reason about.
        return result.to_dict() if hasattr(result, "to_dict") else result

    @staticmethod
    def _intent(pi: Any) -> IntentResult:
        error = ""
        last = pi.get("last_payment_error")
        if last:
            error = str(last.get("message") or last.get("code") or "payment failed")
        return IntentResult(
            provider_id=pi["id"], status=_STATUS.get(pi["status"], "pending"),
            amount=int(pi["amount"]), currency=str(pi["currency"]).upper(),
            client_secret=pi.get("client_secret") or "", error=error,
            metadata=dict(pi.get("metadata") or {}))

    def create_payment(self, *, amount: int, currency: str, idempotency_key: str,
                       transfer_group: str, metadata: dict[str, str]) -> IntentResult:
        pi = self._call(self.client.v1.payment_intents.create, params={
            "amount": amount, "currency": currency.lower(), "transfer_group": transfer_group,
            "metadata": metadata, "automatic_payment_methods": {"enabled": True},
        }, options={"idempotency_key": idempotency_key})
        return self._intent(pi)

    def retrieve_payment(self, provider_id: str) -> IntentResult:
        return self._intent(self._call(self.client.v1.payment_intents.retrieve, provider_id))

    def transfer(self, *, amount: int, currency: str, destination: str, transfer_group: str,
                 idempotency_key: str, metadata: dict[str, str]) -> str:
        if not destination:
            raise GatewayRefused("The factory has not connected a Stripe account yet.")
        transfer = self._call(self.client.v1.transfers.create, params={
            "amount": amount, "currency": currency.lower(), "destination": destination,
            "transfer_group": transfer_group, "metadata": metadata,
        }, options={"idempotency_key": idempotency_key})
        return str(transfer["id"])

    def refund(self, *, payment_provider_id: str | None, amount: int, idempotency_key: str,
               metadata: dict[str, str]) -> str:
        if not payment_provider_id:
            raise GatewayRefused("This payment has no Stripe PaymentIntent to refund.")
        refund = self._call(self.client.v1.refunds.create, params={
            "payment_intent": payment_provider_id, "amount": amount, "metadata": metadata,
        }, options={"idempotency_key": idempotency_key})
        return str(refund["id"])

    def create_account(self, *, email: str, country: str, idempotency_key: str,
                       metadata: dict[str, str]) -> str:
        account = self._call(self.client.v1.accounts.create, params={
            "type": "express", "country": country, "email": email,
            "capabilities": {"transfers": {"requested": True}}, "metadata": metadata,
        }, options={"idempotency_key": idempotency_key})
        return str(account["id"])

    def account_link(self, account_id: str, refresh_url: str, return_url: str) -> str:
        link = self._call(self.client.v1.account_links.create, params={
            "account": account_id, "refresh_url": refresh_url, "return_url": return_url,
            "type": "account_onboarding",
        })
        return str(link["url"])

    def account_state(self, account_id: str) -> AccountState:
        account = self._call(self.client.v1.accounts.retrieve, account_id)
        return AccountState(account_id, _account_ready(account))


def _account_ready(account: Any) -> bool:
    capabilities = account.get("capabilities") or {}
    return capabilities.get("transfers") == "active" or bool(account.get("payouts_enabled"))


def construct_event(payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """Verify Stripe's signature on the raw body and parse it. Raises ValueError (bad JSON)
    or stripe.SignatureVerificationError (bad or missing signature, or too old)."""
    event = stripe.Webhook.construct_event(payload, signature, secret)
    return event.to_dict()
