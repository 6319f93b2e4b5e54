"""The manual gateway: the buyer pays by bank transfer quoting a reference, an operator
marks the money received, and payouts are bank transfers to each factory's bank details that
the platform's finance staff execute from the operator page (recorded here with a reference
made from our own payout id, so recording twice is impossible)."""

from __future__ import annotations

from market.payments.gateways.base import AccountState, GatewayRefused, IntentResult


class ManualGateway:
    name = "manual"

    def create_payment(self, *, amount: int, currency: str, idempotency_key: str,
                       transfer_group: str, metadata: dict[str, str]) -> IntentResult:
        # Nothing to call: the money arrives by bank transfer; an operator confirms it.
        return IntentResult(provider_id=None, status="pending", amount=amount,
                            currency=currency)

    def retrieve_payment(self, provider_id: str) -> IntentResult:
        raise GatewayRefused("Bank transfers are confirmed by an operator, not looked up.")

    def transfer(self, *, amount: int, currency: str, destination: str, transfer_group: str,
                 idempotency_key: str, metadata: dict[str, str]) -> str:
        if not destination:
            raise GatewayRefused("The factory has not entered its bank details yet.")
        return f"bank-{idempotency_key}"

    def refund(self, *, payment_provider_id: str | None, amount: int, idempotency_key: str,
               metadata: dict[str, str]) -> str:
        return f"bank-{idempotency_key}"

    def create_account(self, *, email: str, country: str, idempotency_key: str,
                       metadata: dict[str, str]) -> str:
        raise GatewayRefused("With bank transfers, factories enter their bank details.")

    def account_link(self, account_id: str, refresh_url: str, return_url: str) -> str:
        raise GatewayRefused("With bank transfers, factories enter their bank details.")

    def account_state(self, account_id: str) -> AccountState:
        return AccountState(account_id, True)
