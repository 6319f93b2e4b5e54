"""What every domain shares: the database session and write lock, errors, audit, domain
events, background jobs and schedules, the JSON API's plumbing and OpenAPI document, page
helpers, templating, money and labels. `core` imports no domain."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from market.config import BASE_DIR
    from market.core import openapi, pages, security, templating  # noqa: F401
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
    pages.init_app(app)
