"""A past for the demo world: closed orders of the demo buyers, made and paid in the last two
months, so that a new installation shows factory records, reviews and the matching's risk
term at work instead of a market where every factory is new (and on probation, so that no
order above PROBATION_MAX_AMOUNT could be served).

Every row is what the real flow would have left behind: the order (closed), its approved
run, planned operation, accepted firm quote, the booking (done, shipped), the payment
(settled) with its ledger transactions, the factory's payout (paid), the timeline and, for
most orders, the buyer's review. A few jobs shipped late and a few reviews are lukewarm, so
the records differ. The dates are fixed relative to the day of seeding; seeding again adds
nothing (orders are keyed by buyer and title)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from market.accounts.models import Company, User
from market.capacity.models import Machine, Plant
from market.core.models import utcnow
from market.core.money import DEFAULT_FEE_BPS, platform_fee
from market.deals.models import Booking, BookingStatus, Quote, QuoteStatus
from market.orders.models import Order, OrderEvent, OrderOperation, OrderStatus
from market.payments import ledger
from market.payments.models import Payment, PaymentStatus, Payout, PayoutStatus
from market.quality.models import Review
from market.runs.models import MatchingRun, PlannedOperation
from seed import demo_world

# (title, quantity, minutes per unit); the process and material come from the machine
PARTS = [("Mounting bracket", 120, 4.0), ("Sensor housing", 60, 9.0),
         ("Shaft spacer", 200, 2.0), ("Cover plate", 80, 5.0), ("Fixture base", 20, 30.0),
         ("Gear blank", 100, 6.0)]
COMMENTS = ["Parts to drawing, report complete.", "Good finish; one day late.",
            "Fast answers and clean packaging.", "", "Tolerances held on every part we checked."]
NEW_EVERY = 5  # every fifth factory keeps no history: the directory shows new ones too


@dataclass
class _Job:
    factory: Company
    buyer: Company
    author: User | None
    machine: Machine
    plant: Plant
    title: str
    quantity: int
    minutes: float
    done_days_ago: int
    late: bool
    rating: tuple[int, int, int] | None
    comment: str
    response_hours: int


def _jobs(session: Session, rng: random.Random) -> list[_Job]:
    buyers = [session.exec(select(Company).where(Company.slug == b["slug"])).one()
              for b in demo_world.BUYERS]
    jobs: list[_Job] = []
    for i, data in enumerate(sorted(demo_world.FACTORIES, key=lambda d: d["slug"])):
        if i % NEW_EVERY == NEW_EVERY - 1:
            continue
        factory = session.exec(select(Company).where(Company.slug == data["slug"])).one()
        machines = list(session.exec(select(Machine).join(Plant).where(
            Plant.company_id == factory.id).order_by(Machine.id)))
        if not machines:
            continue
        for n in range(3 + i % 4):
            buyer = buyers[(i + n) % len(buyers)]
            author = session.exec(select(User).where(User.company_id == buyer.id)
                                  .order_by(User.id)).first()
            title, qty, minutes = PARTS[(i + n) % len(PARTS)]
            late = rng.random() < 0.15
            rating = None if rng.random() < 0.25 else (
                rng.choice((4, 5, 5)), 3 if late else rng.choice((4, 5)), rng.choice((3, 4, 5)))
            machine = machines[n % len(machines)]
            jobs.append(_Job(factory, buyer, author, machine,
                             session.get(Plant, machine.plant_id),  # type: ignore[arg-type]
                             f"{title} #{100 + i * 10 + n}", qty, minutes,
                             10 + 7 * n + i % 5, late, rating,
                             rng.choice(COMMENTS) if rating else "", rng.randint(1, 20)))
    return jobs


def load_history(session: Session) -> int:
    """Closed past orders for the demo factories; returns how many were added."""
    rng = random.Random(2026)
    now = utcnow()
    added = 0
    for job in _jobs(session, rng):
        exists = session.exec(select(Order.id).where(
            Order.buyer_company_id == job.buyer.id, Order.title == job.title)).first()
        if exists is not None:
            continue
        _make(session, job, now)
        added += 1
    session.commit()
    return added


def _make(session: Session, job: _Job, now) -> None:  # type: ignore[no-untyped-def]
    cap = job.machine.capabilities[0]
    hours = (cap.setup_minutes + job.minutes * job.quantity / max(cap.speed, 0.1)) / 60
    cost = max(10_000, int(round(cap.rate_per_hour * hours, -2)))  # whole yuan
    fee = platform_fee(cost, DEFAULT_FEE_BPS)
    end = now - timedelta(days=job.done_days_ago)
    start = end - timedelta(hours=max(1.0, hours))
    created = start - timedelta(days=6)
    shipped = end + timedelta(days=2 if job.late else 0, hours=3)
    delivered = shipped + timedelta(days=2)
    order = Order(buyer_company_id=job.buyer.id,  # type: ignore[arg-type]
                  created_by_id=job.author.id if job.author else None, title=job.title,
                  quantity=job.quantity, due_date=end + timedelta(days=3),
                  delivery_address=job.buyer.address or job.buyer.city or "",
                  delivery_lat=job.buyer.lat if job.buyer.lat is not None else job.plant.lat,
                  delivery_lon=job.buyer.lon if job.buyer.lon is not None else job.plant.lon,
                  status=OrderStatus.closed.value, created_at=created, updated_at=delivered,
                  submitted_at=created, shipped_at=shipped, delivered_at=delivered)
    session.add(order)
    session.flush()
    op = OrderOperation(order_id=order.id,  # type: ignore[arg-type]
                        seq=1, process_code=cap.process_code,
                        material_code=cap.materials[0] if cap.materials else None,
                        minutes_per_unit=job.minutes)
    run = MatchingRun(status="approved", order_ids=[order.id])
    session.add_all([op, run])
    session.flush()
    planned = PlannedOperation(run_id=run.id, order_id=order.id,  # type: ignore[arg-type]
                               operation_id=op.id, machine_id=job.machine.id,
                               plant_id=job.plant.id, start=start, end=end, cost=cost)
    quote = Quote(order_id=order.id, run_id=run.id,  # type: ignore[arg-type]
                  status=QuoteStatus.accepted.value, production_cost=cost, platform_fee=fee,
                  price=cost + fee, delivery_date=end + timedelta(days=1),
                  created_at=created + timedelta(days=1),
                  expires_at=created + timedelta(days=3), decided_at=created + timedelta(days=1))
    session.add_all([planned, quote])
    session.flush()
    booking = Booking(quote_id=quote.id, order_id=order.id,  # type: ignore[arg-type]
                      operation_id=op.id, planned_operation_id=planned.id,
                      factory_company_id=job.factory.id, machine_id=job.machine.id,
                      start=start, end=end, amount=cost, status=BookingStatus.done.value,
                      respond_by=created + timedelta(days=3),
                      created_at=created + timedelta(days=2),
                      responded_at=created + timedelta(days=2, hours=job.response_hours),
                      started_at=start,
                      done_at=end, quantity_done=job.quantity, qc_result="pass",
                      shipped_at=shipped, carrier="SF Express",
                      tracking_number=f"SF{order.id:010d}")
    payment = Payment(order_id=order.id, quote_id=quote.id,  # type: ignore[arg-type]
                      buyer_company_id=job.buyer.id, amount=cost + fee, platform_fee=fee,
                      gateway="manual", status=PaymentStatus.settled.value,
                      idempotency_key=f"seed-history-{order.id}",
                      reference=f"YZ{order.id:06d}", created_at=created + timedelta(days=1),
                      updated_at=delivered, succeeded_at=created + timedelta(days=2))
    session.add_all([booking, payment])
    session.flush()
    payout = Payout(order_id=order.id, payment_id=payment.id,  # type: ignore[arg-type]
                    factory_company_id=job.factory.id, booking_ids=[booking.id], gross=cost,
                    amount=cost, gateway="manual", status=PayoutStatus.paid.value,
                    idempotency_key=f"payout-{payment.id}-{job.factory.id}",
                    created_at=delivered, paid_at=delivered + timedelta(days=1))
    session.add(payout)
    session.flush()
    # the money as the real flow books it: into escrow, released, transferred
    ledger.post(session, f"charge-{payment.id}", order_id=order.id, currency="CNY",
                kind="charge", legs=[(ledger.BUYER_CASH, -(cost + fee)),
                                     (ledger.ESCROW, cost + fee)], memo="demo history")
    ledger.post(session, f"release-{payment.id}", order_id=order.id, currency="CNY",
                kind="release", legs=[(ledger.ESCROW, -(cost + fee)), (ledger.PLATFORM_FEE, fee),
                                      (ledger.factory_payable(job.factory.id), cost)],  # type: ignore[arg-type]
                memo="demo history")
    ledger.post(session, f"payout-{payout.id}", order_id=order.id, currency="CNY",
                kind="payout", legs=[(ledger.factory_payable(job.factory.id), -cost),  # type: ignore[arg-type]
                                     (ledger.FACTORY_PAID, cost)], memo="demo history")
    actor = job.author.id if job.author else None
    for at, kind in ((created, "submitted"), (created + timedelta(days=1), "quoted"),
                     (created + timedelta(days=1), "quote_accepted"),
                     (created + timedelta(days=2), "payment_received"),
                     (created + timedelta(days=2, hours=job.response_hours), "scheduled"),
                     (start, "in_production"), (shipped, "shipped"),
                     (delivered, "delivered"), (delivered + timedelta(days=1), "closed")):
        session.add(OrderEvent(order_id=order.id, at=at,  # type: ignore[arg-type]
                               actor_user_id=actor, kind=kind, details={}))
    if job.rating:
        q, t, c = job.rating
        session.add(Review(order_id=order.id, factory_company_id=job.factory.id,  # type: ignore[arg-type]
                           buyer_company_id=job.buyer.id, author_id=actor,  # type: ignore[arg-type]
                           quality=q, on_time=t, communication=c, comment=job.comment,
                           created_at=delivered + timedelta(days=1)))
