"""Helpers of the quality tests: a certificate uploaded and verified through the service, and
a factory's record (done bookings with the rows they hang on)."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlmodel import Session

from market.accounts.models import User
from market.core.models import utcnow
from market.quality import certifications
from market.quality.models import Certification
from tests.fakes.orders import tiny_pdf


def certify(session: Session, factory_user: User, operator_user: User | None, kind: str,
            root, valid_until: date | None = None, number: str = "CN-123") -> Certification:
    """Upload a PDF certificate as the factory; verify it when an operator is given."""
    row = certifications.upload(
        session, factory_user, kind, number,
        (valid_until or (utcnow() + timedelta(days=365)).date()).isoformat(),
        "cert.pdf", io.BytesIO(tiny_pdf()), root=root, max_bytes=10**6)
    if operator_user is not None:
        row = certifications.verify(session, operator_user, row.id)  # type: ignore[arg-type]
    return row


def give_record(session: Session, order, machine, jobs: int = 3, status: str = "done",
                planned_amount: int = 10_000) -> list:
    """`jobs` bookings of `machine`'s factory on the first operation of `order`, each with its
    run, planned operation and firm quote (done ones finished on time a week ago)."""
    from market.capacity.models import Plant
    from market.deals.models import Booking, Quote
    from market.runs.models import MatchingRun, PlannedOperation

    plant = session.get(Plant, machine.plant_id)
    now = utcnow()
    made = []
    for i in range(jobs):
        run = MatchingRun()
        session.add(run)
        session.flush()
        op = order.operations[0]
        start = now - timedelta(days=8 + i)
        planned = PlannedOperation(run_id=run.id, order_id=order.id, operation_id=op.id,
                                   machine_id=machine.id, plant_id=machine.plant_id,
                                   start=start, end=start + timedelta(hours=2),
                                   cost=planned_amount)
        quote = Quote(order_id=order.id, run_id=run.id, production_cost=planned_amount,
                      platform_fee=0, price=planned_amount,
                      delivery_date=start + timedelta(days=1), expires_at=start)
        session.add_all([planned, quote])
        session.flush()
        booking = Booking(quote_id=quote.id, order_id=order.id, operation_id=op.id,
                          planned_operation_id=planned.id,
                          factory_company_id=plant.company_id,  # type: ignore[union-attr]
                          machine_id=machine.id, start=planned.start, end=planned.end,
                          amount=planned_amount, status=status, respond_by=start,
                          done_at=planned.end if status == "done" else None)
        session.add(booking)
        made.append(booking)
    session.commit()
    return made


def run_matching(app, session: Session, operator_user: User):
    """A matching run over every open order, executed at once; the run, re-read."""
    from market.runs import service as matching_runs
    from market.runs.models import MatchingRun

    started = matching_runs.start_run(session, operator_user, 2)
    with app.app_context():
        matching_runs.execute(app, started.id, "test")  # type: ignore[arg-type]
    session.expire_all()
    return session.get(MatchingRun, started.id)
