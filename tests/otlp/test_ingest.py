"""OTLP ingest: apps instrumented only with OpenTelemetry land in the store via ``llmlog collect``.

Each app runs in its own process (instrumentations patch globally), with the real
instrumentation package and the real ``openai`` SDK against the fake provider, and
exports over OTLP/HTTP to a real ``llmlog collect`` process; the store is read after
the collector is stopped.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLMServer, answer_text, usage_for

PROMPT = "mail jane.doe@example.com please"

APP = textwrap.dedent("""
    import sys
    sys.path.insert(0, {capture!r})
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    tp = TracerProvider(resource=Resource.create({{"service.name": "otel-app"}}))
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint={endpoint!r})))
    trace.set_tracer_provider(tp)
    {instrument}
    import openai
    client = openai.OpenAI(base_url={base!r}, api_key="sk-otel-app-4711", max_retries=0)
    with trace.get_tracer("app").start_as_current_span("answer_question"):
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{{"role": "system", "content": "be brief"}},
                      {{"role": "user", "content": "mail jane.doe@example.com please"}}],
            temperature=0.5,
        )
    tp.shutdown()
""")

INSTRUMENT = {
    "openai-v2": "from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor\n"
    "OpenAIInstrumentor().instrument(tracer_provider=tp)",
    "openllmetry": "from opentelemetry.instrumentation.openai import OpenAIInstrumentor\n"
    "OpenAIInstrumentor().instrument(tracer_provider=tp)",
    "openinference": "from openinference.instrumentation.openai import OpenAIInstrumentor\n"
    "OpenAIInstrumentor().instrument(tracer_provider=tp)",
}


def _run_app(collect: Any, server: FakeLLMServer, which: str, **env: str) -> None:
    code = APP.format(
        capture=str(Path(__file__).parent.parent / "capture"),
        endpoint=collect.url + "/v1/traces",
        base=server.url + "/v1",
        instrument=INSTRUMENT[which],
    )
    full_env = {k: v for k, v in collect.env.items() if not k.startswith("LLMLOG")}
    full_env.update(env)
    out = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("which", ["openai-v2", "openllmetry", "openinference"])
def test_instrumented_app_lands_in_the_store(collect: Any, server: FakeLLMServer, which: str) -> None:  # fmt: skip
    """The model call is an interaction (prompt, answer, tokens, cost), redacted; the app's
    own span is its parent, kept as an llmlog span of the same trace."""
    env = {
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
        "TRACELOOP_TRACE_CONTENT": "true",
    }
    _run_app(collect, server, which, **env)
    collect.stop()
    recs = collect.records()
    [rec] = [r for r in recs if r["event"] == "llm_interaction"]
    assert rec["provider"] == "openai" and rec["operation"] == "chat"
    assert rec["model"] in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    inp, out = usage_for(PROMPT, answer_text(PROMPT))
    assert (rec["usage"]["input_tokens"], rec["usage"]["output_tokens"]) == (inp, out)
    assert rec["cost_usd"] is not None
    text = json.dumps(rec["prompt_messages"])
    assert "be brief" in text and "[EMAIL]" in text and "jane.doe@example.com" not in text
    assert rec["parsed_output"] == answer_text("mail [EMAIL] please")
    assert rec["metadata"]["service_name"] == "otel-app"
    assert "sk-otel-app-4711" not in json.dumps(rec)
    from llmlog.store import open_store

    with open_store(str(collect.db)) as store:
        tree = store.trace(rec["trace_id"])
    nodes = {n.span_id: n for _, n in tree.walk()}
    parent = nodes[rec["parent_span_id"]]
    assert parent.name == "answer_question" and not parent.model_call
    assert [c.span_id for c in parent.children] == [rec["span_id"]]


def test_default_openai_v2_without_content(collect: Any, server: FakeLLMServer) -> None:
    """openai-v2 in its default mode (no content on spans): model, tokens, timing still land."""
    _run_app(collect, server, "openai-v2")
    collect.stop()
    [rec] = [r for r in collect.records() if r["event"] == "llm_interaction"]
    assert rec["usage"]["output_tokens"] == usage_for(PROMPT, answer_text(PROMPT))[1]
    assert rec["duration_ms"] > 0 and rec["model"].startswith("gpt-4o-mini")


def _post(url: str, body: bytes, ctype: str = "application/json", encoding: str | None = None) -> tuple[int, str]:  # fmt: skip
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    if encoding:
        req.add_header("Content-Encoding", encoding)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        v: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def _json_spans(*spans: dict[str, Any]) -> bytes:
    return json.dumps(
        {"resourceSpans": [{"resource": {"attributes": [_kv("service.name", "js-app")]},
                            "scopeSpans": [{"scope": {"name": "x"}, "spans": list(spans)}]}]}
    ).encode()  # fmt: skip


def _span(span_id: str, name: str, attrs: dict[str, Any], parent: str = "", error: bool = False) -> dict[str, Any]:  # fmt: skip
    return {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "kind": 3,
        "startTimeUnixNano": "1765000000000000000",
        "endTimeUnixNano": "1765000000250000000",
        "attributes": [_kv(k, v) for k, v in attrs.items()],
        "status": {"code": 2, "message": "boom"} if error else {},
    }


def test_older_attribute_names_over_json_gzip(collect: Any) -> None:
    """OTLP/JSON (gzip) with the older names: gen_ai.system, prompt_tokens, gen_ai.prompt.N.*;
    a tool span and an agent span keep their tree; an error status is an error record."""
    body = _json_spans(
        _span("eee19b7ec3c1b174", "invoke_agent support", {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}),
        _span("eee19b7ec3c1b175", "openai.chat", {
            "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "llm.request.type": "chat",
            "gen_ai.usage.prompt_tokens": 12, "gen_ai.usage.completion_tokens": 5,
            "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "where is my order?",
            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "It shipped.",
            "gen_ai.completion.0.finish_reason": "stop",
        }, parent="eee19b7ec3c1b174"),
        _span("eee19b7ec3c1b176", "execute_tool lookup", {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup",
            "gen_ai.tool.call.arguments": '{"id": 7}', "gen_ai.tool.call.result": "shipped",
        }, parent="eee19b7ec3c1b174"),
        _span("eee19b7ec3c1b177", "chat gpt-4o", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "error.type": "RateLimitError"}, parent="eee19b7ec3c1b174", error=True),
    )  # fmt: skip
    assert _post(collect.url + "/v1/traces", gzip.compress(body), encoding="gzip") == (200, "{}")
    collect.stop()
    recs = collect.records()
    inter = sorted((r for r in recs if r["event"] == "llm_interaction"), key=lambda r: r["span_id"])
    assert len(inter) == 2
    ok, failed = inter
    assert ok["prompt_messages"] == [{"role": "user", "content": "where is my order?"}]
    assert ok["parsed_output"] == "It shipped."
    assert (ok["usage"]["input_tokens"], ok["usage"]["output_tokens"]) == (12, 5)
    assert ok["cost_usd"] is not None and ok["duration_ms"] == 250.0
    assert ok["parent_span_id"] == "eee19b7ec3c1b174"
    assert failed["status"] == "error" and failed["error"]["type"] == "RateLimitError"
    from llmlog.store import open_store

    with open_store(str(collect.db)) as store:
        tree = store.trace("5b8efff798038103d269b633813fc60c")
    [(_, root), *rest] = tree.walk()
    assert (root.kind, root.name) == ("invoke_agent", "support")
    kinds = sorted((n.kind, n.name, d) for d, n in rest)
    assert kinds == [("chat", "gpt-4o", 1), ("chat", "gpt-4o", 1), ("execute_tool", "lookup", 1)]
    tool = next(n for _, n in rest if n.kind == "execute_tool")
    assert tool.record["input"] == {"id": 7} and tool.record["output"] == "shipped"


def test_claude_code_and_codex_events(collect: Any) -> None:
    """Coding agents' OTLP log events become interactions: tokens, cost, session, prompt."""

    def log(name: str, attrs: dict[str, Any]) -> dict[str, Any]:
        return {"timeUnixNano": "1765000000000000000", "body": {"stringValue": name},
                "attributes": [_kv(k, v) for k, v in attrs.items()]}  # fmt: skip

    body = json.dumps({"resourceLogs": [
        {"resource": {"attributes": [_kv("service.name", "claude-code")]}, "scopeLogs": [{"logRecords": [
            log("claude_code.user_prompt", {"event.name": "user_prompt", "session.id": "s-1", "prompt.id": "p-1", "prompt": "fix the bug, mail bob@example.org", "prompt_length": 33}),
            log("claude_code.api_request", {"event.name": "api_request", "session.id": "s-1", "prompt.id": "p-1", "model": "claude-sonnet-4-5", "cost_usd": 0.0123, "duration_ms": 2300, "input_tokens": 1200, "output_tokens": 340, "cache_read_tokens": 800, "cache_creation_tokens": 0}),
            log("claude_code.api_error", {"event.name": "api_error", "session.id": "s-1", "model": "claude-sonnet-4-5", "error": "overloaded", "status_code": "529", "duration_ms": 100}),
            log("claude_code.tool_result", {"event.name": "tool_result", "tool_name": "Bash"}),
        ]}]},
        {"resource": {"attributes": [_kv("service.name", "codex_cli_rs")]}, "scopeLogs": [{"logRecords": [
            log("codex.sse_event", {"event.name": "codex.sse_event", "event.kind": "response.completed", "conversation.id": "c-9", "model": "gpt-5", "input_token_count": 500, "output_token_count": 60, "cached_token_count": 100, "reasoning_token_count": 20}),
            log("codex.sse_event", {"event.name": "codex.sse_event", "event.kind": "response.output_text.delta", "conversation.id": "c-9", "model": "gpt-5"}),
        ]}]},
    ]}).encode()  # fmt: skip
    assert _post(collect.url + "/v1/logs", body)[0] == 200
    collect.stop()
    recs = [r for r in collect.records() if r["event"] == "llm_interaction"]
    assert len(recs) == 3
    claude, error, codex = sorted(recs, key=lambda r: (r["provider"], r["status"]))[0], None, None
    by = {(r["provider"], r["status"]): r for r in recs}
    claude, error, codex = by[("anthropic", "ok")], by[("anthropic", "error")], by[("openai", "ok")]
    assert claude["usage"]["input_tokens"] == 2000 and claude["usage"]["cached_input_tokens"] == 800
    assert claude["cost_usd"] == 0.0123 and claude["session_id"] == "s-1"
    assert claude["prompt_messages"] == [{"role": "user", "content": "fix the bug, mail [EMAIL]"}]
    assert claude["metadata"]["agent"] == "claude-code"
    assert error["error"]["status_code"] == 529
    assert codex["model"] == "gpt-5" and codex["usage"]["output_tokens"] == 60
    assert codex["session_id"] == "c-9"


