"""Payment pages: the buyer pays (Stripe.js or bank-transfer instructions), sees receipts
and may dispute; operators confirm bank transfers, resolve disputes, retry payouts and read
the ledger; factories see their payouts and set up where they are paid. Views are thin:
the services own the transactions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlmodel import col, select

from market.accounts.models import Company
from market.core import events, pdf
from market.core.errors import NotFound, ServiceError
from market.core.extensions import db
from market.core.money import parse_money
from market.core.pages import actor as _me
from market.core.pages import attempt, on_service_error, operator_required
from market.core.templating import reader_filter
from market.orders.models import Order, OrderStatus
from market.payments import bank_transfers, charges, disputes, ledger, receipt
from market.payments import payouts as payouts_svc
from market.payments import service as svc
from market.payments.gateways import PaymentSettings
from market.payments.models import Dispute, LedgerEntry, Payment, Payout, Refund

bp = Blueprint("payments", __name__)

LABELS = {
    "pending": _l("waiting for payment"),
    "succeeded": _l("held in escrow"),
    "settled": _l("paid out"),
    "refunded": _l("refunded"),
    "cancelled": _l("cancelled"),
    "failed": _l("failed"),
    "paid": _l("paid"),
    "held": _l("held"),
    "open": _l("open"),
    "payout_pending": _l("due"),
    "payout_held": _l("held by a dispute"),
    "payout_paid": _l("paid"),
    "payout_failed": _l("failed"),
    "refund_pending": _l("being sent back"),
    "refund_succeeded": _l("sent back"),
    "refund_failed": _l("failed"),
    "resolved": _l("resolved"),
    "manual": _l("bank transfer"),
    "stripe": _l("card (Stripe)"),
    "refund_all": _l("refund all"),
    "refund_part": _l("refund part"),
    "release": _l("release to factories"),
    "buyer_cash": _l("Buyers' payments"),
    "escrow": _l("Escrow"),
    "platform_fee": _l("Platform fees"),
    "factory_paid": _l("Paid to factories"),
    "refunds": _l("Refunds to buyers"),
}


def pay_label(value: str | None) -> str:
    if not value:
        return ""
    if value.startswith("factory_payable:"):
        return _("Owed to factory #%(id)s", id=value.split(":", 1)[1])
    return str(LABELS.get(value, value))


bp.add_app_template_filter(reader_filter(pay_label), "pay_label")


def _cfg() -> PaymentSettings:
    return PaymentSettings.from_config(current_app.config)


def _to_operator_payments(_exc: ServiceError | None = None):
    return redirect(url_for("payments.operator_payments"))


# --- buyers -------------------------------------------------------------------------------

@bp.get("/orders/<int:order_id>/payment")
@login_required
def pay(order_id: int):
    cfg = _cfg()
    try:
        order = charges._buyer_order(db.session, _me(), order_id)
    except NotFound:
        abort(404)
    if current_user.is_operator:
        abort(403)
    started = attempt(charges.start_payment, db.session, _me(), order_id, cfg)
    payment = started.value
    if not started.ok:  # said above the payment as it stands
        flash(started.message, "error")
        payment = charges.payment_for_order(db.session, order_id)
    refunds = [] if payment is None else list(db.session.exec(
        select(Refund).where(Refund.payment_id == payment.id)))
    dispute = db.session.exec(select(Dispute).where(Dispute.order_id == order_id)
                              .order_by(col(Dispute.id).desc())).first()
    can_dispute = (payment is not None and payment.status == "succeeded"
                   and order.status in disputes.DISPUTABLE
                   and (dispute is None or dispute.status != "open"))
    return render_template("payments/pay.html", order=order, payment=payment, cfg=cfg,
                           refunds=refunds, dispute=dispute, can_dispute=can_dispute)


@bp.get("/orders/<int:order_id>/payment/return")
@login_required
@on_service_error("payments.pay")
def stripe_return(order_id: int):
    """Stripe.js sends the buyer back here; ask Stripe rather than trusting the URL."""
    payment = charges.payment_for_order(db.session, order_id)
    if payment is None or payment.buyer_company_id != current_user.company_id:
        abort(404)
    payment = charges.sync_payment(db.session, payment.id, _cfg())  # type: ignore[arg-type]
    if payment.status in ("succeeded", "settled"):
        flash(_("Payment received. The factories now confirm their bookings."), "success")
    elif payment.last_error:
        flash(payment.last_error, "error")
    return redirect(url_for("payments.pay", order_id=order_id))


@bp.post("/orders/<int:order_id>/dispute")
@login_required
@on_service_error("payments.pay")
def dispute(order_id: int):
    disputes.open_dispute(db.session, _me(), order_id, request.form.get("reason", ""))
    flash(_("Dispute opened. The payouts are held until an operator resolves it."), "info")
    return redirect(url_for("payments.pay", order_id=order_id))


@bp.get("/payments/receipts")
@login_required
def receipts():
    rows = svc.receipts_for(db.session, _me())
    orders = {o.id: o for o in db.session.exec(select(Order).where(
        col(Order.id).in_({p.order_id for p, _r in rows})))} if rows else {}
    return render_template("payments/receipts.html", rows=rows, orders=orders)


@bp.get("/payments/receipts/<int:payment_id>.pdf")
@login_required
def receipt_pdf(payment_id: int):
    """One receipt as a PDF for the buyer's company (and operators); a download."""
    payment = attempt(svc.get_payment, db.session, _me(), payment_id).value
    if payment is None or payment.succeeded_at is None:
        abort(404)  # another's payment, or no money received yet: no receipt
    refunds = list(db.session.exec(select(Refund).where(Refund.payment_id == payment.id)
                                   .order_by(col(Refund.id))))
    doc = receipt.document(payment, refunds, db.session.get(Order, payment.order_id),
                           db.session.get(Company, payment.buyer_company_id),
                           pay_label(payment.gateway), pay_label(payment.status),
                           int(current_app.config.get("PAYOUT_AFTER_SHIPMENT_DAYS", 14)))
    response = make_response(pdf.render(doc))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=yunzao-receipt-{payment.id}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- operators ----------------------------------------------------------------------------

