"""The escrow ledger, double entry. Every money event is one transaction (`txn`, named after
the record that caused it, e.g. `charge-12`) of two or more entries that sum to zero per
currency; positive means money moved into the account. Accounts:

- `buyer_cash`             money the buyers sent (goes negative as they pay)
- `escrow`                 held by the platform for an order until it is released or refunded
- `platform_fee`           what the platform keeps
- `factory_payable:<id>`   released to a factory, not yet transferred
- `factory_paid`           transferred to factories
- `refunds`                returned to buyers

Posting is idempotent: a txn already posted is not posted again (and the unique (txn,
account) constraint refuses a concurrent duplicate), so replays and retries cannot count money
twice. The caller owns the transaction (commit)."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from market.payments.models import LedgerEntry

BUYER_CASH = "buyer_cash"
ESCROW = "escrow"
PLATFORM_FEE = "platform_fee"
# The freight between plants and to the buyer is in the price; the platform books the
# carriers, so it is owed to them, not earned.
FREIGHT = "freight_payable"
FACTORY_PAID = "factory_paid"
REFUNDS = "refunds"


def factory_payable(company_id: int) -> str:
    return f"factory_payable:{company_id}"


class Unbalanced(ValueError):
    """A programming error: the legs of a transaction do not sum to zero."""


def posted(session: Session, txn: str) -> bool:
    return session.exec(select(LedgerEntry.id).where(LedgerEntry.txn == txn)).first() is not None


def post(session: Session, txn: str, *, order_id: int | None, currency: str, kind: str,
         legs: list[tuple[str, int]], memo: str = "") -> bool:
    """Post one balanced transaction; False when `txn` was posted before (nothing done).
    Zero legs are dropped (a zero fee is no money event); an account appears once."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    for _account, amount in legs:
        if type(amount) is not int:  # bool and float are not money
            raise Unbalanced(f"{txn}: amounts are integers in minor units, not {amount!r}")
    if sum(amount for _a, amount in legs) != 0:
        raise Unbalanced(f"{txn}: legs sum to {sum(a for _x, a in legs)}, not zero")
    if len({account for account, _a in legs}) != len(legs):
        raise Unbalanced(f"{txn}: an account appears twice")
    if posted(session, txn):
        return False
    if not legs:
        return False
    for account, amount in legs:
        session.add(LedgerEntry(txn=txn, order_id=order_id, account=account, amount=amount,
                                currency=currency, kind=kind, memo=memo[:300]))
    session.flush()
    return True


def balances(session: Session, order_id: int | None = None) -> dict[str, dict[str, int]]:
    """{currency: {account: balance}} over the whole ledger or one order's entries. Each
    currency's balances sum to zero when the ledger is sound."""
    query = select(LedgerEntry.currency, LedgerEntry.account, LedgerEntry.amount)
    if order_id is not None:
        query = query.where(LedgerEntry.order_id == order_id)
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for currency, account, amount in session.exec(query):
        out[currency][account] += int(amount)
    return {cur: dict(sorted(accts.items())) for cur, accts in sorted(out.items())}


def is_balanced(session: Session, order_id: int | None = None) -> bool:
    """Every currency sums to zero, and so does every transaction."""
    if any(sum(accts.values()) != 0 for accts in balances(session, order_id).values()):
        return False
    query = select(LedgerEntry.txn, LedgerEntry.currency, LedgerEntry.amount)
    if order_id is not None:
        query = query.where(LedgerEntry.order_id == order_id)
    per_txn: dict[tuple[str, str], int] = defaultdict(int)
    for txn, currency, amount in session.exec(query):
        per_txn[(txn, currency)] += int(amount)
    return all(total == 0 for total in per_txn.values())


def entries(session: Session, order_id: int | None = None, limit: int = 500) -> list[LedgerEntry]:
    query = select(LedgerEntry)
    if order_id is not None:
        query = query.where(LedgerEntry.order_id == order_id)
    return list(session.exec(query.order_by(col(LedgerEntry.id)).limit(limit)))


def snapshot(session: Session) -> list[tuple[str, str, int, str]]:
    """The ledger as comparable data (txn, account, amount, currency), for tests and audits:
    two deliveries of the same events must give the same snapshot."""
    return sorted((e.txn, e.account, int(e.amount), e.currency)
                  for e in session.exec(select(LedgerEntry)))
