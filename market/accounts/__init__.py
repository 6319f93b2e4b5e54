"""Companies, users, API tokens and verification of companies by operators."""

from __future__ import annotations

from flask import Flask, g


def init_app(app: Flask) -> None:
    from market.accounts import api, pages, service  # noqa: F401  (api registers its routes)
    from market.core.extensions import db, login_manager

    @login_manager.user_loader
    def _load_user(session_id: str):  # type: ignore[no-untyped-def]
        extras: dict = {}
        user = service.load_user(db.session, session_id, extras)
        g.user_extras = extras  # service.USER_EXTRAS, read with the user
        return user

    from market.core.api import set_token_loader

    set_token_loader(service.user_for_token)
    app.register_blueprint(pages.bp)
