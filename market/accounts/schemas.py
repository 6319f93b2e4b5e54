"""Bodies of the accounts API: registration, tokens, the caller, verification."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from market.core.schemas import Strict


class RegisterIn(Strict):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=256)
    company_name: str = Field(min_length=1, max_length=200)
    company_kind: Literal["buyer", "factory", "both"]
    country: str = Field(default="CN", min_length=2, max_length=2)
    city: str = Field(default="", max_length=120)
    name: str = Field(default="", max_length=120)
    locale: Literal["zh", "en"] | None = None


class TokenIn(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    name: str = Field(default="", max_length=120)


class VerifyIn(Strict):
    status: Literal["verified", "suspended", "pending"] = "verified"
    reason: str = Field(default="", max_length=500)


class CompanyOut(BaseModel):
    id: int
    slug: str
    name: str
    name_zh: str | None
    kind: str
    status: str
    country: str
    city: str
    lat: float | None
    lon: float | None
    description: str
    created_at: datetime
    verified_at: datetime | None


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    locale: str | None
    company_id: int | None


class RegisterOut(BaseModel):
    user: UserOut
    company: CompanyOut


class MeOut(BaseModel):
    user: UserOut
    company: CompanyOut | None


class TokenOut(BaseModel):
    token: str
    id: int
    prefix: str
    expires_at: datetime | None


class TokenInfo(BaseModel):
    id: int
    prefix: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
