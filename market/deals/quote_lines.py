"""What a firm quote is made of, line by line, for the buyer's quote page and its PDF: each
operation (with its quantity), transport and delivery, moving other work for a rush, the
platform fee, the total and the price per unit. Integers in minor units."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from market.capacity.models import Plant
from market.deals.models import Quote
from market.orders.models import Order, OrderOperation
from market.runs.models import PlannedOperation, RunOrder


@dataclass
class OperationLine:
    seq: int
    process_code: str
    material_code: str | None
    quantity: int
    city: str
    amount: int


@dataclass
class QuoteLines:
    operations: list[OperationLine] = field(default_factory=list)
    transport: int = 0  # between plants and to the buyer
    other: int = 0  # what moving accepted work costs a rush order
    platform_fee: int = 0
    total: int = 0
    per_unit: int = 0  # the total over the order's quantity, rounded to the fen
    cities: list[str] = field(default_factory=list)


def lines_of(session: Session, quote: Quote, order: Order) -> QuoteLines:
    planned = session.exec(
        select(PlannedOperation, OrderOperation, Plant)
        .join(OrderOperation, OrderOperation.id == PlannedOperation.operation_id)  # type: ignore[arg-type]
        .join(Plant, Plant.id == PlannedOperation.plant_id)  # type: ignore[arg-type]
        .where(PlannedOperation.run_id == quote.run_id,
               PlannedOperation.order_id == quote.order_id)
        .order_by(OrderOperation.seq)).all()  # type: ignore[arg-type]
    out = QuoteLines(platform_fee=quote.platform_fee, total=quote.price)
    for po, op, plant in planned:
        out.operations.append(OperationLine(
            op.seq, op.process_code, op.material_code, op.quantity or order.quantity,
            plant.city or plant.name, int(po.cost)))
    outcome = session.exec(select(RunOrder).where(RunOrder.run_id == quote.run_id,
                                                  RunOrder.order_id == quote.order_id)).first()
    machines = sum(line.amount for line in out.operations)
    out.transport = int(outcome.transport_cost or 0) if outcome is not None else max(
        0, quote.production_cost - machines)
    out.other = max(0, quote.production_cost - machines - out.transport)
    out.per_unit = (quote.price + order.quantity // 2) // max(1, order.quantity)
    out.cities = sorted({line.city for line in out.operations})
    return out
