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
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import collector_pids, wait_until, with_signal

import llmlog


@pytest.fixture(autouse=True)
def _contained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLOG_RAISE_ERRORS", "0")


@pytest.fixture()
def collector_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The collector on (the suite turns it off elsewhere), in a short LLMLOG_HOME (a Unix
    socket path holds ~100 bytes); every collector started is stopped at the end.

    ``FAULTS_COLLECTOR=off pytest tests/faults`` runs the same tests with the in-process
    writer: the process-death tests then fail, which shows what they check."""
    home = Path(tempfile.mkdtemp(prefix="llh"))
    monkeypatch.setenv("LLMLOG_HOME", str(home))
    monkeypatch.setenv("LLMLOG_COLLECTOR", os.environ.get("FAULTS_COLLECTOR", "auto"))
    monkeypatch.setenv("LLMLOG_COLLECTOR_IDLE", "20")
    llmlog.reset()
    try:
        yield
    finally:
        llmlog.reset()
        for pid in collector_pids():
            with_signal(pid, signal.SIGTERM)
        assert wait_until(lambda: not collector_pids(), timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A hang is a failure here, not a stuck CI run: every fault test has a time limit."""
    for item in items:
        if "tests/faults/" in str(item.fspath) and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(180))
