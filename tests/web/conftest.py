"""Fixtures for the web viewer: a store written through the public API, the app, a live server.

Browser tests drive Debian's Chromium (``/usr/bin/chromium``) through Playwright;
nothing is downloaded. When Chromium or Playwright is missing they are skipped
with the reason, and the HTTP-level tests still run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from webdata import Sample, write_sample

from llmlog.web import Server, create_app

CHROMIUM = os.environ.get("LLMLOG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def sample(tmp_path: Path) -> Sample:
    """The sample store at ``tmp_path/llmlog.db``."""
    return write_sample(tmp_path / "llmlog.db")


@pytest.fixture
def client(sample: Sample) -> Iterator[TestClient]:
    """An HTTP client for the viewer over the sample store, as a loopback browser."""
    with TestClient(create_app(str(sample.db)), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def server(sample: Sample) -> Iterator[Server]:
    """The real viewer on 127.0.0.1 and an ephemeral port, polling fast for live rows."""
    srv = Server(str(sample.db), host="127.0.0.1", port=0, live_interval=0.2)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (skipped if either is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; see .ci/services)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies) that records dialogs and CSP violations."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    try:
        yield pg
    finally:
        context.close()
