"""The process taxonomy: processes, families, materials and which materials a process takes."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale


def init_app(app: Flask) -> None:
    from market.catalog import (
        api,  # noqa: F401  (registers its routes)
        pages,
        places,
    )
    from market.catalog.certifications import certification_name
    from market.catalog.templating import (
        country_name,
        material_name,
        process_name,
        routing_names,
    )

    app.register_blueprint(pages.bp)
    app.jinja_env.globals.update(material_name=material_name, process_name=process_name,
                                 cn_provinces=lambda: places.provinces(str(get_locale())),
                                 cn_districts=places.districts)
    from market.core.templating import reader_filter

    app.jinja_env.filters["certification_name"] = reader_filter(certification_name)
    app.jinja_env.filters["country"] = reader_filter(country_name)
    app.jinja_env.filters["routing_names"] = reader_filter(routing_names)
