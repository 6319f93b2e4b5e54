"""Helpers for the browser tests: where chromium is, and a live server on a free port."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("YUNZAO_TEST_ARTIFACTS", "test-artifacts")).resolve()


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class LiveServer:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def make_live_app(tmp_path: Path, **config):  # type: ignore[no-untyped-def]
    """An app on a fresh SQLite file with the taxonomy loaded, for a live server."""
    from sqlmodel import SQLModel

    from market import create_app, load_models
    from market.core.db import make_engine
    from market.core.extensions import db
    from seed.loader import load_taxonomy

    url = f"sqlite:///{tmp_path / 'browser.sqlite'}"
    engine = make_engine(url)
    load_models()
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"TESTING": True, "SECRET_KEY": "browser", "DATABASE_URL": url,
                      "SOLVER_MODE": "repeatable",
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": True, **config})
    with app.app_context():
        load_taxonomy(db.session)
    return app


def sign_in(page, server, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login form, starting from a clean cookie jar."""
    import re

    page.context.clear_cookies()
    page.goto(server.url + "/auth/login")
    # by field name and button type: the same in every language the page is shown in
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(re.compile(r".*/(dashboard|operator/)$"))


SHOTS = ARTIFACTS / "screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret injects a style that the CSP (rightly) refuses
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, caret="initial")
