"""Spans: the steps of an agent run beside its model calls (tools, retrieval, agent steps).

A run is a trace: a tree of spans sharing a W3C trace id. LLM interactions are its
model-call spans (they already carry ``trace_id``, ``span_id`` and ``parent_span_id``);
this module adds the other steps, as records of their own (``event: "llm_span"``)::

    with llmlog.trace("answer_ticket"):                      # the root of a new trace
        with llmlog.span("lookup_order", kind="execute_tool", input=args) as s:
            s.set_output(find_order(**args))
        client.chat.completions.create(...)                  # a child of the root

    @llmlog.traced(kind="execute_tool")                      # sync or async
    def lookup_order(order_id: str) -> dict: ...

Parenting goes through contextvars (:mod:`llmlog.context`): threads and asyncio tasks
see their own current span; every interaction logged inside a span, captured by
``instrument()`` or by hand, is its child; an active OpenTelemetry span is joined.

The caller's cost is a snapshot of the input on entry and of the output when set (one
``orjson.dumps`` each) and one hand-off on exit, as for an interaction. A span's input,
output and attributes are redacted like any content, in the writer (or the collector).
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from llmlog._serialize import dumps
from llmlog.context import Span as SpanIds
from llmlog.context import activate_span, deactivate_span, get_context_snapshot, new_span
from llmlog.normalize import error_info
from llmlog.record import SCHEMA_VERSION, SPAN_EVENT, new_span_id, new_trace_id

__all__ = ["KINDS", "Span", "emit", "kind_of", "span", "span_payload", "trace", "traced"]

_log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

KINDS: tuple[str, ...] = (
    "invoke_agent",
    "invoke_workflow",
    "execute_tool",
    "retrieval",
    "embeddings",
    "chat",
    "text_completion",
    "generate_content",
    "create_agent",
    "handoff",
    "guardrail",
    "evaluation",
    "task",
)
"""Span kinds: the OpenTelemetry GenAI operation names, plus ``handoff``, ``guardrail``,
``evaluation`` and ``task`` (a step of a workflow that is none of those). Other strings
are kept as given."""

ALIASES: Mapping[str, str] = {
    "agent": "invoke_agent",
    "workflow": "invoke_workflow",
    "chain": "invoke_workflow",
    "tool": "execute_tool",
    "function": "execute_tool",
    "retriever": "retrieval",
    "embedding": "embeddings",
    "llm": "chat",
    "generation": "chat",
}
"""Other tools' names for the same kinds (Langfuse, LangChain, the Agents SDK)."""


def kind_of(kind: str) -> str:
    """Return the canonical kind for ``kind`` (an alias is translated; case ignored)."""
    k = str(kind).strip().lower()
    return ALIASES.get(k, k) or "task"


class Span:
    """One step of a run: timed, with input, output and attributes; logged when it ends.

    Use :func:`span`, :func:`trace` or :func:`traced` rather than building one. The
    block's exception, if any, marks the span ``status="error"`` and is re-raised
    unchanged.

    Attributes:
        trace_id, span_id, parent_span_id: its W3C ids (known once entered).
    """

    __slots__ = (
        "_attributes",
        "_done",
        "_error",
        "_input",
        "_output",
        "_root",
        "_t0",
        "_token",
        "kind",
        "name",
        "parent_span_id",
        "span_id",
        "timestamp",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        kind: str = "task",
        *,
        input: Any = None,
        attributes: Mapping[str, Any] | None = None,
        root: bool = False,
    ) -> None:
        self.name = str(name)
        self.kind = kind_of(kind)
        self._input = b"null" if input is None else dumps(input)  # the value at entry
        self._output = b"null"
        self._attributes: dict[str, Any] = dict(attributes or {})
        self._error: dict[str, Any] | None = None
        self._root = root
        self._done = False
        self._token: Any = None
        self.trace_id = self.span_id = ""
        self.parent_span_id: str | None = None
        self.timestamp = 0.0
        self._t0 = 0.0

    # -- what the app tells us ---------------------------------------------------------------

    def set_input(self, value: Any) -> None:
        """Record the span's input (snapshotted now)."""
        self._input = dumps(value)

    def set_output(self, value: Any) -> None:
        """Record the span's output (snapshotted now: later changes to it are not seen)."""
        self._output = dumps(value)

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (a model name, a document count, a score...)."""
        self._attributes[str(key)] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes."""
        for k, v in attributes.items():
            self._attributes[str(k)] = v

    def set_error(self, error: BaseException | str) -> None:
        """Mark the span failed without an exception leaving its block."""
        if isinstance(error, BaseException):
            self._error = dict(error_info(error))
        else:
            self._error = {"type": "Error", "message": str(error), "status_code": None}

    # -- the block ---------------------------------------------------------------------------

    def __enter__(self) -> Span:
        ids = SpanIds(new_trace_id(), new_span_id(), None) if self._root else new_span()
        self.trace_id, self.span_id, self.parent_span_id = (
            ids.trace_id,
            ids.span_id,
            ids.parent_span_id,
        )
        self.timestamp = time.time()
        self._t0 = time.perf_counter()
        self._token = activate_span(ids)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end(exc)

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end(exc)

    def end(self, exc: BaseException | None = None) -> None:
        """End the span and log it (the ``with`` block does this; later calls do nothing)."""
        if self._done:
            return
        self._done = True
        duration = (time.perf_counter() - self._t0) * 1000
        if self._token is not None:
            deactivate_span(self._token)
        if exc is not None and self._error is None:
            self._error = dict(error_info(exc))
        _submit_span(self, duration)


