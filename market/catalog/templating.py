"""Process and material names in the reader's language, for templates."""

from __future__ import annotations

from flask import g
from sqlmodel import select

from market.catalog import service as taxonomy
from market.catalog.models import Process
from market.core.extensions import db
from market.core.templating import localized


def process_name(code: str) -> str:
    """A process's name in the reader's language; the table is read once per request."""
    if "process_names" not in g:
        g.process_names = {p.code: p for p in db.session.exec(select(Process))}
    process = g.process_names.get(code)
    return localized(process) if process else code


def material_name(code: str) -> str:
    """A material's name in the reader's language; the table is read once per request."""
    if "material_names" not in g:
        g.material_names = {m.code: m for m in taxonomy.materials(db.session)}
    material = g.material_names.get(code)
    return localized(material) if material else code