@bp.get("/operator/payments")
@operator_required
def operator_payments():
    waiting = svc.pending_manual(db.session)
    outgoing = bank_transfers.transfers_to_make(db.session)
    open_disputes = disputes.disputes(db.session, "open")
    payouts = list(db.session.exec(select(Payout).order_by(col(Payout.id).desc()).limit(100)))
    companies = {c.id: c for c in db.session.exec(select(Company))}
    orders = {o.id: o for o in db.session.exec(select(Order).where(col(Order.id).in_(
        {p.order_id for p in waiting} | {d.order_id for d in open_disputes}
        | {p.order_id for p in payouts} | {p.order_id for p in outgoing.payouts}
        | {r.order_id for r, _p in outgoing.refunds})))}
    payments = {p.id: p for p in db.session.exec(select(Payment).where(col(Payment.id).in_(
        {d.payment_id for d in open_disputes})))}
    return render_template("payments/operator.html", waiting=waiting, disputes=open_disputes,
                           payouts=payouts, companies=companies, orders=orders,
                           payments=payments, outgoing=outgoing, cfg=_cfg())


@bp.post("/operator/payments/<int:payment_id>/mark-received")
@operator_required
@on_service_error(_to_operator_payments)
def mark_received(payment_id: int):
    payment = charges.mark_received(db.session, _me(), payment_id, None,
                                request.form.get("note", ""), _cfg())
    flash(_("Payment %(ref)s marked received; the bookings went to the factories.",
            ref=payment.reference), "success")
    return _to_operator_payments()


@bp.post("/operator/payouts/<int:payout_id>/mark-paid")
@operator_required
@on_service_error(_to_operator_payments)
def mark_payout_paid(payout_id: int):
    payout = bank_transfers.confirm_payout_sent(db.session, _me(), payout_id,
                                                request.form.get("reference", ""))
    flash(_("Payout #%(id)s marked paid.", id=payout.id), "success")
    return _to_operator_payments()


@bp.post("/operator/refunds/<int:refund_id>/mark-sent")
@operator_required
@on_service_error(_to_operator_payments)
def mark_refund_sent(refund_id: int):
    refund = bank_transfers.confirm_refund_sent(db.session, _me(), refund_id,
                                                request.form.get("reference", ""))
    flash(_("Refund #%(id)s marked sent.", id=refund.id), "success")
    return _to_operator_payments()


@bp.post("/operator/disputes/<int:dispute_id>/resolve")
@operator_required
@on_service_error(_to_operator_payments)
def resolve(dispute_id: int):
    amount = None
    raw = request.form.get("amount", "").strip()
    resolution = request.form.get("resolution", "")
    if resolution == "refund_part":
        try:
            amount = parse_money(raw)
        except ValueError:
            flash(_("Enter the refund as an amount, e.g. 120.50."), "error")
            return _to_operator_payments()
    disputes.resolve_dispute(db.session, _me(), dispute_id, resolution, amount,
                             request.form.get("note", ""), _cfg(),
                             from_seq=request.form.get("from_seq", type=int))
    flash(_("Dispute resolved."), "success")
    return _to_operator_payments()


@bp.post("/operator/payouts/<int:payout_id>/retry")
@operator_required
@on_service_error(_to_operator_payments)
def retry_payout(payout_id: int):
    payout = payouts_svc.retry_payout(db.session, _me(), payout_id, _cfg())
    flash(_("Payout is %(status)s.", status=pay_label(payout.status)), "info")
    return _to_operator_payments()


