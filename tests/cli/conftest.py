"""Fixtures for the CLI tests: the sample store and a runner for ``llmlog`` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from querydata import Run, build_sample

from llmlog.cli import cli


@pytest.fixture
def sample(tmp_path: Path) -> dict[str, str]:
    """The sample store at ./llmlog.db (llmlog stays configured with processors off)."""
    return build_sample(tmp_path / "llmlog.db")


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Run ``llmlog --db ./llmlog.db ARGS...`` and return the result (never raises)."""

    def invoke(
        *args: str, db: str | Path | None = None, input: str | bytes | None = None
    ) -> Result:
        target = str(db if db is not None else tmp_path / "llmlog.db")
        return CliRunner().invoke(cli, ["--db", target, *args], input=input, catch_exceptions=False)

    return invoke
