"""OTLP/HTTP ingest: apps instrumented with OpenTelemetry log to the store through the collector.

``llmlog collect`` listens for OTLP over HTTP (127.0.0.1:4318 by default, the
standard port, so an app's default exporter finds it), protobuf or JSON, gzip or
not, on the standard paths:

``/v1/traces``
    A model-call span (``gen_ai.operation.name`` ``chat`` / ``text_completion`` /
    ``generate_content`` / ``embeddings``; the older ``gen_ai.system`` +
    ``gen_ai.request.model``; OpenInference ``openinference.span.kind`` ``LLM``;
    OpenLLMetry ``llm.request.type``) becomes an interaction, read by
    :func:`llmlog.semconv.interaction_from_span`; every other span becomes an
    llmlog span (tool, agent, retrieval, task), so the run keeps its tree. Ids and
    times are the span's own.
``/v1/logs``
    Coding agents' events: Claude Code's ``claude_code.api_request`` /
    ``api_error`` and Codex's ``codex.sse_event`` (``response.completed``) /
    ``codex.api_request`` become interactions (model, tokens, cost, duration,
    session); a ``user_prompt`` event's text (when the agent sends it) becomes the
    prompt of the next request with the same ``prompt.id``. Log records that carry
    the ``gen_ai.client.inference.operation.details`` event are read like a span.
``/v1/metrics``
    Accepted and ignored (an app's metric exporter is not left failing).

Everything goes into the collector's pipeline like a record an app handed over:
redacted, completed, priced and written by the collector. A request that cannot be
decoded gets ``400`` with a one-line reason and is counted (``otlp_bad_requests``);
nothing in it is written.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from llmlog import semconv
from llmlog.encoding import encode_fields
from llmlog.record import new_request_id
from llmlog.tracing import span_payload

__all__ = ["DEFAULT_ADDRESS", "OTLPError", "OTLPReceiver", "parse_address"]

DEFAULT_ADDRESS = ("127.0.0.1", 4318)
MAX_BODY = 64 * 1024 * 1024
INTERACTION = 0  # the pipeline's record kind (llmlog.pipeline)


class OTLPError(ValueError):
    """A request llmlog cannot read (its message is the one-line reason sent back)."""


def parse_address(value: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` -> (host, port); raise ValueError naming the problem."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or DEFAULT_ADDRESS[0]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"not a port or HOST:PORT: {value!r}")
    return host, int(port)


# -- decoding: protobuf or JSON into plain spans and log records --------------------------------


@dataclass
class InSpan:
    """One received span, decoded."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attrs: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: str | None = None  # the status message when the status is ERROR
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass
class InLog:
    """One received log record, decoded."""

    event: str
    time_ns: int
    attrs: dict[str, Any]
    body: Any
    trace_id: str | None
    span_id: str | None
    resource: dict[str, Any] = field(default_factory=dict)


def _pb_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def _pb_attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in kvs}


