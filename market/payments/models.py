"""Escrow payments, payouts to factories, refunds, disputes, the double-entry ledger and the
Stripe webhook events we have seen. Money is integer minor units of `currency` everywhere."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from market.core.models import company_column, utc_column, utcnow


class Gateway(StrEnum):
    stripe = "stripe"
    manual = "manual"  # bank transfer, marked received by an operator


class PaymentStatus(StrEnum):
    pending = "pending"  # waiting for the buyer's money
    succeeded = "succeeded"  # the money is held in escrow
    failed = "failed"  # the provider refused this attempt; the buyer may try again
    cancelled = "cancelled"  # the order ended before any money arrived
    refunded = "refunded"  # every cent went back to the buyer
    settled = "settled"  # escrow emptied: payouts released (and any partial refund made)


class PayoutStatus(StrEnum):
    pending = "pending"  # due; the transfer is being made (or retried)
    held = "held"  # a dispute stops it until an operator resolves it
    paid = "paid"
    failed = "failed"  # refused by the provider; an operator retries after fixing it


class RefundStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class DisputeStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class Payment(SQLModel, table=True):
    """The buyer's payment of one accepted quote into escrow (one per quote)."""

    __tablename__ = "payment"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount"),
        sa.CheckConstraint("refunded_amount >= 0 and refunded_amount <= amount", name="refunded"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    quote_id: int = Field(foreign_key="quote.id", sa_column_kwargs={"unique": True},
                          nullable=False)
    buyer_company_id: int = Field(sa_column=company_column(index=True))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    platform_fee: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(default="CNY", max_length=3)
    gateway: str = Field(max_length=16)
    status: str = Field(default=PaymentStatus.pending.value, max_length=16, index=True)
    # derived from our own ids, so a retried create can never make a second charge
    idempotency_key: str = Field(max_length=80, sa_column_kwargs={"unique": True},
                                 nullable=False)
    provider_id: str | None = Field(default=None, max_length=255,
                                    sa_column_kwargs={"unique": True})
    client_secret: str = Field(default="", max_length=255)
    reference: str = Field(default="", max_length=40)  # bank-transfer reference (manual)
    refunded_amount: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False,
                                                                 server_default="0"))
    last_error: str = Field(default="", max_length=1000)
    received_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    succeeded_at: datetime | None = Field(default=None, sa_column=utc_column())


class Payout(SQLModel, table=True):
    """What one factory is paid for its bookings on one order: a transfer tied to the order."""

    __tablename__ = "payout"
    __table_args__ = (
        sa.UniqueConstraint("payment_id", "company_id", name="uq_payout_payment_company"),
        sa.CheckConstraint("amount >= 0", name="amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    factory_company_id: int = Field(sa_column=company_column(index=True))
    booking_ids: list[int] = Field(default_factory=list,
                                   sa_column=sa.Column(sa.JSON, nullable=False))
    gross: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))  # its bookings
    fee: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    refund_share: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))  # transferred
    currency: str = Field(default="CNY", max_length=3)
    gateway: str = Field(max_length=16)
    status: str = Field(default=PayoutStatus.pending.value, max_length=16, index=True)
    idempotency_key: str = Field(max_length=80, sa_column_kwargs={"unique": True},
                                 nullable=False)
    provider_transfer_id: str | None = Field(default=None, max_length=255,
                                             sa_column_kwargs={"unique": True})
    destination: str = Field(default="", max_length=255)  # connected account or bank account
    attempts: int = 0
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    paid_at: datetime | None = Field(default=None, sa_column=utc_column())


class Refund(SQLModel, table=True):
    __tablename__ = "refund"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(default="CNY", max_length=3)
    status: str = Field(default=RefundStatus.pending.value, max_length=16, index=True)
    reason: str = Field(default="", max_length=500)
    # the buyer accepted a change that lowered the price: this refund makes the payment
    # smaller (payouts split what is left), it is no share of a dispute
    change_request_id: int | None = Field(default=None, foreign_key="change_request.id")
    idempotency_key: str = Field(max_length=80, sa_column_kwargs={"unique": True},
                                 nullable=False)
    provider_refund_id: str | None = Field(default=None, max_length=255,
                                           sa_column_kwargs={"unique": True})
    attempts: int = 0
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    succeeded_at: datetime | None = Field(default=None, sa_column=utc_column())


class Dispute(SQLModel, table=True):
    """A buyer's dispute: payouts of the order are held until an operator resolves it."""

    __tablename__ = "dispute"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    status: str = Field(default=DisputeStatus.open.value, max_length=16, index=True)
    reason: str = Field(max_length=2000)
    # a rejected delivery: what the buyer asks (remake | refund | partial_refund) and the
    # order's files (photos) that show the problem; "" for other disputes
    remedy: str = Field(default="", max_length=16)
    attachment_ids: list[int] = Field(default_factory=list, sa_column=sa.Column(
        sa.JSON, nullable=False, server_default="[]"))
    previous_order_status: str = Field(max_length=16)
    opened_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    opened_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    # refund_all | refund_part | release | remake
    resolution: str = Field(default="", max_length=16)
    refund_amount: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    note: str = Field(default="", max_length=2000)
    resolved_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column())


class PayoutAccount(SQLModel, table=True):
    """Where a factory is paid: a Stripe connected account, or bank details (manual)."""

    __tablename__ = "payout_account"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", sa_column_kwargs={"unique": True},
                            nullable=False)
    stripe_account_id: str | None = Field(default=None, max_length=255,
                                          sa_column_kwargs={"unique": True})
    stripe_ready: bool = False  # onboarding finished: transfers are enabled
    stripe_checked_at: datetime | None = Field(default=None, sa_column=utc_column())
    bank_name: str = Field(default="", max_length=200)
    account_holder: str = Field(default="", max_length=200)
    account_number: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))

    @property
    def bank_ready(self) -> bool:
        return bool(self.bank_name and self.account_holder and self.account_number)

    @property
    def masked_account(self) -> str:
        return ("•••• " + self.account_number[-4:]) if self.account_number else ""


class LedgerEntry(SQLModel, table=True):
    """One leg of a double-entry transaction. A money event is two or more entries sharing
    `txn` that sum to zero per currency; positive means money moved into `account`. The
    unique (txn, account) makes posting the same event twice impossible, even in a race."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        sa.UniqueConstraint("txn", "account", name="uq_ledger_entry_txn_account"),
        sa.CheckConstraint("amount <> 0", name="amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    txn: str = Field(max_length=80, index=True)
    order_id: int | None = Field(default=None, foreign_key="buyer_order.id", index=True)
    account: str = Field(max_length=80, index=True)
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    kind: str = Field(max_length=16)  # charge | release | payout | refund
    memo: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))


class WebhookEvent(SQLModel, table=True):
    """A Stripe event, stored once by its id; processed_at says it has been applied."""

    __tablename__ = "webhook_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=255, sa_column_kwargs={"unique": True}, nullable=False)
    type: str = Field(max_length=120, index=True)
    created: int | None = None  # Stripe's own timestamp (seconds)
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    processed_at: datetime | None = Field(default=None, sa_column=utc_column())
    deliveries: int = 1
    result: str = Field(default="", max_length=300)
    payload: dict[str, Any] = Field(default_factory=dict,
                                    sa_column=sa.Column(sa.JSON, nullable=False))
