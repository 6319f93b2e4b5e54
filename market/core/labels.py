"""Translatable labels for stored enum values (statuses, kinds, roles), so that the
extractor finds them and templates show them in the reader's language."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from market.core.reader import locale_id

LABELS = {
    "pending": _l("pending"),
    "verified": _l("verified"),
    "suspended": _l("suspended"),
    "buyer": _l("buyer"),
    "factory": _l("factory"),
    "both": _l("buyer and factory"),
    "member": _l("member"),
    "admin": _l("admin"),
    "operator": _l("operator"),
    "published": _l("idle"),
    "held": _l("held"),
    "booked": _l("booked"),
    "withdrawn": _l("withdrawn"),
    "active": _l("active"),
    "retired": _l("retired"),
    "queued": _l("queued"),
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "offered": _l("offered"),
    "accepted": _l("accepted"),
    "declined": _l("declined"),
    "expired": _l("expired"),
    "proposed": _l("proposed"),
    "in_progress": _l("in progress"),
    "cancelled": _l("cancelled"),
    "replaced": _l("moved by a re-plan"),
    "match": _l("matching"),
    "replan": _l("re-plan"),
    # QC documents (quality.models.DocumentKind), results, remedies of a rejected delivery
    "inspection_report": _l("inspection report"),
    "coc": _l("certificate of conformity"),
    "material_cert": _l("material certificate"),
    "photo": _l("photo"),
    "fai": _l("first-article inspection"),
    "other": _l("other"),
    "pass": _l("passed"),
    "fail": _l("failed"),
    "remake": _l("remake"),
    "refund": _l("refund"),
    "partial_refund": _l("partial refund"),
    # how the operators resolved a rejected delivery (payments.disputes.RESOLUTIONS)
    "refund_all": _l("refund all"),
    "refund_part": _l("refund part"),
    "release": _l("release to factories"),
    # change requests (deals.models.ChangeRequestStatus) and the quote a change replaced
    "quoted": _l("quoted"),
    "impossible": _l("impossible"),
    "superseded": _l("replaced by a change"),
}


# (id of a module-level lazy string, locale) -> its text: the catalogues do not change while
# the process runs, and a list page shows the same few labels on every row (each lookup
# through flask_babel costs several microseconds)
_texts: dict[tuple[int, Any], str] = {}


def translated(text: Any) -> str:
    """The text of a lazy string that lives as long as the process (a label table's), in the
    reader's language."""
    key = (id(text), locale_id())
    found = _texts.get(key)
    if found is None:
        found = _texts[key] = str(text)
    return found


def label(value: str | None) -> str:
    if value is None:
        return ""
    text = LABELS.get(value)
    return value if text is None else translated(text)


# What the audit log's actions mean, for dashboards and the operators' company pages (the
# log keeps the code; people read a sentence). tests/system/test_labels.py checks that every
# action the code records is here.
AUDIT_LABELS = {
    "attachment.added": _l("File attached"),
    "attachment.removed": _l("File removed"),
    "booking.accepted": _l("Booking accepted"),
    "change_request.created": _l("Change requested"),
    "change_request.accepted": _l("Change accepted"),
    "change_request.declined": _l("Change declined"),
    "booking.declined": _l("Booking declined"),
    "booking.started": _l("Operation started"),
    "booking.done": _l("Operation done"),
    "capacity.imported": _l("Capacity imported from CSV"),
    "capacity_rule.created": _l("Shift rule published"),
    "capacity_rule.withdrawn": _l("Shift rule withdrawn"),
    "company.auto_accept": _l("Automatic acceptance changed"),
    "company.registered": _l("Company registered"),
    "company.updated": _l("Company details changed"),
    "company.verified": _l("Company verified"),
    "company.suspended": _l("Company suspended"),
    "company.pending": _l("Company set back to pending"),
    "dispute.resolved": _l("Dispute resolved"),
    "machine.created": _l("Machine added"),
    "machine.down": _l("Machine reported down"),
    "machine.retired": _l("Machine retired"),
    "machine.updated": _l("Machine changed"),
    "matching_run.approved": _l("Matching run approved"),
    "matching_run.rejected": _l("Matching run rejected"),
    "matching_run.started": _l("Matching run started"),
    "order.cancelled": _l("Order cancelled"),
    "order.created": _l("Order created"),
    "order.delivered": _l("Delivery confirmed"),
    "order.disputed": _l("Dispute opened"),
    "order.shipped": _l("Order shipped"),
    "booking.handed_off": _l("Parts sent on to the next plant"),
    "document.added": _l("QC document uploaded"),
    "order.submitted": _l("Order submitted"),
    "order.updated": _l("Order edited"),
    "payment.expired": _l("Unpaid quote expired"),
    "payment.received": _l("Payment received"),
    "payout.paid": _l("Payout paid"),
    "payout_account.bank_details": _l("Bank details saved"),
    "payout_account.stripe": _l("Stripe payout account linked"),
    "plant.created": _l("Plant added"),
    "plant.updated": _l("Plant changed"),
    "quote.accepted": _l("Quote accepted"),
    "quote.declined": _l("Quote declined"),
    "refund.sent": _l("Refund sent"),
    "review.posted": _l("Review posted"),
    "review.answered": _l("Review answered"),
    "certification.uploaded": _l("Certification uploaded"),
    "certification.verified": _l("Certification verified"),
    "certification.rejected": _l("Certification rejected"),
    "certification.expired": _l("Certification expired"),
    "settings.transport": _l("Transport rates changed"),
    "token.issued": _l("API token created"),
    "token.revoked": _l("API token revoked"),
    "user.operator_created": _l("Operator account created"),
    "user.password_reset": _l("Password reset by mail"),
    "window.published": _l("Idle time published"),
    "window.withdrawn": _l("Idle time withdrawn"),
}


def audit_label(action: str | None) -> str:
    """An audit action in the reader's language; an unknown one in readable words."""
    if action is None:
        return ""
    known = AUDIT_LABELS.get(action)
    return translated(known) if known is not None else action.replace("_", " ").replace(".", ": ")
