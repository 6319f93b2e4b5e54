"""Yunzao marketplace: the Flask application factory."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask

from market.config import INSTANCE_DIR, Config

# One package per domain, lowest first: a domain imports `core` and the domains before it,
# never one after it (the import contract in pyproject.toml checks this).
DOMAINS = ("catalog", "accounts", "capacity", "orders", "runs", "deals", "payments",
           "quality", "notify", "overview", "home")
# Domains with tables; importing their models registers them on SQLModel.metadata.
MODEL_MODULES = ("core.audit", "catalog.models", "accounts.models", "capacity.models",
                 "orders.models", "runs.models", "deals.models", "payments.models",
                 "quality.models", "notify.models")


def load_models() -> None:
    """Register every table (Alembic, the test fixtures and create_app need all of them)."""
    for name in MODEL_MODULES:
        import_module(f"market.{name}")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    # templates/ and static/ live in the package, so `pip install .` serves pages too
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    Config.check_production(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    load_models()
    from market import core

    core.init_app(app)
    for name in DOMAINS:
        domain = import_module(f"market.{name}")
        if hasattr(domain, "init_app"):
            domain.init_app(app)
    from market.core import api
    from market.core.extensions import csrf
    from market.core.jobs import jobs

    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, never with cookies

    from market import cli

    cli.init_app(app)
    jobs.start_schedule(app)  # every domain's tasks are registered by now
    return app
