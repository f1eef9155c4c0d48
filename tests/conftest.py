"""Every test runs in its own empty working directory with a fresh llmlog.

``LLMLOG_RAISE_ERRORS=1`` makes errors that llmlog contains in production fail the
test that caused them (they are re-raised from the next ``flush()``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

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
