"""Account services: registration rules, sign-in, vetting, tokens, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from market.accounts import service as accounts
from market.accounts.models import ApiToken, Company, User
from market.core.audit import AuditEvent
from market.core.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from market.core.models import utcnow
from tests.conftest import PASSWORD


def reg(**overrides) -> accounts.Registration:
    data = {"email": "mei@example.com", "password": PASSWORD, "company_name": "Mei Parts",
            "company_kind": "buyer", "country": "CN", "city": "Ningbo"}
    data.update(overrides)
    return accounts.Registration(**data)


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_register_creates_pending_company_and_admin(session):
    user = accounts.register(session, reg(email="  Mei@Example.COM "))
    assert user.email == "mei@example.com"
    assert user.role == "admin"
    assert user.company.status == "pending"
    assert user.company.slug == "mei-parts"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    event = session.exec(select(AuditEvent)).one()
    assert (event.action, event.company_id) == ("company.registered", user.company_id)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "mei.wang.parts!!", "email": "mei.wang@example.com"}, "password"),
        ({"company_kind": "trader"}, "company_kind"),
        ({"company_name": "   "}, "company_name"),
        ({"email": "not-an-email"}, "email"),
        ({"country": "China"}, "country"),
    ],
)
def test_register_rejects_bad_input_and_creates_nothing(session, overrides, field):
    with pytest.raises(ValidationError) as info:
        accounts.register(session, reg(**overrides))
    assert field in info.value.fields
    assert count(session, User) == 0
    assert count(session, Company) == 0


def test_duplicate_email_is_a_conflict_and_keeps_one_company(session):
    accounts.register(session, reg())
    with pytest.raises(Conflict):
        accounts.register(session, reg(email="MEI@example.com", company_name="Other"))
    assert count(session, Company) == 1


def test_same_company_name_gets_distinct_slugs(session):
    a = accounts.register(session, reg(email="a@example.com"))
    b = accounts.register(session, reg(email="b@example.com"))
    assert a.company.slug != b.company.slug
    assert b.company.slug.startswith("mei-parts-")


def test_authenticate(session):
    accounts.register(session, reg())
    assert accounts.authenticate(session, "MEI@example.com", PASSWORD).last_login_at
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(session, "mei@example.com", "wrong password here")
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(session, "nobody@example.com", PASSWORD)


def test_disabled_user_cannot_sign_in(session):
    user = accounts.register(session, reg())
    user.is_active = False
    session.add(user)
    session.commit()
    with pytest.raises(AuthenticationFailed, match="disabled"):
        accounts.authenticate(session, "mei@example.com", PASSWORD)


def test_load_user_rejects_stale_session_version(session):
    user = accounts.register(session, reg())
    old_id = user.get_id()
    assert accounts.load_user(session, old_id) == user
    accounts.sign_out_everywhere(session, user)
    assert accounts.load_user(session, old_id) is None
    assert accounts.load_user(session, user.get_id()) == user
    assert accounts.load_user(session, "garbage") is None


def test_operator_verifies_and_suspends_with_audit(session):
    user = accounts.register(session, reg())
    op = accounts.create_operator(session, "ops@example.com", PASSWORD)
    company = accounts.set_company_status(session, op, user.company_id, "verified")
    assert company.is_verified and company.verified_at is not None
    with pytest.raises(ValidationError):
        accounts.set_company_status(session, op, user.company_id, "suspended")
    company = accounts.set_company_status(session, op, user.company_id, "suspended", "fraud")
    assert company.status == "suspended" and company.status_reason == "fraud"
    actions = [e.action for e in accounts_audit(session, company.id)]
    assert actions[:2] == ["company.suspended", "company.verified"]


def accounts_audit(session, company_id):
    from market.core import audit

    return audit.recent(session, company_id=company_id)


def test_only_operators_change_status(session):
    user = accounts.register(session, reg())
    with pytest.raises(PermissionDenied):
        accounts.set_company_status(session, user, user.company_id, "verified")
    op = accounts.create_operator(session, "ops@example.com", PASSWORD)
    with pytest.raises(NotFound):
        accounts.set_company_status(session, op, 999, "verified")
    with pytest.raises(ValidationError):
        accounts.set_company_status(session, op, user.company_id, "approved")


def test_profile_update_rules(session):
    user = accounts.register(session, reg())
    other = accounts.register(session, reg(email="x@example.com", company_name="X"))
    company = accounts.update_company_profile(
        session, user, user.company_id, {"city": "Suzhou", "lat": "31.3", "lon": 120.6}
    )
    assert (company.city, company.lat, company.lon) == ("Suzhou", 31.3, 120.6)
    with pytest.raises(ValidationError) as info:
        accounts.update_company_profile(session, user, user.company_id, {"lat": 91, "name": ""})
    assert set(info.value.fields) == {"lat", "name"}
    with pytest.raises(NotFound):  # another company's profile does not exist for this user
        accounts.update_company_profile(session, user, other.company_id, {"city": "X"})


def test_tokens_are_hashed_revocable_and_expire(session):
    user = accounts.register(session, reg())
    row, raw = accounts.issue_token(session, user, "mes")
    assert raw.startswith("yz_") and row.token_hash != raw and raw not in row.token_hash
    assert accounts.user_for_token(session, raw) == user
    with pytest.raises(AuthenticationFailed):
        accounts.user_for_token(session, raw + "x")
    with pytest.raises(AuthenticationFailed, match="expired"):
        accounts.user_for_token(session, raw, now=utcnow() + timedelta(days=91))
    accounts.revoke_token(session, user, row.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        accounts.user_for_token(session, raw)
    stored = session.get(ApiToken, row.id)
    assert stored.revoked_at is not None and stored.revoked_at.tzinfo is not None


def test_cannot_revoke_someone_elses_token(session):
    a = accounts.register(session, reg())
    b = accounts.register(session, reg(email="b@example.com"))
    row, _raw = accounts.issue_token(session, a)
    with pytest.raises(NotFound):
        accounts.revoke_token(session, b, row.id)


def test_naive_datetimes_are_refused(session):
    from datetime import datetime

    from sqlalchemy.exc import StatementError

    user = accounts.register(session, reg())
    user.last_login_at = datetime(2026, 1, 1, 8, 0)  # no tzinfo
    session.add(user)
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()
    session.rollback()


def test_times_come_back_aware_utc(session):
    user = accounts.register(session, reg())
    session.expire_all()
    again = session.get(User, user.id)
    assert again.created_at.utcoffset() == timedelta(0)
