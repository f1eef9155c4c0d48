"""Every test runs in its own empty working directory with a fresh llmlog.

``pg_url`` (a fresh PostgreSQL schema) and ``store_url`` (each backend in turn) are
shared by the store, sink and fault tests.

``LLMLOG_COLLECTOR=off``: tests write in-process unless they test the collector
(``tests/faults/test_collector.py`` turns it back on), so a test does not start a
collector process that outlives it.

``LLMLOG_RAISE_ERRORS=1`` makes errors that llmlog contains in production fail the
test that caused them (they are re-raised from the next ``flush()``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlog


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("LLMLOG_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLMLOG_HOME", str(tmp_path / ".llmlog-home"))
    monkeypatch.setenv("LLMLOG_RAISE_ERRORS", "1")
    monkeypatch.setenv("LLMLOG_COLLECTOR", "off")
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    lg = logging.getLogger("llmlog")
    saved_llmlog = (lg.level, list(lg.handlers), lg.propagate)
    llmlog.reset()
    yield
    llmlog.reset()
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    lg.setLevel(saved_llmlog[0])
    lg.handlers[:] = saved_llmlog[1]
    lg.propagate = saved_llmlog[2]


DSN = os.environ.get("LLMLOG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _admin() -> Any:
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # CI must run these tests, never skip them
        pytest.skip(f"no PostgreSQL at {DSN}: {exc}")


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A store URL in a fresh schema of the test database, dropped afterwards."""
    admin = _admin()
    schema = f"llmlog_test_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{DSN}?schema={schema}"
    finally:
        llmlog.reset()
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for each backend: an SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    return str(request.getfixturevalue("pg_url"))
