"""The fault-injection suite: what llmlog keeps, counts and never leaks when things go wrong.

Each test injects one fault through the public API (a bad record, a sink that fails or
hangs, a full disk, a fork at the wrong moment, hostile content) and asserts three things:
what was kept, what was counted, and that the application saw no exception and no call
slower than a stated bound (bounds are loose: they catch a hang, not a slowdown).
Helpers live in ``faultkit``.

llmlog's own errors are not re-raised here (``LLMLOG_RAISE_ERRORS=0``): containing them is
what these tests check.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from faultkit import PG_DSN

import llmlog


@pytest.fixture(autouse=True)
def _contained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLOG_RAISE_ERRORS", "0")


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A store URL in a fresh schema of the test database, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # CI must run these tests, never skip them
        pytest.skip(f"no PostgreSQL at {PG_DSN}: {exc}")
    schema = f"llmlog_fault_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{PG_DSN}?schema={schema}"
    finally:
        llmlog.reset()
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A hang is a failure here, not a stuck CI run: every fault test has a time limit."""
    for item in items:
        if "tests/faults/" in str(item.fspath) and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(180))
