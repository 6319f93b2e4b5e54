"""Helpers shared by the orders tests: valid order payloads, tiny files of each accepted
type, and capacity rows (a verified factory with machines and windows) for quotes."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from market.accounts.models import Company, CompanyStatus, User
from market.capacity.models import Capability, CapacityWindow, Machine, Plant
from market.orders import validation

SHANGHAI = (31.23, 121.47)


def future(days: float = 30) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def api_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Bracket, 6061 anodized",
        "quantity": 200,
        "due_date": future(30).isoformat(),
        "delivery": {"address": "88 Century Ave, Shanghai", "lat": SHANGHAI[0],
                     "lon": SHANGHAI[1]},
        "budget": 1_500_000,
        "operations": [
            {"process": "cnc_milling", "material": "al6061", "minutes_per_unit": 6.0,
             "tolerance_mm": 0.05, "notes": "Datum A is the flat back"},
            {"process": "anodizing", "material": "al6061", "minutes_per_unit": 0.8},
        ],
    }
    body.update(overrides)
    return body


def order_input(**overrides: Any) -> validation.OrderInput:
    ops = overrides.pop("operations", None)
    data = validation.OrderInput(
        title="Bracket, 6061 anodized", quantity=200, due_date=future(30),
        delivery_address="88 Century Ave, Shanghai", delivery_lat=SHANGHAI[0],
        delivery_lon=SHANGHAI[1], budget=1_500_000,
        operations=[
            validation.OperationInput("cnc_milling", "al6061", 6.0, 0.05, "Datum A"),
            validation.OperationInput("anodizing", "al6061", 0.8, None, ""),
        ] if ops is None else ops,
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def user(session: Session, account) -> User:
    row = session.get(User, account.user_id)
    assert row is not None
    return row


# --- files -------------------------------------------------------------------------------

def tiny_pdf() -> bytes:
    """A minimal valid one-page PDF (generated, so the test has no binary fixtures)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
STEP = b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('part'),'2;1');\nENDSEC;\nEND-ISO-10303-21;\n"
STL_ASCII = (b"solid part\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n"
             b"   vertex 0 1 0\n  endloop\n endfacet\nendsolid part\n")
DXF = b"  0\nSECTION\n  2\nHEADER\n  0\nENDSEC\n  0\nEOF\n"


def stl_binary(triangles: int = 2, header: bytes = b"solid but actually binary") -> bytes:
    head = header.ljust(80, b" ")[:80]
    return head + struct.pack("<I", triangles) + b"\x00" * (50 * triangles)


# --- capacity ----------------------------------------------------------------------------

def seed_capacity(
    session: Session,
    company_id: int,
    *,
    processes: tuple[tuple[str, list[str]], ...] = (("cnc_milling", ["al6061"]),
                                                    ("anodizing", [])),
    days: int = 20,
    lat: float = 31.3,
    lon: float = 120.6,
    rate: int = 15000,
) -> list[Machine]:
    """A verified factory with one plant near Shanghai, one machine per process, and an
    8:00-20:00 (UTC) window every day from today for `days` days."""
    company = session.get(Company, company_id)
    assert company is not None
    company.status = CompanyStatus.verified.value
    session.add(company)
    plant = Plant(company_id=company_id, name="Suzhou plant 1", lat=lat, lon=lon)
    session.add(plant)
    session.flush()
    machines = []
    day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for i, (process, materials) in enumerate(processes):
        machine = Machine(plant_id=plant.id, name=f"M{i + 1} {process}")  # type: ignore[arg-type]
        machine.capabilities = [Capability(process_code=process, materials=materials,
                                           rate_per_hour=rate, setup_minutes=30, speed=1.0)]
        session.add(machine)
        session.flush()
        for d in range(days):
            start = day0 + timedelta(days=d, hours=8)
            session.add(CapacityWindow(machine_id=machine.id, start=start,  # type: ignore[arg-type]
                                       end=start + timedelta(hours=12)))
        machines.append(machine)
    session.commit()
    return machines


def book(session, order, factory_company_id: int, status: str):
    """A booking with the rows it hangs on (run, planned operation, firm quote), made
    directly, for the first operation of the order."""
    from market.deals.models import Booking, Quote
    from market.runs.models import MatchingRun, PlannedOperation

    machine = seed_capacity(session, factory_company_id, days=1)[0]
    run = MatchingRun()
    session.add(run)
    session.flush()
    op = order.operations[0]
    start = order.created_at + timedelta(days=1)
    planned = PlannedOperation(run_id=run.id, order_id=order.id, operation_id=op.id,
                               machine_id=machine.id, plant_id=machine.plant_id, start=start,
                               end=start + timedelta(hours=2), cost=10_000)
    quote = Quote(order_id=order.id, run_id=run.id, production_cost=10_000, platform_fee=800,
                  price=10_800, delivery_date=start + timedelta(days=2),
                  expires_at=start)
    session.add_all([planned, quote])
    session.flush()
    booking = Booking(quote_id=quote.id, order_id=order.id, operation_id=op.id,
                      planned_operation_id=planned.id, factory_company_id=factory_company_id,
                      machine_id=machine.id, start=planned.start, end=planned.end,
                      amount=10_000, status=status, respond_by=start)
    session.add(booking)
    session.commit()
    return booking


def pay(session: Session, operator_user_id: int, order_id: int) -> None:
    """The buyer's bank transfer arrives and an operator marks it received (manual gateway):
    the factories' bookings are proposed."""
    from market.payments import charges as pay_charges

    session.expire_all()
    operator = session.get(User, operator_user_id)
    payment = pay_charges.payment_for_order(session, order_id)
    assert payment is not None, "no payment opened for this order"
    pay_charges.mark_received(session, operator, payment.id)  # type: ignore[arg-type]
    session.expire_all()


def firm_quote(session: Session, order: Any, machines: list[Machine],
               costs: tuple[int, ...] = (12_345, 6_789)) -> Any:
    """A firm quote of an approved run for a submitted order, its steps on `machines` one
    after another from tomorrow, made directly (no solver); the order becomes quoted."""
    from market.core.models import utcnow
    from market.core.money import platform_fee
    from market.deals.models import Quote
    from market.runs.models import MatchingRun, PlannedOperation

    run = MatchingRun(status="approved", order_ids=[order.id])
    session.add(run)
    session.flush()
    start = utcnow() + timedelta(days=1)
    for op, machine, cost in zip(order.operations, machines, costs, strict=True):
        session.add(PlannedOperation(run_id=run.id, order_id=order.id, operation_id=op.id,
                                     machine_id=machine.id, plant_id=machine.plant_id,
                                     start=start, end=start + timedelta(hours=2), cost=cost))
        start += timedelta(hours=3)
    fee = platform_fee(sum(costs), 800)
    quote = Quote(order_id=order.id, run_id=run.id, production_cost=sum(costs),
                  platform_fee=fee, price=sum(costs) + fee,
                  delivery_date=start + timedelta(days=2),
                  plants=len({m.plant_id for m in machines}),
                  expires_at=utcnow() + timedelta(hours=72))
    session.add(quote)
    order.status = "quoted"
    session.add(order)
    session.commit()
    return quote
