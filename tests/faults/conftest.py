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

import pytest


@pytest.fixture(autouse=True)
def _contained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLOG_RAISE_ERRORS", "0")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A hang is a failure here, not a stuck CI run: every fault test has a time limit."""
    for item in items:
        if "tests/faults/" in str(item.fspath) and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(180))
