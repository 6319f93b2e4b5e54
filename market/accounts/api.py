"""Accounts: registration, tokens, the current user, company vetting, the taxonomy."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from market.accounts import service as accounts
from market.accounts.models import Company, User
from market.accounts.schemas import (
    CompanyOut,
    MeOut,
    RegisterIn,
    RegisterOut,
    TokenIn,
    TokenInfo,
    TokenOut,
    UserOut,
    VerifyIn,
)
from market.core.api import ApiError, Page, current_api_user, pagination, route
from market.core.errors import AuthenticationFailed
from market.core.extensions import db


def user_out(user: User) -> dict[str, Any]:
    return UserOut.model_validate(user, from_attributes=True).model_dump(mode="json")


def company_out(company: Company) -> dict[str, Any]:
    return CompanyOut.model_validate(company, from_attributes=True).model_dump(mode="json")


@route("POST", "/register", summary="Register a company and its first user", body=RegisterIn,
       response=RegisterOut, status=201, auth="none", tag="accounts")
def register(data: RegisterIn) -> dict[str, Any]:
    user = accounts.register(db.session, accounts.Registration(**data.model_dump()))
    return {"user": user_out(user), "company": company_out(user.company)}


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@route("POST", "/tokens", summary="Exchange email and password for a bearer token",
       body=TokenIn, response=TokenOut, status=201, auth="none", tag="accounts",
       limit=_login_limit)
def create_token(data: TokenIn) -> dict[str, Any]:
    try:
        user = accounts.authenticate(db.session, data.email, data.password)
    except AuthenticationFailed as exc:
        raise ApiError(401, "unauthorized", exc.message) from None
    token, raw = accounts.issue_token(
        db.session, user, data.name, current_app.config["API_TOKEN_DAYS"]
    )
    return TokenOut(token=raw, id=token.id, prefix=token.prefix,
                    expires_at=token.expires_at).model_dump(mode="json")


@route("GET", "/tokens", summary="List my tokens", response=TokenInfo, tag="accounts",
       paginated=True)
def list_tokens() -> list[dict[str, Any]]:
    return [
        TokenInfo.model_validate(t, from_attributes=True).model_dump(mode="json")
        for t in accounts.list_tokens(db.session, current_api_user())
    ]


@route("DELETE", "/tokens/<int:token_id>", summary="Revoke a token", response=TokenInfo,
       tag="accounts")
def revoke_token(token_id: int) -> dict[str, Any]:
    token = accounts.revoke_token(db.session, current_api_user(), token_id)
    return TokenInfo.model_validate(token, from_attributes=True).model_dump(mode="json")


@route("GET", "/me", summary="The signed-in user and company", response=MeOut, tag="accounts")
def me() -> dict[str, Any]:
    user = current_api_user()
    return {"user": user_out(user), "company": company_out(user.company) if user.company else None}


@route("GET", "/companies", summary="List companies (operators)", response=CompanyOut,
       auth="operator", tag="operators",
       query={"status": "pending|verified|suspended", "kind": "buyer|factory|both",
              "q": "name or city contains"}, paginated=True)
def list_companies() -> Page:
    page, per_page = pagination()
    rows, total = accounts.list_companies(
        db.session, request.args.get("status"), request.args.get("kind"),
        request.args.get("q"), page, per_page,
    )
    return Page([company_out(c) for c in rows], page, per_page, total)


@route("POST", "/companies/<int:company_id>/verify",
       summary="Verify (or suspend, or reset to pending) a company", body=VerifyIn,
       response=CompanyOut, auth="operator", tag="operators")
def verify_company(company_id: int, data: VerifyIn) -> dict[str, Any]:
    company = accounts.set_company_status(
        db.session, current_api_user(), company_id, data.status, data.reason
    )
    return company_out(company)


