"""An in-memory sink, for tests (yours and ours)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from llmlog.sinks.base import Entry

__all__ = ["MemorySink"]


class MemorySink:
    """Keep every written record in ``.records`` (interactions) and ``.feedback``.

    Thread-safe to read while the pipeline writes. Pass one to
    ``llmlog.configure(sinks=[sink])``, or use :func:`llmlog.testing.capture_records`.

    .. versionadded:: 0.1
    """

    name = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.lines: list[bytes] = []
        self.closed = False

    def write(self, batch: Sequence[Entry]) -> None:
        with self._lock:
            for e in batch:
                rec = e.rec
                event = rec.get("event")
                if event == "llm_feedback":
                    self.feedback.append(rec)
                elif event == "llm_span":
                    self.spans.append(rec)
                else:
                    self.records.append(rec)
                self.lines.append(e.line)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed = True
