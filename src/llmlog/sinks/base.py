"""The sink protocol and the entry type shared by every sink."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from llmlog.encoding import Entry

__all__ = ["Entry", "Sink", "spool_dir_for", "spool_target"]


@runtime_checkable
class Sink(Protocol):
    """Where records go. Called only from the pipeline's writer, one call at a time.

    ``write`` may block and may raise; the pipeline contains the failure, spools
    the batch for this sink and replays it later, so a sink must be idempotent by
    ``request_id`` or accept that a replay after a crash can repeat a batch.

    Optional attributes: ``name`` (for reports and ``llmlog.stats()``),
    ``spool_dir`` (where its records wait while it is down), and ``spool = False``
    for a cheap, thread-safe, non-durable sink (the stdlib logger) that is never
    spooled and, when the queue is full, is written from the caller's thread.
    """

    def write(self, batch: Sequence[Entry]) -> None:
        """Write every entry of ``batch`` (all of it, or raise)."""

    def flush(self, timeout: float | None = None) -> None:
        """Make what was written durable, within ``timeout`` seconds."""

    def close(self, timeout: float | None = None) -> None:
        """Flush and release resources; the sink is not used afterwards."""


def spool_dir_for(sink: object, default_root: Path, *, override: bool = False) -> Path:
    """Return the directory where records wait while ``sink`` is down.

    Args:
        sink: the sink; its ``spool_dir`` attribute, if any, is its own default
            (the SQLite and JSON-lines sinks keep theirs beside their file).
        default_root: the folder for sinks without one (``LLMLOG_HOME/spool``),
            or the ``spool_dir`` the user configured.
        override: ``default_root`` is the user's ``spool_dir`` and wins over the
            sink's own folder.
    """
    explicit = getattr(sink, "spool_dir", None)
    if explicit and not override:
        return Path(explicit)
    name = getattr(sink, "name", None) or type(sink).__qualname__
    digest = hashlib.sha1(repr(name).encode()).hexdigest()[:10]
    return default_root / f"{type(sink).__name__.lower()}-{digest}"


def spool_target(sink: object) -> dict[str, Any]:
    """Return what a spool's ``TARGET`` file says of ``sink``: its name and reopening URL.

    ``url`` is present when ``llmlog spool replay`` can reopen the sink by itself (the
    stores, JSON lines, OpenTelemetry); a custom sink's records are replayed by the
    next process that configures it.
    """
    target: dict[str, Any] = {"sink": getattr(sink, "name", None) or type(sink).__qualname__}
    url = getattr(sink, "url", None)
    if isinstance(url, str):
        target["url"] = url
    return target


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
