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
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": True,
                      "PROBATION_MAX_AMOUNT": 0,  # as tests/conftest.py: every factory is new
                      **config})
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


def accessibility_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's violations on the page as it is now (WCAG 2 A/AA rules), one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, "resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in results.response["violations"]]


def watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Answer yes to every confirmation (data-confirm) and collect the page's script errors:
    failed HTTP statuses are asserted by the tests themselves; scripts must not fail."""
    page.on("dialog", lambda dialog: dialog.accept())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    return errors


def shot(page, name: str) -> None:
    """Save a screenshot, and check the page with axe-core: every page a test looks at must
    be accessible (labels, contrast, roles)."""
    problems = accessibility_problems(page)
    assert not problems, f"{name}: " + "\n".join(problems)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret injects a style that the CSP (rightly) refuses
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, caret="initial")
