"""Firm quotes (a price and date from an approved run) and bookings (an approved planned
operation on a machine, proposed to and then worked by its factory)."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from market.core.models import company_column, utc_column, utcnow


class QuoteStatus(StrEnum):
    offered = "offered"  # firm, capacity held until it expires
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"  # a factory declined a booking: the quote no longer stands
    superseded = "superseded"  # the buyer accepted a change: a new quote took its place


class BookingStatus(StrEnum):
    proposed = "proposed"  # waiting for the factory
    accepted = "accepted"
    declined = "declined"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"
    replaced = "replaced"  # a re-plan moved the work: a new booking took its place


LIVE_BOOKING_STATES = (BookingStatus.proposed, BookingStatus.accepted,
                       BookingStatus.in_progress, BookingStatus.done)


QC_RESULTS = ("pass", "fail")


class Quote(SQLModel, table=True):
    """A firm quote from an approved run: the buyer's price and delivery date."""

    __tablename__ = "quote"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    run_id: int = Field(foreign_key="matching_run.id")
    status: str = Field(default=QuoteStatus.offered.value, max_length=16, index=True)
    currency: str = Field(default="CNY", max_length=3)
    production_cost: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    platform_fee: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    price: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    delivery_date: datetime = Field(sa_column=utc_column(False))
    plants: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    expires_at: datetime = Field(sa_column=utc_column(False, index=True))
    decided_at: datetime | None = Field(default=None, sa_column=utc_column())


class Booking(SQLModel, table=True):
    """An approved planned operation on a machine, proposed to (then run by) its factory."""

    __tablename__ = "booking"

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key="quote.id", index=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    operation_id: int = Field(foreign_key="order_operation.id")
    planned_operation_id: int = Field(foreign_key="planned_operation.id")
    factory_company_id: int = Field(sa_column=company_column(index=True))
    machine_id: int = Field(foreign_key="machine.id", index=True)
    start: datetime = Field(sa_column=utc_column(False))
    end: datetime = Field(sa_column=utc_column(False))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))  # to the factory
    currency: str = Field(default="CNY", max_length=3)
    status: str = Field(default=BookingStatus.proposed.value, max_length=16, index=True)
    respond_by: datetime = Field(sa_column=utc_column(False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    responded_at: datetime | None = Field(default=None, sa_column=utc_column())
    started_at: datetime | None = Field(default=None, sa_column=utc_column())
    done_at: datetime | None = Field(default=None, sa_column=utc_column())
    decline_reason: str = Field(default="", max_length=1000)
    # on a machine reported down: the work must move (a re-plan is queued)
    at_risk: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False,
                                                             server_default=sa.false()))
    replaces_id: int | None = Field(default=None, foreign_key="booking.id")
    note: str = Field(default="", max_length=2000)
    qc: str = Field(default="", max_length=2000)
    # progress as the factory reports it: parts done so far, the latest QC result (pass |
    # fail | ""), and when QC first failed (a defect on the factory's record)
    quantity_done: int = Field(default=0, sa_column=sa.Column(
        sa.Integer, nullable=False, server_default="0"))
    qc_result: str = Field(default="", max_length=8)
    qc_failed_at: datetime | None = Field(default=None, sa_column=utc_column())
    # sent on: to the next operation's plant (a hand-off) or, after the last, to the buyer
    shipped_at: datetime | None = Field(default=None, sa_column=utc_column())
    carrier: str = Field(default="", max_length=80)
    tracking_number: str = Field(default="", max_length=80)


class ChangeRequestStatus(StrEnum):
    pending = "pending"  # its re-plan run is queued or running
    quoted = "quoted"  # the re-plan fits: price difference and new date wait for the buyer
    accepted = "accepted"
    declined = "declined"
    impossible = "impossible"  # no plan delivers by the date asked (`note` says why)


CHANGE_REQUEST_STATUSES = tuple(s.value for s in ChangeRequestStatus)


class ChangeRequest(SQLModel, table=True):
    """A buyer's request to move the due date or change the quantity of a booked order: a
    re-plan run quotes it, the buyer accepts or declines (deals.changes)."""

    __tablename__ = "change_request"
    __table_args__ = (
        sa.CheckConstraint("quantity is null or quantity > 0", name="quantity"),
        sa.CheckConstraint("status in (" + ", ".join(f"'{s}'" for s in CHANGE_REQUEST_STATUSES)
                           + ")", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="buyer_order.id", index=True)
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    status: str = Field(default=ChangeRequestStatus.pending.value, max_length=16, index=True)
    due_date: datetime | None = Field(default=None, sa_column=utc_column())  # None: unchanged
    quantity: int | None = None  # None: unchanged
    reason: str = Field(max_length=1000)
    run_id: int | None = Field(default=None, foreign_key="matching_run.id")
    # new total minus the current quote's total (minor units of `currency`); None until quoted
    price_difference: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    currency: str = Field(default="CNY", max_length=3)
    delivery_date: datetime | None = Field(default=None, sa_column=utc_column())
    note: str = Field(default="", max_length=1000)  # why it is impossible
    quote_id: int | None = Field(default=None, foreign_key="quote.id")  # the new quote
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    answered_at: datetime | None = Field(default=None, sa_column=utc_column())
    decided_at: datetime | None = Field(default=None, sa_column=utc_column())
