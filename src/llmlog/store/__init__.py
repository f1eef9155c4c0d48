"""The query layer: the one reader of the store for the CLI, the web viewer and Python.

Filters go in as a :class:`Query`; a :class:`Store` (from :func:`open_store`)
answers with plain data. No front end writes SQL.

Example::

    from llmlog.store import Query, open_store

    with open_store("llmlog.db") as store:
        q = Query.parse(model=["gpt-4o"], since="24h", status="error")
        page = store.search(q, limit=20)                 # newest first
        more = store.search(q, limit=20, cursor=page.next_cursor)
        rec = store.get(page.records[0]["request_id"])   # or a unique prefix
        [total] = store.stats(q)                         # count, error rate, p50/p95/p99, ...
        per_model = store.stats(Query(since=...), by="model")
        chart = store.stats(q, bucket="hour", by="model")  # time series for charts
        sessions = store.sessions(Query.parse(since="7d"))

Store methods (see :class:`Store` for details):

* ``search(query, *, limit=50, cursor=None, order="newest") -> Page``
* ``iter_records(query, *, order="oldest", batch_size=1000) -> Iterator[LLMRecord]``
* ``count(query) -> int``
* ``get(request_id_or_prefix) -> LLMRecord``
* ``feedback(request_id) -> list[Feedback]``, ``latest_scores(ids) -> dict[str, float]``
* ``stats(query, *, by=None|"model"|"provider"|"status"|"tag"|"user",
  bucket=None|"hour"|"day") -> list[StatsRow]``
* ``sessions(query, *, limit=50, cursor=None) -> SessionPage``
* ``tail(query, *, cursor=None, limit=100) -> TailBatch``
* ``prune(before) -> PruneResult``, ``verify(repair=False) -> VerifyReport``

.. versionadded:: 0.1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmlog.store.base import Store
    from llmlog.store.model import (
        AmbiguousIdError,
        Bucket,
        Check,
        GroupBy,
        InteractionNotFoundError,
        Order,
        Page,
        PruneResult,
        Query,
        SessionPage,
        SessionSummary,
        StatsRow,
        StoreError,
        StoreNotFoundError,
        TailBatch,
        Trace,
        TraceNode,
        TraceNotFoundError,
        TraceSummary,
        VerifyReport,
    )
    from llmlog.store.registry import open_store
    from llmlog.store.timespec import parse_duration, parse_time

# Imported on first use: the app's hot path needs only the URL parsing of ``.registry``,
# which must not pay for the reading layer (``import llmlog.store.registry`` runs this).
_HOME = {
    "Store": "base",
    "open_store": "registry",
    "parse_duration": "timespec",
    "parse_time": "timespec",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'llmlog.store' has no attribute {name!r}")
    module = importlib.import_module(f"llmlog.store.{_HOME.get(name, 'model')}")
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "AmbiguousIdError",
    "Bucket",
    "Check",
    "GroupBy",
    "InteractionNotFoundError",
    "Order",
    "Page",
    "PruneResult",
    "Query",
    "SessionPage",
    "SessionSummary",
    "StatsRow",
    "Store",
    "StoreError",
    "StoreNotFoundError",
    "TailBatch",
    "Trace",
    "TraceNode",
    "TraceNotFoundError",
    "TraceSummary",
    "VerifyReport",
    "open_store",
    "parse_duration",
    "parse_time",
]
