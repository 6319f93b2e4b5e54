"""Companies, their users and API tokens."""

from datetime import datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from market.core.models import utc_column, utcnow


class CompanyKind(StrEnum):
    buyer = "buyer"
    factory = "factory"
    both = "both"


class CompanyStatus(StrEnum):
    pending = "pending"  # registered, not yet vetted: may prepare data, offered to nobody
    verified = "verified"
    suspended = "suspended"


class UserRole(StrEnum):
    member = "member"
    admin = "admin"  # manages the company's profile and users
    operator = "operator"  # platform staff; belongs to no company


class Company(SQLModel, table=True):
    __tablename__ = "company"
    __table_args__ = (
        sa.CheckConstraint("kind in ('buyer', 'factory', 'both')", name="kind"),
        sa.CheckConstraint("status in ('pending', 'verified', 'suspended')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(max_length=200)
    name_zh: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=16)
    status: str = Field(default=CompanyStatus.pending.value, max_length=16, index=True)
    country: str = Field(default="CN", max_length=2)
    city: str = Field(default="", max_length=120)
    address: str = Field(default="", max_length=300)
    lat: float | None = None
    lon: float | None = None
    description: str = Field(default="", max_length=4000)
    website: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=60)
    payout_account_id: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    verified_at: datetime | None = Field(default=None, sa_column=utc_column())
    status_reason: str = Field(default="", max_length=500)
    # factories: accept the bookings the platform proposes without a click
    auto_accept_bookings: bool = Field(default=False)

    users: list["User"] = Relationship(back_populates="company")

    @property
    def is_buyer(self) -> bool:
        return self.kind in (CompanyKind.buyer, CompanyKind.both)

    @property
    def is_factory(self) -> bool:
        return self.kind in (CompanyKind.factory, CompanyKind.both)

    @property
    def is_verified(self) -> bool:
        return self.status == CompanyStatus.verified


class User(SQLModel, table=True):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        sa.CheckConstraint("role in ('member', 'admin', 'operator')", name="role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=255)
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    role: str = Field(default=UserRole.member.value, max_length=16)
    locale: str | None = Field(default=None, max_length=8)
    is_active: bool = Field(default=True)
    # Bumped on logout-everywhere and password change: old sessions and remember-me
    # cookies carry the previous value and stop working.
    session_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    last_login_at: datetime | None = Field(default=None, sa_column=utc_column())
    # set when the user opened the confirmation link mailed to `email`
    email_confirmed_at: datetime | None = Field(default=None, sa_column=utc_column())

    company: Optional["Company"] = Relationship(back_populates="users")

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_operator(self) -> bool:
        return self.role == UserRole.operator


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API. Only a SHA-256 of it is kept: tokens are long and
    random, so a slow hash buys nothing and would cost every API request."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    prefix: str = Field(max_length=12)  # shown to the user to tell tokens apart
    name: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(False))
    expires_at: datetime | None = Field(default=None, sa_column=utc_column())
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column())
