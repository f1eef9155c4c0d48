"""What every backend shares: the write-side columns and text, and the reader's plumbing.

Write side (the sinks of every store): :data:`COLUMNS` / :func:`columns` are the scalar
columns a store keeps beside the record, :func:`text_of_entry` the text its full-text
index holds.

Read side: :class:`KeysetReads` implements ``search`` (argument checks, keyset cursor,
paging) and ``get`` (exact id, then a unique prefix, with the same errors everywhere)
over three small hooks a backend provides; :class:`Conds` collects WHERE conditions;
:func:`number`, :func:`redaction_counts` and :func:`add_grown` are the helpers both
readers need for metadata filters and rewrites.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from llmlog.record import LLMRecord
from llmlog.store.model import (
    AmbiguousIdError,
    InteractionNotFoundError,
    Order,
    Page,
    Query,
    decode_cursor,
    encode_cursor,
)
from llmlog.store.text import TextQuery

if TYPE_CHECKING:
    from llmlog.sinks.base import Entry

__all__ = [
    "COLUMNS",
    "Conds",
    "KeysetReads",
    "add_grown",
    "check_limit",
    "columns",
    "number",
    "redaction_counts",
    "session_cursor",
    "span_row",
    "text_of_entry",
]

# -- the write side ------------------------------------------------------------------------------

COLUMNS = (
    "request_id",
    "ts",
    "provider",
    "operation",
    "model",
    "response_model",
    "status",
    "duration_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "tokens_estimated",
    "cost_usd",
    "session_id",
    "user_id",
    "trace_id",
    "error_type",
)
"""The scalar columns every store keeps beside the record, in the order of :func:`columns`."""


SPAN_COLUMNS = (
    "span_id",
    "trace_id",
    "parent_span_id",
    "kind",
    "name",
    "ts",
    "duration_ms",
    "status",
    "error_type",
)
"""The columns every store keeps beside a span's record, in the order of :func:`span_row`."""


def span_row(e: Entry) -> tuple[Any, ...]:
    """Return a span's :data:`SPAN_COLUMNS` values."""
    get = e.get
    err = get("error")
    return (
        str(get("span_id")),
        str(get("trace_id")),
        get("parent_span_id"),
        str(get("kind") or "task"),
        str(get("name") or ""),
        get("timestamp"),
        get("duration_ms"),
        get("status") or "ok",
        err.get("type") if isinstance(err, dict) else None,
    )


def columns(e: Entry) -> tuple[Any, ...]:
    """Return an interaction's :data:`COLUMNS` values (the stores' filter and aggregate columns)."""
    get = e.get
    u = get("usage")
    if type(u) is not dict:
        u = {}
    err = get("error")
    return (
        get("request_id"),
        get("timestamp"),
        get("provider"),
        get("operation"),
        get("model"),
        get("response_model"),
        get("status") or "ok",
        get("duration_ms"),
        get("ttft_ms"),
        u.get("input_tokens"),
        u.get("output_tokens"),
        u.get("total_tokens"),
        u.get("cached_input_tokens"),
        u.get("reasoning_tokens"),
        bool(u.get("estimated")),
        get("cost_usd"),
        get("session_id"),
        get("user_id"),
        get("trace_id"),
        err.get("type") if type(err) is dict else None,
    )


def text_of_entry(e: Entry) -> str:
    """Return the text a store's full-text index holds for an interaction."""
    from llmlog.extract import search_text

    err = e.get("error")
    return search_text(
        e.get("prompt_messages"),
        e.get("parsed_output"),
        e.get("tool_calls"),
        err if type(err) is dict else None,
    )


# -- the read side -------------------------------------------------------------------------------


def number(text: str) -> float | None:
    """Return ``text`` as a finite number, or None (a metadata value compared as a number)."""
    try:
        v = float(text)
    except ValueError:
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def redaction_counts(rec: Mapping[str, Any]) -> dict[str, int]:
    """Return a stored record's redaction counts by type (empty when it has none)."""
    red = rec.get("redaction")
    counts = red.get("counts") if isinstance(red, dict) else None
    if not isinstance(counts, dict):
        return {}
    return {k: v for k, v in counts.items() if type(v) is int}


