"""Process and material names in the reader's language, for templates."""

from __future__ import annotations

from flask import g
from flask_babel import get_locale

from market.catalog import places
from market.catalog import service as taxonomy
from market.core.extensions import db
from market.core.templating import localized


def process_name(code: str) -> str:
    """A process's name in the reader's language (the taxonomy is cached, the names are
    picked once per request)."""
    if "process_names" not in g:
        g.process_names = {i.process.code: localized(i.process)
                           for i in taxonomy.processes(db.session)}
    return g.process_names.get(code, code)


def material_name(code: str) -> str:
    """A material's name in the reader's language, as `process_name`."""
    if "material_names" not in g:
        g.material_names = {m.code: localized(m) for m in taxonomy.materials(db.session)}
    return g.material_names.get(code, code)


def country_name(code: str | None) -> str:
    """A company's country named in the reader's language."""
    return places.country_name(code, str(get_locale()))
