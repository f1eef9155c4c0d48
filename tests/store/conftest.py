"""Fixtures for the store tests: a fresh PostgreSQL schema, and a URL for each backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlog

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