def add_grown(into: dict[str, int], old: Mapping[str, int], new: Mapping[str, int]) -> None:
    """Add to ``into`` how much each redaction count grew from ``old`` to ``new``."""
    for k, v in new.items():
        grown = v - old.get(k, 0)
        if grown > 0:
            into[k] = into.get(k, 0) + grown


def session_cursor(cursor: str | None) -> tuple[float, str] | None:
    """Return the (last activity, session id) a ``sessions`` cursor holds, or None.

    Raises:
        ValueError: ``cursor`` is not a cursor from ``sessions``.
    """
    if not cursor:
        return None
    ts, sid = decode_cursor(cursor, 2)
    try:
        return float(ts), sid
    except ValueError:
        raise ValueError(f"invalid cursor {cursor!r}") from None


def check_limit(limit: int) -> None:
    """Raise ValueError unless ``limit`` is at least 1."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")


class Conds:
    """WHERE conditions, their parameters, and the phrase check left for Python."""

    __slots__ = ("params", "post", "where")

    def __init__(self) -> None:
        self.where: list[str] = []
        self.params: list[Any] = []
        self.post: TextQuery | None = None

    def add(self, cond: str, *params: Any) -> None:
        """Add one condition with its parameters."""
        self.where.append(cond)
        self.params.extend(params)

    def copy(self) -> Conds:
        """Return an independent copy."""
        c = Conds()
        c.where = list(self.where)
        c.params = list(self.params)
        c.post = self.post
        return c

    def sql(self) -> str:
        """Return the WHERE clause (empty when there is no condition)."""
        return (" WHERE " + " AND ".join(self.where)) if self.where else ""


_S = TypeVar("_S", bound="KeysetReads")


class KeysetReads:
    """``search``, ``get`` and closing for every backend, over three hooks.

    A backend provides ``_read()`` (one read snapshot), ``_rows(query, limit=,
    after=, order=)`` (up to ``limit`` ``(row id, ts, record)`` after a keyset
    position) and ``_by_id(rid)`` / ``_by_prefix(rid, limit)`` (an exact id; the
    ``(request_id, record)`` pairs whose id starts with ``rid``, in id order).
    """

    _db: Any

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Any]: ...

        def _rows(
            self, q: Query, *, limit: int, after: tuple[float, int] | None, order: Order
        ) -> list[tuple[int, float, LLMRecord]]: ...

        def _by_id(self, rid: str) -> LLMRecord | None: ...

        def _by_prefix(self, rid: str, limit: int) -> Sequence[tuple[str, LLMRecord]]: ...

    def search(
        self,
        query: Query | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = "newest",
    ) -> Page:
        """Return one page of matching records, newest first, and the next page's cursor."""
        check_limit(limit)
        if order not in ("newest", "oldest"):
            raise ValueError(f"order must be 'newest' or 'oldest', got {order!r}")
        after = None
        if cursor:
            ts, rowid = decode_cursor(cursor, 2)
            try:
                after = (float(ts), int(rowid))
            except ValueError:
                raise ValueError(f"invalid cursor {cursor!r}") from None
        with self._read():
            rows = self._rows(query or Query(), limit=limit + 1, after=after, order=order)
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1][1], rows[-1][0]) if more and rows else None
        return Page([r[2] for r in rows], nxt)

    def get(self, request_id: str) -> LLMRecord:
        """Return the record with this request id, or the only one starting with it."""
        rid = request_id.strip()
        if not rid:
            raise InteractionNotFoundError("no request id given")
        rec = self._by_id(rid)
        if rec is not None:
            return rec
        rows = self._by_prefix(rid, 3)
        if not rows:
            raise InteractionNotFoundError(f"no interaction with request id {rid!r}")
        if len(rows) > 1:
            listed = ", ".join(r[0] for r in rows[:2]) + (", ..." if len(rows) > 2 else "")
            raise AmbiguousIdError(
                f"request id prefix {rid!r} matches several interactions "
                f"({listed}): give more of the id"
            )
        return rows[0][1]
