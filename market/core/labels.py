"""Translatable labels for stored enum values (statuses, kinds, roles), so that the
extractor finds them and templates show them in the reader's language."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
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
}


# (id of a module-level lazy string, locale) -> its text: the catalogues do not change while
# the process runs, and a list page shows the same few labels on every row (each lookup
# through flask_babel costs several microseconds)
_texts: dict[tuple[int, Any], str] = {}


def translated(text: Any) -> str:
    """The text of a lazy string that lives as long as the process (a label table's), in the
    reader's language."""
    key = (id(text), get_locale())
    found = _texts.get(key)
    if found is None:
        found = _texts[key] = str(text)
    return found


def label(value: str | None) -> str:
    if value is None:
        return ""
    text = LABELS.get(value)
    return value if text is None else translated(text)
