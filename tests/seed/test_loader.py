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


def test_the_demo_world_has_a_past(session):
    # closed orders with their money, bookings and reviews: most factories have a record
    # (and so no probation), every fifth stays new, the books balance
    from market.core.models import utcnow
    from market.orders.models import Order
    from market.payments import ledger
    from market.payments.models import Payment, Payout
    from market.quality import probation, scorecards
    from market.quality.models import Review
    from seed.history import NEW_EVERY

    summary = load_all(session)
    orders = session.exec(select(Order)).all()
    assert summary.created["past orders"] == len(orders) >= 40
    assert {o.status for o in orders} == {"closed"}
    assert all(o.shipped_at < o.delivered_at < utcnow() for o in orders)
    payments = session.exec(select(Payment)).all()
    assert len(payments) == len(orders) and {p.status for p in payments} == {"settled"}
    assert {p.status for p in session.exec(select(Payout))} == {"paid"}
    assert ledger.is_balanced(session)
    assert 0 < session.exec(select(func.count()).select_from(Review)).one() < len(orders)
    factories = session.exec(select(Company).where(Company.kind == "factory")
                             .order_by(Company.slug)).all()
    cards = {c.slug: scorecards.scorecard(session, c.id, utcnow()) for c in factories}
    new = [slug for slug, card in cards.items() if card.on_time_rate is None]
    assert len(new) == len(factories) // NEW_EVERY
    assert len({card.risk_per_mille for card in cards.values()}) > 3  # records differ
    on_probation = probation.on_probation(session, [c.id for c in factories], 2_000_000)
    assert {c.slug for c in factories if c.id in on_probation} == set(new)
    load_all(session)
    assert session.exec(select(func.count()).select_from(Order)).one() == len(orders)
