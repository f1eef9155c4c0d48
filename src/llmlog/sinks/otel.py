"""OpenTelemetry export: each record becomes a GenAI client span (extra ``[otel]``).

The record already carries W3C trace, span and parent ids (joined to the app's
active span when there was one), a start time and a duration, so the sink builds
finished ``ReadableSpan`` s with exactly those ids and hands each batch straight
to a ``SpanExporter``: no second batching layer, no id rewriting. The span lands
in the app's trace as a child of whatever span was active at the call.

Attributes follow the OpenTelemetry GenAI semantic conventions
(``gen_ai.operation.name``, ``gen_ai.provider.name`` and the older
``gen_ai.system``, ``gen_ai.request.*``, ``gen_ai.response.*``,
``gen_ai.usage.*``, ``gen_ai.conversation.id``, ``error.type``). Content goes in
``gen_ai.input.messages`` / ``gen_ai.output.messages`` as JSON, already redacted;
set ``capture_content`` to ``metadata`` or ``off`` to keep it out.

By default the exporter is OTLP over HTTP, configured by the standard
``OTEL_EXPORTER_OTLP_*`` variables; pass ``exporter=`` for any other. While the
collector is unreachable, spans wait in the spool like any sink's records and
are exported late (backends accept spans after the fact). Export runs
under llmlog's suppression flag, so the exporter's own HTTP calls are never
captured as LLM calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from llmlog.context import SUPPRESS
from llmlog.sinks.base import Entry

__all__ = ["OTelSink", "span_attributes"]

_SCOPE = InstrumentationScope("llmlog", None)

_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}


def _set(attrs: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (str, bool, int, float)):
        attrs[key] = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        attrs[key] = list(value)
    else:
        attrs[key] = orjson.dumps(value).decode()


def step_attributes(rec: Mapping[str, Any], *, content: bool = True) -> dict[str, Any]:
    """Return the OTel attributes of a span record (``llmlog.span()``: a tool, an agent...)."""
    attrs: dict[str, Any] = {}
    kind = str(rec.get("kind") or "task")
    _set(attrs, "gen_ai.operation.name", kind)
    name = rec.get("name")
    if kind == "execute_tool":
        _set(attrs, "gen_ai.tool.name", name)
    elif kind in ("invoke_agent", "create_agent"):
        _set(attrs, "gen_ai.agent.name", name)
    err = rec.get("error")
    if isinstance(err, Mapping):
        _set(attrs, "error.type", err.get("type"))
    extra = rec.get("attributes")
    if isinstance(extra, Mapping):
        for k, v in extra.items():
            _set(attrs, f"llmlog.attribute.{k}", v)
    if content:
        tool = kind == "execute_tool"
        _set(attrs, "gen_ai.tool.call.arguments" if tool else "llmlog.input", rec.get("input"))
        _set(attrs, "gen_ai.tool.call.result" if tool else "llmlog.output", rec.get("output"))
    return attrs


def span_attributes(rec: Mapping[str, Any], *, content: bool = True) -> dict[str, Any]:
    """Return the GenAI semantic-convention attributes for a record."""
    attrs: dict[str, Any] = {}
    _set(attrs, "gen_ai.operation.name", rec.get("operation"))
    _set(attrs, "gen_ai.provider.name", rec.get("provider"))
    _set(attrs, "gen_ai.system", rec.get("provider"))
    _set(attrs, "gen_ai.request.model", rec.get("model"))
    _set(attrs, "gen_ai.response.model", rec.get("response_model"))
    raw = rec.get("llm_raw_response")
    if isinstance(raw, Mapping):
        _set(attrs, "gen_ai.response.id", raw.get("id"))
    _set(attrs, "gen_ai.response.finish_reasons", rec.get("finish_reasons") or None)
    params = rec.get("params")
    if isinstance(params, Mapping):
        for name, key in _PARAMS.items():
            if isinstance(params.get(name), (int, float)):
                attrs[key] = params[name]
        stop = params.get("stop")
        _set(attrs, "gen_ai.request.stop_sequences", [stop] if isinstance(stop, str) else stop)
    usage = rec.get("usage")
    if isinstance(usage, Mapping):
        _set(attrs, "gen_ai.usage.input_tokens", usage.get("input_tokens"))
        _set(attrs, "gen_ai.usage.output_tokens", usage.get("output_tokens"))
        _set(attrs, "gen_ai.usage.cache_read.input_tokens", usage.get("cached_input_tokens"))
        _set(attrs, "gen_ai.usage.reasoning.output_tokens", usage.get("reasoning_tokens"))
    _set(attrs, "gen_ai.conversation.id", rec.get("session_id"))
    _set(attrs, "llmlog.request_id", rec.get("request_id"))
    _set(attrs, "llmlog.cost_usd", rec.get("cost_usd"))
    _set(attrs, "llmlog.ttft_ms", rec.get("ttft_ms"))
    _set(attrs, "llmlog.user_id", rec.get("user_id"))
    _set(attrs, "llmlog.tags", rec.get("tags") or None)
    err = rec.get("error")
    if isinstance(err, Mapping):
        _set(attrs, "error.type", err.get("type"))
        _set(attrs, "http.response.status_code", err.get("status_code"))
    if content:
        _set(attrs, "gen_ai.input.messages", rec.get("prompt_messages"))
        out = rec.get("parsed_output")
        if out is not None:
            _set(
                attrs,
                "gen_ai.output.messages",
                [{"role": "assistant", "content": out, "tool_calls": rec.get("tool_calls")}],
            )
    return attrs


class OTelSink:
    """Export records as OpenTelemetry GenAI spans.

    Args:
        exporter: where spans go (default: OTLP over HTTP from ``OTEL_EXPORTER_OTLP_*``).
        service_name: the resource's ``service.name`` (default ``OTEL_SERVICE_NAME``
            or ``llmlog``).
        content: include the (redacted) prompt and output as span attributes.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        exporter: SpanExporter | None = None,
        *,
        service_name: str | None = None,
        content: bool = True,
    ) -> None:
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        self.exporter = exporter
        self.name = f"otel:{type(exporter).__name__}"
        self.content = content
        self._resource = Resource.create(
            {"service.name": service_name or os.environ.get("OTEL_SERVICE_NAME") or "llmlog"}
        )

    def _span(self, rec: Mapping[str, Any]) -> ReadableSpan | None:
        try:
            trace_id = int(str(rec.get("trace_id")), 16)
            span_id = int(str(rec.get("span_id")), 16)
        except ValueError:
            return None
        parent_hex = rec.get("parent_span_id")
        parent = (
            SpanContext(
                trace_id,
                int(parent_hex, 16),
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
            if parent_hex
            else None
        )
        start = int(float(rec.get("timestamp") or 0) * 1e9)
        duration = rec.get("duration_ms")
        end = start + int(float(duration) * 1e6) if isinstance(duration, (int, float)) else start
        err = rec.get("error")
        status = (
            Status(StatusCode.ERROR, str(err.get("message", ""))[:1000])
            if isinstance(err, Mapping)
            else Status(StatusCode.UNSET)
        )
        if rec.get("event") == "llm_span":
            name = f"{rec.get('kind') or 'task'} {rec.get('name') or ''}".strip()
            attributes, kind = step_attributes(rec, content=self.content), SpanKind.INTERNAL
        else:
            name = f"{rec.get('operation') or 'chat'} {rec.get('model') or ''}".strip()
            attributes, kind = span_attributes(rec, content=self.content), SpanKind.CLIENT
        return ReadableSpan(
            name=name,
            context=SpanContext(
                trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
            ),
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            kind=kind,
            status=status,
            start_time=start,
            end_time=end,
            instrumentation_scope=_SCOPE,
        )

    def write(self, batch: Sequence[Entry]) -> None:
        spans = []
        for e in batch:
            rec = e.rec
            if rec.get("event") in ("llm_interaction", "llm_span"):
                span = self._span(rec)
                if span is not None:
                    spans.append(span)
        if not spans:
            return
        token = SUPPRESS.set(True)
        try:
            result = self.exporter.export(spans)
        finally:
            SUPPRESS.reset(token)
        if result is not SpanExportResult.SUCCESS:
            raise RuntimeError(f"span export failed ({result.name}) for {len(spans)} span(s)")

    def flush(self, timeout: float | None = None) -> None:
        self.exporter.force_flush(int((timeout or 30) * 1000))

    def close(self, timeout: float | None = None) -> None:
        self.exporter.shutdown()
