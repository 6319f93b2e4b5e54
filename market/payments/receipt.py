"""The buyer's receipt for a payment into escrow, as a PDF in the reader's language (laid out
by market.core.pdf, the Chinese font embedded), amounts in yuan. A receipt exists once the
money has arrived; refunds made from it are listed beneath, so it always shows what the
platform holds or held of the buyer's money."""

from __future__ import annotations

from flask_babel import format_datetime
from flask_babel import gettext as _

from market.accounts.models import Company
from market.core import pdf
from market.core.models import utcnow
from market.core.money import format_money
from market.orders.models import Order
from market.payments.models import Payment, Refund, RefundStatus


def document(payment: Payment, refunds: list[Refund], order: Order | None,
             buyer: Company | None, gateway: str, status: str,
             payout_days: int) -> pdf.Document:
    """`gateway` and `status`: their labels in the reader's language."""
    cur = payment.currency
    made = [r for r in refunds if r.status == RefundStatus.succeeded.value]
    refunded = sum(r.amount for r in made)
    facts = [(_("Reference"), payment.reference or f"P-{payment.id}"),
             (_("Received"), format_datetime(payment.succeeded_at, "medium")
              if payment.succeeded_at else "—"),
             (_("Paid by"), gateway),
             (_("Payer"), buyer.name if buyer is not None else "—"),
             (_("Status"), status)]
    return pdf.Document(
        title=_("Receipt R-%(id)s", id=payment.id),
        subtitle=(_("Order #%(id)s: %(title)s", id=order.id, title=order.title)
                  if order is not None else ""),
        facts=facts,
        headers=[_("Item"), _("Date"), _("Amount")],
        rows=[[_("Payment into escrow for firm quote Q-%(id)s", id=payment.quote_id),
               format_datetime(payment.succeeded_at, "short") if payment.succeeded_at else "",
               format_money(payment.amount, cur)]]
        + [[_("Refund to you") + (f": {r.reason}" if r.reason else ""),
            format_datetime(r.succeeded_at, "short") if r.succeeded_at else "",
            "−" + format_money(r.amount, cur)] for r in made],
        totals=[(_("Of which platform fee"), format_money(payment.platform_fee, cur)),
                (_("Refunded"), format_money(refunded, cur)),
                (_("Paid, net of refunds"), format_money(payment.amount - refunded, cur))],
        notes=[_("The money is held in escrow by the platform; the factories are paid from it "
                 "when you confirm delivery, or %(days)s days after shipment unless you open a "
                 "dispute.", days=payout_days),
               _("Amounts are in yuan and exclude VAT. This receipt is not a VAT invoice "
                 "(fapiao).")],
        footer=_("Yunzao · networked collaborative manufacturing. Generated %(when)s.",
                 when=format_datetime(utcnow(), "medium")))
