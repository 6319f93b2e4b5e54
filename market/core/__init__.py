"""What every domain shares: the database session and write lock, errors, audit, domain
events, background jobs and schedules, the JSON API's plumbing and OpenAPI document, page
helpers, templating, money and labels. `core` imports no domain."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from market.core.models import MAX_ID  # a larger number in a URL matches no route


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id beyond the id columns' range is a 404 like any
    unknown id, never a 500 from the database driver (found by fuzzing the API)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    from market.config import BASE_DIR
    from market.core import fragments, openapi, pages, security, templating  # noqa: F401
    from market.core.extensions import babel, csrf, db, limiter, login_manager, select_locale
    from market.core.jobs import jobs

    db.init_app(app)
    jobs.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(BASE_DIR / "market" / "translations"),
    )
    security.init_app(app)
    templating.init_app(app)
    fragments.init_app(app)
    pages.init_app(app)
