"""Process and material names in the reader's language, for templates."""

from __future__ import annotations

from flask_babel import get_locale

from market.catalog import places
from market.catalog import service as taxonomy
from market.core.extensions import db
from market.core.reader import locale_id, reader


def _names(kind: str) -> dict[str, str]:
    """The taxonomy's names in the reader's language, looked up once per request (the
    copy of the taxonomy keeps them per language)."""
    found = reader()
    if found is None:
        return taxonomy.names(db.session, kind, locale_id())
    names = found.memo.get(kind)
    if names is None:
        names = found.memo[kind] = taxonomy.names(db.session, kind, found.locale_id)
    return names


def process_name(code: str) -> str:
    """A process's name in the reader's language."""
    return _names("process").get(code, code)


def routing_names(codes: list[str]) -> str:
    """The processes of a routing by name, "Milling → Anodising" (a list row's summary)."""
    names = _names("process")
    return " → ".join(names.get(code, code) for code in codes)


def material_name(code: str) -> str:
    """A material's name in the reader's language."""
    return _names("material").get(code, code)


def country_name(code: str | None) -> str:
    """A company's country named in the reader's language."""
    return places.country_name(code, str(get_locale()))
