"""Money providers behind one protocol (DESIGN.md): StripeGateway when Stripe is configured,
ManualGateway (bank transfer, marked received by an operator) otherwise.

Services never read Flask's request; they take a `PaymentSettings`, which `settings()`
builds from the current app's config (or from the environment outside an app)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from market.payments.gateways.base import (
    AccountState,
    GatewayError,
    GatewayRefused,
    GatewayUnavailable,
    IntentResult,
    PaymentGateway,
)
from market.payments.gateways.manual import ManualGateway


@dataclass(frozen=True)
class PaymentSettings:
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    stripe_timeout_seconds: float = 30
    stripe_max_network_retries: int = 2
    supported_currencies: tuple[str, ...] = ("CNY",)
    payout_after_shipment_days: int = 14
    payment_due_hours: int = 72
    bank_name: str = ""
    bank_holder: str = ""
    bank_account: str = ""

    @property
    def gateway_name(self) -> str:
        return "stripe" if self.stripe_secret_key else "manual"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PaymentSettings:
        currencies = config.get("SUPPORTED_CURRENCIES") or ("CNY",)
        if isinstance(currencies, str):
            currencies = [c for c in currencies.split(",") if c.strip()]
        return cls(
            stripe_secret_key=config.get("STRIPE_SECRET_KEY") or "",
            stripe_publishable_key=config.get("STRIPE_PUBLISHABLE_KEY") or "",
            stripe_webhook_secret=config.get("STRIPE_WEBHOOK_SECRET") or "",
            stripe_api_base=config.get("STRIPE_API_BASE") or "",
            stripe_timeout_seconds=float(config.get("STRIPE_TIMEOUT_SECONDS") or 30),
            stripe_max_network_retries=int(config.get("STRIPE_MAX_NETWORK_RETRIES") or 0),
            supported_currencies=tuple(c.strip().upper() for c in currencies),
            payout_after_shipment_days=int(config.get("PAYOUT_AFTER_SHIPMENT_DAYS") or 0),
            payment_due_hours=int(config.get("PAYMENT_DUE_HOURS") or 0),
            bank_name=config.get("PLATFORM_BANK_NAME") or "",
            bank_holder=config.get("PLATFORM_BANK_HOLDER") or "",
            bank_account=config.get("PLATFORM_BANK_ACCOUNT") or "",
        )


def settings() -> PaymentSettings:
    from flask import current_app, has_app_context

    if has_app_context():
        return PaymentSettings.from_config(current_app.config)
    from market.config import Config

    return PaymentSettings.from_config(
        {k: getattr(Config, k) for k in dir(Config) if k.isupper()})


def confirmed_by_hand(name: str) -> bool:
    """Whether money out through this gateway is a bank transfer that people make: a payout
    is paid, a refund sent, when an operator confirms it, not when the service asks."""
    return name == ManualGateway.name


def gateway(name: str, config: PaymentSettings) -> PaymentGateway:
    """The gateway a payment was made with (a payment keeps its gateway for life)."""
    if name == "stripe":
        if not config.stripe_secret_key:
            raise GatewayRefused("Stripe is not configured (STRIPE_SECRET_KEY).")
        from market.payments.gateways.stripe_gateway import StripeGateway

        return StripeGateway(config.stripe_secret_key, config.stripe_api_base,
                             config.stripe_timeout_seconds, config.stripe_max_network_retries)
    return ManualGateway()


__all__ = [
    "AccountState",
    "GatewayError",
    "GatewayRefused",
    "GatewayUnavailable",
    "IntentResult",
    "ManualGateway",
    "PaymentGateway",
    "PaymentSettings",
    "confirmed_by_hand",
    "gateway",
    "settings",
]
