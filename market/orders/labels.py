"""What an order's statuses and timeline events are called, in the reader's language (the
order keeps the code; people read words). tests/system/test_labels.py checks that every
event kind the code writes is here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "draft": _l("draft"), "open": _l("open"), "quoted": _l("quoted"),
    "accepted": _l("accepted"), "scheduled": _l("scheduled"),
    "in_production": _l("in production"), "shipped": _l("shipped"),
    "delivered": _l("delivered"), "closed": _l("closed"), "cancelled": _l("cancelled"),
    "disputed": _l("disputed"),
}
EVENT_LABELS = {
    "created": _l("Draft created"), "updated": _l("Draft edited"),
    "submitted": _l("Submitted"), "cancelled": _l("Cancelled"),
    "attachment_added": _l("File attached"), "attachment_removed": _l("File removed"),
    "instant_quote": _l("Instant quote"),
    # written by the matching, bookings and payments services
    "quoted": _l("Firm quote offered"), "quote_accepted": _l("Quote accepted"),
    "quote_declined": _l("Quote declined"), "quote_expired": _l("Quote expired"),
    "bookings_proposed": _l("Bookings proposed to the factories"),
    "booking_accepted": _l("A factory accepted its booking"),
    "booking_declined": _l("A factory declined its booking"),
    "scheduled": _l("Scheduled"), "in_production": _l("In production"),
    "shipped": _l("Shipped"), "delivered": _l("Delivered"), "closed": _l("Closed"),
    "disputed": _l("Dispute opened"), "dispute_resolved": _l("Dispute resolved"),
    "payment_opened": _l("Payment requested"), "payment_received": _l("Payment received"),
    "refunded": _l("Refunded"),
    "at_risk": _l("A machine is down: work is being re-planned"),
    "operation_started": _l("An operation started"),
    "operation_done": _l("An operation is done"),
    "operation_progress": _l("A factory reported progress"),
    "handed_off": _l("Parts sent on to the next plant"),
    "document_added": _l("A QC document was uploaded"),
    "delivery_rejected": _l("Delivery rejected"),
    "delivery_accepted": _l("Delivery accepted at the end of the inspection window"),
    "remake": _l("The operators ordered a remake"),
    "payment_overdue": _l("The payment did not arrive in time"),
    "payouts_released": _l("Payouts released to the factories"),
    "replanned": _l("Re-planned: bookings moved"),
    "replan_no_fit": _l("No re-plan delivers in time: the buyer may cancel with a full refund"),
    "change_requested": _l("The buyer requested a change: it is being re-planned"),
    "change_answered": _l("The change request was answered"),
    "change_accepted": _l("The buyer accepted the change: the order, its quote and its "
                          "bookings follow"),
    "change_declined": _l("The buyer declined the quoted change: nothing changed"),
    # written by the notify domain ("will it ship on time?")
    "on_time_confirmed": _l("A factory confirmed it will finish on time"),
    "late_expected": _l("A factory expects to finish late"),
}