def _json_value(v: Any) -> Any:
    if not isinstance(v, Mapping):
        return v
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_json_value(x) for x in (v["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in v:
        return {
            kv["key"]: _json_value(kv.get("value"))
            for kv in (v["kvlistValue"] or {}).get("values") or ()
        }
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def _json_attrs(kvs: Any) -> dict[str, Any]:
    if not isinstance(kvs, list):
        return {}
    return {
        kv["key"]: _json_value(kv.get("value"))
        for kv in kvs
        if isinstance(kv, Mapping) and "key" in kv
    }


def _hex(raw: Any) -> str | None:
    """An id as lowercase hex: bytes (protobuf) or a hex string (OTLP/JSON)."""
    if isinstance(raw, bytes):
        return raw.hex() if raw and any(raw) else None
    if isinstance(raw, str) and raw:
        return raw.lower()
    return None


def _protobuf(kind: str) -> Any:
    try:
        if kind == "traces":
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

            return trace_service_pb2.ExportTraceServiceRequest
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

        return logs_service_pb2.ExportLogsServiceRequest
    except ImportError:
        raise OTLPError(
            "OTLP protobuf needs opentelemetry-proto: pip install 'llmlog[otel]' (or send JSON)"
        ) from None


def decode_spans(body: bytes, json: bool) -> list[InSpan]:
    """Decode an ``ExportTraceServiceRequest`` (protobuf or OTLP/JSON)."""
    out: list[InSpan] = []
    if json:
        data = _json_body(body)
        for rs in data.get("resourceSpans") or ():
            resource = _json_attrs((rs.get("resource") or {}).get("attributes"))
            for ss in rs.get("scopeSpans") or ():
                for s in ss.get("spans") or ():
                    status = s.get("status") or {}
                    code = status.get("code")
                    err = code in (2, "STATUS_CODE_ERROR")
                    out.append(
                        InSpan(
                            trace_id=_hex(s.get("traceId")) or "",
                            span_id=_hex(s.get("spanId")) or "",
                            parent_span_id=_hex(s.get("parentSpanId")),
                            name=str(s.get("name") or ""),
                            start_ns=int(s.get("startTimeUnixNano") or 0),
                            end_ns=int(s.get("endTimeUnixNano") or 0),
                            attrs=_json_attrs(s.get("attributes")),
                            events=[
                                (str(e.get("name")), _json_attrs(e.get("attributes")))
                                for e in s.get("events") or ()
                            ],
                            error=str(status.get("message") or "") if err else None,
                            resource=resource,
                        )
                    )
        return out
    req = _protobuf("traces")()
    try:
        req.ParseFromString(body)
    except Exception as exc:
        raise OTLPError(f"not an OTLP ExportTraceServiceRequest: {exc}") from None
    for rs in req.resource_spans:
        resource = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    InSpan(
                        trace_id=_hex(s.trace_id) or "",
                        span_id=_hex(s.span_id) or "",
                        parent_span_id=_hex(s.parent_span_id),
                        name=s.name,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attrs=_pb_attrs(s.attributes),
                        events=[(e.name, _pb_attrs(e.attributes)) for e in s.events],
                        error=s.status.message if s.status.code == 2 else None,
                        resource=resource,
                    )
                )
    return out


def _event_name(name: Any, attrs: Mapping[str, Any], body: Any) -> str:
    if name:
        return str(name)
    if attrs.get("event.name"):
        return str(attrs["event.name"])
    return body if isinstance(body, str) and "." in body and " " not in body else ""


def decode_logs(body: bytes, json: bool) -> list[InLog]:
    """Decode an ``ExportLogsServiceRequest`` (protobuf or OTLP/JSON)."""
    out: list[InLog] = []
    if json:
        data = _json_body(body)
        for rl in data.get("resourceLogs") or ():
            resource = _json_attrs((rl.get("resource") or {}).get("attributes"))
            for sl in rl.get("scopeLogs") or ():
                for r in sl.get("logRecords") or ():
                    attrs = _json_attrs(r.get("attributes"))
                    value = _json_value(r.get("body"))
                    t = int(r.get("timeUnixNano") or r.get("observedTimeUnixNano") or 0)
                    out.append(
                        InLog(
                            _event_name(r.get("eventName"), attrs, value),
                            t,
                            attrs,
                            value,
                            _hex(r.get("traceId")),
                            _hex(r.get("spanId")),
                            resource,
                        )
                    )
        return out
    req = _protobuf("logs")()
    try:
        req.ParseFromString(body)
    except Exception as exc:
        raise OTLPError(f"not an OTLP ExportLogsServiceRequest: {exc}") from None
    for rl in req.resource_logs:
        resource = _pb_attrs(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                attrs = _pb_attrs(r.attributes)
                value = _pb_value(r.body) if r.HasField("body") else None
                name = getattr(r, "event_name", "")
                t = r.time_unix_nano or r.observed_time_unix_nano
                out.append(
                    InLog(
                        _event_name(name, attrs, value),
                        t,
                        attrs,
                        value,
                        _hex(r.trace_id),
                        _hex(r.span_id),
                        resource,
                    )
                )
    return out


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OTLPError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OTLPError("OTLP/JSON must be an object")
    return data


# -- converting: spans and events into records ---------------------------------------------------


def _metadata(
    resource: Mapping[str, Any], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"ingested": "otlp"}
    for key, name in (("service.name", "service_name"), ("service.version", "service_version")):
        if resource.get(key) is not None:
            meta[name] = resource[key]
    if extra:
        meta.update(extra)
    return meta


def interaction_of_span(s: InSpan) -> dict[str, Any]:
    """The record fields of a model-call span."""
    fields = semconv.interaction_from_span(s.name, s.attrs, s.events)
    fields.update(
        request_id=new_request_id(),
        timestamp=s.start_ns / 1e9,
        duration_ms=max(0, s.end_ns - s.start_ns) / 1e6,
        trace_id=s.trace_id,
        span_id=s.span_id,
        parent_span_id=s.parent_span_id,
        metadata=_metadata(s.resource),
    )
    if s.error is not None:
        etype = s.attrs.get("error.type") or "Error"
        fields["error"] = {"type": str(etype), "message": s.error, "status_code": None}
    return {k: v for k, v in fields.items() if v is not None}


def _step(s: InSpan) -> bytes:
    kind, name, inp, out = semconv.span_fields(s.name, s.attrs)
    error = None
    if s.error is not None:
        error = {
            "type": str(s.attrs.get("error.type") or "Error"),
            "message": s.error,
            "status_code": None,
        }
    attrs = {k: s.attrs[k] for k in semconv.KEEP_ON_SPANS if k in s.attrs}
    if s.resource.get("service.name") is not None:
        attrs["service.name"] = s.resource["service.name"]
    return span_payload(
        name=name,
        kind=kind,
        trace_id=s.trace_id,
        span_id=s.span_id,
        parent_span_id=s.parent_span_id,
        timestamp=s.start_ns / 1e9,
        duration_ms=max(0, s.end_ns - s.start_ns) / 1e6,
        error=error,
        attributes=attrs,
        input_json=inp,
        output_json=out,
    )


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _count(v: Any) -> int | None:
    n = _num(v)
    return int(n) if n is not None else None


class _Prompts:
    """The last user prompts of coding-agent sessions, by ``prompt.id`` (bounded)."""

    def __init__(self, size: int = 1024) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, text: str) -> None:
        with self._lock:
            self._items[key] = text
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: Any) -> str | None:
        with self._lock:
            return self._items.get(key) if isinstance(key, str) else None


