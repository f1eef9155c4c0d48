"""The backend seam: the :class:`Store` protocol that every store reader implements.

A backend turns a :class:`~llmlog.store.Query` into its own query language and
returns plain data (records, :class:`~llmlog.store.StatsRow`, ...). What does
not depend on the database lives outside the backends and is shared: filter
validation (``Query``), full-text compilation (``_text``), aggregation and
percentiles (``_aggregate``). SQLite is implemented (``_sqlite``); a PostgreSQL
reader implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from llmlog.record import Feedback, LLMRecord
from llmlog.store.model import (
    Bucket,
    GroupBy,
    Order,
    Page,
    PruneResult,
    Query,
    RewriteResult,
    SessionPage,
    StatsRow,
    TailBatch,
    Trace,
    TraceSummary,
    VerifyReport,
)

__all__ = ["Progress", "RecordTransform", "Store"]

Progress = Callable[[int], None]
"""Called with how many more items were done (for progress bars); may not raise."""

RecordTransform = Callable[[dict[str, Any]], "dict[str, Any] | None"]
"""Given a stored record (a fresh dict it may change), return the record to store
instead, or None to keep the stored one. Must be deterministic: it may be called
again for a record that changed while it ran. May raise, which stops the rewrite
(batches already written stay written)."""


@runtime_checkable
class Store(Protocol):
    """Read (and maintain) one llmlog store. One instance per thread.

    Every method takes an optional :class:`Query`; ``None`` means every
    interaction. Lists are newest first unless ``order="oldest"``.

    .. versionadded:: 0.1
    """

    url: str

    def search(
        self,
        query: Query | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = "newest",
    ) -> Page:
        """Return one page of matching records and the cursor of the next page.

        Pagination is by keyset ``(timestamp, row)``: stable while new
        interactions arrive.

        Raises:
            ValueError: ``cursor`` is not a cursor from this method.
        """
        ...

    def iter_records(
        self, query: Query | None = None, *, order: Order = "oldest", batch_size: int = 1000
    ) -> Iterator[LLMRecord]:
        """Yield every matching record (for exports), reading ``batch_size`` at a time."""
        ...

    def count(self, query: Query | None = None) -> int:
        """Return how many interactions match (fast from the rollup when it can answer)."""
        ...

    def get(self, request_id: str) -> LLMRecord:
        """Return the record with this request id, or the only one starting with it.

        Raises:
            InteractionNotFoundError: no interaction matches.
            AmbiguousIdError: a prefix matches several interactions.
        """
        ...

    def feedback(self, request_id: str) -> list[Feedback]:
        """Return the feedback records for a request id, oldest first."""
        ...

    def latest_scores(self, request_ids: Sequence[str]) -> dict[str, float]:
        """Return the latest feedback score of each request id that has one."""
        ...

    def has_feedback(self, request_id: str, timestamp: float, score: float) -> bool:
        """Return True if this exact feedback is stored (import idempotency)."""
        ...

    def stats(
        self, query: Query | None = None, *, by: GroupBy | None = None, bucket: Bucket | None = None
    ) -> list[StatsRow]:
        """Return aggregates of matching interactions, per group and/or time bucket.

        Without ``by`` and ``bucket`` the list has exactly one row (zeros when
        nothing matches). With ``bucket``, rows come oldest bucket first; within
        a bucket (or without one), the largest group first. ``by="tag"`` counts
        an interaction once per tag it carries.
        """
        ...

    def sessions(
        self, query: Query | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Return sessions that have matching interactions, most recently active first."""
        ...

    def trace(self, trace_id: str) -> Trace:
        """Return one trace (a run) as a tree of spans and model calls.

        Raises:
            TraceNotFoundError: nothing has that trace id.
            AmbiguousIdError: a prefix matches more than one trace.
        """
        ...

    def traces(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        kind: str | None = None,
        limit: int = 50,
    ) -> list[TraceSummary]:
        """Return the most recent traces that have spans, newest first."""
        ...

    def tail(
        self, query: Query | None = None, *, cursor: str | None = None, limit: int = 100
    ) -> TailBatch:
        """Return interactions written after ``cursor``, oldest first.

        With no cursor: the last ``limit`` written. Poll with the returned
        cursor to follow the store as it is written (``llmlog tail -f``).
        """
        ...

    def prune(self, before: float, *, progress: Progress | None = None) -> PruneResult:
        """Delete interactions older than ``before`` with their tags, feedback and index entries."""
        ...

    def rewrite(
        self,
        transform: RecordTransform,
        *,
        batch_size: int = 200,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> RewriteResult:
        """Pass every stored record (interactions, then feedback) through ``transform``.

        Each changed record replaces the stored one together with everything
        derived from it (indexed columns, tags, full-text index, rollups), in
        short transactions of ``batch_size`` records, so writers go on meanwhile.
        Records written while it runs are rewritten too; a record changed or
        deleted meanwhile is re-read or skipped, never overwritten with stale
        data. Finally old versions are purged from the files (see
        :attr:`RewriteResult.purged`). ``progress`` gets the number of
        interactions done. Used by ``llmlog redact --db`` to scrub a store.

        Raises:
            ValueError: ``batch_size`` is not positive.
        """
        ...

    def verify(self, *, repair: bool = False, progress: Progress | None = None) -> VerifyReport:
        """Check the store's integrity; with ``repair``, rebuild what can be rebuilt."""
        ...

    def compact(self) -> None:
        """Give the space freed by deletes back to the file system."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
