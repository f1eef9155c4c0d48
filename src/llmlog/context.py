"""Fields attached to every interaction logged inside ``with llmlog.context(...)``.

Context lives in a :class:`contextvars.ContextVar`, so threads and asyncio tasks
each see their own, and nested contexts merge: inner scalar values win, tags
accumulate and metadata dicts are merged key by key. The value stored in the
variable is an immutable snapshot built on entry, which is what lets the hot
path hand it to the background writer without copying.

This module also tracks the current span, so an interaction logged inside
another (``interaction()``, ``@logged``, an instrumented SDK call) records the
outer one as its parent, and an active OpenTelemetry span is joined when one
exists.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple

import orjson

from llmlog._serialize import dumps
from llmlog.record import new_span_id, new_trace_id

__all__ = ["context", "current_context"]

_CONTEXT: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "llmlog_context", default=None
)


class Span(NamedTuple):
    trace_id: str
    span_id: str
    parent_span_id: str | None


CURRENT_SPAN: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "llmlog_span", default=None
)

# Set while llmlog itself does I/O (sinks, exporters): capture ignores calls made then.
SUPPRESS: contextvars.ContextVar[bool] = contextvars.ContextVar("llmlog_suppress", default=False)


@contextmanager
def context(
    *,
    session_id: str | None = None,
    user_id: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Iterator[Mapping[str, Any]]:
    """Attach fields to every interaction logged inside the block.

    Args:
        session_id: conversation or session the interactions belong to.
        user_id: end user on whose behalf the calls are made.
        tags: labels; nested contexts add to the outer ones.
        metadata: free-form JSON-able values; nested contexts merge key by key.

    Yields:
        The merged context now in force (read-only).

    Raises:
        TypeError: ``tags`` is a string instead of a list of strings.

    .. versionadded:: 0.1
    """
    if isinstance(tags, str):
        raise TypeError("context(tags=...) takes a list of strings, not a string")
    outer = _CONTEXT.get()
    merged: dict[str, Any] = dict(outer) if outer else {}
    if session_id is not None:
        merged["session_id"] = str(session_id)
    if user_id is not None:
        merged["user_id"] = str(user_id)
    if tags:
        old = list(merged.get("tags", ()))
        merged["tags"] = tuple(old + [str(t) for t in tags if str(t) not in old])
    if metadata:
        snap = orjson.loads(dumps(dict(metadata)))  # snapshot: later mutation can't leak in
        merged["metadata"] = {**merged.get("metadata", {}), **snap}
    token = _CONTEXT.set(merged)
    try:
        yield merged
    finally:
        _CONTEXT.reset(token)


def current_context() -> Mapping[str, Any]:
    """Return the context fields in force here (empty when outside any ``context()``)."""
    return _CONTEXT.get() or {}


def get_context_snapshot() -> Mapping[str, Any] | None:
    """Return the raw context value (hot path: no copy)."""
    return _CONTEXT.get()


def otel_span() -> Span | None:
    trace_mod = sys.modules.get("opentelemetry.trace")
    if trace_mod is None:
        return None
    try:
        ctx = trace_mod.get_current_span().get_span_context()
        if not ctx.is_valid:
            return None
        return Span(format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), None)
    except Exception:
        return None


def new_span() -> Span:
    """Return ids for a new span: a child of the current llmlog or OTel span, else a new trace."""
    parent = CURRENT_SPAN.get() or otel_span()
    if parent is None:
        return Span(new_trace_id(), new_span_id(), None)
    return Span(parent.trace_id, new_span_id(), parent.span_id)


@contextmanager
def enter_span(span: Span) -> Iterator[Span]:
    """Make ``span`` the parent of interactions logged inside the block."""
    token = CURRENT_SPAN.set(span)
    try:
        yield span
    finally:
        CURRENT_SPAN.reset(token)


def activate_span(span: Span) -> contextvars.Token[Span | None]:
    """Make ``span`` current until :func:`deactivate_span` (for wrappers without ``with``)."""
    return CURRENT_SPAN.set(span)


def deactivate_span(token: contextvars.Token[Span | None]) -> None:
    """Undo :func:`activate_span`; tolerant of being called from another context."""
    with suppress(ValueError):
        CURRENT_SPAN.reset(token)