def interaction_of_event(ev: InLog, prompts: _Prompts) -> dict[str, Any] | None:
    """The record of a coding agent's API event, or None (not a model call)."""
    a = ev.attrs
    name = ev.event.removeprefix("claude_code.").removeprefix("codex.")
    agent = (
        "claude-code"
        if ev.event.startswith("claude_code")
        or "claude" in str(ev.resource.get("service.name", ""))
        else "codex"
    )
    if name == "user_prompt":
        text = a.get("prompt")
        key = a.get("prompt.id") or a.get("session.id") or a.get("conversation.id")
        if isinstance(text, str) and isinstance(key, str):
            prompts.put(key, text)
        return None
    fields: dict[str, Any]
    if agent == "claude-code" and name in ("api_request", "api_error"):
        fields = {
            "provider": "anthropic",
            "model": a.get("model"),
            "duration_ms": _num(a.get("duration_ms")),
            "usage": {
                "input_tokens": (_count(a.get("input_tokens")) or 0)
                + (_count(a.get("cache_read_tokens")) or 0)
                + (_count(a.get("cache_creation_tokens")) or 0),
                "output_tokens": _count(a.get("output_tokens")) or 0,
                "cached_input_tokens": _count(a.get("cache_read_tokens")),
            },
            "cost_usd": _num(a.get("cost_usd")),
        }
        if name == "api_error":
            fields["error"] = {
                "type": "APIError",
                "message": str(a.get("error") or ""),
                "status_code": _count(a.get("status_code")),
            }
            fields.pop("usage")
            fields.pop("cost_usd")
    elif agent == "codex" and name == "sse_event" and a.get("event.kind") == "response.completed":
        fields = {
            "provider": "openai",
            "model": a.get("model"),
            "duration_ms": _num(a.get("duration_ms")),
            "usage": {
                "input_tokens": _count(a.get("input_token_count")) or 0,
                "output_tokens": (_count(a.get("output_token_count")) or 0),
                "cached_input_tokens": _count(a.get("cached_token_count")),
                "reasoning_tokens": _count(a.get("reasoning_token_count")),
            },
        }
    elif (
        agent == "codex"
        and name == "api_request"
        and (a.get("error.message") or (_count(a.get("http.response.status_code")) or 0) >= 400)
    ):
        fields = {
            "provider": "openai",
            "model": a.get("model"),
            "duration_ms": _num(a.get("duration_ms")),
            "error": {
                "type": "APIError",
                "message": str(a.get("error.message") or ""),
                "status_code": _count(a.get("http.response.status_code")),
            },
        }
    else:
        return None
    session = a.get("session.id") or a.get("conversation.id")
    prompt = prompts.get(a.get("prompt.id")) or prompts.get(session)
    fields.update(
        request_id=new_request_id(),
        timestamp=(ev.time_ns / 1e9) if ev.time_ns else time.time(),
        operation="chat",
        session_id=str(session) if session is not None else None,
        user_id=a.get("user.email") or a.get("user.account_uuid") or a.get("user.account_id"),
        prompt_messages=[{"role": "user", "content": prompt}] if prompt else None,
        trace_id=ev.trace_id,
        parent_span_id=ev.span_id,
        metadata=_metadata(ev.resource, {"agent": agent, "event": ev.event}),
    )
    return {k: v for k, v in fields.items() if v is not None}


# -- the HTTP server -----------------------------------------------------------------------------


