"""The manual gateway: the buyer pays by bank transfer quoting a reference, an operator
marks the money received; money out is bank transfers too, made by the platform's finance
staff from the operator page (to each factory's bank details, or back to the account a
buyer paid from) and marked sent by an operator there (`payments.bank_transfers`). Nothing
here claims money moved: `transfer` and `refund` refuse, so no code path can mark a payout
paid or a refund sent without that confirmation."""

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
        raise GatewayRefused("Bank transfers are made by people; an operator marks them sent.")

    def refund(self, *, payment_provider_id: str | None, amount: int, idempotency_key: str,
               metadata: dict[str, str]) -> str:
        raise GatewayRefused("Bank transfers are made by people; an operator marks them sent.")

    def create_account(self, *, email: str, country: str, idempotency_key: str,
                       metadata: dict[str, str]) -> str:
        raise GatewayRefused("With bank transfers, factories enter their bank details.")

    def account_link(self, account_id: str, refresh_url: str, return_url: str) -> str:
        raise GatewayRefused("With bank transfers, factories enter their bank details.")

    def account_state(self, account_id: str) -> AccountState:
        return AccountState(account_id, True)
