"""Sinks: where records go. A sink decides *where*; the pipeline decides *when*.

A sink is any object with ``write(batch)``, ``flush(timeout)`` and
``close(timeout)`` (the :class:`Sink` protocol). The pipeline calls them from
its single background writer thread (or, with ``durability="sync"``, from the
caller's thread under the pipeline's export lock), never concurrently. A sink
may block (that is what the writer thread is for) and may raise: a failed batch
is counted, reported on the ``llmlog`` logger and spooled to disk for that sink,
then replayed once the sink works again.

Every entry in a batch has already passed the processors (redaction): a sink
never sees anything else.
"""

from __future__ import annotations

from typing import Any

from llmlog.sinks.base import Entry, Sink, spool_dir_for

__all__ = ["Entry", "Sink", "open_sink", "spool_dir_for"]


def open_sink(url: str, **options: Any) -> Sink:
    """Return the sink for ``url``: a JSON-lines file, or any store (see ``store.registry``).

    Raises:
        ValueError: a malformed store URL.
        ImportError: the extra for the backend is not installed (with an install hint).
    """
    if url.endswith((".jsonl", ".ndjson")) or url.startswith("jsonl://"):
        from llmlog.sinks.jsonl import JsonlSink

        return JsonlSink(url.removeprefix("jsonl://"), **options)
    from llmlog.store.registry import open_writer

    return open_writer(url, **options)