class OTLPReceiver:
    """An OTLP/HTTP server feeding a pipeline; runs in its own threads.

    Args:
        host, port: where to listen (port 0: any free port); binds at once
            (``OSError`` when the address is in use or not allowed).
    """

    def __init__(self, host: str = DEFAULT_ADDRESS[0], port: int = DEFAULT_ADDRESS[1]) -> None:
        self.pipeline: Any = None
        self.spans = 0
        self.interactions = 0
        self.logs = 0
        self.bad_requests = 0
        self._prompts = _Prompts()
        self._count_lock = threading.Lock()
        handler = _handler(self)
        self._server = ThreadingHTTPServer((host, port), handler)  # OSError: in use, no access
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) listened on."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self, pipeline: Any) -> OTLPReceiver:
        """Serve in a background thread, handing records to ``pipeline``."""
        self.pipeline = pipeline
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="llmlog-otlp", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (requests under way finish first)."""
        self._server.shutdown()
        self._server.server_close()

    def status(self) -> dict[str, Any]:
        """Counters for ``llmlog collect --status``."""
        host, port = self.address
        return {
            "otlp": f"http://{host}:{port}",
            "otlp_spans": self.spans,
            "otlp_interactions": self.interactions,
            "otlp_log_events": self.logs,
            "otlp_bad_requests": self.bad_requests,
        }

    # -- what a request becomes ---------------------------------------------------------------

    def traces(self, body: bytes, json: bool) -> None:
        spans = decode_spans(body, json)
        records: list[dict[str, Any]] = []
        steps: list[bytes] = []
        for s in spans:
            if not s.trace_id or not s.span_id:
                continue
            if semconv.is_genai_span(s.name, s.attrs):
                records.append(interaction_of_span(s))
            else:
                steps.append(_step(s))
        self._submit(records, steps, len(spans), 0)

    def logs_(self, body: bytes, json: bool) -> None:
        events = decode_logs(body, json)
        records = []
        for ev in events:
            details = "gen_ai.client.inference.operation.details"
            if ev.event == details:
                s = InSpan(
                    ev.trace_id or "",
                    ev.span_id or "",
                    None,
                    "chat",
                    ev.time_ns,
                    ev.time_ns,
                    {},
                    [(details, ev.attrs)],
                    None,
                    ev.resource,
                )
                rec = interaction_of_span(s)
                rec.pop("span_id", None)  # the span itself arrives apart, or never
                rec["parent_span_id"] = ev.span_id
                records.append(rec)
                continue
            rec_ = interaction_of_event(ev, self._prompts)
            if rec_ is not None:
                records.append(rec_)
        self._submit(records, [], 0, len(events))

    def _submit(
        self, records: list[dict[str, Any]], steps: list[bytes], spans: int, logs: int
    ) -> None:
        p = self.pipeline
        for rec in records:
            p.submit(INTERACTION, encode_fields(rec), None)
        for payload in steps:
            p.submit_span(payload)
        with self._count_lock:
            self.spans += spans
            self.logs += logs
            self.interactions += len(records)


def _handler(receiver: OTLPReceiver) -> type[BaseHTTPRequestHandler]:
    routes: dict[str, Callable[[bytes, bool], None] | None] = {
        "/v1/traces": receiver.traces,
        "/v1/logs": receiver.logs_,
        "/v1/metrics": None,
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "llmlog-otlp"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fail(self, status: int, message: str) -> None:
            with receiver._count_lock:
                receiver.bad_requests += 1
            self._reply(status, orjson.dumps({"message": message}), "application/json")

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path not in routes:
                self._fail(404, f"no OTLP endpoint {path} (use /v1/traces or /v1/logs)")
                return
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                n = -1
            if not 0 <= n <= MAX_BODY:
                self._fail(
                    413 if n > MAX_BODY else 411, "a Content-Length up to 64 MiB is required"
                )
                return
            body = self.rfile.read(n)
            ctype = (
                (self.headers.get("Content-Type") or "application/x-protobuf")
                .split(";")[0]
                .strip()
                .lower()
            )
            json = ctype == "application/json"
            if not json and ctype != "application/x-protobuf":
                self._fail(
                    415,
                    f"unsupported Content-Type {ctype} "
                    "(application/x-protobuf or application/json)",
                )
                return
            try:
                body = _inflate(body, (self.headers.get("Content-Encoding") or "").lower())
                handle = routes[path]
                if handle is not None:
                    handle(body, json)
            except OTLPError as exc:
                self._fail(400, str(exc))
                return
            except Exception as exc:  # a malformed request must never stop the receiver
                self._fail(400, f"cannot read the request: {type(exc).__name__}: {exc}")
                return
            if json:
                self._reply(200, b"{}", "application/json")
            else:
                self._reply(200, b"", "application/x-protobuf")

    return Handler


def _inflate(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError) as exc:
        raise OTLPError(f"body is not valid {encoding}: {exc}") from None
    raise OTLPError(f"unsupported Content-Encoding {encoding}")
