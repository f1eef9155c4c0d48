"""OpenTelemetry export: records become GenAI spans in the app's trace, over real OTLP/HTTP."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from helpers import MESSAGES, RESPONSE

import llmlog

pytest.importorskip("opentelemetry.sdk")
from opentelemetry import trace
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from llmlog.sinks.otel import OTelSink

METRICS: list[ExportMetricsServiceRequest] = []


@pytest.fixture()
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """A fake OTLP/HTTP collector on 127.0.0.1 that decodes what it receives.

    Traces go to the list yielded, metrics to :data:`METRICS`.
    """
    received: list[ExportTraceServiceRequest] = []
    METRICS.clear()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/metrics":
                metrics = ExportMetricsServiceRequest()
                metrics.ParseFromString(body)
                METRICS.append(metrics)
            else:
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                received.append(req)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


class TestOTelSink:
    def test_span_attributes_follow_genai_conventions(self) -> None:
        """A record becomes a CLIENT span named '{operation} {model}' with gen_ai.* attributes."""
        mem = InMemorySpanExporter()
        llmlog.configure(db="off", sinks=[OTelSink(mem)])
        rid = llmlog.log_interaction(
            MESSAGES,
            RESPONSE,
            model="gpt-4o-mini",
            session_id="s1",
            params={"temperature": 0.2, "max_tokens": 100},
            duration_ms=250.0,
        )
        llmlog.flush(10)
        [span] = mem.get_finished_spans()
        assert span.name == "chat gpt-4o-mini"
        assert span.kind == trace.SpanKind.CLIENT
        a = span.attributes
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.provider.name"] == "openai"
        assert a["gen_ai.request.model"] == "gpt-4o-mini"
        assert a["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
        assert a["gen_ai.response.id"] == "chatcmpl-123"
        assert a["gen_ai.usage.input_tokens"] == 20 and a["gen_ai.usage.output_tokens"] == 7
        assert a["gen_ai.request.temperature"] == 0.2 and a["gen_ai.request.max_tokens"] == 100
        assert a["gen_ai.conversation.id"] == "s1"
        assert a["llmlog.request_id"] == rid
        assert (span.end_time - span.start_time) == 250_000_000

    def test_steps_become_internal_spans_in_the_same_tree(self) -> None:
        """llmlog.span() records export as INTERNAL spans; a model call inside is their child."""
        mem = InMemorySpanExporter()
        llmlog.configure(db="off", sinks=[OTelSink(mem)])
        with llmlog.trace("answer_ticket") as root:
            with llmlog.span("lookup_order", kind="tool", input={"id": 1}) as s:
                s.set_output("shipped")
                llmlog.log_interaction(MESSAGES, RESPONSE, model="gpt-4o-mini")
        llmlog.flush(10)
        spans = {sp.name: sp for sp in mem.get_finished_spans()}
        wf, tool = spans["invoke_workflow answer_ticket"], spans["execute_tool lookup_order"]
        call = spans["chat gpt-4o-mini"]
        assert wf.kind == tool.kind == trace.SpanKind.INTERNAL
        assert wf.parent is None and format(wf.context.trace_id, "032x") == root.trace_id
        assert tool.parent is not None and tool.parent.span_id == wf.context.span_id
        assert call.parent is not None and call.parent.span_id == tool.context.span_id
        assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
        assert tool.attributes["gen_ai.tool.name"] == "lookup_order"
        assert tool.attributes["gen_ai.tool.call.arguments"] == '{"id":1}'
        assert tool.attributes["gen_ai.tool.call.result"] == "shipped"

    def test_span_joins_the_apps_active_trace(self) -> None:
        """A call logged inside the app's own span is exported as that span's child."""
        provider = TracerProvider()
        app_spans = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(app_spans))
        tracer = provider.get_tracer("app")
        mem = InMemorySpanExporter()
        llmlog.configure(db="off", sinks=[OTelSink(mem)])
        with tracer.start_as_current_span("handle-request") as parent:
            llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        [span] = mem.get_finished_spans()
        ctx = parent.get_span_context()
        assert span.context.trace_id == ctx.trace_id
        assert span.parent.span_id == ctx.span_id

    def test_error_status(self) -> None:
        """A failed call is a span with ERROR status and error.type."""
        mem = InMemorySpanExporter()
        llmlog.configure(db="off", sinks=[OTelSink(mem)])
        with pytest.raises(TimeoutError), llmlog.interaction(model="m", messages=MESSAGES):
            raise TimeoutError("slow")
        llmlog.flush(10)
        [span] = mem.get_finished_spans()
        assert span.status.status_code == trace.StatusCode.ERROR
        assert span.attributes["error.type"] == "TimeoutError"

    def test_otlp_http_export_from_env(self, collector, monkeypatch: pytest.MonkeyPatch) -> None:
        """LLMLOG_OTEL=1 exports over OTLP/HTTP to the endpoint in OTEL_EXPORTER_OTLP_ENDPOINT."""
        endpoint, received = collector
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("LLMLOG_OTEL", "1")
        monkeypatch.setenv("LLMLOG_DB", "off")
        ids = {
            llmlog.log_interaction(MESSAGES, RESPONSE, model="gpt-4o-mini", duration_ms=120.0)
            for _ in range(3)
        }
        llmlog.flush(10)
        spans = [
            s
            for r in received
            for rs in r.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]
        got = {
            a.value.string_value
            for s in spans
            for a in s.attributes
            if a.key == "llmlog.request_id"
        }
        assert got == ids
        assert all(s.name == "chat gpt-4o-mini" for s in spans)
        points = {
            m.name: m
            for req in METRICS
            for rm in req.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }
        duration = points["gen_ai.client.operation.duration"]
        assert duration.unit == "s" and duration.histogram.data_points[0].count == 3
        tokens = points["gen_ai.client.token.usage"].histogram.data_points
        by_type = {
            next(a.value.string_value for a in p.attributes if a.key == "gen_ai.token.type"): p
            for p in tokens
        }
        assert by_type["input"].sum == 3 * 20 and by_type["output"].sum == 3 * 7
        llmlog.reset()  # while the collector still listens

    def test_prompt_content_is_redacted_in_spans(self) -> None:
        """Span content attributes carry the redacted prompt, never the raw PII."""
        mem = InMemorySpanExporter()
        llmlog.configure(db="off", sinks=[OTelSink(mem)])
        llmlog.log_interaction(
            [{"role": "user", "content": "mail me at jane.doe@example.com"}],
            None,
            parsed_output="ok",
        )
        llmlog.flush(10)
        [span] = mem.get_finished_spans()
        assert "jane.doe@example.com" not in span.attributes["gen_ai.input.messages"]
        assert "[EMAIL]" in span.attributes["gen_ai.input.messages"]


class TestConventionsShape:
    def test_messages_are_role_and_parts(self) -> None:
        """gen_ai.input/output.messages: role + typed parts, tool calls and results included."""
        import json

        mem = InMemorySpanExporter()
        llmlog.configure(db="off", sinks=[OTelSink(mem)])
        prompt = [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "wx", "arguments": '{"q": "x"}'}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]  # fmt: skip
        llmlog.log_interaction(prompt, None, parsed_output="It is sunny.", model="gpt-4o")
        llmlog.flush(10)
        [span] = mem.get_finished_spans()
        inp = json.loads(span.attributes["gen_ai.input.messages"])
        assert inp == [
            {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
            {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
            {"role": "assistant", "parts": [
                {"type": "tool_call", "id": "c1", "name": "wx", "arguments": {"q": "x"}}
            ]},
            {"role": "tool", "parts": [
                {"type": "tool_call_response", "id": "c1", "response": "sunny"}
            ]},
        ]  # fmt: skip
        out = json.loads(span.attributes["gen_ai.output.messages"])
        assert out == [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "It is sunny."}],
                "finish_reason": "stop",
            }
        ]

    @pytest.mark.parametrize(
        ("prompt", "parts"),
        [
            (  # Anthropic blocks
                [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "wx", "input": {"q": 1}}]}],
                [{"type": "tool_call", "id": "t1", "name": "wx", "arguments": {"q": 1}}],
            ),
            (  # Gemini parts
                [{"role": "model", "parts": [{"functionCall": {"name": "wx", "args": {"q": 1}}}]}],
                [{"type": "tool_call", "id": None, "name": "wx", "arguments": {"q": 1}}],
            ),
            (  # Bedrock Converse blocks
                [{"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}}]}],
                [{"type": "tool_call_response", "id": "t1", "response": "ok"}],
            ),
        ],
    )  # fmt: skip
    def test_every_provider_shape_converts(self, prompt: list, parts: list) -> None:
        from llmlog.semconv import to_messages

        assert to_messages(prompt)[0]["parts"] == parts

    def test_metadata_only_to_otel_while_the_store_keeps_content(self, tmp_path) -> None:
        """otel_content='metadata': the span gets lengths and hashes, the store the text."""
        mem = InMemorySpanExporter()
        db = tmp_path / "s.db"
        llmlog.configure(db=str(db), sinks=[OTelSink(mem, content="metadata")])
        llmlog.log_interaction(
            [{"role": "user", "content": "secret plan"}], None, parsed_output="ok"
        )
        llmlog.flush(10)
        [span] = mem.get_finished_spans()
        assert "secret plan" not in span.attributes["gen_ai.input.messages"]
        assert "[CONTENT len=11" in span.attributes["gen_ai.input.messages"]
        from llmlog.store import open_store

        with open_store(str(db)) as store:
            [rec] = store.search().records
        assert "secret plan" in str(rec["prompt_messages"])

    def test_bad_content_mode_is_one_line_error(self) -> None:
        with pytest.raises(ValueError, match="full, metadata, off"):
            OTelSink(InMemorySpanExporter(), content="some")
