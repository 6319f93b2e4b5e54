"""Translatable labels for stored enum values (statuses, kinds, roles), so that the
extractor finds them and templates show them in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
}


def label(value: str | None) -> str:
    if value is None:
        return ""
    return str(LABELS.get(value, value))
