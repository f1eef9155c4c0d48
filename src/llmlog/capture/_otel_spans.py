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

from collections.abc import Mapping
from typing import Any

import orjson
from opentelemetry.sdk.trace import SpanProcessor

from llmlog._serialize import dumps
from llmlog.tracing import emit

__all__ = ["GenAISpanProcessor", "span_fields"]


def _json(value: Any) -> bytes:
    """An attribute that holds JSON text keeps its structure; anything else as it is."""
    if value is None:
        return b"null"
    if isinstance(value, str):
        try:
            return orjson.dumps(orjson.loads(value))
        except orjson.JSONDecodeError:
            pass
    return dumps(value)


def span_fields(name: str, attrs: Mapping[str, Any]) -> tuple[str, str, bytes, bytes]:
    """Return (kind, name, input JSON, output JSON) for a span's name and attributes."""
    op = str(attrs.get("gen_ai.operation.name") or name.split(" ", 1)[0] or "task")
    if op == "execute_tool":
        tool = attrs.get("gen_ai.tool.name") or name.removeprefix("execute_tool ").strip()
        args = attrs.get("gen_ai.tool.call.arguments", attrs.get("tool_arguments"))
        result = attrs.get("gen_ai.tool.call.result", attrs.get("tool_response"))
        return op, str(tool or "tool"), _json(args), _json(result)
    if op in ("invoke_agent", "create_agent"):
        agent = attrs.get("gen_ai.agent.name") or attrs.get("agent_name") or name
        return op, str(agent), b"null", _json(attrs.get("final_result"))
    if op in ("chat", "text_completion", "generate_content", "embeddings"):
        model = attrs.get("gen_ai.request.model") or name.removeprefix(op).strip() or op
        return (
            op,
            str(model),
            _json(attrs.get("gen_ai.input.messages")),
            _json(attrs.get("gen_ai.output.messages")),
        )
    return op if op in _KNOWN else "task", name, b"null", b"null"


_KNOWN = frozenset({"invoke_workflow", "retrieval", "handoff", "guardrail", "evaluation"})

_KEEP = ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.usage.input_tokens",
         "gen_ai.usage.output_tokens", "gen_ai.tool.call.id", "gen_ai.conversation.id")  # fmt: skip
"""Attributes kept on the llmlog span (the rest are its content, or the SDK's internals)."""


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
