"""Loading the demo world: everything arrives once, seeding twice duplicates nothing."""

from __future__ import annotations

from sqlmodel import func, select

from market.accounts.models import Company, User
from market.capacity.models import CapacityWindow, Machine, Plant
from market.catalog.models import Material, Process, ProcessMaterial
from seed import demo_world, taxonomy
from seed.loader import load_all


def counts(session) -> dict[str, int]:
    return {m.__name__: session.exec(select(func.count()).select_from(m)).one()
            for m in (Company, User, Process, Material, ProcessMaterial, Plant, Machine,
                      CapacityWindow)}


def test_seed_twice_is_idempotent(session):
    first = load_all(session)
    after_first = counts(session)
    second = load_all(session)
    assert counts(session) == after_first
    assert second.created == {}
    assert first.created["companies"] == len(demo_world.FACTORIES) + len(demo_world.BUYERS)
    assert after_first["Process"] == len(taxonomy.PROCESSES) >= 30
    assert after_first["Company"] >= 17
    assert after_first["Machine"] >= 50 and after_first["CapacityWindow"] > 1000
    assert after_first["Plant"] >= 12


def test_seed_keeps_operator_decisions(session):
    load_all(session)
    company = session.exec(select(Company).where(Company.status == "verified")).first()
    company.status = "suspended"
    session.add(company)
    session.commit()
    load_all(session)
    session.refresh(company)
    assert company.status == "suspended"


def test_demo_logins_work(session):
    from market.accounts import service as accounts

    summary = load_all(session)
    text = summary.render()
    assert demo_world.DEMO_PASSWORD in text and "ops@yunzao.example.com" in text
    buyer_email = demo_world.BUYERS[0]["users"][0]["email"]
    user = accounts.authenticate(session, buyer_email, demo_world.DEMO_PASSWORD)
    assert user.company.is_buyer


def test_seed_cli(runner, session):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "Demo logins" in result.output


def test_create_operator_cli(runner, session):
    result = runner.invoke(args=["users", "create-operator", "boss@ops.example.com",
                                 "--password", "a long operator pass"])
    assert result.exit_code == 0, result.output
    user = session.exec(select(User).where(User.email == "boss@ops.example.com")).one()
    assert user.is_operator and user.company_id is None
    again = runner.invoke(args=["users", "create-operator", "boss@ops.example.com",
                                "--password", "a long operator pass"])
    assert again.exit_code != 0 and "already exists" in again.output
    weak = runner.invoke(args=["users", "create-operator", "x@ops.example.com",
                               "--password", "short"])
    assert weak.exit_code != 0 and "at least 10" in weak.output
