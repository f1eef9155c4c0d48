"""One-off writes outside the app's pipeline: ``llmlog import``, and feedback from the CLI
and the viewer.

They go through the same :class:`~llmlog.pipeline.Pipeline` as logging (the user's
processors, then the store's sink), so redaction applies to imported text and feedback
comments too; but a command reports a failed write instead of spooling it.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from llmlog.config import Settings
from llmlog.delivery import DATA_ERRORS
from llmlog.exceptions import ConfigError, FeedbackError, StoreError
from llmlog.sinks import open_sink
from llmlog.sinks.base import Entry, Sink

__all__ = ["StoreWriter", "user_processors", "write_feedback"]


class StoreWriter:
    """Wrap the store's sink: count what it took and keep the error that stopped it.

    The pipeline contains sink failures (that is right for an app, not for a
    command), so the command asks this wrapper afterwards and fails loudly.

    With ``background=True`` (bulk import), batches are written by a thread of
    their own while the caller processes the next batch: SQLite releases the
    GIL while it works, so parsing and redaction overlap with the writes. At
    most two batches wait; :meth:`close` writes what is left.

    Args:
        url: the store.
        background: write on a background thread.
    """

    spool = False  # a command reports failures; it does not park records for later

    def __init__(self, url: str, *, background: bool = False) -> None:
        try:
            self._sink: Sink = open_sink(url)
        except (ValueError, ImportError) as exc:
            raise StoreError(str(exc)) from None
        self.url = url
        self.name = getattr(self._sink, "name", url)
        # a record the store refuses on its own (bad data) is counted, not fatal
        self.data_errors: tuple[type[BaseException], ...] = tuple(
            getattr(self._sink, "data_errors", ())
        )
        self.refused = 0
        self.refusal = ""
        self.written = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[list[Entry] | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=2)
            self._thread = threading.Thread(
                target=self._run, name="llmlog-import-writer", daemon=True
            )
            self._thread.start()

    def _write(self, batch: Sequence[Entry]) -> None:
        bad_data = (*DATA_ERRORS, *self.data_errors)
        try:
            self._sink.write(batch)
            self.written += len(batch)
            return
        except Exception as exc:
            if not isinstance(exc, bad_data):
                self.error = exc
                raise
        for e in batch:  # find the records the store refuses on their own; write the rest
            try:
                self._sink.write([e])
                self.written += 1
            except Exception as exc:
                if not isinstance(exc, bad_data):
                    self.error = exc
                    raise
                self.refused += 1
                self.refusal = f"{type(exc).__name__}: {exc}"

    def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self.error is None:
                    self._write(batch)
            except Exception:  # kept in self.error, raised by the next write()
                pass
            finally:
                self._queue.task_done()

    def write(self, batch: Sequence[Entry]) -> None:
        if self.error is not None:
            raise self.error
        if self._queue is None:
            self._write(batch)
        else:
            self._queue.put(list(batch))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every batch handed to :meth:`write` is written, then flush the sink."""
        if self._queue is not None:
            self._queue.join()
        self._sink.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        if self._thread is not None and self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._sink.close(timeout)

    def raise_if_failed(self) -> None:
        """Raise a one-line :class:`StoreError` if a write failed."""
        if self.error is not None:
            raise StoreError(
                f"cannot write to {self.url}: {type(self.error).__name__}: {self.error}"
            )


def user_processors(settings: Settings) -> list[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Return the processors the user configured (redaction by default).

    Raises:
        ConfigError: redaction is wanted but cannot be loaded; nothing is written
            unredacted.
    """
    from llmlog.api import build_processors

    try:
        return build_processors(settings)
    except ImportError as exc:
        if not settings.redact and settings.capture_content == "full":
            return []
        raise ConfigError(
            f"redaction is not available ({exc}); nothing was written. Set "
            "LLMLOG_REDACT=0 to write without redaction."
        ) from None


def write_feedback(url: str, request_id: str, score: float, comment: str | None) -> None:
    """Write one feedback record for ``request_id`` into the store at ``url``, now.

    Args:
        url: the store (a path or URL).
        request_id: the full request id (the caller checked that it exists).
        score: a finite number (1 thumbs up, 0 thumbs down).
        comment: optional text; it is redacted like any logged text.

    Raises:
        FeedbackError: the score is not finite, redaction is unavailable, the store
            cannot be written, or a processor dropped the record.
    """
    if math.isnan(score) or math.isinf(score):
        raise FeedbackError(f"the score must be a finite number, got {score}")
    import llmlog
    from llmlog.pipeline import FEEDBACK, Pipeline

    settings = dataclasses.replace(llmlog.get_settings(), durability="sync", on_full="drop")
    try:
        sink = StoreWriter(url)
        processors = user_processors(settings)
    except (ConfigError, StoreError) as exc:
        raise FeedbackError(str(exc)) from None
    pipeline = Pipeline(settings, [sink], processors)
    try:
        pipeline.submit(
            FEEDBACK,
            orjson.dumps(
                {
                    "request_id": request_id,
                    "score": score,
                    "comment": comment or None,
                    "timestamp": time.time(),
                }
            ),
            None,
        )
    finally:
        pipeline.close(10.0)
    try:
        sink.raise_if_failed()
    except StoreError as exc:
        raise FeedbackError(str(exc)) from None
    if not sink.written:
        raise FeedbackError("the feedback was dropped by a processor")