def _submit_span(s: Span, duration_ms: float) -> None:
    emit(
        name=s.name,
        kind=s.kind,
        trace_id=s.trace_id,
        span_id=s.span_id,
        parent_span_id=s.parent_span_id,
        timestamp=s.timestamp,
        duration_ms=duration_ms,
        error=s._error,
        attributes=s._attributes,
        input_json=s._input,
        output_json=s._output,
    )


def span_payload(
    *,
    name: str,
    kind: str,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    timestamp: float,
    duration_ms: float | None,
    error: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    input_json: bytes = b"null",
    output_json: bytes = b"null",
    context: Mapping[str, Any] | None = None,
) -> bytes:
    """Return the pipeline payload of one finished span (``context``: session, user, tags)."""
    head: dict[str, Any] = {
        "event": SPAN_EVENT,
        "schema_version": SCHEMA_VERSION,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_span_id,
        "kind": kind_of(kind),
        "name": str(name),
        "timestamp": timestamp,
        "duration_ms": None if duration_ms is None else round(duration_ms, 3),
        "status": "error" if error is not None else "ok",
        "error": None if error is None else dict(error),
        "attributes": dict(attributes or {}),
    }
    if context:
        for key in ("session_id", "user_id"):
            if context.get(key) is not None:
                head[key] = context[key]
        if context.get("tags"):
            head["tags"] = list(context["tags"])
        if context.get("metadata"):
            head["metadata"] = dict(context["metadata"])
    body = dumps(head)
    return b"".join((body[:-1], b',"input":', input_json, b',"output":', output_json, b"}"))


def emit(
    *,
    name: str,
    kind: str,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    timestamp: float,
    duration_ms: float | None,
    error: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    input_json: bytes = b"null",
    output_json: bytes = b"null",
) -> None:
    """Log one finished span with the ids and times given (adapters of other tracers use
    this; :class:`Span` is the way for an app). Never raises."""
    from llmlog import api

    try:
        if api._disabled():
            return
        payload = span_payload(
            name=name,
            kind=kind,
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_span_id,
            timestamp=timestamp,
            duration_ms=duration_ms,
            error=error,
            attributes=attributes,
            input_json=input_json,
            output_json=output_json,
            context=get_context_snapshot(),
        )
        p = api._pipeline or api._get_pipeline()
        p.submit_span(payload)
    except Exception as exc:
        api.internal_error(exc)


def span(
    name: str,
    kind: str = "task",
    *,
    input: Any = None,
    attributes: Mapping[str, Any] | None = None,
) -> Span:
    """Return a span for a ``with`` (or ``async with``) block: a step of the current run.

    Args:
        name: what the step is (``lookup_order``, ``search_docs``).
        kind: one of :data:`KINDS` (``execute_tool``, ``retrieval``, ``invoke_agent``...;
            ``tool``, ``agent``, ``retriever`` and other aliases are translated).
        input: the step's input, snapshotted now.
        attributes: extra fields of the span.

    .. versionadded:: 0.2
    """
    return Span(name, kind, input=input, attributes=attributes)


def trace(
    name: str,
    *,
    kind: str = "invoke_workflow",
    input: Any = None,
    attributes: Mapping[str, Any] | None = None,
) -> Span:
    """Return the root span of a new trace (one run), for a ``with`` block.

    Unlike :func:`span`, it never joins the current span: it starts a new trace id.

    .. versionadded:: 0.2
    """
    return Span(name, kind, input=input, attributes=attributes, root=True)


@overload
def traced(fn: F, /) -> F: ...
@overload
def traced(
    *, kind: str = ..., name: str | None = ..., attributes: Mapping[str, Any] | None = ...
) -> Callable[[F], F]: ...


def traced(
    fn: Any = None,
    /,
    *,
    kind: str = "task",
    name: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Any:
    """Log each call of a function as a span (sync or async): its arguments are the input,
    its return value the output; an exception marks it failed and is re-raised unchanged.

    Example::

        @llmlog.traced(kind="execute_tool")
        def lookup_order(order_id: str) -> dict: ...

    .. versionadded:: 0.2
    """

    def decorate(func: F) -> F:
        try:
            sig: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            sig = None
        span_name = name or func.__qualname__

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Span:
            try:
                bound = sig.bind_partial(*args, **kwargs) if sig is not None else None
                arguments = dict(bound.arguments) if bound is not None else {}
            except TypeError:
                arguments = {"args": list(args), "kwargs": kwargs}
            arguments.pop("self", None)
            arguments.pop("cls", None)
            return Span(span_name, kind, input=arguments, attributes=attributes)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with start(args, kwargs) as s:
                    result = await cast(Callable[..., Awaitable[Any]], func)(*args, **kwargs)
                    s.set_output(result)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with start(args, kwargs) as s:
                result = func(*args, **kwargs)
                s.set_output(result)
            return result

        return cast(F, wrapper)

    if fn is not None:
        return decorate(fn)
    return decorate