@bp.get("/operator/ledger")
@operator_required
def operator_ledger():
    raw = request.args.get("order_id", "").strip()
    order_id = int(raw) if raw.isdigit() else None
    overall = ledger.balances(db.session)
    # Per order and currency: each account's balance, to spot escrow left behind.
    per_order: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for oid, currency, account, amount in db.session.exec(select(
            LedgerEntry.order_id, LedgerEntry.currency, LedgerEntry.account,
            LedgerEntry.amount)):
        per_order[(oid or 0, currency)][account] += int(amount)
    orders = [{"order_id": oid, "currency": cur, "escrow": acc.get("escrow", 0),
               "charged": -acc.get("buyer_cash", 0), "fees": acc.get("platform_fee", 0),
               "paid": acc.get("factory_paid", 0), "refunded": acc.get("refunds", 0),
               "payable": sum(v for k, v in acc.items() if k.startswith("factory_payable:")),
               "balanced": sum(acc.values()) == 0}
              for (oid, cur), acc in sorted(per_order.items(), reverse=True)]
    entries = ledger.entries(db.session, order_id) if order_id else []
    # Factory accounts are named by company id in the ledger; people read company names.
    companies = {c.id: c.name for c in db.session.exec(select(Company))}
    names = {}
    for account in {a for accts in overall.values() for a in accts} | {
            e.account for e in entries}:
        label = pay_label(account)
        if account.startswith("factory_payable:"):
            cid = account.split(":", 1)[1]
            if cid.isdigit() and int(cid) in companies:
                label = _("Owed to %(name)s", name=companies[int(cid)])
        names[account] = label
    return render_template("payments/ledger.html", overall=overall, orders=orders,
                           entries=entries, order_id=order_id, names=names,
                           balanced=ledger.is_balanced(db.session))


# --- factories ----------------------------------------------------------------------------

def _factory_only() -> None:
    if current_user.is_operator or current_user.company is None or (
            not current_user.company.is_factory):
        abort(403)


@bp.get("/factory/payouts")
@login_required
def payouts():
    _factory_only()
    rows = payouts_svc.payouts_for(db.session, _me())
    orders = {o.id: o for o in db.session.exec(select(Order).where(
        col(Order.id).in_({p.order_id for p in rows})))} if rows else {}
    account = payouts_svc.payout_account(db.session, current_user.company_id)
    return render_template("payments/payouts.html", payouts=rows, orders=orders,
                           account=account, cfg=_cfg())


BANK_FIELDS = ("bank_name", "account_holder", "account_number")


def _payout_account_page(form: dict[str, str], errors: dict[str, str]):
    account = payouts_svc.payout_account(db.session, current_user.company_id)
    if account is not None and request.method == "GET":
        form = {"bank_name": account.bank_name, "account_holder": account.account_holder,
                "account_number": ""}
    return render_template("payments/payout_account.html", account=account, form=form,
                           errors=errors, cfg=_cfg()), (422 if errors else 200)


def _payout_account_again(exc: ServiceError):
    return _payout_account_page({k: request.form.get(k, "") for k in BANK_FIELDS},
                                exc.localized_fields)


@bp.route("/factory/payout-account", methods=["GET", "POST"])
@login_required
@on_service_error(_payout_account_again)
def payout_account():
    _factory_only()
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in BANK_FIELDS}
        payouts_svc.save_bank_details(db.session, _me(), form["bank_name"], form["account_holder"],
                              form["account_number"])
        flash(_("Bank details saved."), "success")
        return redirect(url_for("payments.payouts"))
    return _payout_account_page(dict.fromkeys(BANK_FIELDS, ""), {})


@bp.post("/factory/payout-account/stripe")
@login_required
@on_service_error("payments.payout_account")
def stripe_onboarding():
    _factory_only()
    link = payouts_svc.stripe_onboarding_link(
        db.session, _me(), url_for("payments.payout_account", _external=True),
        url_for("payments.stripe_onboarding_return", _external=True), _cfg())
    return redirect(link)


@bp.get("/factory/payout-account/stripe/return")
@login_required
def stripe_onboarding_return():
    _factory_only()
    account = payouts_svc.payout_account(db.session, current_user.company_id)
    if account is not None and account.stripe_account_id:
        try:
            payouts_svc.refresh_stripe_account(db.session, account.stripe_account_id, _cfg())
        except Exception:  # noqa: BLE001 - the webhook will tell us later; the page must load
            db.session.rollback()
    return redirect(url_for("payments.payouts"))


# --- the order page's payment link ----------------------------------------------------------

def _order_page(session: Any, order: Order, viewer: Any) -> dict[str, Any]:
    """Receiver of events.order_page: the buyer's payment page once a quote is accepted."""
    if (not viewer.is_authenticated or viewer.company_id != order.buyer_company_id
            or order.status in (OrderStatus.draft, OrderStatus.open, OrderStatus.quoted,
                                OrderStatus.cancelled)):
        return {}
    payment = charges.payment_for_order(session, order.id)  # type: ignore[arg-type]
    # "Pay into escrow" only while money is due: an accepted order whose money is held is
    # waiting for its factories, not for the buyer
    due = payment is None or payment.status in ("pending", "failed")
    return {"payment_url": url_for("payments.pay", order_id=order.id),
            "payment_due": due and order.status == OrderStatus.accepted}


events.order_page.connect(_order_page)
