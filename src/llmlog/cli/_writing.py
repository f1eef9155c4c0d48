"""Writing from the CLI (import, feedback): the user's processors, then the store's sink.

Commands that add to the store go through the same :class:`~llmlog.pipeline.Pipeline`
as logging, so redaction applies to imported text and feedback comments too.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

import click

from llmlog.config import Settings
from llmlog.delivery import DATA_ERRORS
from llmlog.sinks.base import Entry, Sink, open_sink

__all__ = ["RecordingSink", "user_processors"]


class RecordingSink:
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
            raise click.ClickException(str(exc)) from None
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
        """Raise a one-line ClickException if a write failed."""
        if self.error is not None:
            raise click.ClickException(
                f"cannot write to {self.url}: {type(self.error).__name__}: {self.error}"
            )


def user_processors(settings: Settings) -> list[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Return the processors the user configured (redaction by default).

    Raises:
        click.ClickException: redaction is wanted but cannot be loaded; nothing is
            written unredacted.
    """
    from llmlog.api import _build_processors

    try:
        return _build_processors(settings)
    except ImportError as exc:
        if not settings.redact and settings.capture_content == "full":
            return []
        raise click.ClickException(
            f"redaction is not available ({exc}); nothing was written. Set "
            "LLMLOG_REDACT=0 to write without redaction."
        ) from None
