"""Every notification kind: who hears of it, and what it says. The text is written in the
recipient's language when the event happens (see `render`), from the objects the sender
passed to `core.events.occurred` and plain values; unknown details are listed as they are.

Audiences:
- `buyer`: the users of the order's buying company;
- `booking_factory`: the users of the booking's factory;
- `order_factories`: the users of every factory with live work on the order;
- `payout_factory`: the users of the factory paid;
- `company`: the users of `details["company_id"]` (or `factory_id`);
- `thread`: the other side of a message thread: the users of `details["company_ids"]`, and
  the operators when `details["to_operators"]`;
- `operators`: the platform's operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from market.core.errors import N_


@dataclass(frozen=True)
class Kind:
    audiences: tuple[str, ...]
    subject: str
    body: str
    needs_answer: bool = False  # mailed by default


KINDS: dict[str, Kind] = {
    "booking_proposed": Kind(
        ("booking_factory",), N_("New booking for order %(order)s"),
        N_("%(operation)s on %(machine)s, %(start)s to %(end)s, for %(amount)s. Please "
           "accept or decline by %(respond_by)s; unanswered bookings are declined then."),
        needs_answer=True),
    "booking_deadline_soon": Kind(
        ("booking_factory",), N_("Answer due soon: booking for order %(order)s"),
        N_("The booking for %(operation)s (%(start)s to %(end)s) waits for your answer "
           "until %(respond_by)s. Without one it is declined automatically."),
        needs_answer=True),
    "booking_declined": Kind(
        ("buyer", "operators"), N_("A booking on order %(order)s was declined"),
        N_("Reason: %(reason)s. The order goes back to matching; its payment is refunded.")),
    "quote_offered": Kind(
        ("buyer",), N_("Firm quote for order %(order)s: %(price)s"),
        N_("Delivery by %(delivery_date)s. The quote and its capacity are held until "
           "%(expires_at)s; accept or decline it on the order's page."),
        needs_answer=True),
    "quote_expiring": Kind(
        ("buyer",), N_("Quote for order %(order)s expires soon"),
        N_("The firm quote of %(price)s expires at %(expires_at)s and its capacity is "
           "released then."),
        needs_answer=True),
    "payment_received": Kind(
        ("buyer",), N_("Payment received for order %(order)s"),
        N_("%(amount)s is held in escrow until you confirm delivery. The factories have "
           "been asked to confirm their bookings.")),
    "order_replanned": Kind(
        ("buyer", "order_factories"), N_("Order %(order)s was replanned"),
        N_("A new plan (matching run %(run_id)s) changes the schedule of this order. "
           "Open the order to see the new dates.")),
    "downtime_reported": Kind(
        ("buyer", "operators"), N_("Machine downtime affects order %(order)s"),
        N_("%(machine_name)s is unavailable from %(start)s to %(end)s (%(reason)s). "
           "The order is being replanned.")),
    "shipment_recorded": Kind(
        ("buyer",), N_("Order %(order)s has shipped"),
        N_("The factory recorded the shipment (%(note)s). Please confirm delivery once it "
           "has arrived and you have inspected it."),
        needs_answer=True),
    "delivery_confirmed": Kind(
        ("order_factories",), N_("Delivery of order %(order)s confirmed"),
        N_("The buyer confirmed delivery. Your payout is being released.")),
    "delivery_rejected": Kind(
        ("order_factories", "operators"), N_("Delivery of order %(order)s rejected"),
        N_("The buyer rejected the delivery: %(reason)s. An operator will look into it."),
        needs_answer=True),
    "delivery_accepted": Kind(
        ("buyer", "order_factories"), N_("Delivery of order %(order)s accepted"),
        N_("The inspection window of %(inspection_days)s days ended without a rejection: "
           "the delivery counts as accepted, the factories are paid and the order closes.")),
    "remake_ordered": Kind(
        ("buyer", "order_factories"), N_("Order %(order)s is to be made again"),
        N_("The operators resolved the rejected delivery with a remake from step "
           "%(from_seq)s on. The factories of those steps make the parts again; the money "
           "stays in escrow until the new delivery is accepted.")),
    "parts_sent": Kind(
        ("booking_factory",), N_("Parts for order %(order)s are on their way to you"),
        N_("The previous operation's plant sent the parts for %(operation)s (carrier: "
           "%(carrier)s, tracking number: %(tracking_number)s). Your work starts at %(start)s.")),
    "message_received": Kind(
        ("thread",), N_("New message on order %(order)s"),
        N_("%(author)s wrote: %(excerpt)s"), needs_answer=True),
    "payout_paid": Kind(
        ("payout_factory",), N_("Payout sent for order %(order)s"),
        N_("%(amount)s has been transferred to your payout account.")),
    "change_request_answered": Kind(
        ("buyer",), N_("Your change request on order %(order)s was answered"),
        N_("Status: %(status)s. Price difference: %(price_difference)s; delivery date: "
           "%(delivery_date)s."),
        needs_answer=True),
    "review_received": Kind(
        ("company",), N_("New review on order %(order)s"),
        N_("The buyer reviewed your work on this order. It counts towards your scorecard.")),
    "operation_ending_soon": Kind(
        ("booking_factory",), N_("Will order %(order)s ship on time?"),
        N_("%(operation)s is planned to end at %(end)s. Please tell the buyer and the "
           "operators whether it will be finished on time."),
        needs_answer=True),
    "operation_late": Kind(
        ("buyer", "operators"), N_("Order %(order)s may be late"),
        N_("The factory expects %(operation)s to finish after %(end)s: %(note)s")),
    "webhook_disabled": Kind(
        ("company",), N_("A webhook endpoint was disabled"),
        N_("%(url)s has failed for 5 days and receives no more events. Add it again once "
           "it answers."), needs_answer=True),
    # certifications (market/quality/certifications.py): `company_id` is the factory's
    "certification_uploaded": Kind(
        ("operators",), N_("Certification to check: %(company_name)s"),
        N_("%(company_name)s uploaded a %(certification)s certificate. Please verify or "
           "reject it."), needs_answer=True),
    "certification_verified": Kind(
        ("company",), N_("%(certification)s certificate verified"),
        N_("Certificate %(number)s is verified and counts in matching until %(valid_until)s.")),
    "certification_rejected": Kind(
        ("company",), N_("%(certification)s certificate rejected"),
        N_("Certificate %(number)s was rejected: %(reason)s. Orders requiring it are not "
           "matched to you; you may upload it again."), needs_answer=True),
    "certification_expiring": Kind(
        ("company",), N_("%(certification)s certificate expires soon"),
        N_("Certificate %(number)s is valid until %(valid_until)s. Upload the renewed "
           "certificate so that orders requiring it keep reaching you."), needs_answer=True),
    "certification_expired": Kind(
        ("company",), N_("%(certification)s certificate expired"),
        N_("Certificate %(number)s was valid until %(valid_until)s and no longer counts: "
           "orders requiring it are not matched to you until you upload a valid one."),
        needs_answer=True),
}

GENERIC = Kind(("buyer",), N_("Update on order %(order)s"), N_("%(details)s"))


def kind_of(name: str) -> Kind:
    return KINDS.get(name, GENERIC)


def defaults() -> dict[str, bool]:
    """What is mailed unless a user says otherwise: what needs an answer."""
    return {name: kind.needs_answer for name, kind in KINDS.items()}


def plain_details(details: dict[str, Any]) -> str:
    """Values the sender passed that no text names, for kinds this module does not know."""
    return "; ".join(f"{key}: {value}" for key, value in sorted(details.items())
                     if isinstance(value, str | int | float) and not isinstance(value, bool))


def kind_labels() -> dict[str, Any]:
    """What each kind is called on the settings page (lazy: in the reader's language)."""
    from flask_babel import lazy_gettext as _l

    return {
        "booking_proposed": _l("a booking is proposed to my factory"),
        "booking_deadline_soon": _l("a booking's answer is due within 12 hours"),
        "booking_declined": _l("a factory declines a booking on my order"),
        "quote_offered": _l("a firm quote is offered on my order"),
        "quote_expiring": _l("a firm quote expires within 12 hours"),
        "payment_received": _l("my payment is received"),
        "order_replanned": _l("an order is replanned"),
        "downtime_reported": _l("a machine's downtime affects my order"),
        "shipment_recorded": _l("my order ships"),
        "delivery_confirmed": _l("the buyer confirms delivery"),
        "delivery_rejected": _l("the buyer rejects a delivery"),
        "delivery_accepted": _l("an inspection window ends without a rejection"),
        "parts_sent": _l("parts are sent to my plant from the previous operation"),
        "remake_ordered": _l("a rejected delivery is to be made again"),
        "message_received": _l("a message arrives"),
        "payout_paid": _l("a payout is sent"),
        "change_request_answered": _l("my change request is answered"),
        "review_received": _l("my factory is reviewed"),
        "operation_ending_soon": _l("an operation ends in two days (will it ship on time?)"),
        "operation_late": _l("a factory expects to be late"),
        "webhook_disabled": _l("a webhook endpoint of my company is disabled"),
        "certification_uploaded": _l("a factory uploads a certification to check"),
        "certification_verified": _l("my certification is verified"),
        "certification_rejected": _l("my certification is rejected"),
        "certification_expiring": _l("my certification expires within 30 days"),
        "certification_expired": _l("my certification has expired"),
    }
