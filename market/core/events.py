"""Domain events: every blinker signal the domains send each other, declared here once.

Two kinds, and the difference matters:

- **After commit** (`publish(session, signal, **details)`): the event is queued on the
  session and sent only once that session's transaction has committed; a rollback drops it.
  For side effects that must not hold the transaction or its locks and may fail on their own:
  refunds and payouts through the payment provider, job dispatch, and (issue "Nobody misses
  anything") notifications and outbound webhooks.
- **In the transaction** (`signal.send(session, **details)` directly): a rule of a higher
  domain that must hold together with the sender's change (money in escrow <-> bookings
  proposed). Receivers work on the sender's session and never commit; the sender commits.
  This is how a lower domain reaches a higher one without importing it.

A receiver is connected in its domain's `init_app` (or at import of its module) and gets the
session as the sender, plus the keyword arguments below. A rule that a domain applies to a
domain below it is a direct call, never an event.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace, Signal

log = logging.getLogger(__name__)
_signals = Namespace()
PENDING_KEY = "yunzao_pending_events"

# --- after commit ---------------------------------------------------------------------------

order_cancelled = _signals.signal("order-cancelled", doc="""
An order was cancelled before production (committed). `order`: the Order. Payments cancels a
payment still waiting for money and refunds money in escrow in full.""")

delivery_confirmed = _signals.signal("delivery-confirmed", doc="""
The buyer confirmed delivery (committed). `order`: the Order; `payments_config`: the payment
settings the caller uses (None: the app's). Payments releases each factory's payout.""")

quote_withdrawn = _signals.signal("quote-withdrawn", doc="""
An accepted quote no longer stands because a factory declined or let a booking lapse
(committed). `quote_id`. Payments refunds the buyer's money for it.""")

run_requeued = _signals.signal("run-requeued", doc="""
The reaper put a matching run whose worker died back in the queue (committed). `run_id`.
The runs domain dispatches the job again.""")

run_finished = _signals.signal("run-finished", doc="""
A matching run stored its proposal (committed). `run_id`, `kind` ("match" or "replan"). The
deals domain tells the buyers of a re-plan that found no place in time (they may cancel), and
answers the change request a re-plan quotes (quoted or impossible).""")

run_queued = _signals.signal("run-queued", doc="""
A service queued a matching run in its transaction (committed): a re-plan after a downtime
or a declined step. `run_id`. The runs domain dispatches the job.""")

change_accepted = _signals.signal("change-accepted", doc="""
The buyer accepted a change request (committed). `change_request_id`. Payments sends the
refunds it queued for a lower price to the provider.""")

# --- in the transaction -----------------------------------------------------------------------

change_accepting = _signals.signal("change-accepting", doc="""
The buyer is accepting a change request (not committed yet): the new quote is accepted and
the old one superseded, the bookings moved. `change_request`, `order`, `old_quote`,
`new_quote`, `actor`, `now`. Payments opens a second escrow payment of the difference when
the new price is higher, or queues a refund of it from escrow when it is lower (sent after
the commit, on `change_accepted`).""")

machine_down = _signals.signal("machine-down", doc="""
A factory reported a machine down (not committed yet); its idle time in the range is already
withdrawn. `downtime` (a MachineDowntime), `machine`, `actor`. The deals domain marks the
live bookings in the range at risk, queues a re-plan of their orders and tells the parties;
its receiver returns `{"affected_bookings": [ids], "replan_run_id": id or None}`.""")

quote_accepted = _signals.signal("quote-accepted", doc="""
The buyer accepted a firm quote; its time is booked and the order accepted (not committed
yet). `quote`, `order`, `actor`, `now`. Payments opens the escrow payment in the same
transaction, so an accepted quote always has a payment to pay.""")

order_cancelling = _signals.signal("order-cancelling", doc="""
An order is being cancelled (not committed yet). `order`, `previous` (its status before).
Receivers give back what the order holds (offered quotes declined, accepted quotes withdrawn,
bookings cancelled, held or booked time released) and return the minutes they released.""")

order_readers = _signals.signal("order-readers", doc="""
Asked whether `user` may read `order` beyond its buyer and the operators (not a change).
A receiver returns True to grant (the deals domain: a factory with live work on the order).""")

money_due = _signals.signal("money-due", doc="""
Asked whether the buyer still owes money on `order` (not a change). Payments returns True
while a payment of the order's accepted quote waits for the buyer's money (the difference of
an accepted change request, say): no further change is asked for before it is paid.""")

blob_in_use = _signals.signal("blob-in-use", doc="""
Asked whether stored upload bytes (`sha256`, content-addressed by orders.attachments
write_blob) are still named outside the order attachments (not a change). A receiver returns
True to keep them (notify: a message file with the same content).""")


notable = _signals.signal("notable", doc="""
Something a party should hear about happened (in the transaction, not committed yet). Sent by
`occurred(session, kind, **details)`. `kind`: a notification kind of API.md "Notifications"
(`booking_proposed`, `booking_declined`, `quote_offered`, `payment_received`,
`order_replanned`, `downtime_reported`, `shipment_recorded`, `delivery_confirmed`,
`delivery_rejected`, `message_received`, `payout_paid`, `change_request_answered`,
`review_received`, ...). `details`: the objects concerned, those that apply: `order`,
`booking`, `quote`, `payment`, `payout`; `actor` (the user who acted, None for the system);
and plain values the message needs (for `downtime_reported`: `machine_name`, `start`, `end`,
`reason`; for `order_replanned`: `run_id`; for `change_request_answered`:
`change_request_id`, `status`, `price_difference_minor`, `delivery_date`). The sender passes
one `order` per event (a downtime touching three orders sends three). The notify domain picks
the recipients from the kind and the objects and stores the notifications, mails and webhook
deliveries in the sender's transaction (an outbox): a rollback drops them, a commit keeps
them, and they are sent after the commit.""")
operation_places = _signals.signal("operation-places", doc="""
Asked by a re-plan run where the operations of `orders` are now (not a change). The deals
domain returns `{operation_id: {"state", "machine_id", "start", "end", "planned_operation_id"}}`
from the live bookings: state `fixed` (started or done: stays), `previous` (accepted or
proposed: keeps its place unless moving pays), `at_risk` (on a machine reported down: must
move) or `declined` (its factory declined: must move, not back to that slot).""")

order_changes = _signals.signal("order-changes", doc="""
Asked by a re-plan run what its orders are to become (not a change). `run` (the MatchingRun).
The deals domain answers for a run that quotes a buyer's change request:
`{order_id: {"due_date": datetime or None, "quantity": int or None}}` (None: unchanged).""")

plant_risk = _signals.signal("plant-risk", doc="""
Asked by the matching what each plant's record predicts (not a change). `plant_companies`
({plant id: company id}), `now`. The quality domain returns {plant id: risk_per_mille} from
its companies' scorecards (MATCHING_FORMAT 1.1); without an answer a plant carries no risk.""")

shipping = _signals.signal("shipping", doc="""
The last operation's factory is recording the shipment to the buyer (not committed yet).
`order`, `booking`. A receiver refuses by raising a ServiceError, which the sender lets
through (the quality domain: QC documents the order requires are missing; payments: the
difference of an accepted change request is not paid yet).""")
plant_certifications = _signals.signal("plant-certifications", doc="""
Asked by the matching and capacity search which certifications each plant's company holds
(not a change). `plant_companies` ({plant id: company id}), `now`. The quality domain
returns {plant id: [kind, ...]}: its company's verified certifications still valid at `now`
(MATCHING_FORMAT 1.1 `plants[].certifications`); without an answer a plant holds none.""")

plant_probation = _signals.signal("plant-probation", doc="""
Asked by the matching which plants belong to factories on probation (fewer than 3 jobs; not
a change). `plant_companies` ({plant id: company id}), `now`, `own` (planned operation ids
being re-planned: their bookings do not count as the factory's live work). The quality
domain returns {plant id: {"live": bool, "max_amount": fen}} for the plants on probation
only: `live` when the factory already has a live booking (it takes no new work), and the
largest order value it may take. Without an answer no plant is on probation.""")


company_records = _signals.signal("company-records", doc="""
Asked by the operators' run review what each factory's record is (not a change).
`company_ids`, `now`. The quality domain returns {company id: scorecard as a dict} (jobs
counted, on-time and defect rates, acceptance, response time, rating, risk_per_mille).""")


order_page = _signals.signal("order-page", doc="""
Collects what other domains show on an order's page (not a change). `order`, `viewer` (the
signed-in user or an anonymous one). Receivers, in their domain's pages module, return a dict
of template variables (firm quotes, bookings and the schedule, the payment link) holding only
what that viewer may see.""")

booking_page = _signals.signal("booking-page", doc="""
Collects what other domains show on a booking's page (not a change). `booking`, `order`,
`viewer` (its factory or an operator). Receivers return a dict of template variables (the
quality domain: the booking's QC documents and the kinds the order still needs).""")
company_page = _signals.signal("company-page", doc="""
Collects what other domains show on the operators' page of a company (not a change).
`company`, `viewer`. Receivers return a dict of template variables (the quality domain: the
company's certifications to verify).""")

order_api = _signals.signal("order-api", doc="""
Collects what other domains add to an order's API body (not a change). `order`, `viewer`
(the token's user, or None). Receivers, in their api module, return a dict of JSON-ready body
fields (`quotes`, `payments`, `bookings_by_operation`) holding only what that viewer may see.""")


def collect(signal: Signal, sender: Any, **details: Any) -> dict[str, Any]:
    """Merge the dicts the receivers of a collecting signal (`order_page`, ...) return."""
    merged: dict[str, Any] = {}
    for _receiver, part in signal.send(sender, **details):
        merged.update(part or {})
    return merged


def publish(session: Any, signal: Signal, **details: Any) -> None:
    """Send `signal` with `details` once `session` commits (dropped on rollback)."""
    if not getattr(session, "sends_events_after_commit", False):
        # A plain session would never send it: fail loudly rather than lose the event.
        raise TypeError("publish() needs a market.core.db.Session")
    session.info.setdefault(PENDING_KEY, []).append((signal, details))


def send_committed(session: Any) -> None:
    """Send what `publish` queued on `session` (called by Session.commit after the commit)."""
    while True:
        pending = session.info.pop(PENDING_KEY, None)
        if not pending:
            return
        for signal, details in pending:
            signal.send(session, **details)


def drop_pending(session: Any) -> None:
    session.info.pop(PENDING_KEY, None)


def granted(signal: Signal, sender: Any, **details: Any) -> bool:
    """True when any receiver of a question signal (such as `order_readers`) says yes."""
    return any(answer for _receiver, answer in signal.send(sender, **details))


def occurred(session: Any, kind: str, **details: Any) -> None:
    """Tell the parties concerned that `kind` happened, in `session`'s transaction."""
    notable.send(session, kind=kind, **details)
