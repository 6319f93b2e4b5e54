"""Yunzao marketplace: the Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from market.config import BASE_DIR, INSTANCE_DIR, Config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    Config.check_production(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from market import models  # noqa: F401  (registers the tables)
    from market.extensions import babel, csrf, db, limiter, login_manager, select_locale

    db.init_app(app)
    from market.jobs import jobs

    jobs.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(BASE_DIR / "market" / "translations"),
    )

    from market import api, security, templating
    from market.views import auth, deals, errors, factory, main, operator, orders
    from market.views import payments as payments_views

    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(operator.bp)
    app.register_blueprint(factory.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(deals.bp)
    app.register_blueprint(payments_views.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, never with cookies

    from market import cli

    cli.init_app(app)
    return app
