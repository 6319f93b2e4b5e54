"""The PaymentGateway protocol: what the payment services need from a money provider.

Every call that moves money takes an idempotency key derived from our own records
(`payment-<quote id>`, `payout-<payout id>`, `refund-<refund id>`), so a retry after a timeout
returns the first result instead of charging, transferring or refunding twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class GatewayError(Exception):
    """The provider did not do what we asked."""

    transient = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GatewayUnavailable(GatewayError):
    """A timeout, a connection error or a 5xx: the outcome is unknown, retry with the same
    idempotency key."""

    transient = True


class GatewayRefused(GatewayError):
    """The provider answered and said no (a 4xx): retrying the same call will not help."""


@dataclass
class IntentResult:
    """A payment as the provider sees it, mapped onto our statuses."""

    provider_id: str | None
    status: str  # pending | succeeded | cancelled
    amount: int
    currency: str
    client_secret: str = ""
    error: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class AccountState:
    account_id: str
    ready: bool  # transfers may be sent to it


class PaymentGateway(Protocol):
    name: str

    def create_payment(self, *, amount: int, currency: str, idempotency_key: str,
                       transfer_group: str, metadata: dict[str, str]) -> IntentResult: ...

    def retrieve_payment(self, provider_id: str) -> IntentResult: ...

    def transfer(self, *, amount: int, currency: str, destination: str, transfer_group: str,
                 idempotency_key: str, metadata: dict[str, str]) -> str: ...

    def refund(self, *, payment_provider_id: str | None, amount: int, idempotency_key: str,
               metadata: dict[str, str]) -> str: ...

    def create_account(self, *, email: str, country: str, idempotency_key: str,
                       metadata: dict[str, str]) -> str: ...

    def account_link(self, account_id: str, refresh_url: str, return_url: str) -> str: ...

    def account_state(self, account_id: str) -> AccountState: ...
