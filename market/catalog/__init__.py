"""The process taxonomy: processes, families, materials and which materials a process takes."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.catalog import api  # noqa: F401  (registers its routes)
    from market.catalog.certifications import certification_name
    from market.catalog.templating import material_name, process_name

    app.jinja_env.globals.update(material_name=material_name, process_name=process_name)
    app.jinja_env.filters["certification_name"] = certification_name
