"""Which backend serves a store URL: one table, read by :func:`open_store` and :func:`open_writer`.

A store URL is parsed here and only here. A new backend is one folder under
``llmlog/store/`` (its schema, write path, reads, stats and maintenance) and one line
in :data:`BACKENDS`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from llmlog.exceptions import StoreError

if TYPE_CHECKING:
    from llmlog.sinks.base import Sink
    from llmlog.store.base import Store

__all__ = ["BACKENDS", "Backend", "backend_for", "open_store", "open_writer"]


def _sqlite_target(url: str) -> str:
    """Return the file path of ``url``: a plain path, ``sqlite:///rel`` or ``sqlite:////abs``."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :] or "llmlog.db"
    if url.startswith("sqlite://"):
        raise ValueError(f"unsupported SQLite URL {url!r}: use sqlite:///path/to/file.db")
    return url


@dataclass(frozen=True)
class Backend:
    """One kind of store: the URLs it serves and where its reader and writer live."""

    name: str
    prefixes: tuple[str, ...]
    """URL prefixes it serves; the empty prefix (a plain path) only for the default."""
    reader: str
    """``module:Class`` of its :class:`~llmlog.store.Store` (built with the target)."""
    writer: str
    """``module:Class`` of its write path, the sink the pipeline writes to."""
    target: Callable[[str], str] = str
    """Turns the URL into what the reader and the writer are built with."""
    extra: str | None = None
    """The pip extra that brings its driver, for the install hint."""

    def load(self, spec: str) -> Any:
        """Import ``module:Class``; a missing driver is an ImportError with the install hint."""
        module, _, attr = spec.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            if self.extra is None:
                raise
            raise ImportError(
                f"{self.name} support needs: pip install 'llmlog[{self.extra}]'"
            ) from exc


BACKENDS: tuple[Backend, ...] = (
    Backend(
        "PostgreSQL",
        ("postgresql://", "postgres://"),
        "llmlog.store.postgres.read:PostgresStore",
        "llmlog.store.postgres.write:PostgresSink",
        extra="postgres",
    ),
    Backend(
        "SQLite",
        ("sqlite://", ""),
        "llmlog.store.sqlite.read:SQLiteStore",
        "llmlog.store.sqlite.write:SQLiteSink",
        target=_sqlite_target,
    ),
)
"""Every backend; the first whose prefix the URL starts with serves it (SQLite: any path)."""


def backend_for(url: str) -> Backend:
    """Return the backend that serves ``url``."""
    for b in BACKENDS:
        if any(url.startswith(p) for p in b.prefixes):
            return b
    raise ValueError(f"no store backend for {url!r}")  # pragma: no cover - SQLite takes paths


def open_store(url: str | os.PathLike[str]) -> Store:
    """Open the store at ``url`` for reading: a path, ``sqlite:///path`` or ``postgresql://...``.

    Raises:
        StoreNotFoundError: there is no store at that path.
        StoreError: the file is not an llmlog store, the URL is malformed, or the
            backend's extra is not installed.

    .. versionadded:: 0.1
    """
    url = os.fspath(url)
    b = backend_for(url)
    try:
        cls = b.load(b.reader)
        target = b.target(url)
    except (ImportError, ValueError) as exc:
        raise StoreError(str(exc)) from None
    return cast("Store", cls(target))


def open_writer(url: str, **options: Any) -> Sink:
    """Return the write path (a sink) of the store at ``url``.

    Raises:
        ValueError: a malformed URL.
        ImportError: the backend's extra is not installed (with an install hint).
    """
    b = backend_for(url)
    return cast("Sink", b.load(b.writer)(b.target(url), **options))
