"""The rate limiter skips its before-request check while no default, application-wide or
blueprint limit exists (market.core.extensions.RouteLimiter); route limits still hold, and a
configured default limit is checked as Flask-Limiter always does."""

from __future__ import annotations

from market import create_app
from market.core.extensions import limiter


def test_route_limits_hold_and_unlimited_pages_are_not_counted(app_config):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True,
                      "LOGIN_RATE_LIMIT": "2 per minute"})
    client = app.test_client()
    assert all(client.get("/healthz").status_code == 200 for _ in range(20))
    login = [client.post("/auth/login", data={"email": "nobody@example.com",
                                              "password": "wrong"}).status_code
             for _ in range(3)]
    assert login[-1] == 429 and 429 not in login[:2], login
    app.extensions["yunzao_db"].dispose()


def test_a_configured_default_limit_is_still_checked(app_config):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True,
                      "RATELIMIT_DEFAULT": "3 per minute"})
    try:
        client = app.test_client()
        answers = [client.get("/healthz").status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429], answers
    finally:
        # the limiter is one object for every app of the process, and keeps the defaults
        # of the last app that set them
        limiter.limit_manager.set_default_limits([])
        app.extensions["yunzao_db"].dispose()
