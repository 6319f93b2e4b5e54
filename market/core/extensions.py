"""Flask extensions, created unbound here and bound in create_app (app factory pattern)."""

from __future__ import annotations

from flask import request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from market.core.db import db
from market.core.errors import RateLimited

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

csrf = CSRFProtect()
class RouteLimiter(Limiter):
    """Flask-Limiter that skips its check before every request while the application has
    no default, application-wide or blueprint limits: ours are on routes (its decorators,
    which check their own) and in `check_rate`, so that check found nothing, at about 70
    microseconds a request (a tenth of a page's framework cost). Configured limits of those
    kinds (RATELIMIT_DEFAULT, say) are checked as Flask-Limiter always does."""

    def _check_request_limit(self, callable_name: str | None = None,
                             in_middleware: bool = True) -> None:
        manager = self.limit_manager
        if in_middleware and not (manager._default_limits or manager._application_limits
                                  or manager._blueprint_limits):
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)


limiter = RouteLimiter(key_func=get_remote_address, default_limits=[])
babel = Babel()


def check_rate(name: str, config_key: str, *who: object) -> None:
    """Count one `name` for `who` (a company id, say) against the limit in config
    `config_key` (e.g. "30 per minute"); over it: RateLimited. For what abuse would make
    expensive (instant quotes run the solver, uploads fill the disk), keyed by company, not
    address, so one office behind one address is not limited as one."""
    from flask import current_app
    from limits import parse

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    limit = parse(current_app.config[config_key])
    if not limiter.limiter.hit(limit, name, *(str(w) for w in who)):
        raise RateLimited("Too many requests for now; please wait a little and try again.")


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


__all__ = ["babel", "csrf", "db", "limiter", "login_manager", "select_locale"]
