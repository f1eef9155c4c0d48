"""OpenTelemetry export: each record becomes a GenAI client span (extra ``[otel]``).

The record already carries W3C trace, span and parent ids (joined to the app's
active span when there was one), a start time and a duration, so the sink builds
finished ``ReadableSpan`` s with exactly those ids and hands each batch straight
to a ``SpanExporter``: no second batching layer, no id rewriting. The span lands
in the app's trace as a child of whatever span was active at the call.

Attributes follow the OpenTelemetry GenAI semantic conventions as mapped by
:mod:`llmlog.semconv` (``gen_ai.operation.name``, ``gen_ai.provider.name`` and the
older ``gen_ai.system``, ``gen_ai.request.*``, ``gen_ai.response.*``,
``gen_ai.usage.*``, ``gen_ai.conversation.id``, ``error.type``). Content goes in
``gen_ai.input.messages`` / ``gen_ai.output.messages``, in the conventions'
``role`` + ``parts`` shape, already redacted. ``content`` sets what this
destination gets, whatever the store keeps: ``full``, ``metadata`` (each content
string replaced by its length and keyed hash) or ``off`` (``LLMLOG_OTEL_CONTENT``).

With a ``meter_provider`` (``"otlp"``: one of its own, exporting over OTLP/HTTP
like the spans; what ``LLMLOG_OTEL=1`` uses) the sink also records the GenAI client metrics,
``gen_ai.client.operation.duration`` (seconds) and ``gen_ai.client.token.usage``
(by ``gen_ai.token.type``), with the conventions' bucket boundaries.

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
from llmlog.semconv import (
    DURATION_BUCKETS,
    METRIC_DURATION,
    METRIC_TOKENS,
    TOKEN_BUCKETS,
    VERSION,
    interaction_attributes,
    provider_name,
    step_attributes,
)
from llmlog.sinks.base import Entry

__all__ = ["CONTENT_MODES", "OTelSink"]

_SCOPE = InstrumentationScope(
    "llmlog", None, schema_url=f"https://opentelemetry.io/schemas/{VERSION}"
)

CONTENT_MODES = ("full", "metadata", "off")


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
        content: bool | str = True,
        meter_provider: Any = None,
    ) -> None:
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        mode = "full" if content is True else "off" if content is False else content
        if mode not in CONTENT_MODES:
            raise ValueError(
                f"OTel content must be one of {', '.join(CONTENT_MODES)}, got {content!r}"
            )
        self.exporter = exporter
        self.name = f"otel:{type(exporter).__name__}"
        self.content = mode
        self._filter: Any = None
        if mode == "metadata":
            from llmlog.redact.content import ContentFilter

            self._filter = ContentFilter("metadata")
        self._resource = Resource.create(
            {"service.name": service_name or os.environ.get("OTEL_SERVICE_NAME") or "llmlog"}
        )
        self._metrics: tuple[Any, Any] | None = None
        self._owns_meters = meter_provider == "otlp"
        if self._owns_meters:
            meter_provider = _otlp_meters()
        self._meters = meter_provider
        if meter_provider is not None:
            meter = meter_provider.get_meter("llmlog", schema_url=_SCOPE.schema_url)
            duration = meter.create_histogram(
                METRIC_DURATION,
                unit="s",
                description="GenAI operation duration",
                explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
            )
            tokens = meter.create_histogram(
                METRIC_TOKENS,
                unit="{token}",
                description="Measures number of input and output tokens used",
                explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
            )
            self._metrics = (duration, tokens)

    def _attributes(self, rec: Mapping[str, Any], step: bool) -> dict[str, Any]:
        content = self.content != "off"
        if self._filter is not None:
            rec = self._filter(orjson.loads(orjson.dumps(dict(rec), default=str)))
        if step:
            return step_attributes(rec, content=content)
        return interaction_attributes(rec, content=content)

    def _measure(self, rec: Mapping[str, Any]) -> None:
        assert self._metrics is not None
        duration, tokens = self._metrics
        attrs: dict[str, Any] = {}
        for key, value in (
            ("gen_ai.operation.name", rec.get("operation")),
            ("gen_ai.provider.name", provider_name(rec.get("provider"))),
            ("gen_ai.request.model", rec.get("model")),
            ("gen_ai.response.model", rec.get("response_model")),
        ):
            if isinstance(value, str):
                attrs[key] = value
        err = rec.get("error")
        if isinstance(err, Mapping) and err.get("type"):
            attrs["error.type"] = str(err["type"])
        ms = rec.get("duration_ms")
        if isinstance(ms, (int, float)):
            duration.record(ms / 1000, attrs)
        usage = rec.get("usage")
        if isinstance(usage, Mapping) and not err:
            for kind, key in (("input", "input_tokens"), ("output", "output_tokens")):
                n = usage.get(key)
                if isinstance(n, int):
                    tokens.record(n, {**attrs, "gen_ai.token.type": kind})

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
            attributes, kind = self._attributes(rec, True), SpanKind.INTERNAL
        else:
            name = f"{rec.get('operation') or 'chat'} {rec.get('model') or ''}".strip()
            attributes, kind = self._attributes(rec, False), SpanKind.CLIENT
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
                if self._metrics is not None and rec.get("event") == "llm_interaction":
                    self._measure(rec)
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
        if self._meters is not None:
            self._meters.force_flush(int((timeout or 30) * 1000))

    def close(self, timeout: float | None = None) -> None:
        self.exporter.shutdown()
        if self._meters is not None:
            if self._owns_meters:
                self._meters.shutdown(int((timeout or 30) * 1000))
            else:
                self._meters.force_flush(int((timeout or 30) * 1000))


def _otlp_meters() -> Any:
    """A meter provider exporting over OTLP/HTTP (``OTEL_EXPORTER_OTLP_*``), or None.

    ``OTEL_METRICS_EXPORTER=none`` turns the metrics off, as for any OTel SDK.
    """
    if os.environ.get("OTEL_METRICS_EXPORTER", "").strip().lower() == "none":
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    except ImportError:
        return None
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    return MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
