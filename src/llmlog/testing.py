"""Helpers for testing code that logs with llmlog."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import llmlog
from llmlog.sinks.memory import MemorySink

__all__ = ["MemorySink", "capture_records"]


@contextmanager
def capture_records(**options: Any) -> Iterator[list[dict[str, Any]]]:
    """Collect the records logged inside the block into a list (no store, no files).

    The records are complete and processed (redaction on, as configured). The
    previous configuration is reset on exit. Not thread-safe against another
    ``capture_records`` or ``configure`` running at the same time.

    Example::

        with capture_records() as records:
            my_function_that_calls_an_llm()
        assert records[0]["model"] == "gpt-4o-mini"

    .. versionadded:: 0.1
    """
    sink = MemorySink()
    options.setdefault("db", "off")
    options.setdefault("durability", "sync")  # records appear as soon as they are logged
    llmlog.reset()
    llmlog.configure(sinks=[sink], **options)
    try:
        yield sink.records
    finally:
        llmlog.flush()
        llmlog.reset()
