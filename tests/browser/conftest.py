"""The browser tests' fixtures: Debian's chromium driven by Playwright against a live server.

Screenshots of every step land in test-artifacts/screenshots (the path is printed at the end
of the run) so a person can look at the pages; failures save one named after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import missing
from tests.fakes.live_server import (
    CHROMIUM_ARGS,
    SHOTS,
    LiveServer,
    chromium_path,
    make_live_app,
    watch,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        missing("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_app(tmp_path):
    return make_live_app(tmp_path)


@pytest.fixture
def server(live_app) -> Iterator[LiveServer]:
    with LiveServer(live_app) as srv:
        yield srv


@pytest.fixture
def page(browser, request, server):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors = watch(page)  # irreversible actions ask first (data-confirm): the tests say yes
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"browser console errors: {errors}"