def test_protobuf_and_bad_requests(collect: Any) -> None:
    """Protobuf is decoded; a body that is not OTLP gets 400 with a reason and is counted;
    metrics are accepted and ignored; --status shows the counters."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60d")
    span.span_id = bytes.fromhex("eee19b7ec3c1b180")
    span.name = "chat gpt-4o-mini"
    span.start_time_unix_nano, span.end_time_unix_nano = 1765000000000000000, 1765000000100000000
    for k, v in {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}.items():
        kv = span.attributes.add()
        kv.key, kv.value.string_value = k, v
    assert (
        _post(collect.url + "/v1/traces", req.SerializeToString(), "application/x-protobuf")[0]
        == 200
    )
    status, text = _post(collect.url + "/v1/traces", b"\xff\x00garbage", "application/x-protobuf")
    assert status == 400 and "ExportTraceServiceRequest" in text
    status, text = _post(collect.url + "/v1/traces", b"{not json", "application/json")
    assert status == 400 and "not JSON" in text
    assert _post(collect.url + "/v1/traces", b"{}", "text/plain")[0] == 415
    assert _post(collect.url + "/v1/metrics", b"{}")[0] == 200
    assert _post(collect.url + "/v2/nothing", b"{}")[0] == 404
    status_text = collect.status()
    assert (
        "otlp_interactions 1" in " ".join(status_text.split())
        and "otlp_bad_requests" in status_text
    )
    collect.stop()
    assert [r["model"] for r in collect.records()] == ["gpt-4o-mini"]


def test_port_in_use_is_a_one_line_error(collect: Any) -> None:
    """A second collector on the same OTLP port: one line, no traceback."""
    port = collect.url.rsplit(":", 1)[1]
    out = subprocess.run(
        [sys.executable, "-m", "llmlog.cli", "collect", "--otlp", f"127.0.0.1:{port}"],
        env={**collect.env, "LLMLOG_DB": str(collect.db) + ".other"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode != 0
    assert "cannot listen for OTLP on 127.0.0.1:" in out.stderr and "Traceback" not in out.stderr
    bad = subprocess.run([sys.executable, "-m", "llmlog.cli", "collect", "--otlp", "nope"], env=collect.env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode != 0 and "--otlp" in bad.stderr and "Traceback" not in bad.stderr
