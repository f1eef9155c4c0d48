"""OpenTelemetry GenAI spans -> llmlog spans: a span processor for tracers llmlog sets up.

Frameworks that report through OpenTelemetry (pydantic-ai) are given a private
``TracerProvider`` whose only processor is :class:`GenAISpanProcessor`: each finished
span becomes an llmlog span with the same W3C ids, its kind from
``gen_ai.operation.name`` (``invoke_agent``, ``execute_tool``, ``chat``...), its name from
the agent, tool or model, and its content from the GenAI attributes (tool arguments and
result, the agent's final result, a model call's input and output messages). A model
call made inside such a span and captured through the provider SDK is logged as an
interaction with that span as its parent (llmlog joins the current OpenTelemetry span).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import SpanProcessor

from llmlog.semconv import KEEP_ON_SPANS as _KEEP
from llmlog.semconv import span_fields
from llmlog.tracing import emit

__all__ = ["GenAISpanProcessor"]


class GenAISpanProcessor(SpanProcessor):
    """An OpenTelemetry span processor that logs each finished span as an llmlog span."""

    def __init__(self) -> None:
        super().__init__()
        self.enabled = True

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        return None

    def on_end(self, span: Any) -> None:
        if not self.enabled:
            return
        ctx = span.get_span_context()
        attrs = dict(span.attributes or {})
        kind, name, inp, out = span_fields(str(span.name), attrs)
        start, end = span.start_time or 0, span.end_time or span.start_time or 0
        error = None
        status = getattr(span, "status", None)
        if status is not None and getattr(status.status_code, "name", "") == "ERROR":
            error = {
                "type": str(attrs.get("error.type") or "Error"),
                "message": str(status.description or ""),
                "status_code": None,
            }
        emit(
            name=name,
            kind=kind,
            trace_id=format(ctx.trace_id, "032x"),
            span_id=format(ctx.span_id, "016x"),
            parent_span_id=format(span.parent.span_id, "016x") if span.parent else None,
            timestamp=start / 1e9,
            duration_ms=max(0, end - start) / 1e6,
            error=error,
            attributes={k: attrs[k] for k in _KEEP if k in attrs},
            input_json=inp,
            output_json=out,
        )

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
